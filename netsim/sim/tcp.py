"""A host's TCP: demultiplexing, listeners, timers, and the socket API over the sans-I/O engine.

:class:`TCPLayer` owns the host's connection table (4-tuple -> socket), the listeners, the port
bindings and the SYN-cookie secrets; it feeds arriving segments to
:class:`~netsim.proto.tcp.connection.TCPConnection` engines, sends what they put in their
outbox, and wakes them when their timers are due (one pending SimPy timeout per connection, moved
only when a deadline comes earlier).  :class:`TCPSocket` is the BSD API on top, with Linux's
errnos.  RFC 9293 §3.10.7.1 (segments for no connection get an RST), RFC 6528 (ISNs),
RFC 6056 (ephemeral ports), RFC 4987 (SYN cookies), RFC 5927 (ICMP checks).
"""

from __future__ import annotations

import errno
import hashlib
import socket as _socket
from collections import deque
from functools import partial
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import TYPE_CHECKING, Any

import simpy
from simpy.events import PENDING

from netsim.proto.ports import ConnectPortSelector, choose_ephemeral_port
from netsim.proto.tcp.autotune import offered_wscale, win_from_space
from netsim.proto.tcp.connection import (
    ACK,
    EV_CLOSED,
    EV_ERROR,
    EV_ESTABLISHED,
    EV_READABLE,
    EV_WRITABLE,
    FIN,
    RST,
    SYN,
    TCPConnection,
)
from netsim.proto.tcp.cookies import SynCookies, decode_timestamp_options, encode_timestamp_options
from netsim.proto.tcp.listen import ListenQueue
from netsim.proto.tcp.settings import TCPSettings
from netsim.proto.tcp.states import S, TCPState
from netsim.sim.network import schedule
from netsim.sim.sockets import Address, _parse_address, error, parse_address6, socket_name
from netsim.wire.tcp import TCPSegment, _make_segment
from netsim.wire.tcp_options import (
    TCPOption,
    TCPOptionMSS,
    TCPOptionNOP,
    TCPOptionSACKPermitted,
    TCPOptionTimestamps,
    TCPOptionWindowScale,
)

if TYPE_CHECKING:
    from netsim.sim.host import Host

IPAddress = IPv4Address | IPv6Address
FourTuple = tuple[IPAddress, int, IPAddress, int]  # local ip, local port, remote ip, remote port
SHUT_RD, SHUT_WR, SHUT_RDWR = 0, 1, 2
TCP_NODELAY = _socket.TCP_NODELAY
TCP_KEEPIDLE = getattr(_socket, "TCP_KEEPIDLE", 4)
TCP_KEEPINTVL = getattr(_socket, "TCP_KEEPINTVL", 5)
TCP_KEEPCNT = getattr(_socket, "TCP_KEEPCNT", 6)
TCP_MAXSEG = getattr(_socket, "TCP_MAXSEG", 2)
TCP_CONGESTION = getattr(_socket, "TCP_CONGESTION", 13)
_ZERO = IPv4Address(0)
IPPROTO_IPV6 = getattr(_socket, "IPPROTO_IPV6", 41)
IPV6_V6ONLY = getattr(_socket, "IPV6_V6ONLY", 26)
LINK_LOCAL = IPv6Network("fe80::/10")


def _families_overlap(sock: TCPSocket, ip: Any, other: TCPSocket) -> bool:
    """Whether two bindings can share addresses: same family, or an IPv6 wildcard without
    IPV6_V6ONLY against IPv4 (Linux: a dual-stack ``[::]:port`` conflicts with ``0.0.0.0:port``)."""
    mine = ip.version if ip is not None else sock.family
    theirs = other.local_ip.version if other.local_ip is not None else other.family
    if mine == theirs:
        return True
    dual = [s for s, address in ((sock, ip), (other, other.local_ip)) if s.family == 6 and address is None
            and not s.v6only]
    return bool(dual)


