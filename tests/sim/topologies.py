"""Small networks the simulator tests share."""

from __future__ import annotations

from typing import Any

from netsim.sim.network import Network


def two_hosts(seed: int = 0, **link: Any) -> tuple[Network, Any, Any]:
    """h1 (10.0.0.1) -- h2 (10.0.0.2) on one /24."""
    net = Network(seed)
    h1, h2 = net.add_host("h1"), net.add_host("h2")
    for host, address in ((h1, "10.0.0.1/24"), (h2, "10.0.0.2/24")):
        host.add_interface("eth0")
        host.add_address("eth0", address)
    net.connect(h1["eth0"], h2["eth0"], **link)
    return net, h1, h2


def two_routers(seed: int = 0, middle_mtu: int = 1500, **link: Any) -> tuple[Network, Any, Any, Any, Any]:
    """h1 10.0.1.10 -- r1 -- (10.0.12.0/30, MTU ``middle_mtu``) -- r2 -- h2 10.0.2.20."""
    net = Network(seed)
    h1, h2 = net.add_host("h1"), net.add_host("h2")
    r1, r2 = net.add_router("r1"), net.add_router("r2")
    h1.add_interface("eth0")
    h1.add_address("eth0", "10.0.1.10/24")
    h1.set_default_gateway("10.0.1.1")
    h2.add_interface("eth0")
    h2.add_address("eth0", "10.0.2.20/24")
    h2.set_default_gateway("10.0.2.1")
    r1.add_interface("eth0")
    r1.add_address("eth0", "10.0.1.1/24")
    r1.add_interface("eth1", mtu=middle_mtu)
    r1.add_address("eth1", "10.0.12.1/30")
    r1.add_route("10.0.2.0/24", via="10.0.12.2")
    r2.add_interface("eth1", mtu=middle_mtu)
    r2.add_address("eth1", "10.0.12.2/30")
    r2.add_interface("eth0")
    r2.add_address("eth0", "10.0.2.1/24")
    r2.add_route("10.0.1.0/24", via="10.0.12.1")
    net.connect(h1["eth0"], r1["eth0"], **link)
    net.connect(r1["eth1"], r2["eth1"], **link)
    net.connect(r2["eth0"], h2["eth0"], **link)
    return net, h1, r1, r2, h2
