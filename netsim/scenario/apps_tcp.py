"""The processes behind the scenario app kinds that :mod:`netsim.sim.tcp_apps` does not have:
servers that report as they go, sequential and churning TCP clients, request/response, a bulk
sender that waits for its data to be read, and a UDP echo client.

Each takes an :class:`AppContext` and uses only the socket API.  It writes what it sees into
``ctx.result`` (a JSON-ready dict) *as it goes*, so a server that is still running at the end of a
run, or an app a timeline ``stop`` ends, still has results.  Endpoints are written ``"ip:port"``,
errors by errno name and counted (``{"ECONNREFUSED": 2}``), times and latencies in nanoseconds.
"""

from __future__ import annotations

import errno
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from netsim.scenario.results import endpoint, errno_name, latency_stats
from netsim.sim.tcp_apps import pattern, recv_exactly

if TYPE_CHECKING:
    from netsim.sim.host import Host
    from netsim.sim.tcp import TCPSocket

Process = Generator[Any, Any, Any]
SOL_SOCKET, SO_REUSEADDR = 1, 2
IPPROTO_IPV6, IPV6_V6ONLY = 41, 26  # Linux's values
SHUT_WR = 1


class AppContext:
    """What a running app has: its host, its live result, and the sockets and child processes it
    opened (so that stopping it closes its sockets, as the exit of a process closes its fds)."""

    def __init__(self, host: Host, result: dict[str, Any] | None = None) -> None:
        self.host = host
        self.env: simpy.Environment = host.network.env
        self.result: dict[str, Any] = result if result is not None else {}
        self.sockets: list[Any] = []
        self.children: list[simpy.Process] = []

    @property
    def now(self) -> int:
        return int(self.env.now)

    def socket(self, kind: str) -> Any:
        sock = self.host.socket(kind)
        self.sockets.append(sock)
        return sock

    def spawn(self, generator: Process) -> simpy.Process:
        """Run ``generator`` as a child process of the app (stopped with it)."""
        process = self.env.process(self._child(generator))
        self.children.append(process)
        return process

    @staticmethod
    def _child(generator: Process) -> Process:
        try:
            return (yield from generator)
        except simpy.Interrupt:
            return None

    def error(self, exc: BaseException, into: dict[str, Any] | None = None) -> str:
        """Count the errno of ``exc`` in ``result["errors"]`` (and set ``into["error"]``); its name."""
        name = errno_name(exc)
        errors = self.result.setdefault("errors", {})
        errors[name] = errors.get(name, 0) + 1
        if into is not None:
            into["error"] = name
        return name

    def close_all(self) -> None:
        for sock in self.sockets:
            sock.close()


def _close(sock: Any) -> None:
    if sock is not None:
        sock.close()


# --- servers --------------------------------------------------------------------------------------


def _listen(ctx: AppContext, address: str, port: int, backlog: int, reuse: bool = True,
            v6only: bool = False) -> TCPSocket | None:
    result = ctx.result
    result.update({"listen": f"{address}:{port}", "port": port, "accepted": 0, "peers": [], "connections": [],
                   "bytes_received": 0, "bytes_sent": 0, "errors": result.get("errors", {})})
    try:
        listener: TCPSocket = ctx.socket("tcp6" if ":" in address else "tcp")
        if reuse:
            listener.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
        if v6only:
            listener.setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1)
        listener.bind((address, port))
        listener.listen(backlog)
    except OSError as exc:
        ctx.error(exc, result)
        return None
    if listener.queue is not None:
        result["listen_counters"] = listener.queue.counters  # live: Linux's per-listener counters
    return listener


