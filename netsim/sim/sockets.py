"""The BSD socket API of a simulated host, as SimPy events.

Calls that can block return a SimPy event (``data = yield sock.recv(4096)``); an error reaches
the waiting process as the ``OSError`` the Linux call would raise, with its errno
(``ConnectionRefusedError`` is ``OSError(ECONNREFUSED)``).  Calls that cannot block still
return an already-triggered event where Linux's call may block for other socket types (connect,
send), so application code reads the same for UDP and TCP.  Every call is written to the
host's socket-call trace, the strace of the simulation.
"""

from __future__ import annotations

import errno
import functools
import heapq
import os
import socket as _socket
from collections import deque
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address
from typing import TYPE_CHECKING, Any

import attrs
import simpy

from netsim.wire._fields import fast_ipv4
from netsim.wire.icmpv4 import ICMPv4Echo, ICMPv4Message
from netsim.wire.icmpv6 import ICMPv6Echo, ICMPv6Message
from netsim.wire.udp import UDPDatagram

if TYPE_CHECKING:
    from netsim.sim.host import Host

#: a socket address: (host, port), or (host, port, flowinfo, scope_id) for AF_INET6 as Python writes it
Address = tuple[str, int] | tuple[str, int, int, int]
UDP_MAX_PAYLOAD = 65535 - 20 - 8  # RFC 768 over IPv4: 65507
UDP6_MAX_PAYLOAD = 65535 - 8  # over IPv6 the UDP length fills the Payload Length (fragmented): 65527
_IP_RECVERR = getattr(_socket, "IP_RECVERR", 11)  # Linux's value
# IP_MTU_DISCOVER (ip(7)): DONT never sets DF; WANT sets it when the datagram fits the path MTU and
# fragments locally otherwise; DO always sets it and fails with EMSGSIZE; PROBE sets it, ignoring the PMTU
IP_MTU_DISCOVER = getattr(_socket, "IP_MTU_DISCOVER", 10)
IP_PMTUDISC_DONT, IP_PMTUDISC_WANT, IP_PMTUDISC_DO, IP_PMTUDISC_PROBE = 0, 1, 2, 3
_IPV6_RECVERR = getattr(_socket, "IPV6_RECVERR", 25)  # Linux's values, where Python has no name
_IPV6_DONTFRAG = getattr(_socket, "IPV6_DONTFRAG", 62)
_IP_MTU, _IPV6_MTU = getattr(_socket, "IP_MTU", 14), getattr(_socket, "IPV6_MTU", 24)


def _df_for(pmtudisc: int) -> bool | None:
    return {IP_PMTUDISC_DONT: False, IP_PMTUDISC_WANT: None}.get(pmtudisc, True)


def error(code: int) -> OSError:
    """``OSError(code)`` with the C library's message; Python picks the subclass from the errno."""
    return OSError(code, os.strerror(code))


def _parse_address(address: Any, call: str) -> tuple[IPv4Address | None, int]:
    if not isinstance(address, tuple) or len(address) != 2:
        raise TypeError(f"{call}() takes an (address, port) tuple, got {address!r}")
    host, port = address
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise OverflowError(f"{call}(): port must be 0-65535, got {port!r}")
    if host in ("", "0.0.0.0"):  # the wildcard address, as in Python's socket module
        return None, port
    if not isinstance(host, str):
        raise TypeError(f"{call}(): the address must be a string, got {host!r}")
    return _parse_ip(host), port


@functools.lru_cache(maxsize=4096)
def _parse_ip(host: str) -> IPv4Address:
    """Text to address, memoised: applications pass the same few address strings every call."""
    try:
        parsed = ip_address(host)
    except ValueError:
        raise error(errno.EINVAL) from None
    if not isinstance(parsed, IPv4Address):
        raise error(errno.EAFNOSUPPORT)
    return fast_ipv4(parsed)  # the shared hash-once instance: it keys every table a packet meets


LINK_LOCAL = IPv6Network("fe80::/10")


