"""TCP applications that ship with netsim: echo servers (plain and the lecture's 4-byte
length-framed one), a client, and a bulk sender and sink.

Each is a SimPy process function using only the socket API, returning a result value with what
the application saw (bytes, errno names, the 5-tuple from getsockname/getpeername, times).
"""

from __future__ import annotations

import errno
from collections.abc import Generator
from socket import SO_SNDBUF, SOL_SOCKET
from typing import TYPE_CHECKING, Any, Literal

import attrs

if TYPE_CHECKING:
    from netsim.sim.host import Host
    from netsim.sim.sockets import Address
    from netsim.sim.tcp import TCPSocket

Process = Generator[Any, Any, Any]
_PATTERN = bytes(range(251))


def pattern(size: int) -> bytes:
    """``size`` bytes of a 251-periodic pattern (a prime period, so a shifted or repeated
    segment never lines up with the right bytes by accident)."""
    return (_PATTERN * (size // 251 + 1))[:size]


def _errno_name(exc: OSError) -> str:
    return errno.errorcode.get(exc.errno or 0, type(exc).__name__)


def recv_exactly(sock: TCPSocket, size: int) -> Process:
    """Read exactly ``size`` bytes (fewer only at end of stream)."""
    chunks: list[bytes] = []
    got = 0
    while got < size:
        chunk = yield sock.recv(min(size - got, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


@attrs.define
class ServerStats:
    """What an echo server or sink saw, connection by connection."""

    accepted: int = 0
    peers: list[Address] = attrs.field(factory=list)
    bytes_received: int = 0
    bytes_sent: int = 0
    messages: int = 0
    errors: list[str] = attrs.field(factory=list)


def _kind(address: str) -> Literal["tcp", "tcp6"]:
    """The socket an address needs: AF_INET6 for an IPv6 one (``"::"``, ``"2001:db8::1"``)."""
    return "tcp6" if ":" in address else "tcp"


def tcp_echo_server(host: Host, port: int, *, address: str = "0.0.0.0", framed: bool = False, backlog: int = 128,
                    connections: int | None = None, stats: ServerStats | None = None) -> Process:
    """Accept connections and echo what each sends until it closes its side.

    ``framed``: the lecture's lab 1.5 protocol — each message is a 4-byte big-endian length and
    that many bytes, echoed back whole.  ``connections``: stop accepting after that many.
    """
    env = host.network.env
    stats = stats if stats is not None else ServerStats()
    listener = host.socket(_kind(address))
    listener.setsockopt(1, 2, 1)  # SO_REUSEADDR, as servers do
    listener.bind((address, port))
    listener.listen(backlog)
    served = 0
    while connections is None or served < connections:
        try:
            conn, peer = yield listener.accept()
        except OSError as exc:
            stats.errors.append(_errno_name(exc))
            break
        served += 1
        stats.accepted += 1
        stats.peers.append(peer)
        env.process(_echo(conn, framed, stats))
    listener.close()
    return stats


def _echo(conn: TCPSocket, framed: bool, stats: ServerStats) -> Process:
    try:
        while True:
            if framed:
                header = yield from recv_exactly(conn, 4)
                if len(header) < 4:
                    break
                body = yield from recv_exactly(conn, int.from_bytes(header, "big"))
                stats.bytes_received += 4 + len(body)
                stats.messages += 1
                yield conn.sendall(header + body)
                stats.bytes_sent += 4 + len(body)
            else:
                data = yield conn.recv(65536)
                if not data:
                    break
                stats.bytes_received += len(data)
                yield conn.sendall(data)
                stats.bytes_sent += len(data)
    except OSError as exc:
        stats.errors.append(_errno_name(exc))
    conn.close()


@attrs.frozen
class ClientResult:
    """What a TCP client saw: its own 5-tuple (getsockname/getpeername), bytes, the echo check,
    the errno if a call failed, and when it connected and finished."""

    local: Address | None
    peer: Address | None
    sent: int
    received: int
    echo_ok: bool | None
    error: str | None
    connected_at: int | None
    finished_at: int


def tcp_client(host: Host, address: tuple[str, int], *, message: bytes | None = None, size: int | None = None,
               framed: bool = False, read_echo: bool = True, bind: tuple[str, int] | None = None,
               reuse_address: bool = False, hold: int = 0) -> Process:
    """connect(), send ``message`` (or ``size`` patterned bytes), read the echo, close().

    ``framed`` prefixes the 4-byte length (lab 1.5); ``hold`` keeps the connection open that many
    ns before closing.
    """
    env = host.network.env
    payload = message if message is not None else pattern(size or 0)
    wire = len(payload).to_bytes(4, "big") + payload if framed else payload
    sock = host.socket(_kind(address[0]))
    local = peer = None
    sent = received = 0
    echo_ok: bool | None = None
    connected_at: int | None = None
    try:
        if reuse_address:
            sock.setsockopt(1, 2, 1)
        if bind is not None:
            sock.bind(bind)
        yield sock.connect(address)
        connected_at = int(env.now)
        local, peer = sock.getsockname(), sock.getpeername()
        if wire:
            yield sock.sendall(wire)
            sent = len(wire)
        if read_echo and wire:
            echo = yield from recv_exactly(sock, len(wire))
            received = len(echo)
            echo_ok = echo == wire
        if hold:
            yield env.timeout(hold)
    except OSError as exc:
        sock.close()
        return ClientResult(local, peer, sent, received, echo_ok, _errno_name(exc), connected_at, int(env.now))
    sock.close()
    return ClientResult(local, peer, sent, received, echo_ok, None, connected_at, int(env.now))


def bulk_sink(host: Host, port: int, *, address: str = "0.0.0.0", connections: int | None = 1,
              stats: ServerStats | None = None, backlog: int = 1024) -> Process:
    """Accept connections and read everything each sends, counting bytes."""
    env = host.network.env
    stats = stats if stats is not None else ServerStats()
    listener = host.socket(_kind(address))
    listener.bind((address, port))
    listener.listen(backlog)
    done = []
    served = 0
    while connections is None or served < connections:
        conn, peer = yield listener.accept()
        served += 1
        stats.accepted += 1
        stats.peers.append(peer)
        done.append(env.process(_sink(conn, stats)))
    listener.close()
    if done:
        yield env.all_of(done)
    return stats


def _sink(conn: TCPSocket, stats: ServerStats) -> Process:
    try:
        while True:
            data = yield conn.recv(1 << 20)
            if not data:
                break
            stats.bytes_received += len(data)
    except OSError as exc:
        stats.errors.append(_errno_name(exc))
    conn.close()


def bulk_send(host: Host, address: tuple[str, int], size: int, *, chunk: int = 1 << 16,
              sndbuf: int | None = None) -> Process:
    """Connect and send ``size`` bytes in ``chunk``-sized writes, then close; returns a
    :class:`ClientResult` (``finished_at`` is when the last byte was queued and close() called).
    ``sndbuf``: SO_SNDBUF set before connecting (the buffer locked, as an application that sets
    it does); None leaves it to autotuning."""
    env = host.network.env
    sock = host.socket(_kind(address[0]))
    if sndbuf is not None:
        sock.setsockopt(SOL_SOCKET, SO_SNDBUF, sndbuf)
    block = pattern(chunk)
    sent = 0
    local = peer = None
    connected_at = None
    try:
        yield sock.connect(address)
        connected_at = int(env.now)
        local, peer = sock.getsockname(), sock.getpeername()
        while sent < size:
            piece = block[: min(chunk, size - sent)]
            yield sock.sendall(piece)
            sent += len(piece)
    except OSError as exc:
        sock.close()
        return ClientResult(local, peer, sent, 0, None, _errno_name(exc), connected_at, int(env.now))
    sock.close()
    return ClientResult(local, peer, sent, 0, None, None, connected_at, int(env.now))


@attrs.frozen
class FloodResult:
    sent: int
    sources: int


def syn_flood(host: Host, target: tuple[str, int], *, rate: int = 1000, duration: int = 1_000_000_000,
              spoof: str = "198.18.0.0/15") -> Process:
    """Send ``rate`` SYNs per second for ``duration`` ns to ``target``, each from a random
    address of ``spoof`` and a random port (RFC 4987 §2's attack).  The SYNs are built by hand
    and sent as raw IP, as hping3 does; nothing on the flooder answers the SYN-ACKs."""
    from ipaddress import IPv4Address, IPv4Network

    from netsim.wire.tcp import TCPFlags, TCPSegment
    from netsim.wire.tcp_options import TCPOptionMSS

    env = host.network.env
    rng = host.network.stream(f"syn-flood/{host.name}")
    network = IPv4Network(spoof)
    destination = IPv4Address(target[0])
    gap = max(1, 1_000_000_000 // rate)
    end = env.now + duration
    sent = 0
    sources: set[int] = set()
    while env.now < end:
        source = IPv4Address(int(network.network_address) + rng.randrange(network.num_addresses))
        sources.add(int(source))
        syn = TCPSegment(src_port=rng.randrange(1024, 65536), dst_port=target[1], seq=rng.getrandbits(32),
                         flags=TCPFlags.SYN, window=64240, options=(TCPOptionMSS(1460),))
        host.send_ip(source, destination, 6, syn, df=True)
        sent += 1
        yield env.timeout(gap)
    return FloodResult(sent, len(sources))