def _serve(ctx: AppContext, listener: TCPSocket, connections: int | None, handler: Any) -> Process:
    result = ctx.result
    served = 0
    while connections is None or served < connections:
        try:
            conn, peer = yield listener.accept()
        except OSError as exc:
            ctx.error(exc, result)
            break
        served += 1
        ctx.sockets.append(conn)
        entry = {"local": endpoint(conn.getsockname()), "peer": endpoint(peer), "accepted_at": ctx.now,
                 "bytes_received": 0, "bytes_sent": 0, "closed_at": None, "error": None}
        result["accepted"] += 1
        result["peers"].append(entry["peer"])
        result["connections"].append(entry)
        ctx.spawn(handler(ctx, conn, entry))
    listener.close()
    result["stopped_listening_at"] = ctx.now
    if ctx.children:
        yield ctx.env.all_of(list(ctx.children))
    return result


def _echo(ctx: AppContext, conn: TCPSocket, entry: dict[str, Any], framed: bool) -> Process:
    result = ctx.result
    try:
        while True:
            if framed:
                header = yield from recv_exactly(conn, 4)
                if len(header) < 4:
                    break
                body = yield from recv_exactly(conn, int.from_bytes(header, "big"))
                data = header + body
                result["messages"] = result.get("messages", 0) + 1
            else:
                data = yield conn.recv(65536)
                if not data:
                    break
            entry["bytes_received"] += len(data)
            result["bytes_received"] += len(data)
            yield conn.sendall(data)
            entry["bytes_sent"] += len(data)
            result["bytes_sent"] += len(data)
    except OSError as exc:
        ctx.error(exc, entry)
    conn.close()
    entry["closed_at"] = ctx.now


def tcp_echo_server(ctx: AppContext, port: int, *, address: str = "0.0.0.0", framed: bool = False,
                    backlog: int = 128, connections: int | None = None, v6only: bool = False) -> Process:
    """Accept connections and echo each (plain, or lab 1.5's 4-byte length framing)."""
    ctx.result["messages"] = 0
    listener = _listen(ctx, address, port, backlog, v6only=v6only)
    if listener is None:
        return ctx.result
    return (yield from _serve(ctx, listener, connections, lambda c, s, e: _echo(c, s, e, framed)))


def _sink(ctx: AppContext, conn: TCPSocket, entry: dict[str, Any]) -> Process:
    try:
        while True:
            data = yield conn.recv(1 << 20)
            if not data:
                break
            entry["bytes_received"] += len(data)
            ctx.result["bytes_received"] += len(data)
    except OSError as exc:
        ctx.error(exc, entry)
    conn.close()
    entry["closed_at"] = ctx.now


def bulk_sink(ctx: AppContext, port: int, *, address: str = "0.0.0.0", backlog: int = 128,
              connections: int | None = None) -> Process:
    """Accept connections and read everything each sends, counting bytes."""
    listener = _listen(ctx, address, port, backlog)
    if listener is None:
        return ctx.result
    return (yield from _serve(ctx, listener, connections, _sink))


REQUEST_HEADER = 8  # 4 bytes: body length; 4 bytes: the length of the response asked for


def _answer(ctx: AppContext, conn: TCPSocket, entry: dict[str, Any]) -> Process:
    result = ctx.result
    try:
        while True:
            header = yield from recv_exactly(conn, REQUEST_HEADER)
            if len(header) < REQUEST_HEADER:
                break
            body = yield from recv_exactly(conn, int.from_bytes(header[:4], "big"))
            entry["bytes_received"] += len(header) + len(body)
            result["bytes_received"] += len(header) + len(body)
            result["requests"] = result.get("requests", 0) + 1
            answer = pattern(int.from_bytes(header[4:], "big"))
            yield conn.sendall(answer)
            entry["bytes_sent"] += len(answer)
            result["bytes_sent"] += len(answer)
    except OSError as exc:
        ctx.error(exc, entry)
    conn.close()
    entry["closed_at"] = ctx.now


def request_response_server(ctx: AppContext, port: int, *, address: str = "0.0.0.0", backlog: int = 128,
                            connections: int | None = None) -> Process:
    """Answer each request (an 8-byte header: body length and response length, then the body)
    with a response of the length asked for."""
    ctx.result["requests"] = 0
    listener = _listen(ctx, address, port, backlog)
    if listener is None:
        return ctx.result
    return (yield from _serve(ctx, listener, connections, _answer))


