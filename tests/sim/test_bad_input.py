"""Bad frames never raise out of a device: any bytes into a host, a router or a switch are dropped
and counted with a reason, or handled."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.sim.network import Network
from tests import strategies as S


def _devices() -> tuple[Network, list]:  # type: ignore[type-arg]
    net = Network(0)
    host, router, switch = net.add_host("h"), net.add_router("r"), net.add_switch("s", ports=2)
    for node, address in ((host, "10.0.0.1/24"), (router, "10.0.0.254/24")):
        node.add_interface("eth0")
        node.add_address("eth0", address)
    router.add_interface("eth1")
    router.add_address("eth1", "192.0.2.1/24")
    net.connect(host["eth0"], switch["p1"])
    net.connect(router["eth0"], switch["p2"])
    return net, [host["eth0"], router["eth0"], router["eth1"], switch["p1"]]


@settings(max_examples=200)
@given(frames=st.lists(st.one_of(st.binary(max_size=120), S.any_ethernet_frames.map(lambda f: f.to_bytes())),
                       min_size=1, max_size=5))
def test_any_bytes_into_any_device_never_raise(frames: list[bytes]) -> None:
    net, ports = _devices()
    for data in frames:
        for port in ports:
            port.receive(data)
            port.receive(port.mac.packed + data[6:])  # the same bytes addressed to this device
    net.run(until="5s")
    total = sum(sum(p.counters.drops.values()) + p.counters.rx_frames for p in ports)
    assert total >= 2 * len(frames) * len(ports)
