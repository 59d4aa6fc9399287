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

from netsim.scenario.model import AppSpec, Duration, IPv4, meta, register_app


@register_app("ping")
@attrs.frozen(kw_only=True)
class PingApp(AppSpec):
    """``ping -c COUNT -i INTERVAL -s SIZE -W TIMEOUT DESTINATION``."""

    destination: IPv4 = attrs.field(metadata=meta("address to ping"))
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

    destination: IPv4 = attrs.field(metadata=meta("address to trace the route to"))
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
    address: IPv4 = attrs.field(default=IPv4("0.0.0.0"), metadata=meta("local address to bind"))

    def launch(self, node: Any) -> Any:
        from netsim.sim.apps import udp_echo_server

        return udp_echo_server(node, self.port, address=self.address)