# --- clients --------------------------------------------------------------------------------------


def _connect(ctx: AppContext, address: tuple[str, int], entry: dict[str, Any], bind: tuple[str, int] | None,
             reuse: bool) -> Process:
    """socket(), [bind()], connect(); the socket, with ``entry`` filled (local, peer, connect_time)."""
    sock = ctx.socket("tcp6" if ":" in address[0] else "tcp")
    if reuse:
        sock.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    if bind is not None:
        sock.bind(bind)
    started = ctx.now
    try:
        yield sock.connect(address)
    except OSError:
        entry["local"] = endpoint(sock.getsockname()) if sock.local_port else None
        sock.close()
        raise
    entry["connected_at"] = ctx.now
    entry["connect_time"] = ctx.now - started
    entry["local"] = endpoint(sock.getsockname())
    entry["peer"] = endpoint(sock.getpeername())
    return sock


def _new_entry() -> dict[str, Any]:
    return {"local": None, "peer": None, "sent": 0, "received": 0, "connected_at": None, "connect_time": None,
            "finished_at": None, "error": None}


def _client_totals(ctx: AppContext) -> None:
    result = ctx.result
    entries = result["connections"]
    result["connected"] = sum(1 for e in entries if e["connected_at"] is not None)
    result["failed"] = sum(1 for e in entries if e["error"] is not None)
    result["bytes_sent"] = sum(e["sent"] for e in entries)
    result["bytes_received"] = sum(e["received"] for e in entries)
    result["error"] = next((e["error"] for e in entries if e["error"] is not None), None)
    first = entries[0] if entries else {}
    result["local"], result["peer"] = first.get("local"), first.get("peer")
    result["connect_latency"] = latency_stats([e["connect_time"] for e in entries if e["connect_time"] is not None])


def tcp_client(ctx: AppContext, address: tuple[str, int], *, message: bytes | None = None, size: int = 0,
               framed: bool = False, read_echo: bool = True, bind: tuple[str, int] | None = None,
               reuse_address: bool = False, hold: int = 0, count: int = 1, interval: int = 0) -> Process:
    """``count`` connections one after the other (``interval`` between their starts): connect,
    send ``message`` (or ``size`` patterned bytes), read the echo, hold, close."""
    result = ctx.result
    result.update({"target": endpoint(address), "connections": [], "errors": result.get("errors", {})})
    payload = message if message is not None else pattern(size)
    wire = len(payload).to_bytes(4, "big") + payload if framed else payload
    _client_totals(ctx)
    for index in range(count):
        began = ctx.now
        entry = _new_entry()
        entry["echo_ok"] = None
        result["connections"].append(entry)
        sock = None
        try:
            sock = yield from _connect(ctx, address, entry, bind, reuse_address)
            if wire:
                yield sock.sendall(wire)
                entry["sent"] = len(wire)
            if read_echo and wire:
                echo = yield from recv_exactly(sock, len(wire))
                entry["received"] = len(echo)
                entry["echo_ok"] = echo == wire
            if hold:
                yield ctx.env.timeout(hold)
        except OSError as exc:
            ctx.error(exc, entry)
        _close(sock)
        entry["finished_at"] = ctx.now
        _client_totals(ctx)
        checks = [e["echo_ok"] for e in result["connections"] if e["echo_ok"] is not None]
        result["echo_ok"] = all(checks) if checks else None
        if index + 1 < count and interval:
            wait = began + interval - ctx.now
            if wait > 0:
                yield ctx.env.timeout(wait)
    return result