def parse_address6(host: Host, address: Any, call: str) -> tuple[Any, int, str | None]:
    """An AF_INET6 socket address: ``(host, port)`` or ``(host, port, flowinfo, scope_id)``; the
    host ``""``/``"::"`` (the wildcard), an IPv6 address with an optional ``%interface`` (or
    ``%index``) zone (RFC 4007 §11), or an IPv4-mapped ``::ffff:a.b.c.d`` (an IPv4 peer)."""
    if not isinstance(address, tuple) or len(address) not in (2, 4):
        raise TypeError(f"{call}() takes an (address, port[, flowinfo, scope_id]) tuple, got {address!r}")
    text, port = address[0], address[1]
    scope_id = address[3] if len(address) == 4 else 0
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise OverflowError(f"{call}(): port must be 0-65535, got {port!r}")
    if not isinstance(text, str):
        raise TypeError(f"{call}(): the address must be a string, got {text!r}")
    zone: str | None = None
    if "%" in text:
        text, zone = text.split("%", 1)
    if text in ("", "::"):
        return None, port, None
    try:
        ip = IPv6Address(text)
    except ValueError:
        raise error(errno.EINVAL) from None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, port, None
    scope: str | None = None
    if zone is not None:
        scope = host.interface_name(int(zone)) if zone.isdigit() else zone
        if scope not in host.interfaces:
            raise error(errno.ENODEV)
    elif scope_id:
        scope = host.interface_name(int(scope_id))
        if scope is None:
            raise error(errno.ENODEV)
    return ip, port, scope


def socket_name(host: Host, family: int, ip: Any, port: int, own: Any = None) -> Address:
    """A socket address as a socket of ``family`` writes it: ``(host, port)`` for AF_INET;
    ``(host, port, flowinfo, scope_id)`` for AF_INET6, an IPv4 peer of a dual-stack socket as
    ``::ffff:a.b.c.d``, a link-local one with its interface's index as scope id."""
    if family == 4:
        return (str(ip) if ip else "0.0.0.0", port)
    if ip is None:
        return ("::", port, 0, 0)
    if ip.version == 4:
        return (f"::ffff:{ip}", port, 0, 0)
    scope = 0
    if ip in LINK_LOCAL and host.ip6 is not None:
        mine = own if own is not None and own.version == 6 else ip
        iface = host.ip6.local.get(mine)
        scope = host.interface_index(iface.name) if iface is not None else 0
    return (str(ip), port, 0, scope)


@attrs.frozen
class ICMPErrorReport:
    """One entry of a socket's error queue: who sent the ICMP error, its type and code, the
    destination and ports of the datagram it quotes, and the errno it means."""

    offender: str
    type: int
    code: int
    original_dst: str
    original_dst_port: int
    next_hop_mtu: int = 0
    errno: int = 0  # what the error means to the socket (sock_extended_err's ee_errno)


