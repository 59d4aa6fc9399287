"""Networks with NAT routers that the NAT tests share.

The public side is one "internet" router (``isp``) with a leg per public subnet:

- 203.0.113.0/24 (TEST-NET-3): the servers (``server`` 203.0.113.10, and more on demand);
- 198.51.100.0/24 (TEST-NET-2): the first NAT's outside address 198.51.100.77 (the lecture's);
- 192.0.2.0/24 (TEST-NET-1): a second NAT's outside address 192.0.2.77.

Inside each NAT is 192.168.1.0/24 with the NAT at .1 and its clients from .10 up.
"""

from __future__ import annotations

from typing import Any

import attrs

from netsim.proto.nat import NatBehaviour, PortForward
from netsim.sim.network import Network

SERVER = "203.0.113.10"
NAT_OUTSIDE = "198.51.100.77"
NAT2_OUTSIDE = "192.0.2.77"


@attrs.define
class Lan:
    """A NAT router, its inside hosts, and the names of its two interfaces."""

    nat: Any
    hosts: list[Any]
    outside_address: str


def _host(net: Network, name: str, address: str, gateway: str) -> Any:
    host = net.add_host(name)
    host.add_interface("eth0")
    host.add_address("eth0", address)
    host.set_default_gateway(gateway)
    return host


def internet(net: Network, *, servers: int = 1, legs: int = 2) -> tuple[Any, list[Any]]:
    """The ``isp`` router with ``legs`` NAT-facing legs (eth1: 198.51.100.0/24, eth2:
    192.0.2.0/24) and ``servers`` hosts on 203.0.113.0/24 (.10, .11 ...) behind a switch."""
    isp = net.add_router("isp")
    isp.add_interface("eth0")
    isp.add_address("eth0", "203.0.113.1/24")
    for index, prefix in enumerate(("198.51.100", "192.0.2")[:legs], start=1):
        isp.add_interface(f"eth{index}")
        isp.add_address(f"eth{index}", f"{prefix}.1/24")
    hosts = [_host(net, "server" if i == 0 else f"server{i + 1}", f"203.0.113.{10 + i}/24", "203.0.113.1")
             for i in range(servers)]
    if len(hosts) == 1:
        net.connect(isp["eth0"], hosts[0]["eth0"])
    else:
        switch = net.add_switch("sw-dmz", ports=len(hosts) + 1)
        for port, host in enumerate([isp, *hosts], start=1):
            net.connect(switch[f"p{port}"], host["eth0"])
    return isp, hosts


def home(net: Network, isp_leg: Any, *, name: str = "nat", outside: str = NAT_OUTSIDE, outside_prefix: int = 24,
         gateway: str = "198.51.100.1", clients: int = 1, behaviour: NatBehaviour | str = "linux-masquerade",
         forwards: list[PortForward] | None = None, prefix: str = "192.168.1", host_prefix: str = "",
         **nat_settings: Any) -> Lan:
    """A NAT router ``name`` (eth0 inside ``prefix``.1/24, eth1 outside ``outside``) with
    ``clients`` hosts (.10, .20, ...) behind a switch (or directly, for one), its eth1 joined to
    ``isp_leg``."""
    nat = net.add_nat_router(name)
    nat.add_interface("eth0")
    nat.add_address("eth0", f"{prefix}.1/24")
    nat.add_interface("eth1")
    nat.add_address("eth1", f"{outside}/{outside_prefix}")
    nat.set_default_gateway(gateway)
    hosts = [_host(net, f"{host_prefix or name + '-'}h{i + 1}" if clients > 1 or host_prefix else
                   f"{name}-client", f"{prefix}.{10 * (i + 1)}/24", f"{prefix}.1") for i in range(clients)]
    if clients == 1:
        net.connect(nat["eth0"], hosts[0]["eth0"])
    else:
        switch = net.add_switch(f"sw-{name}", ports=clients + 1)
        for port, host in enumerate([nat, *hosts], start=1):
            net.connect(switch[f"p{port}"], host["eth0"])
    net.connect(nat["eth1"], isp_leg)
    nat.enable_nat(inside="eth0", outside="eth1", behaviour=behaviour, forwards=forwards, **nat_settings)
    return Lan(nat, hosts, outside)