def bulk_sender(ctx: AppContext, address: tuple[str, int], size: int, *, chunk: int = 65536,
                bind: tuple[str, int] | None = None) -> Process:
    """Connect, send ``size`` bytes in ``chunk``-sized writes, shut down the sending side and wait
    for the peer to close (so ``finished_at`` is when every byte was read); goodput in bit/s."""
    result = ctx.result
    entry = _new_entry()
    result.update(entry)
    result.update({"target": endpoint(address), "size": size, "errors": result.get("errors", {}),
                   "duration": None, "goodput_bps": None, "retransmits": None})
    block = pattern(min(chunk, max(size, 1)))
    sock = None
    try:
        sock = yield from _connect(ctx, address, result, bind, False)
        while result["sent"] < size:
            piece = block[: min(chunk, size - result["sent"])]
            yield sock.sendall(piece)
            result["sent"] += len(piece)
        sock.shutdown(SHUT_WR)
        while True:
            data = yield sock.recv(65536)
            if not data:
                break
            result["received"] += len(data)
        result["retransmits"] = sock.info().get("retransmits")
    except OSError as exc:
        ctx.error(exc, result)
        if sock is not None and sock.conn is not None:
            result["retransmits"] = sock.info().get("retransmits")
    _close(sock)
    result["finished_at"] = ctx.now
    if result["connected_at"] is not None and result["error"] is None:
        duration = ctx.now - result["connected_at"]
        result["duration"] = duration
        result["goodput_bps"] = result["sent"] * 8 * 1_000_000_000 // duration if duration else None
    return result


def request_response(ctx: AppContext, address: tuple[str, int], *, requests: int = 10, request_size: int = 100,
                     response_size: int = 100, interval: int = 0, bind: tuple[str, int] | None = None) -> Process:
    """One connection; ``requests`` requests of ``request_size`` body bytes, each waiting for its
    ``response_size``-byte response; the latency of each (first byte sent to last byte read)."""
    result = ctx.result
    entry = _new_entry()
    result.update(entry)
    result.update({"target": endpoint(address), "requests": 0, "responses": 0, "latencies": [],
                   "errors": result.get("errors", {})})
    body = pattern(request_size)
    request = len(body).to_bytes(4, "big") + response_size.to_bytes(4, "big") + body
    sock = None
    try:
        sock = yield from _connect(ctx, address, result, bind, False)
        for index in range(requests):
            began = ctx.now
            yield sock.sendall(request)
            result["requests"] += 1
            result["sent"] += len(request)
            answer = yield from recv_exactly(sock, response_size)
            result["received"] += len(answer)
            if len(answer) < response_size:
                result["error"] = "EOF"
                break
            result["responses"] += 1
            result["latencies"].append(ctx.now - began)
            result["latency"] = latency_stats(result["latencies"])
            if index + 1 < requests and interval:
                wait = began + interval - ctx.now
                if wait > 0:
                    yield ctx.env.timeout(wait)
    except OSError as exc:
        ctx.error(exc, result)
    _close(sock)
    result["finished_at"] = ctx.now
    result["latency"] = latency_stats(result["latencies"])
    return result