class Socket:
    """What UDP and ICMP sockets share: a file descriptor, a local and a remote address, a
    receive queue and the processes waiting on it."""

    protocol = "udp"

    def __init__(self, host: Host, family: int = 4) -> None:
        self.host = host
        self.family = family  # 4 (AF_INET) or 6 (AF_INET6)
        self.v6only = False
        self.env: simpy.Environment = host.network.env
        self.fd = host.fds.allocate(self)
        self.local_ip: IPv4Address | None = None
        self.local_port: int | None = None
        self.remote: tuple[IPv4Address, int] | None = None
        self.queue: deque[tuple[bytes, Address]] = deque()
        self.waiters: deque[tuple[simpy.Event, int, bool]] = deque()
        self.pending_error: int | None = None
        self.closed = False
        self.reuse_address = False
        self.broadcast = False  # SO_BROADCAST
        self.privileged = True
        self.receive_buffer = 212992  # net.core.rmem_default
        self.queued_bytes = 0
        self.drops = 0
        self.timeout: int | None = None
        self.recv_errors = False
        self.error_queue: deque[ICMPErrorReport] = deque()
        self.error_waiters: deque[simpy.Event] = deque()
        self.last_ttl: int | None = None
        self.ttl: int | None = None  # IP_TTL; None: the host's default (net.ipv4.ip_default_ttl)
        self.hops6: int | None = None  # IPV6_UNICAST_HOPS (apart from IP_TTL, as Linux); None: the default
        self.pmtudisc = IP_PMTUDISC_WANT  # Linux's default for UDP and ICMP sockets
        self.dontfrag = False  # IPV6_DONTFRAG

    def __repr__(self) -> str:
        return f"<{type(self).__name__} fd={self.fd} {self.getsockname()}>"

    # --- helpers ------------------------------------------------------------------------------

    def _trace(self, call: str, result: Any, **args: Any) -> None:
        self.host.syscall(call, self.fd, result, **args)

    def _done(self, value: Any) -> simpy.Event:
        event = self.env.event()
        event.succeed(value)
        return event

    def _check_open(self, call: str) -> None:
        if self.closed:
            self._trace(call, "EBADF")
            raise error(errno.EBADF)

    def _raise(self, call: str, code: int, **args: Any) -> None:
        self._trace(call, errno.errorcode[code], **args)
        raise error(code)

    def _take_pending_error(self, call: str) -> None:
        if self.pending_error is not None:
            code, self.pending_error = self.pending_error, None
            self._raise(call, code)

    # --- the API ------------------------------------------------------------------------------

    def settimeout(self, timeout: int | str | None) -> None:
        """Blocking receives fail with ``TimeoutError`` after ``timeout`` (ns or ``"1s"``), as
        Python's ``socket.settimeout`` does; None blocks for ever."""
        from netsim.units import parse_duration

        self.timeout = None if timeout is None else parse_duration(timeout)

    def enable_error_queue(self) -> None:
        """Linux's IP_RECVERR: keep every ICMP error about this socket's datagrams in a queue read
        with :meth:`recv_error` (what traceroute uses), instead of only a pending errno."""
        self.recv_errors = True

    def recv_error(self) -> simpy.Event:
        """The next ICMP error report (``recvmsg(MSG_ERRQUEUE)``); honours :meth:`settimeout`."""
        event = self.env.event()
        if self.error_queue:
            event.succeed(self.error_queue.popleft())
        else:
            self.error_waiters.append(event)
            self._expire_later(event, self.error_waiters)
        return event

    def push_error(self, report: ICMPErrorReport) -> None:
        if self.error_waiters:
            self.error_waiters.popleft().succeed(report)
        else:
            self.error_queue.append(report)

    def _expire_later(self, event: simpy.Event, waiters: deque[Any]) -> None:
        if self.timeout is None:
            return

        def expire(_timer: Any) -> None:
            if event.triggered:
                return
            for item in list(waiters):
                if item is event or (isinstance(item, tuple) and item[0] is event):
                    waiters.remove(item)
            event.fail(TimeoutError("timed out"))

        self.env.timeout(self.timeout).callbacks.append(expire)

    def setsockopt(self, level: int, option: int, value: int) -> None:
        self._check_open("setsockopt")
        if level == _socket.SOL_SOCKET and option == _socket.SO_REUSEADDR:
            self.reuse_address = bool(value)
        elif level == _socket.IPPROTO_IP and option == _socket.IP_TTL:
            if not 1 <= int(value) <= 255:
                self._raise("setsockopt", errno.EINVAL, level=level, option=option, value=value)
            self.ttl = int(value)
        elif level == _socket.IPPROTO_IP and option == IP_MTU_DISCOVER:
            if value not in (IP_PMTUDISC_DONT, IP_PMTUDISC_WANT, IP_PMTUDISC_DO, IP_PMTUDISC_PROBE):
                self._raise("setsockopt", errno.EINVAL, level=level, option=option, value=value)
            self.pmtudisc = int(value)
        elif level == _socket.IPPROTO_IP and option == _IP_RECVERR:
            self.recv_errors = bool(value)
        elif level == _socket.IPPROTO_IPV6 and self.family == 6:
            self._setsockopt6(option, value)
        elif level == _socket.SOL_SOCKET and option == _socket.SO_BROADCAST:
            self.broadcast = bool(value)
        elif level == _socket.SOL_SOCKET and option == _socket.SO_RCVBUF:
            self.receive_buffer = max(2304, min(int(value) * 2, 212992 * 2))  # Linux doubles it
        else:
            self._raise("setsockopt", errno.ENOPROTOOPT, level=level, option=option)
        self._trace("setsockopt", 0, level=level, option=option, value=value)

    def _setsockopt6(self, option: int, value: int) -> None:
        """The IPPROTO_IPV6 options of ipv6(7): the hop limit of unicast datagrams (-1: the
        host's default), IPV6_RECVERR (the error queue, as IP_RECVERR), and IPV6_V6ONLY (only
        before bind, EINVAL after, as Linux)."""
        level = _socket.IPPROTO_IPV6
        if option == _socket.IPV6_UNICAST_HOPS:
            if not -1 <= int(value) <= 255:  # (ipv6(7): -1 is the route's default; 0 is a hop limit)
                self._raise("setsockopt", errno.EINVAL, level=level, option=option, value=value)
            self.hops6 = None if value == -1 else int(value)
        elif option == _IPV6_RECVERR:
            self.recv_errors = bool(value)
        elif option == _IPV6_DONTFRAG:
            # RFC 3542 §11.2: a datagram over the path MTU fails with EMSGSIZE, not fragmented
            self.dontfrag = bool(value)
        elif option == _socket.IPV6_V6ONLY:
            if self.local_port is not None:
                self._raise("setsockopt", errno.EINVAL, level=level, option=option, value=value)
            self.v6only = bool(value)
        else:
            self._raise("setsockopt", errno.ENOPROTOOPT, level=level, option=option)

    def getsockopt(self, level: int, option: int) -> int:
        """An option's value, as Linux gives it: what :meth:`setsockopt` set, SO_ERROR (the
        pending error, cleared by reading it), SO_TYPE, and a connected socket's path MTU
        (IP_MTU / IPV6_MTU: ENOTCONN when not connected)."""
        self._check_open("getsockopt")
        value: int | None = None
        if level == _socket.SOL_SOCKET:
            if option == _socket.SO_ERROR:
                value, self.pending_error = self.pending_error or 0, None
            else:
                value = {_socket.SO_REUSEADDR: int(self.reuse_address), _socket.SO_BROADCAST: int(self.broadcast),
                         _socket.SO_RCVBUF: self.receive_buffer, _socket.SO_TYPE: _socket.SOCK_DGRAM}.get(option)
        elif level == _socket.IPPROTO_IP and self.family == 4:
            if option == _IP_MTU:
                value = self._path_mtu()
            else:
                value = {_socket.IP_TTL: self.ttl or self.host.ttl, IP_MTU_DISCOVER: self.pmtudisc,
                         _IP_RECVERR: int(self.recv_errors)}.get(option)
        elif level == _socket.IPPROTO_IPV6 and self.family == 6:
            if option == _IPV6_MTU:
                value = self._path_mtu()
            else:
                default_hops = self.host.ip6.hop_limit if self.host.ip6 is not None else 64
                hops = default_hops if self.hops6 is None else self.hops6
                value = {_socket.IPV6_UNICAST_HOPS: hops, _IPV6_RECVERR: int(self.recv_errors),
                         _IPV6_DONTFRAG: int(self.dontfrag), _socket.IPV6_V6ONLY: int(self.v6only)}.get(option)
        if value is None:
            self._raise("getsockopt", errno.ENOPROTOOPT, level=level, option=option)
        assert value is not None
        self._trace("getsockopt", value, level=level, option=option)
        return value

    def _df(self, version: int) -> bool | None:
        """``send_ip``'s ``df`` for a datagram of IP ``version``: IP_MTU_DISCOVER's over IPv4,
        IPV6_DONTFRAG over IPv6 (which, unset, lets the host fragment, RFC 3542 §11.2)."""
        return _df_for(self.pmtudisc) if version == 4 else self.dontfrag

    def _path_mtu(self) -> int:
        """IP_MTU / IPV6_MTU: the path MTU towards the connected peer (the route's interface MTU,
        lowered by what PMTU discovery learned)."""
        if self.remote is None:
            self._raise("getsockopt", errno.ENOTCONN)
        assert self.remote is not None
        host = self.host
        ip: Any = self.remote[0]
        if ip.version == 6:
            source: Any = self.local_ip or getattr(self, "connected_source", None)
            where = host.ip6.interface_for(source, ip) if host.ip6 is not None and source is not None else None
            out = where[0] if where is not None else None
        else:
            route = host.route_to(ip)
            out = host.interfaces[route.interface] if route is not None else None
        if out is None:
            self._raise("getsockopt", errno.ENETUNREACH)
        assert out is not None
        return host.path_mtu(ip, out)

    def _addr(self, address: Any, call: str) -> tuple[Any, int, str | None]:
        """(ip or None, port, scope interface) of a socket address of this socket's family."""
        if self.family == 4:
            ip, port = _parse_address(address, call)
            return ip, port, None
        return parse_address6(self.host, address, call)

    def bind(self, address: Address) -> None:
        self._check_open("bind")
        ip, port, _scope = self._addr(address, "bind")
        if self.local_port is not None:
            self._raise("bind", errno.EINVAL, address=address)
        code = self.host.bind_socket(self, ip, port)
        if code:
            self._raise("bind", code, address=address)
        self._trace("bind", 0, address=address)

    def connect(self, address: Address) -> simpy.Event:
        """Fix the peer: only its datagrams are received, and ICMP errors about it are reported
        on the next call (RFC 1122 §4.1.3.3; Linux's ECONNREFUSED)."""
        self._check_open("connect")
        ip, port, scope = self._addr(address, "connect")
        if ip is None:
            ip = IPv4Address("127.0.0.1") if self.family == 4 else IPv6Address("::1")  # INADDR_ANY: loopback
        route_source = self._source_for(ip, scope, "connect", address)
        if route_source is None:
            self._raise("connect", errno.ENETUNREACH, address=address)
        if self.local_port is None:
            code = self.host.bind_socket(self, None, 0)
            if code:
                self._raise("connect", code, address=address)
        if self.local_ip is None:
            self.connected_source = route_source
        self.remote = (ip, port)
        self.pending_error = None
        self._trace("connect", 0, address=address)
        for hook in self.host.network.connection_hooks:
            hook(self)
        return self._done(None)

    def _source_for(self, ip: Any, scope: str | None, call: str, address: Any) -> Any:
        """The source address towards ``ip`` (IPv6: RFC 6724 in brief, a link-local
        destination needing its scope — EINVAL without, as Linux)."""
        if ip.version == 4:
            return self.host.source_address_for(ip)
        if self.host.ip6 is None:
            return None
        if ip in LINK_LOCAL and scope is None and ip not in self.host.ip6.local:
            self._raise(call, errno.EINVAL, address=address)
        return self.host.ip6.source_for(ip, self.host.interfaces[scope] if scope else None)

    def getsockname(self) -> Address:
        ip = self.local_ip or (getattr(self, "connected_source", None) if self.remote else None)
        return socket_name(self.host, self.family, ip, self.local_port or 0)

    def getpeername(self) -> Address:
        if self.remote is None:
            self._raise("getpeername", errno.ENOTCONN)
        assert self.remote is not None
        own = self.local_ip or getattr(self, "connected_source", None)
        return socket_name(self.host, self.family, self.remote[0], self.remote[1], own)

    def send(self, data: bytes) -> simpy.Event:
        if self.remote is None:
            self._check_open("send")
            self._raise("send", errno.EDESTADDRREQ, len=len(data))
        return self._send(data, None, "send")

    def sendto(self, data: bytes, address: Address) -> simpy.Event:
        return self._send(data, address, "sendto")

    def _send(self, data: bytes, address: Address | None, call: str) -> simpy.Event:
        raise NotImplementedError  # pragma: no cover - each protocol sends its own way

    def recvfrom(self, bufsize: int) -> simpy.Event:
        """The next datagram (cut to ``bufsize``, the rest discarded as Linux does) and its sender."""
        return self._recv(bufsize, with_address=True)

    def recv(self, bufsize: int) -> simpy.Event:
        return self._recv(bufsize, with_address=False)

    def _recv(self, bufsize: int, with_address: bool) -> simpy.Event:
        call = "recvfrom" if with_address else "recv"
        self._check_open(call)
        if bufsize < 0:
            self._raise(call, errno.EINVAL)
        event = self.env.event()
        if self.queue:
            self._complete(event, bufsize, with_address)
        elif self.pending_error is not None:
            code, self.pending_error = self.pending_error, None
            self._trace(call, errno.errorcode[code])
            event.fail(error(code))
        else:
            self.waiters.append((event, bufsize, with_address))
            self._expire_later(event, self.waiters)
        return event

    def _complete(self, event: simpy.Event, bufsize: int, with_address: bool) -> None:
        data, sender = self.queue.popleft()
        self.queued_bytes -= len(data)
        data = data[:bufsize]
        self._trace("recvfrom" if with_address else "recv", len(data), peer=sender)
        event.succeed((data, sender) if with_address else data)

    def deliver(self, data: bytes, sender: Address, ttl: int | None = None) -> bool:
        """A datagram for this socket arrived; False if the receive buffer is full (dropped)."""
        if self.queued_bytes + len(data) > self.receive_buffer:
            self.drops += 1
            return False
        if ttl is not None:
            self.last_ttl = ttl
        self.queue.append((data, sender))
        self.queued_bytes += len(data)
        while self.waiters and self.queue:
            event, bufsize, with_address = self.waiters.popleft()
            self._complete(event, bufsize, with_address)
        return True

    def report_error(self, code: int) -> None:
        """An ICMP error about this connected socket's peer: the next call fails with ``code``."""
        if self.waiters:
            event, _bufsize, with_address = self.waiters.popleft()
            self._trace("recvfrom" if with_address else "recv", errno.errorcode[code])
            event.fail(error(code))
        else:
            self.pending_error = code

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.host.unbind_socket(self)
        self.host.fds.release(self.fd)
        for event, _bufsize, _with_address in self.waiters:
            event.fail(error(errno.EBADF))
        self.waiters.clear()
        self._trace("close", 0)


