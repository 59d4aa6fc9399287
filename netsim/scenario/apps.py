"""The app kinds that ship with netsim: the applications of :mod:`netsim.sim.apps`.

Each is an attrs class registered under its ``kind``; more kinds (TCP clients and servers ...)
are added the same way, from any module, without touching the loader::

    @register_app("tcp-echo-server")
    @attrs.frozen(kw_only=True)
    class TcpEchoServer(AppSpec):
        port: int = attrs.field(metadata=meta("port to listen on", min=1, max=65535))

        def launch(self, node):
            return tcp_echo_server(node, self.port)
"""

from __future__ import annotations

from typing import Any

import attrs

from netsim.scenario.model import (
    AppSpec,
    BindAddress,
    Duration,
    HostAddress,
    IPv4,
    Prefix,
    Size,
    SocketAddress,
    meta,
    register_app,
)
from netsim.units import parse_duration, parse_size


def _address(text: str) -> tuple[str, int]:
    from netsim.scenario.load import parse_socket_address

    return parse_socket_address(text)


def _context(node: Any) -> Any:
    from netsim.scenario.apps_tcp import AppContext

    return AppContext(node)


@register_app("ping")
@attrs.frozen(kw_only=True)
class PingApp(AppSpec):
    """``ping -c COUNT -i INTERVAL -s SIZE -W TIMEOUT DESTINATION``."""

    destination: HostAddress = attrs.field(metadata=meta("address to ping (IPv6: ping -6)"))
    count: int = attrs.field(default=4, metadata=meta("echo requests to send", min=1))
    interval: Duration = attrs.field(default=Duration("1s"), metadata=meta("time between requests"))
    size: int = attrs.field(default=56, metadata=meta("payload bytes of each request", min=0, max=65507))
    timeout: Duration = attrs.field(default=Duration("1s"), metadata=meta("how long to wait for each reply"))

    def launch(self, node: Any) -> Any:
        from netsim.sim.apps import ping

        return ping(node, self.destination, count=self.count, interval=self.interval, size=self.size,
                    timeout=self.timeout)


@register_app("traceroute")
@attrs.frozen(kw_only=True)
class TracerouteApp(AppSpec):
    """Classic UDP traceroute."""

    destination: HostAddress = attrs.field(metadata=meta("address to trace the route to (IPv6: traceroute -6)"))
    max_hops: int = attrs.field(default=30, metadata=meta("largest TTL tried", min=1, max=255))
    probes: int = attrs.field(default=3, metadata=meta("probes per TTL", min=1))
    port: int = attrs.field(default=33434, metadata=meta("destination port of the first probe", min=1,
                                                         max=65535))
    timeout: Duration = attrs.field(default=Duration("5s"), metadata=meta("how long to wait for each answer"))

    def launch(self, node: Any) -> Any:
        from netsim.sim.apps import traceroute

        return traceroute(node, self.destination, max_hops=self.max_hops, probes=self.probes, port=self.port,
                          timeout=self.timeout)


@register_app("udp-echo-server")
@attrs.frozen(kw_only=True)
class UdpEchoServerApp(AppSpec):
    """Echoes every UDP datagram back to its sender."""

    port: int = attrs.field(metadata=meta("UDP port to listen on", min=1, max=65535))
    address: BindAddress = attrs.field(
        default=BindAddress("0.0.0.0"), metadata=meta("local address to bind ('::': IPv6 and IPv4, dual stack)"))

    def launch(self, node: Any) -> Any:
        return self.run(_context(node))

    def run(self, ctx: Any) -> Any:
        from netsim.scenario.apps_tcp import udp_echo_server

        return udp_echo_server(ctx, self.port, address=self.address)


# --- TCP and the rest: live results through an AppContext (netsim.scenario.apps_tcp) -----------------


class _ContextApp(AppSpec):
    """An app whose process takes an :class:`~netsim.scenario.apps_tcp.AppContext`."""

    def launch(self, node: Any) -> Any:
        return self.run(_context(node))


def _port() -> Any:
    return attrs.field(metadata=meta("port to listen on", min=1, max=65535))


def _backlog() -> Any:
    return attrs.field(default=128, metadata=meta("listen() backlog (capped by the host's somaxconn)", min=0))


def _connections() -> Any:
    return attrs.field(default=None, metadata=meta("stop accepting after this many connections (default: never)",
                                                   min=1))


def _connect() -> Any:
    return attrs.field(metadata=meta("the server to connect to, as ip:port"))


def _bind() -> Any:
    return attrs.field(default=None, metadata=meta("bind() to this ip:port before connecting (port 0: any)"))