class TCPLayer:
    """The TCP of one host."""

    def __init__(self, host: Host, settings: TCPSettings | None = None) -> None:
        self.host = host
        self.settings = settings or TCPSettings()
        rng = host.network.stream(f"tcp/{host.name}")
        self._isn_secret = rng.getrandbits(128).to_bytes(16, "big")
        self._ts_secret = rng.getrandbits(128).to_bytes(16, "big")
        self.cookies = SynCookies(rng.getrandbits(128).to_bytes(16, "big"), rng.getrandbits(128).to_bytes(16, "big"))
        self.port_selector = ConnectPortSelector(rng.getrandbits(128).to_bytes(16, "big"))
        self.rng = rng
        self.connections: dict[FourTuple, TCPSocket] = {}
        self.listeners: dict[int, list[TCPSocket]] = {}
        # every socket holding a local port, as an insertion-ordered set: a server's port is held
        # by each of its connections, thousands of them (a list's "in" and remove() were O(n))
        self.ports: dict[int, dict[TCPSocket, None]] = {}
        self.counters: dict[str, int] = {}
        self._env = host.network.env

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    # --- identifiers ------------------------------------------------------------------------------

    def _keyed(self, secret: bytes, *parts: Any) -> int:
        material = b"".join(p.packed if hasattr(p, "packed") else int(p).to_bytes(4, "big") for p in parts)
        return int.from_bytes(hashlib.blake2b(material, key=secret, digest_size=4).digest(), "big")

    def isn(self, key: FourTuple) -> int:
        """RFC 6528: ISN = M + F(4-tuple, secret), M a clock ticking every 64 ns (Linux's
        ``secure_tcp_seq``, which adds ``ktime >> 6``)."""
        return (self._keyed(self._isn_secret, *key) + (self.host.network.now >> 6)) & 0xFFFFFFFF

    def ts_offset(self, local: IPAddress, remote: IPAddress) -> int:
        """Linux's per-address-pair timestamp offset (``secure_tcp_ts_off``)."""
        return self._keyed(self._ts_secret, local, remote)

    # --- ports ------------------------------------------------------------------------------------

    def bind_conflict(self, sock: TCPSocket, ip: IPAddress | None, port: int) -> bool:
        """Linux ``inet_csk_bind_conflict``: another socket on the port with an overlapping
        address conflicts unless both set SO_REUSEADDR and the other is not listening."""
        for other in self.ports.get(port, ()):
            if other is sock:
                continue
            if not _families_overlap(sock, ip, other):
                continue
            if other.local_ip is not None and ip is not None and other.local_ip != ip:
                continue
            if sock.reuse_address and other.reuse_address and other.state is not S.LISTEN:
                continue
            return True
        return False

    def hold_port(self, sock: TCPSocket, port: int) -> None:
        holders = self.ports.get(port)
        if holders is None:
            holders = self.ports[port] = {}
        holders[sock] = None

    def release_port(self, sock: TCPSocket) -> None:
        port = sock.local_port
        if port is None:
            return
        holders = self.ports.get(port)
        if holders and sock in holders:
            del holders[sock]
            if not holders:
                del self.ports[port]

    def bind(self, sock: TCPSocket, ip: IPAddress | None, port: int) -> int:
        host = self.host
        if ip is not None and ip not in host.local and not (host.ip6 is not None and ip in host.ip6.local):
            return errno.EADDRNOTAVAIL
        if port == 0:
            chosen = choose_ephemeral_port(host.port_range, lambda p: self.bind_conflict(sock, ip, p), host.rng)
            if chosen is None:
                return errno.EADDRINUSE
            port = chosen
        else:
            if port < host.unprivileged_port_start and not sock.privileged:
                return errno.EACCES
            if self.bind_conflict(sock, ip, port):
                return errno.EADDRINUSE
        sock.local_ip, sock.local_port = ip, port
        sock.bound_explicitly = True
        self.hold_port(sock, port)
        return 0

    def connect_port(self, sock: TCPSocket, local: IPAddress, remote: IPAddress, rport: int) -> int | None:
        """An ephemeral port making (local, port, remote, rport) unique (RFC 6056 alg. 4)."""
        def usable(port: int) -> bool:
            if (local, port, remote, rport) in self.connections:
                return False
            # ports held by bind() (or a listener) are not shared with connect()
            return not any(other.bound_explicitly and (other.local_ip is None or other.local_ip == local)
                           for other in self.ports.get(port, ()))

        key = local.packed + remote.packed + rport.to_bytes(2, "big")
        return self.port_selector.select(self.host.port_range, key, usable)

    # --- connection table -----------------------------------------------------------------------

    def register(self, sock: TCPSocket) -> None:
        key = sock.four_tuple
        assert key is not None
        if key in self.connections and self.connections[key] is not sock:
            raise AssertionError(f"two connections on one 4-tuple {key}")
        self.connections[key] = sock
        assert sock.local_port is not None
        self.hold_port(sock, sock.local_port)

    def unregister(self, sock: TCPSocket) -> None:
        key = sock.four_tuple
        if key is not None and self.connections.get(key) is sock:
            del self.connections[key]
        if sock.fd is None or sock.closed:
            self.release_port(sock)

    # --- input -------------------------------------------------------------------------------------

    def input(self, src: IPAddress, dst: IPAddress, seg: TCPSegment, iface: Any) -> None:
        """A segment from ``src`` to ``dst`` (one of our addresses), its checksum verified."""
        key = (dst, seg.dst_port, src, seg.src_port)
        sock = self.connections.get(key)
        if sock is not None and sock.conn is not None:
            listener = sock.parent
            if (listener is not None and sock.conn.state is S.SYN_RECEIVED and seg.flags & ACK
                    and not seg.flags & (SYN | RST) and listener.queue is not None and listener.queue.accept_full):
                # the handshake's ACK with the accept queue full: Linux ignores it (or resets)
                listener.queue.count("ListenOverflows")
                listener.queue.count("ListenDrops")
                iface.drop("tcp-accept-queue-full", len(seg.payload))
                if self.settings.abort_on_overflow:
                    sock.conn.abort(self.host.network.now)
                    sock.service()
                return
            sock.conn.segment_arrives(seg, int(self._env._now))  # (Network.now, without its two calls)
            if sock.conn.reopen_syn:
                sock.service()
                sock = None  # TIME-WAIT gave way to a new SYN: the listener takes it (RFC 6191)
            else:
                sock.service()
                return
        listener_sock = self._listener(dst, seg.dst_port)
        if listener_sock is not None and listener_sock.queue is not None:
            self._listen_input(listener_sock, src, dst, seg, iface)
            return
        self.count("no-socket")
        iface.drop("tcp-no-socket", len(seg.payload))
        self.send_reset(dst, src, seg)

    def _listener(self, ip: IPAddress, port: int) -> TCPSocket | None:
        """The listener for a SYN to ``ip``:``port``: one bound to that address first, else a
        wildcard of the packet's family — or an IPv6 wildcard without IPV6_V6ONLY, which takes
        IPv4 too (a dual-stack socket, RFC 3493 §3.7)."""
        best = None
        for sock in self.listeners.get(port, ()):
            if sock.local_ip == ip:
                return sock
            usable = sock.local_ip is None and (sock.family == ip.version or (sock.family == 6 and not sock.v6only))
            if usable and (best is None or sock.family == ip.version):
                best = sock
        return best

    def send_reset(self, src: IPAddress, dst: IPAddress, seg: TCPSegment) -> None:
        """RFC 9293 §3.10.7.1: never answer an RST; an ACK's RST takes its ack as seq, otherwise
        RST+ACK acknowledging the segment."""
        flags = seg.flags
        if flags & RST:
            return
        if flags & ACK:
            reply = _make_segment(seg.dst_port, seg.src_port, seg.ack, 0, RST, 0, 0, (), b"", None, 0)
        else:
            seg_len = len(seg.payload) + (1 if flags & SYN else 0) + (1 if flags & FIN else 0)
            reply = _make_segment(seg.dst_port, seg.src_port, 0, (seg.seq + seg_len) & 0xFFFFFFFF, RST | ACK, 0, 0,
                                  (), b"", None, 0)
        self.count("OutRsts")
        self.host.send_ip(src, dst, 6, reply, df=True)

    def _listen_input(self, listener: TCPSocket, src: IPAddress, dst: IPAddress, seg: TCPSegment, iface: Any) -> None:
        """RFC 9293 §3.10.7.2 with Linux's queues and SYN cookies."""
        queue = listener.queue
        assert queue is not None
        flags = seg.flags
        now = self.host.network.now
        if flags & RST:
            return
        if flags & ACK:
            if not flags & SYN and queue.cookies_acceptable(now) and self._cookie_ack(listener, src, dst, seg, iface):
                return
            self.send_reset(dst, src, seg)
            return
        if not flags & SYN:
            iface.drop("tcp-listen-no-syn", len(seg.payload))
            return
        decision = queue.on_syn(now)
        if decision.startswith("drop"):
            iface.drop(f"tcp-{decision}", 0)
            listener.host.network.trace.event(now, "tcp", self.host.name, what=decision, port=seg.dst_port)
            return
        if decision == "cookie":
            self._send_cookie(listener, src, dst, seg)
            return
        child = TCPSocket(self.host, fd=False)
        child.parent = listener
        child.local_ip, child.local_port = dst, seg.dst_port
        child.remote = (src, seg.src_port)
        child.inherit(listener)
        key = child.four_tuple
        assert key is not None
        child.conn = TCPConnection.passive(seg, now=now, **child.engine_args(self.isn(key)))
        child.sync_path_mtu(now)
        queue.syn_queue[key] = child
        self.register(child)
        child.service()

    def _send_cookie(self, listener: TCPSocket, src: IPAddress, dst: IPAddress, seg: TCPSegment) -> None:
        """A stateless SYN-ACK whose ISN is the cookie (RFC 4987 §3.6)."""
        now = self.host.network.now
        settings = self.settings
        mss = settings.base_mss
        wscale: int | None = None
        sack = False
        tsval: int | None = None
        for option in seg.options:
            if isinstance(option, TCPOptionMSS):
                mss = option.mss
            elif isinstance(option, TCPOptionWindowScale):
                wscale = option.shift
            elif isinstance(option, TCPOptionSACKPermitted):
                sack = True
            elif isinstance(option, TCPOptionTimestamps):
                tsval = option.tsval
        isn, encoded_mss = self.cookies.make(src, dst, seg.src_port, seg.dst_port, seg.seq, mss, now)
        options: list[TCPOption] = [TCPOptionMSS(encoded_mss)]
        if tsval is not None and settings.timestamps:
            # window scale and SACK survive only inside the timestamp (Linux cookie_init_timestamp)
            our_ts = (now // 1_000_000 + self.ts_offset(dst, src)) & 0xFFFFFFFF
            ws_offer = (offered_wscale(settings.rmem_max, settings.core_rmem_max, listener.rcvbuf)
                        if (wscale is not None and settings.window_scaling) else None)
            stamp = encode_timestamp_options(our_ts, ws_offer, sack and settings.sack)
            options += [TCPOptionSACKPermitted()] if sack and settings.sack else [TCPOptionNOP(), TCPOptionNOP()]
            options.append(TCPOptionTimestamps(stamp, tsval))
            if ws_offer is not None:
                options += [TCPOptionNOP(), TCPOptionWindowScale(ws_offer)]
        # the window of a SYN-ACK, as tcp_select_initial_window rounds it: to the segment size
        # (MSS less the timestamp option when both sides use timestamps: 45 x 1448 = 65160)
        window = min(win_from_space(listener.rcvbuf or settings.rmem_default), 65535)
        unit = 1460 - (12 if tsval is not None and settings.timestamps else 0)
        window -= window % unit if window > unit else 0
        reply = _make_segment(seg.dst_port, seg.src_port, isn, (seg.seq + 1) & 0xFFFFFFFF, SYN | ACK, window, 0,
                              tuple(options), b"", None, 0)
        self.count("SyncookiesSent")
        self.host.network.trace.event(now, "tcp", self.host.name, what="syncookie-sent", port=seg.dst_port)
        self.host.send_ip(dst, src, 6, reply, df=True)

    def _cookie_ack(self, listener: TCPSocket, src: IPAddress, dst: IPAddress, seg: TCPSegment, iface: Any) -> bool:
        queue = listener.queue
        assert queue is not None
        now = self.host.network.now
        client_isn = (seg.seq - 1) & 0xFFFFFFFF
        cookie = (seg.ack - 1) & 0xFFFFFFFF
        mss = self.cookies.check(src, dst, seg.src_port, seg.dst_port, client_isn, cookie, now)
        if mss is None:
            queue.count("SyncookiesFailed")
            return False
        queue.count("SyncookiesRecv")
        if queue.accept_full:
            queue.count("ListenOverflows")
            queue.count("ListenDrops")
            iface.drop("tcp-accept-queue-full", len(seg.payload))
            return True
        wscale: int | None = None
        sack = False
        ts: tuple[int, int] | None = None
        for option in seg.options:
            if isinstance(option, TCPOptionTimestamps):
                ts = (option.tsval, option.tsecr)
                wscale, sack = decode_timestamp_options(option.tsecr)
        child = TCPSocket(self.host, fd=False)
        child.parent = listener
        child.local_ip, child.local_port = dst, seg.dst_port
        child.remote = (src, seg.src_port)
        child.inherit(listener)
        args = child.engine_args(0)
        del args["iss"]
        child.conn = TCPConnection.from_cookie(seg, mss, wscale, sack, ts, now=now, **args)
        child.sync_path_mtu(now)
        self.register(child)
        queue.accept_queue.append(child)
        child.conn.segment_arrives(seg, now)  # any data the ACK carries
        child.service()
        listener.wake_accept()
        return True

    def icmp_error(self, local: IPAddress, remote: IPAddress, quoted_tcp: bytes, code: int,
                   mtu: int | None) -> None:
        """An ICMP error quoting one of our segments (RFC 5927 §4.1: only if its sequence
        number is in flight; ``mtu``: the next-hop MTU of a "fragmentation needed" / "packet too
        big", RFC 1191 / RFC 8201).  As Linux's tcp_v4_err/tcp_v6_err, the host's path MTU is
        lowered only once the segment is known to be ours and in flight (a stray or spoofed
        report changes nothing), and an IPv6 report below 1280 is ignored."""
        if len(quoted_tcp) < 8:
            return
        sport, dport = int.from_bytes(quoted_tcp[0:2], "big"), int.from_bytes(quoted_tcp[2:4], "big")
        seq = int.from_bytes(quoted_tcp[4:8], "big")
        sock = self.connections.get((local, sport, remote, dport))
        if sock is None or sock.conn is None:
            return
        conn = sock.conn
        now = self.host.network.now
        in_flight = ((seq - conn.snd_una) & 0xFFFFFFFF) <= ((conn.snd_nxt - conn.snd_una) & 0xFFFFFFFF)
        if not in_flight:
            self.count("OutOfWindowIcmps")
            return
        if mtu is not None:
            if remote.version == 6 and mtu < 1280:
                return
            pmtu = self.host.pmtu
            pmtu.update(remote, mtu, now)
            learned = pmtu.lookup(remote, now)
            if learned is not None:
                conn.set_pmtu(learned, now)
        else:
            conn.icmp_error(code, now)
        sock.service()

    # --- the ss view ------------------------------------------------------------------------------

    def sockets(self) -> list[TCPSocket]:
        """Every TCP socket of the host: listeners, connections (including orphans in TIME-WAIT)
        and SYN-RECV entries, in a stable order."""
        seen: dict[tuple[Any, ...], TCPSocket] = {}
        for holders in self.ports.values():
            for sock in holders:
                seen[sock.sort_key()] = sock
        for sock in self.connections.values():
            seen[sock.sort_key()] = sock
        return [seen[key] for key in sorted(seen)]


class TCPSocket:
    """A TCP socket with the BSD API; blocking calls return SimPy events."""

    protocol = "tcp"

    def __init__(self, host: Host, *, fd: bool = True, family: int = 4) -> None:
        self.host = host
        self.family: int = family  # 4 (AF_INET) or 6 (AF_INET6)
        self.v6only = False  # IPV6_V6ONLY; Linux's net.ipv6.bindv6only = 0
        self.layer: TCPLayer = host.tcp
        self.env: simpy.Environment = host.network.env
        self.fd: int | None = host.fds.allocate(self) if fd else None
        self.local_ip: IPAddress | None = None
        self.local_port: int | None = None
        self.remote: tuple[IPAddress, int] | None = None
        self.conn: TCPConnection | None = None
        self.queue: ListenQueue | None = None
        self.parent: TCPSocket | None = None
        self.bound_explicitly = False
        self.reuse_address = False
        self.privileged = True
        self.nodelay = False
        self.keepalive = False
        self.keepalive_settings: dict[str, int] = {}
        self.linger_zero = False
        self.congestion: str | None = None
        self.rcvbuf: int | None = None
        self.sndbuf: int | None = None
        self.user_mss: int | None = None
        self.closed = False
        self.timeout: int | None = None
        self.shut_rd = False
        self.pending_error = 0
        self._connect_waiter: simpy.Event | None = None
        self._accept_waiters: deque[simpy.Event] = deque()
        self._recv_waiters: deque[tuple[simpy.Event, int]] = deque()
        self._send_waiters: deque[tuple[simpy.Event, memoryview, int, bool]] = deque()
        self._timer_at: int | None = None

    def __repr__(self) -> str:
        state = self.state.value if self.state is not None else "UNCONN"
        return f"<TCPSocket fd={self.fd} {self._format_local()} -> {self._format_peer()} {state}>"

    # --- bookkeeping ------------------------------------------------------------------------------

    @property
    def state(self) -> TCPState | None:
        if self.queue is not None:
            return S.LISTEN
        return self.conn.state if self.conn is not None else None

    @property
    def four_tuple(self) -> FourTuple | None:
        if self.remote is None or self.local_ip is None or self.local_port is None:
            return None
        return (self.local_ip, self.local_port, self.remote[0], self.remote[1])

    def sort_key(self) -> tuple[Any, ...]:
        remote = self.remote or (_ZERO, 0)
        return (int(self.local_ip or _ZERO), self.local_port or 0, int(remote[0]), remote[1], self.fd or 0)

    def _format_local(self) -> str:
        return f"{self.local_ip or '0.0.0.0'}:{self.local_port or '*'}"

    def _format_peer(self) -> str:
        return f"{self.remote[0]}:{self.remote[1]}" if self.remote else "*:*"

    def _trace(self, call: str, result: Any, **args: Any) -> None:
        self.host.syscall(call, -1 if self.fd is None else self.fd, result, **args)

    def _raise(self, call: str, code: int, **args: Any) -> None:
        self._trace(call, errno.errorcode[code], **args)
        raise error(code)

    def _check_open(self, call: str) -> None:
        if self.closed:
            self._raise(call, errno.EBADF)

    def _done(self, value: Any) -> simpy.Event:
        event = self.env.event()
        event.succeed(value)
        return event

    def _failed(self, call: str, code: int, **args: Any) -> simpy.Event:
        self._trace(call, errno.errorcode[code], **args)
        event = self.env.event()
        event.fail(error(code))
        return event

    def inherit(self, listener: TCPSocket) -> None:
        """What an accepted socket takes from its listener (Linux copies the socket options)."""
        for name in ("reuse_address", "nodelay", "keepalive", "keepalive_settings", "congestion", "rcvbuf",
                     "sndbuf", "user_mss", "linger_zero", "privileged", "family", "v6only"):
            setattr(self, name, getattr(listener, name))

    def engine_args(self, iss: int) -> dict[str, Any]:
        assert self.local_ip is not None and self.remote is not None
        layer = self.layer
        settings = layer.settings
        if self.keepalive_settings:
            settings = settings.evolve(**self.keepalive_settings)
        remote = self.remote[0]
        if remote.version == 6:
            local = self.local_ip
            assert isinstance(local, IPv6Address)
            where = self.host.ip6.interface_for(local, remote) if self.host.ip6 is not None else None
            mtu = where[0].mtu if where is not None else 1280
            overhead = 60  # IPv6 40 + TCP 20 (RFC 8200 §5; the MSS of RFC 9293 §3.7.1 over IPv6)
        else:
            route = self.host.route_to(remote)
            mtu = self.host.interfaces[route.interface].mtu if route is not None else 1500
            overhead = 40
        local_mss = mtu - overhead
        if self.user_mss:
            local_mss = min(local_mss, self.user_mss)
        return {
            "settings": settings, "iss": iss, "local_mss": local_mss, "rcvbuf": self.rcvbuf, "sndbuf": self.sndbuf,
            "ts_offset": layer.ts_offset(self.local_ip, self.remote[0]), "nodelay": self.nodelay,
            "keepalive": self.keepalive, "congestion": self.congestion, "mss_overhead": overhead,
        }

    # --- driving the engine --------------------------------------------------------------------------

    def service(self) -> None:
        """Send what the engine queued, wake whoever waits on this socket, keep its timer."""
        conn = self.conn
        if conn is None:
            return
        if conn.outbox:
            self._transmit(conn)
        events, conn.events = conn.events, 0
        if events:
            self._on_events(events)
        if conn.state is S.CLOSED:
            self._timer_at = None
            self.layer.unregister(self)
            parent = self.parent
            if parent is not None and parent.queue is not None:
                parent.queue.syn_queue.pop(self.four_tuple, None)
            return
        self._arm_timer(conn)

    def _arm_timer(self, conn: TCPConnection) -> None:
        """One pending wake-up per socket, moved only when the engine's deadline comes earlier."""
        deadline = conn.next_deadline()
        if deadline is not None and (self._timer_at is None or deadline < self._timer_at):
            self._timer_at = deadline
            timeout = self.env.timeout(max(0, deadline - int(self.env.now)))
            timeout.callbacks.append(partial(self._on_timer, deadline))

    def _transmit(self, conn: TCPConnection) -> None:
        """Hand the engine's segments to IP (DF set: TCP does its own PMTUD, RFC 1191)."""
        assert self.local_ip is not None and self.remote is not None
        src, dst = self.local_ip, self.remote[0]
        host = self.host
        counters = self.layer.counters
        data = 0
        segments, conn.outbox = conn.outbox, []  # (conn.take_outbox())
        resync = False
        for seg in segments:
            if seg.payload:
                data += 1
            code = host.send_ip(src, dst, 6, seg, df=True)
            if code:
                self.layer.count(f"output-{errno.errorcode.get(code, code)}")
                resync |= code == errno.EMSGSIZE
        counters["segments-sent"] = counters.get("segments-sent", 0) + len(segments)
        if data:
            counters["data-segments-sent"] = counters.get("data-segments-sent", 0) + data
        if resync and self.sync_path_mtu(self.host.network.now):
            self._transmit(conn)  # what no longer fits, resent at once in smaller segments

    def sync_path_mtu(self, now: int) -> bool:
        """Take the path MTU the host's route cache knows towards the peer (Linux's
        ``tcp_sync_mss`` from ``dst_mtu``: at connect, and whenever the cached value moved, e.g.
        because another socket's datagram drew a "packet too big"); whether it lowered the MSS.
        Without it a connection to a destination whose PMTU is already known would send
        segments its own host refuses (EMSGSIZE) for ever."""
        conn = self.conn
        if conn is None or self.remote is None:
            return False
        cached = self.host.pmtu.lookup(self.remote[0], now)
        if cached is None:
            return False
        before = conn.mss
        conn.set_pmtu(cached, now)
        return conn.mss < before

    def _on_timer(self, at: int, _event: Any) -> None:
        if self._timer_at != at or self.conn is None:
            return
        self._timer_at = None
        now = self.host.network.now
        due = self.conn.next_deadline()
        if due is not None and due <= now:
            self.conn.on_timer(now)
        self.service()

    def _on_events(self, events: int) -> None:
        conn = self.conn
        assert conn is not None
        if events & EV_ESTABLISHED:
            parent = self.parent
            if parent is not None and parent.queue is not None and self.fd is None:
                key = self.four_tuple
                if parent.queue.syn_queue.get(key) is self:
                    parent.queue.on_established(self, key)
                    parent.wake_accept()
            if self._connect_waiter is not None and not self._connect_waiter.triggered:
                waiter, self._connect_waiter = self._connect_waiter, None
                self._trace("connect", 0, address=self._format_peer())
                for hook in self.host.network.connection_hooks:
                    hook(self)
                waiter.succeed(None)
        if events & EV_ERROR and self._connect_waiter is not None and not self._connect_waiter.triggered:
            waiter, self._connect_waiter = self._connect_waiter, None
            code = conn.error
            conn.error = 0
            self._trace("connect", errno.errorcode.get(code, code), address=self._format_peer())
            waiter.fail(error(code))
        if events & (EV_READABLE | EV_ERROR | EV_CLOSED):
            self._serve_receivers()
        if events & (EV_WRITABLE | EV_ERROR | EV_CLOSED):
            self._serve_senders()

    # --- the API -------------------------------------------------------------------------------------

    def settimeout(self, timeout: int | str | None) -> None:
        """Blocking calls (connect, accept, recv) fail with ``TimeoutError`` after ``timeout`` (ns
        or ``"1s"``), as Python's ``socket.settimeout``; a timed-out connect goes on in the
        background, as the kernel's does.  None blocks for ever."""
        from netsim.units import parse_duration

        self.timeout = None if timeout is None else parse_duration(timeout)

    def setsockopt(self, level: int, option: int, value: Any) -> None:
        self._check_open("setsockopt")
        conn = self.conn
        now = self.host.network.now
        if level == _socket.SOL_SOCKET and option == _socket.SO_REUSEADDR:
            self.reuse_address = bool(value)
        elif level == _socket.IPPROTO_TCP and option == TCP_NODELAY:
            self.nodelay = bool(value)
            if conn is not None:
                conn.nodelay = self.nodelay
                if self.nodelay and conn.state in (S.ESTABLISHED, S.CLOSE_WAIT):
                    conn._push(now)
                    self.service()
        elif level == _socket.SOL_SOCKET and option == _socket.SO_KEEPALIVE:
            self.keepalive = bool(value)
            if conn is not None:
                conn.set_keepalive(self.keepalive, now)
                self.service()
        elif level == _socket.IPPROTO_TCP and option in (TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT):
            if int(value) < 1:
                self._raise("setsockopt", errno.EINVAL, level=level, option=option, value=value)
            name = {TCP_KEEPIDLE: "keepalive_time", TCP_KEEPINTVL: "keepalive_intvl",
                    TCP_KEEPCNT: "keepalive_probes"}[option]
            self.keepalive_settings[name] = int(value) * (1 if option == TCP_KEEPCNT else 1_000_000_000)
            if conn is not None:
                conn.settings = conn.settings.evolve(**{name: self.keepalive_settings[name]})
                if conn.keepalive:
                    conn.set_keepalive(True, now)
                    self.service()
        elif level == _socket.SOL_SOCKET and option == _socket.SO_RCVBUF:
            # Linux clamps the value to net.core.rmem_max and doubles it (half for bookkeeping);
            # the buffer is then locked (SOCK_RCVBUF_LOCK: no autotuning)
            self.rcvbuf = max(2304, min(int(value), self.layer.settings.core_rmem_max)) * 2
            if conn is not None:
                conn.set_rcvbuf(self.rcvbuf)
        elif level == _socket.SOL_SOCKET and option == _socket.SO_SNDBUF:
            self.sndbuf = max(4608, min(int(value), self.layer.settings.core_wmem_max)) * 2
            if conn is not None:
                conn.set_sndbuf(self.sndbuf)
        elif level == _socket.SOL_SOCKET and option == _socket.SO_LINGER:
            onoff, seconds = value
            self.linger_zero = bool(onoff) and seconds == 0
        elif level == _socket.IPPROTO_TCP and option == TCP_CONGESTION:
            name = value.decode() if isinstance(value, bytes) else str(value)
            if name not in ("reno", "newreno", "cubic"):
                self._raise("setsockopt", errno.ENOENT, level=level, option=option, value=value)
            self.congestion = name
        elif level == IPPROTO_IPV6 and option == IPV6_V6ONLY:
            if self.family != 6 or self.local_port is not None:
                self._raise("setsockopt", errno.EINVAL, level=level, option=option, value=value)
            self.v6only = bool(value)
        elif level == _socket.IPPROTO_TCP and option == TCP_MAXSEG:
            if not 88 <= int(value) <= 32767:
                self._raise("setsockopt", errno.EINVAL, level=level, option=option, value=value)
            self.user_mss = int(value)
        else:
            self._raise("setsockopt", errno.ENOPROTOOPT, level=level, option=option)
        self._trace("setsockopt", 0, level=level, option=option, value=value)

    def _address(self, address: Any, call: str) -> tuple[Any, int, str | None]:
        """(ip or None for the wildcard, port, scope interface) of a socket address of this
        socket's family: ``(host, port)`` for AF_INET; ``(host, port[, flowinfo, scope_id])`` for
        AF_INET6, the host possibly ``fe80::1%eth0`` (RFC 4007 §11) or IPv4-mapped."""
        if self.family == 4:
            ip4, port4 = _parse_address(address, call)
            return ip4, port4, None
        return parse_address6(self.host, address, call)

    def bind(self, address: Address) -> None:
        self._check_open("bind")
        ip, port, scope = self._address(address, "bind")
        if ip is not None and ip.version == 6 and ip in LINK_LOCAL and self.host.ip6 is not None and (
                scope is None or self.host.ip6.local.get(ip) is not self.host.interfaces.get(scope)):
            self._raise("bind", errno.EINVAL, address=address)  # a link-local address needs its scope
        if self.local_port is not None:
            self._raise("bind", errno.EINVAL, address=address)
        code = self.layer.bind(self, ip, port)
        if code:
            self._raise("bind", code, address=address)
        self._trace("bind", 0, address=address)

    def listen(self, backlog: int = 128) -> None:
        self._check_open("listen")
        if self.conn is not None:
            self._raise("listen", errno.EINVAL, backlog=backlog)
        if self.queue is not None:
            self.queue.backlog = max(0, min(backlog, self.layer.settings.somaxconn))
            self._trace("listen", 0, backlog=backlog)
            return
        layer = self.layer
        if self.local_port is None:
            code = layer.bind(self, None, 0)
            if code:
                self._raise("listen", code, backlog=backlog)
        assert self.local_port is not None
        for other in layer.listeners.get(self.local_port, ()):
            if other.local_ip is None or self.local_ip is None or other.local_ip == self.local_ip:
                self._raise("listen", errno.EADDRINUSE, backlog=backlog)
        self.queue = ListenQueue(backlog, layer.settings)
        layer.listeners.setdefault(self.local_port, []).append(self)
        self._trace("listen", 0, backlog=backlog)

    def accept(self) -> simpy.Event:
        """(socket, (ip, port)) of the next established connection; blocks until there is one."""
        self._check_open("accept")
        if self.queue is None:
            return self._failed("accept", errno.EINVAL)
        event = self.env.event()
        self._accept_waiters.append(event)
        self._expire_later(event, self._accept_waiters, "accept")
        self.wake_accept()
        return event

    def wake_accept(self) -> None:
        queue = self.queue
        if queue is None:
            return
        while self._accept_waiters and queue.accept_queue:
            event = self._accept_waiters.popleft()
            if event.triggered:
                continue
            child: TCPSocket = queue.accept_queue.popleft()
            child.fd = self.host.fds.allocate(child)
            child.parent = None
            peer = child._name(child.remote[0], child.remote[1]) if child.remote else child._name(None, 0)
            self._trace("accept", child.fd, peer=peer)
            event.succeed((child, peer))

    def connect(self, address: Address) -> simpy.Event:
        """Start the three-way handshake; the event fires when ESTABLISHED, or fails with
        ECONNREFUSED (an RST), ETIMEDOUT (no answer after tcp_syn_retries), EHOSTUNREACH ..."""
        self._check_open("connect")
        ip, port, scope = self._address(address, "connect")
        if ip is None:
            ip = IPv4Address("127.0.0.1") if self.family == 4 else IPv6Address("::1")
        if self.queue is not None:
            return self._failed("connect", errno.EINVAL, address=address)
        if self.conn is not None:
            if self.conn.state in (S.SYN_SENT, S.SYN_RECEIVED):
                return self._failed("connect", errno.EALREADY, address=address)
            return self._failed("connect", errno.EISCONN, address=address)
        if port == 0:
            return self._failed("connect", errno.ECONNREFUSED, address=address)
        host = self.host
        layer = self.layer
        if ip.version == 6:
            if host.ip6 is None:
                return self._failed("connect", errno.ENETUNREACH, address=address)
            if ip in LINK_LOCAL and scope is None:
                return self._failed("connect", errno.EINVAL, address=address)  # which link? (RFC 4007)
            source = self.local_ip or host.ip6.source_for(ip, host.interfaces[scope] if scope else None)
        else:
            source = self.local_ip or host.source_address_for(ip)
        if source is None:
            return self._failed("connect", errno.ENETUNREACH, address=address)
        if self.local_port is None:
            chosen = layer.connect_port(self, source, ip, port)
            if chosen is None:
                return self._failed("connect", errno.EADDRNOTAVAIL, address=address)
            self.local_port = chosen
        elif (source, self.local_port, ip, port) in layer.connections:
            return self._failed("connect", errno.EADDRNOTAVAIL, address=address)
        self.local_ip = source
        self.remote = (ip, port)
        key = self.four_tuple
        assert key is not None
        now = host.network.now
        self.conn = TCPConnection.active(self.local_port, port, now=now, **self.engine_args(layer.isn(key)))
        self.sync_path_mtu(now)
        layer.register(self)
        event = self.env.event()
        self._connect_waiter = event
        self._trace("connect", "EINPROGRESS", address=address)
        if self.timeout is not None:
            def expire(_timer: Any) -> None:
                if not event.triggered:
                    self._connect_waiter = None
                    self._trace("connect", "ETIMEDOUT")
                    event.fail(TimeoutError("timed out"))

            self.env.timeout(self.timeout).callbacks.append(expire)
        self.service()
        return event

    def _name(self, ip: Any, port: int) -> Address:
        """A socket address as this socket's family writes it (see :func:`socket_name`)."""
        return socket_name(self.host, self.family, ip, port, self.local_ip)

    def getsockname(self) -> Address:
        return self._name(self.local_ip, self.local_port or 0)

    def getpeername(self) -> Address:
        if self.remote is None or self.conn is None or self.conn.state in (S.SYN_SENT, S.CLOSED):
            self._raise("getpeername", errno.ENOTCONN)
        assert self.remote is not None
        return self._name(self.remote[0], self.remote[1])

    def _expire_later(self, event: simpy.Event, waiters: deque[Any], call: str) -> None:
        if self.timeout is None:
            return

        def expire(_timer: Any) -> None:
            if event.triggered:
                return
            for item in list(waiters):
                if item is event or (isinstance(item, tuple) and item[0] is event):
                    waiters.remove(item)
            self._trace(call, "ETIMEDOUT")
            event.fail(TimeoutError("timed out"))

        self.env.timeout(self.timeout).callbacks.append(expire)

    def _stream_error(self, call: str) -> int:
        """The errno a read or write gets now (0: none)."""
        conn = self.conn
        if conn is None:
            return errno.ENOTCONN
        if conn.error:
            code, conn.error = conn.error, 0
            self.pending_error = 0
            return code
        return 0

    def send(self, data: bytes) -> simpy.Event:
        """Queue some of ``data``; fires with how many bytes were taken (blocks while the send
        buffer is full)."""
        return self._send(data, all_of_it=False)

    def sendall(self, data: bytes) -> simpy.Event:
        """Queue all of ``data``; fires (with None) once the last byte is in the send buffer."""
        return self._send(data, all_of_it=True)

    def _send(self, data: bytes, all_of_it: bool) -> simpy.Event:
        call = "sendall" if all_of_it else "send"
        self._check_open(call)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"{call}() needs bytes, got {type(data).__name__}")
        event = simpy.Event(self.env)
        self._send_waiters.append((event, memoryview(bytes(data)), 0, all_of_it))
        self._serve_senders()
        if self.timeout is not None and event._value is PENDING:  # (not event.triggered)
            self._expire_later(event, self._send_waiters, call)
        return event

    def _serve_senders(self) -> None:
        conn = self.conn
        now = int(self.env._now)
        while self._send_waiters:
            event, data, offset, all_of_it = self._send_waiters[0]
            call = "sendall" if all_of_it else "send"
            if event._value is not PENDING:  # (event.triggered)
                self._send_waiters.popleft()
                continue
            code = 0
            if conn is None:
                code = errno.ENOTCONN
            elif conn.error:
                code = self._stream_error(call)
            elif conn.fin_queued or conn.state is S.CLOSED or conn.state not in (
                    S.ESTABLISHED, S.CLOSE_WAIT, S.SYN_SENT, S.SYN_RECEIVED):
                code = errno.EPIPE
            if code:
                self._send_waiters.popleft()
                self._trace(call, errno.errorcode[code], len=len(data))
                event.fail(error(code))
                continue
            assert conn is not None
            if conn.state is S.SYN_SENT and not conn.sndbuf.free:
                return
            taken = conn.send(data[offset:], now) if len(data) > offset else 0
            offset += taken
            if taken:
                self._flush_output()
            if offset >= len(data) or (not all_of_it and offset > 0):
                self._send_waiters.popleft()
                self._trace(call, offset, len=len(data))
                event.succeed(offset if not all_of_it else None)
                continue
            self._send_waiters[0] = (event, data, offset, all_of_it)
            return

    def _flush_output(self) -> None:
        conn = self.conn
        if conn is not None and conn.outbox:
            self._transmit(conn)
        if conn is not None:
            self._arm_timer(conn)

    def recv(self, bufsize: int) -> simpy.Event:
        """Up to ``bufsize`` bytes; ``b''`` at end of stream; blocks while nothing is readable."""
        self._check_open("recv")
        if bufsize < 0:
            return self._failed("recv", errno.EINVAL)
        event = simpy.Event(self.env)
        self._recv_waiters.append((event, bufsize))
        self._serve_receivers()
        if self.timeout is not None and event._value is PENDING:  # (not event.triggered)
            self._expire_later(event, self._recv_waiters, "recv")
        return event

    def _serve_receivers(self) -> None:
        conn = self.conn
        now = int(self.env._now)
        while self._recv_waiters:
            event, bufsize = self._recv_waiters[0]
            if event._value is not PENDING:  # (event.triggered)
                self._recv_waiters.popleft()
                continue
            if conn is None:
                self._recv_waiters.popleft()
                self._trace("recv", "ENOTCONN")
                event.fail(error(errno.ENOTCONN))
                continue
            if conn.rcvbuf._ready and not self.shut_rd:  # (rcvbuf.readable)
                data = conn.recv(bufsize, now)
                self._recv_waiters.popleft()
                self.host.syscall("recv", -1 if self.fd is None else self.fd, len(data))  # (self._trace)
                event._ok, event._value = True, data  # event.succeed(data), known to be pending
                schedule(self.env, event)
                self._flush_output()
                continue
            if conn.error:
                code = self._stream_error("recv")
                self._recv_waiters.popleft()
                self._trace("recv", errno.errorcode[code])
                event.fail(error(code))
                continue
            if conn.eof or self.shut_rd or conn.state is S.CLOSED:
                self._recv_waiters.popleft()
                self._trace("recv", 0)
                event.succeed(b"")
                continue
            return

    def shutdown(self, how: int) -> None:
        self._check_open("shutdown")
        if how not in (SHUT_RD, SHUT_WR, SHUT_RDWR):
            self._raise("shutdown", errno.EINVAL, how=how)
        conn = self.conn
        if conn is None or conn.state in (S.SYN_SENT, S.CLOSED, S.LISTEN) or self.queue is not None:
            self._raise("shutdown", errno.ENOTCONN, how=how)
        assert conn is not None
        if how in (SHUT_RD, SHUT_RDWR):
            self.shut_rd = True
        if how in (SHUT_WR, SHUT_RDWR):
            conn.shutdown(self.host.network.now)
        self._trace("shutdown", 0, how=how)
        self.service()
        self._serve_receivers()

    def close(self) -> None:
        """Close the descriptor; the connection finishes on its own (FIN, TIME-WAIT), or is
        reset when unread data remains or SO_LINGER is (on, 0)."""
        if self.closed:
            return
        self.closed = True
        now = self.host.network.now
        layer = self.layer
        if self.queue is not None:
            # a closing listener resets what waits in its queues (Linux inet_csk_listen_stop)
            queue = self.queue
            for child in list(queue.syn_queue.values()) + list(queue.accept_queue):
                if child.conn is not None and child.conn.state is not S.CLOSED:
                    child.conn.abort(now)
                    child.service()
                child.closed = True
                layer.unregister(child)
            queue.syn_queue.clear()
            queue.accept_queue.clear()
            holders = layer.listeners.get(self.local_port or 0, [])
            if self in holders:
                holders.remove(self)
                if not holders:
                    del layer.listeners[self.local_port or 0]
            self.queue = None
        conn = self.conn
        if conn is not None and conn.state is not S.CLOSED:
            if self.linger_zero:
                conn.abort(now)
            else:
                conn.close(now)
        for event, _size in self._recv_waiters:
            if not event.triggered:
                event.fail(error(errno.EBADF))
        self._recv_waiters.clear()
        if self.fd is not None:
            self.host.fds.release(self.fd)
        self._trace("close", 0)
        if conn is None or conn.state is S.CLOSED:
            layer.unregister(self)
            layer.release_port(self)
        else:
            self.service()

    # --- introspection -----------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """TCP_INFO-like numbers: state, windows, RTT estimates (ns), retransmissions."""
        conn = self.conn
        if conn is None:
            return {"state": "LISTEN" if self.queue is not None else "UNCONN"}
        return {
            "state": conn.state.value, "snd_una": conn.snd_una, "snd_nxt": conn.snd_nxt, "rcv_nxt": conn.rcv_nxt,
            "snd_wnd": conn.snd_wnd, "rcv_wnd": conn.rcv_wnd, "cwnd": conn.cwnd, "ssthresh": conn.ssthresh,
            "srtt": conn.rtt.srtt, "rttvar": conn.rtt.rttvar, "rto": conn.rtt.rto, "mss": conn.mss,
            "retransmits": conn.total_retransmits, "dsack_dups": conn.dsacks_received, "congestion": conn.cc.name,
            # as TCP_INFO's tcpi_min_rtt, tcpi_reordering, tcpi_reord_seen (ss -i: minrtt, reordering)
            "min_rtt": conn.rtt.min_rtt if conn.rtt.samples else None, "reordering": conn.rack.reordering,
            "reord_seen": conn.rack.reord_seen, "lost_retransmits": conn.lost_retransmits, "undos": conn.undos,
        }