class UDPSocket(Socket):
    """A UDP socket (RFC 768): message boundaries kept, no reliability, no handshake."""

    protocol = "udp"

    def _send(self, data: bytes, address: Address | None, call: str) -> simpy.Event:
        self._check_open(call)
        if not isinstance(data, bytes | bytearray):
            raise TypeError(f"{call}() needs bytes, got {type(data).__name__}")
        scope: str | None = None
        ip: Any
        if address is None:
            assert self.remote is not None
            ip, port = self.remote
        else:
            parsed, port, scope = self._addr(address, call)
            ip = parsed or (IPv4Address("127.0.0.1") if self.family == 4 else IPv6Address("::1"))
        self._take_pending_error(call)
        if len(data) > (UDP_MAX_PAYLOAD if ip.version == 4 else UDP6_MAX_PAYLOAD):
            self._raise(call, errno.EMSGSIZE, len=len(data))
        if ip.version == 4 and not self.broadcast and self.host.is_broadcast(ip):
            self._raise(call, errno.EACCES, len=len(data))  # udp(7): broadcast needs SO_BROADCAST
        if port == 0:
            self._raise(call, errno.EINVAL, len=len(data))
        if self.local_port is None:
            code = self.host.bind_socket(self, None, 0)
            if code:
                self._raise(call, code, len=len(data))
        source = self.local_ip or (getattr(self, "connected_source", None) if address is None else None) \
            or self._source_for(ip, scope, call, address)
        if source is None:
            self._raise(call, errno.ENETUNREACH, len=len(data))
        assert source is not None and self.local_port is not None
        datagram = UDPDatagram(src_port=self.local_port, dst_port=port, payload=bytes(data))
        code = self.host.send_ip(source, ip, 17, datagram, ttl=self.hops6 if ip.version == 6 else self.ttl,
                                 df=self._df(ip.version), probe=self.pmtudisc == IP_PMTUDISC_PROBE)
        if code:
            self._raise(call, code, len=len(data))
        self._trace(call, len(data), peer=socket_name(self.host, self.family, ip, port, source))
        return self._done(len(data))