@attrs.define
class Lecture:
    net: Network
    client: Any
    nat: Any
    isp: Any
    server: Any


def lecture_2_4(seed: int = 0, behaviour: NatBehaviour | str = "linux-masquerade", **nat_settings: Any) -> Lecture:
    """The lecture's §2.4 picture: client 192.168.1.10 -> NAT 198.51.100.77 -> server 203.0.113.10."""
    net = Network(seed)
    isp, (server,) = internet(net, legs=1)
    lan = home(net, isp["eth1"], behaviour=behaviour, **nat_settings)
    return Lecture(net, lan.hosts[0], lan.nat, isp, server)


def lan_behind(seed: int = 0, behaviour: NatBehaviour | str = "linux-masquerade", clients: int = 2,
               servers: int = 1, **nat_settings: Any) -> tuple[Network, Lan, Any, list[Any]]:
    """One NAT with ``clients`` inside hosts (nat-h1 192.168.1.10, nat-h2 .20 ...), ``servers`` outside."""
    net = Network(seed)
    isp, hosts = internet(net, servers=servers, legs=1)
    lan = home(net, isp["eth1"], clients=clients, behaviour=behaviour, **nat_settings)
    return net, lan, isp, hosts


def two_nats(a: NatBehaviour | str, b: NatBehaviour | str, seed: int = 0) -> tuple[Network, Lan, Lan, Any]:
    """Two home networks, both 192.168.1.0/24 inside (as real ones are): NAT ``nat-a``
    198.51.100.77 and ``nat-b`` 192.0.2.77, and a public rendezvous ``server`` 203.0.113.10."""
    net = Network(seed)
    isp, (server,) = internet(net, legs=2)
    lan_a = home(net, isp["eth1"], name="nat-a", behaviour=a, host_prefix="a-")
    lan_b = home(net, isp["eth2"], name="nat-b", outside=NAT2_OUTSIDE, gateway="192.0.2.1", behaviour=b,
                 host_prefix="b-")
    return net, lan_a, lan_b, server


def stun_network(behaviour: NatBehaviour | str, seed: int = 0, clients: int = 1) -> tuple[Network, Lan, Any]:
    """A NAT with ``clients`` inside and a STUN-like ``server`` with two addresses,
    203.0.113.10 (primary) and 203.0.113.11 (alternate), on one interface."""
    net = Network(seed)
    isp, (server,) = internet(net, legs=1)
    server.add_address("eth0", "203.0.113.11/24")
    lan = home(net, isp["eth1"], behaviour=behaviour, clients=clients)
    return net, lan, server


def double_nat(seed: int = 0, home_behaviour: NatBehaviour | str = "linux-masquerade",
               cgn_behaviour: NatBehaviour | str = "linux-masquerade") -> tuple[Network, Any, Any, Any, Any]:
    """client 192.168.1.10 -> ``home`` NAT (outside 100.64.0.2, RFC 6598 shared space) ->
    ``cgn`` (inside 100.64.0.1/10, outside 198.51.100.77) -> isp -> server 203.0.113.10."""
    net = Network(seed)
    isp, (server,) = internet(net, legs=1)
    cgn = net.add_nat_router("cgn")
    cgn.add_interface("eth0")
    cgn.add_address("eth0", "100.64.0.1/10")
    cgn.add_interface("eth1")
    cgn.add_address("eth1", f"{NAT_OUTSIDE}/24")
    cgn.set_default_gateway("198.51.100.1")
    net.connect(cgn["eth1"], isp["eth1"])
    cgn.enable_nat(inside="eth0", outside="eth1", behaviour=cgn_behaviour)
    lan = home(net, cgn["eth0"], name="home", outside="100.64.0.2", outside_prefix=10, gateway="100.64.0.1",
               behaviour=home_behaviour)
    return net, lan.hosts[0], lan.nat, cgn, server
