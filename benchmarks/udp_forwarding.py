"""UDP through host - switch - router - host: simulated frames per wall-second.

Printed beside the raw SimPy floor measured in the same run: two processes passing a token
through two ``simpy.Store``s (a put and a get per hop, the least any SimPy model of a frame hop
does).  Run: ``python3 benchmarks/udp_forwarding.py [datagrams]``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import simpy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netsim.sim.network import Network


def build(datagrams: int, size: int) -> tuple[Network, list[int]]:
    net = Network(0, keep_trace=False)
    sender, receiver = net.add_host("sender"), net.add_host("receiver")
    switch, router = net.add_switch("s1", ports=2), net.add_router("r1")
    sender.add_interface("eth0")
    sender.add_address("eth0", "10.0.1.10/24")
    sender.set_default_gateway("10.0.1.1")
    router.add_interface("eth0")
    router.add_address("eth0", "10.0.1.1/24")
    router.add_interface("eth1")
    router.add_address("eth1", "10.0.2.1/24")
    receiver.add_interface("eth0")
    receiver.add_address("eth0", "10.0.2.20/24")
    receiver.set_default_gateway("10.0.2.1")
    net.connect(sender["eth0"], switch["p1"], rate="10Gbps", delay="10us")
    net.connect(switch["p2"], router["eth0"], rate="10Gbps", delay="10us")
    net.connect(router["eth1"], receiver["eth0"], rate="10Gbps", delay="10us")
    server = receiver.socket("udp")
    server.bind(("0.0.0.0", 9000))
    client = sender.socket("udp")
    got = [0]
    payload = bytes(size)

    def send():  # type: ignore[no-untyped-def]
        for _ in range(datagrams):
            yield client.sendto(payload, ("10.0.2.20", 9000))
            yield net.env.timeout(2_000)  # 2 us apart: below the 10 Gbit/s line rate for 1 kB

    def sink():  # type: ignore[no-untyped-def]
        while got[0] < datagrams:
            yield server.recv(65535)
            got[0] += 1

    net.process(send())
    net.process(sink())
    return net, got


def netsim_rate(datagrams: int, size: int) -> tuple[float, int, int]:
    net, got = build(datagrams, size)
    start = time.perf_counter()
    net.run()
    elapsed = time.perf_counter() - start
    frames = sum(iface.counters.rx_frames for node in net.nodes.values() for iface in node.interfaces.values())
    return frames / elapsed, frames, got[0]


def simpy_floor(hops: int) -> float:
    """Frame hops per second of a bare SimPy Store ping-pong."""
    env = simpy.Environment()
    a, b = simpy.Store(env), simpy.Store(env)

    def ping():  # type: ignore[no-untyped-def]
        for _ in range(hops // 2):
            yield a.put(b"x")
            yield b.get()

    def pong():  # type: ignore[no-untyped-def]
        for _ in range(hops // 2):
            yield a.get()
            yield env.timeout(1)
            yield b.put(b"x")

    env.process(ping())
    env.process(pong())
    start = time.perf_counter()
    env.run()
    return hops / (time.perf_counter() - start)


def main() -> None:
    datagrams = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    floor = max(simpy_floor(200_000) for _ in range(3))
    rate, frames, delivered = max(netsim_rate(datagrams, 1000) for _ in range(2))
    print(f"UDP, 1000-byte datagrams, host - switch - router - host ({datagrams:,} sent, {delivered:,} delivered)")
    print(f"{'measure':46} {'per wall-second':>16} {'vs floor':>9}")
    print(f"{'raw SimPy Store ping-pong (hops)':46} {floor:16,.0f} {1.0:9.2f}")
    print(f"{'netsim frames received (3 links, bytes, ARP)':46} {rate:16,.0f} {rate / floor:9.2f}")
    print(f"frames received in the run: {frames:,}")


if __name__ == "__main__":
    main()