class ICMPSocket(Socket):
    """A ping socket (Linux ``socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)``, or ``AF_INET6`` and
    ``IPPROTO_ICMPV6``): the application sends echo requests and receives echo replies; the
    kernel sets the identifier to the socket's "port" and demultiplexes replies by it."""

    protocol = "icmp"

    def _send(self, data: bytes, address: Address | None, call: str) -> simpy.Event:
        self._check_open(call)
        scope: str | None = None
        ip: Any
        if address is None:
            assert self.remote is not None
            ip = self.remote[0]
        else:
            parsed, _port, scope = self._addr(address, call)
            ip = parsed or (IPv4Address("127.0.0.1") if self.family == 4 else IPv6Address("::1"))
        if ip.version != self.family:
            self._raise(call, errno.EINVAL, len=len(data))  # (no IPv4-mapped peers for ping sockets)
        self._take_pending_error(call)
        # the kernel fills in the identifier and the checksum: the application's are ignored
        message: ICMPv4Message | ICMPv6Message
        try:
            message = (ICMPv4Message.parse(bytes(data)) if self.family == 4
                       else ICMPv6Message.parse(bytes(data)))
        except ValueError:
            self._raise(call, errno.EINVAL, len=len(data))
        if not isinstance(message, ICMPv4Echo | ICMPv6Echo) or not message.is_request:
            self._raise(call, errno.EINVAL, len=len(data))
        assert isinstance(message, ICMPv4Echo | ICMPv6Echo)
        if self.local_port is None:
            code = self.host.bind_socket(self, None, 0)
            if code:
                self._raise(call, code, len=len(data))
        source = self.local_ip or self._source_for(ip, scope, call, address)
        if source is None:
            self._raise(call, errno.ENETUNREACH, len=len(data))
        assert source is not None and self.local_port is not None
        echo: ICMPv4Echo | ICMPv6Echo
        if self.family == 4:
            echo = ICMPv4Echo(8, self.local_port, message.sequence, message.data)
        else:
            echo = ICMPv6Echo(128, self.local_port, message.sequence, message.data)
        code = self.host.send_ip(source, ip, 1 if self.family == 4 else 58, echo,
                                 ttl=self.ttl if self.family == 4 else self.hops6,
                                 df=self._df(self.family), probe=self.pmtudisc == IP_PMTUDISC_PROBE)
        if code:
            self._raise(call, code, len=len(data))
        self._trace(call, len(data), peer=(str(ip), 0))
        return self._done(len(data))


class FileDescriptors:
    """A host's descriptor table: the lowest free number from 3 up, as open(2) does.

    The free numbers are every one from ``_next`` up plus the released ones below it, kept in
    a heap: the lowest is found in O(log n) rather than by a scan of the table, which cost a
    server holding thousands of connections a thousand lookups per accept."""

    def __init__(self, limit: int = 1024) -> None:
        self.limit = limit  # RLIMIT_NOFILE soft default
        self.table: dict[int, Any] = {}
        self._next = 3
        self._released: list[int] = []

    def allocate(self, owner: Any) -> int:
        released = self._released
        fd = released[0] if released else self._next
        if fd >= self.limit:
            raise error(errno.EMFILE)
        if released:
            heapq.heappop(released)
        else:
            self._next += 1
        self.table[fd] = owner
        return fd

    def release(self, fd: int) -> None:
        if self.table.pop(fd, None) is not None:
            heapq.heappush(self._released, fd)