@register_app("tcp-echo-server")
@attrs.frozen(kw_only=True)
class TcpEchoServerApp(_ContextApp):
    """Accepts connections and echoes what each sends (plain, or lab 1.5's 4-byte length framing).
    Result: accepted, peers, connections (local, peer, bytes), bytes, messages, errors, listen_counters."""

    port: int = _port()
    address: BindAddress = attrs.field(
        default=BindAddress("0.0.0.0"), metadata=meta("local address to bind ('::': IPv6 and IPv4, dual stack)"))
    framed: bool = attrs.field(default=False, metadata=meta("echo whole 4-byte-length-framed messages"))
    backlog: int = _backlog()
    connections: int | None = _connections()
    v6only: bool = attrs.field(default=False, metadata=meta("IPV6_V6ONLY on an IPv6 listener: no IPv4 clients"))

    def run(self, ctx: Any) -> Any:
        from netsim.scenario.apps_tcp import tcp_echo_server

        return tcp_echo_server(ctx, self.port, address=self.address, framed=self.framed, backlog=self.backlog,
                               connections=self.connections, v6only=self.v6only)


@register_app("tcp-client")
@attrs.frozen(kw_only=True)
class TcpClientApp(_ContextApp):
    """connect(), send a message or SIZE bytes, read the echo, hold, close(); COUNT times in a row.
    Result: connections (local, peer, sent, received, echo_ok, connect_time, error), error, errors,
    local, peer, echo_ok, connect_latency."""

    connect: SocketAddress = _connect()  # noqa: RUF009  (attrs fields, not defaults)
    bind: SocketAddress | None = _bind()  # noqa: RUF009  (attrs fields, not defaults)
    message: str | None = attrs.field(default=None, metadata=meta("text to send (UTF-8)"))
    size: Size | None = attrs.field(default=None, metadata=meta("bytes to send instead of a message (default 0)"))
    framed: bool = attrs.field(default=False, metadata=meta("prefix the 4-byte big-endian length (lab 1.5)"))
    read_echo: bool = attrs.field(default=True, metadata=meta("read back as many bytes as were sent"))
    hold: Duration = attrs.field(default=Duration("0s"), metadata=meta("keep the connection open this long"))
    count: int = attrs.field(default=1, metadata=meta("connections to make, one after the other", min=1))
    interval: Duration = attrs.field(default=Duration("0s"), metadata=meta("time between connection starts"))
    reuse_address: bool = attrs.field(default=False, metadata=meta("set SO_REUSEADDR before bind()"))

    def check(self, scenario: Any) -> Any:
        if self.message is not None and self.size is not None:
            yield "size", "give a message or a size, not both"

    def run(self, ctx: Any) -> Any:
        from netsim.scenario.apps_tcp import tcp_client

        return tcp_client(ctx, _address(self.connect), message=None if self.message is None else self.message.encode(),
                          size=parse_size(self.size) if self.size is not None else 0, framed=self.framed,
                          read_echo=self.read_echo, bind=None if self.bind is None else _address(self.bind),
                          reuse_address=self.reuse_address, hold=parse_duration(self.hold), count=self.count,
                          interval=parse_duration(self.interval))


@register_app("bulk-sender")
@attrs.frozen(kw_only=True)
class BulkSenderApp(_ContextApp):
    """Sends SIZE bytes and waits until the peer has read them and closed.  Result: sent, local,
    peer, connected_at, finished_at, duration, goodput_bps, retransmits, error."""

    connect: SocketAddress = _connect()  # noqa: RUF009  (attrs fields, not defaults)
    size: Size = attrs.field(metadata=meta("bytes to send"))
    chunk: Size = attrs.field(default=Size("64KiB"), metadata=meta("bytes per sendall() call"))
    bind: SocketAddress | None = _bind()  # noqa: RUF009  (attrs fields, not defaults)

    def run(self, ctx: Any) -> Any:
        from netsim.scenario.apps_tcp import bulk_sender

        return bulk_sender(ctx, _address(self.connect), parse_size(self.size), chunk=max(1, parse_size(self.chunk)),
                           bind=None if self.bind is None else _address(self.bind))


@register_app("bulk-sink")
@attrs.frozen(kw_only=True)
class BulkSinkApp(_ContextApp):
    """Accepts connections and reads everything.  Result: accepted, peers, connections, bytes_received."""

    port: int = _port()
    address: BindAddress = attrs.field(
        default=BindAddress("0.0.0.0"), metadata=meta("local address to bind ('::': IPv6 and IPv4, dual stack)"))
    backlog: int = _backlog()
    connections: int | None = _connections()

    def run(self, ctx: Any) -> Any:
        from netsim.scenario.apps_tcp import bulk_sink

        return bulk_sink(ctx, self.port, address=self.address, backlog=self.backlog, connections=self.connections)


@register_app("request-response")
@attrs.frozen(kw_only=True)
class RequestResponseApp(_ContextApp):
    """One connection, REQUESTS requests each waiting for its response (to a request-response-server).
    Result: requests, responses, latencies, latency (min/avg/max ns), local, peer, error."""

    connect: SocketAddress = _connect()  # noqa: RUF009  (attrs fields, not defaults)
    requests: int = attrs.field(default=10, metadata=meta("requests to send", min=1))
    request_size: Size = attrs.field(default=Size("100"), metadata=meta("body bytes of each request (plus an "
                                                                        "8-byte header)"))
    response_size: Size = attrs.field(default=Size("100"), metadata=meta("bytes of each response"))
    interval: Duration = attrs.field(default=Duration("0s"), metadata=meta("time between request starts"))
    bind: SocketAddress | None = _bind()  # noqa: RUF009  (attrs fields, not defaults)

    def run(self, ctx: Any) -> Any:
        from netsim.scenario.apps_tcp import request_response

        return request_response(ctx, _address(self.connect), requests=self.requests,
                                request_size=parse_size(self.request_size),
                                response_size=parse_size(self.response_size), interval=parse_duration(self.interval),
                                bind=None if self.bind is None else _address(self.bind))