def connection_churn(ctx: AppContext, address: tuple[str, int], *, connections: int = 100, rate: int = 100,
                     hold: int = 0, size: int = 0, bind: str | None = None, reuse_address: bool = False) -> Process:
    """Open ``connections`` connections, ``rate`` per second, each closed by this side after
    ``hold`` (so each leaves a TIME-WAIT here): what exhausts ephemeral ports (EADDRNOTAVAIL)."""
    result = ctx.result
    result.update({"target": endpoint(address), "attempted": 0, "connected": 0, "failed": 0,
                   "errors": result.get("errors", {}), "first_error": None, "first_error_at": None,
                   "local_ports": 0, "connect_latency": latency_stats([])})
    ports: set[int] = set()
    latencies: list[int] = []
    gap = max(1, 1_000_000_000 // rate)

    def one() -> Process:
        entry = _new_entry()
        sock = None
        try:
            sock = yield from _connect(ctx, address, entry, (bind, 0) if bind else None, reuse_address)
            result["connected"] += 1
            latencies.append(entry["connect_time"])
            ports.add(sock.getsockname()[1])
            result["local_ports"] = len(ports)
            result["connect_latency"] = latency_stats(latencies)
            if size:
                yield sock.sendall(pattern(size))
            if hold:
                yield ctx.env.timeout(hold)
        except OSError as exc:
            result["failed"] += 1
            name = ctx.error(exc)
            if result["first_error"] is None:
                result["first_error"], result["first_error_at"] = name, ctx.now
        _close(sock)
        if sock is not None:
            ctx.sockets.remove(sock)  # closed: no need to keep it for a stop

    for index in range(connections):
        result["attempted"] += 1
        ctx.spawn(one())
        if index + 1 < connections:
            yield ctx.env.timeout(gap)
    yield ctx.env.all_of(list(ctx.children))
    result["finished_at"] = ctx.now
    return result


# --- UDP ------------------------------------------------------------------------------------------


def udp_echo_client(ctx: AppContext, address: tuple[str, int], *, count: int = 4, size: int = 64,
                    interval: int = 1_000_000_000, timeout: int = 1_000_000_000, connected: bool = True,
                    bind: tuple[str, int] | None = None) -> Process:
    """Send ``count`` datagrams (a 4-byte sequence number, then padding) and wait up to ``timeout``
    for each echo.  A connected socket learns of ICMP errors (ECONNREFUSED for a closed port,
    RFC 1122 §4.1.3.3); an unconnected one does not, and only sees its echoes go missing."""
    result = ctx.result
    result.update({"target": endpoint(address), "connected": connected, "local": None, "peer": None, "sent": 0,
                   "received": 0, "lost": 0, "late": 0, "rtts": [], "errors": result.get("errors", {}),
                   "error": None, "rtt": latency_stats([])})
    sock = None
    try:
        sock = ctx.socket("udp6" if ":" in address[0] else "udp")
        sock.settimeout(timeout)
        if bind is not None:
            sock.bind(bind)
        if connected:
            yield sock.connect(address)
            result["peer"] = endpoint(sock.getpeername())
    except OSError as exc:
        ctx.error(exc, result)
        _close(sock)
        return result
    assert sock is not None
    for sequence in range(count):
        began = ctx.now
        payload = sequence.to_bytes(4, "big") + pattern(max(0, size - 4))
        try:
            if connected:
                yield sock.send(payload)
            else:
                yield sock.sendto(payload, address)
            result["sent"] += 1
            result["local"] = endpoint(sock.getsockname())
            while True:
                data, sender = yield sock.recvfrom(65535)
                if data[:4] == payload[:4]:
                    result["received"] += 1
                    result["rtts"].append(ctx.now - began)
                    result["rtt"] = latency_stats(result["rtts"])
                    result.setdefault("echoed_by", endpoint(sender))
                    break
                result["late"] += 1
        except TimeoutError:
            result["lost"] += 1
        except OSError as exc:
            if exc.errno == errno.EBADF:
                raise
            ctx.error(exc, result)
        if sequence + 1 < count:
            wait = began + interval - ctx.now
            if wait > 0:
                yield ctx.env.timeout(wait)
    sock.close()
    result["finished_at"] = ctx.now
    return result


def udp_echo_server(ctx: AppContext, port: int, *, address: str = "0.0.0.0") -> Process:
    """Echo every datagram back to its sender; counts datagrams and the senders seen."""
    result = ctx.result
    result.update({"listen": f"{address}:{port}", "port": port, "datagrams": 0, "bytes": 0, "peers": [],
                   "errors": result.get("errors", {})})
    try:
        sock = ctx.socket("udp6" if ":" in address else "udp")
        sock.bind((address, port))
    except OSError as exc:
        ctx.error(exc, result)
        return result
    while True:
        try:
            data, sender = yield sock.recvfrom(65535)
            result["datagrams"] += 1
            result["bytes"] += len(data)
            peer = endpoint(sender)
            if peer not in result["peers"]:
                result["peers"].append(peer)
            yield sock.sendto(data, sender)
        except OSError as exc:
            if exc.errno == errno.EBADF:
                return result
            ctx.error(exc, result)