@register_app("request-response-server")
@attrs.frozen(kw_only=True)
class RequestResponseServerApp(_ContextApp):
    """Answers request-response clients.  Result: accepted, peers, requests, bytes."""

    port: int = _port()
    address: BindAddress = attrs.field(
        default=BindAddress("0.0.0.0"), metadata=meta("local address to bind ('::': IPv6 and IPv4, dual stack)"))
    backlog: int = _backlog()
    connections: int | None = _connections()

    def run(self, ctx: Any) -> Any:
        from netsim.scenario.apps_tcp import request_response_server

        return request_response_server(ctx, self.port, address=self.address, backlog=self.backlog,
                                       connections=self.connections)


@register_app("udp-echo-client")
@attrs.frozen(kw_only=True)
class UdpEchoClientApp(_ContextApp):
    """Sends COUNT datagrams to a UDP echo server and counts the echoes.  Result: sent, received,
    lost, rtts, rtt, local, peer, errors (a connected socket sees ECONNREFUSED from ICMP)."""

    connect: SocketAddress = attrs.field(metadata=meta("the echo server, as ip:port"))
    count: int = attrs.field(default=4, metadata=meta("datagrams to send", min=1))
    size: Size = attrs.field(default=Size("64"), metadata=meta("bytes of each datagram (at least 4)"))
    interval: Duration = attrs.field(default=Duration("1s"), metadata=meta("time between datagrams"))
    timeout: Duration = attrs.field(default=Duration("1s"), metadata=meta("how long to wait for each echo"))
    connected: bool = attrs.field(default=True, metadata=meta("connect() the socket (then ICMP errors are "
                                                              "reported, RFC 1122 §4.1.3.3)"))
    bind: SocketAddress | None = _bind()  # noqa: RUF009  (attrs fields, not defaults)

    def run(self, ctx: Any) -> Any:
        from netsim.scenario.apps_tcp import udp_echo_client

        return udp_echo_client(ctx, _address(self.connect), count=self.count, size=max(4, parse_size(self.size)),
                               interval=parse_duration(self.interval), timeout=parse_duration(self.timeout),
                               connected=self.connected, bind=None if self.bind is None else _address(self.bind))


@register_app("syn-flood")
@attrs.frozen(kw_only=True)
class SynFloodApp(AppSpec):
    """Sends RATE spoofed SYNs per second for DURATION (RFC 4987 §2), as hping3 does.
    Result: sent, sources (distinct spoofed addresses)."""

    target: SocketAddress = attrs.field(metadata=meta("the attacked listener, as ip:port"))
    rate: int = attrs.field(default=1000, metadata=meta("SYNs per second", min=1))
    duration: Duration = attrs.field(default=Duration("1s"), metadata=meta("how long to flood"))
    spoof: Prefix = attrs.field(default=Prefix("198.18.0.0/15"),
                                metadata=meta("source addresses are drawn from this network"))

    def launch(self, node: Any) -> Any:
        from netsim.sim.tcp_apps import syn_flood

        return syn_flood(node, _address(self.target), rate=self.rate, duration=parse_duration(self.duration),
                         spoof=self.spoof)


@register_app("connection-churn")
@attrs.frozen(kw_only=True)
class ConnectionChurnApp(_ContextApp):
    """Opens CONNECTIONS connections at RATE per second, each closed by this side after HOLD: fills
    TIME-WAIT and exhausts ephemeral ports.  Result: attempted, connected, failed, errors (e.g.
    EADDRNOTAVAIL), first_error, first_error_at, local_ports, connect_latency."""

    connect: SocketAddress = _connect()  # noqa: RUF009  (attrs fields, not defaults)
    connections: int = attrs.field(default=100, metadata=meta("connections to open", min=1))
    rate: int = attrs.field(default=100, metadata=meta("connections opened per second", min=1))
    hold: Duration = attrs.field(default=Duration("0s"), metadata=meta("how long each stays open"))
    size: Size = attrs.field(default=Size("0"), metadata=meta("bytes sent on each connection"))
    bind: IPv4 | None = attrs.field(default=None, metadata=meta("bind() each socket to this address, port 0"))
    reuse_address: bool = attrs.field(default=False, metadata=meta("set SO_REUSEADDR on each socket"))

    def run(self, ctx: Any) -> Any:
        from netsim.scenario.apps_tcp import connection_churn

        return connection_churn(ctx, _address(self.connect), connections=self.connections, rate=self.rate,
                                hold=parse_duration(self.hold), size=parse_size(self.size), bind=self.bind,
                                reuse_address=self.reuse_address)
