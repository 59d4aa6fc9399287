"""A NAT hop against a plain router hop, and the memory of a NAT table entry.

Two identical networks, client 192.168.1.10 -- router -- server 198.51.100.10, one with a plain
:class:`Router` in the middle and one with a :class:`NatRouter` (``linux-masquerade``, and a
``port-restricted-cone`` for an endpoint-independent table), carry the same traffic in the same
run:

- UDP: ``--flows`` concurrent flows (60,000), each a distinct source port; every flow sends a
  datagram which the server echoes (new entries), then a second one (existing entries).  The two
  end hosts are traffic generators (raw ``send_ip``, the server echoing in its UDP input), so
  the hosts' socket layer does not blur the comparison.
- TCP: ``--connections`` concurrent connections (10,000) through the socket API: handshake, 64
  bytes echoed, all held open until the last has connected, then closed.

The *hop* is the router's frame input (parse, forward or translate, output), timed with
``perf_counter`` around ``on_frame`` on the router alone, so the simulator's other work (links,
hosts, TCP) is not counted for either.  Translations per wall-second are packets through the hop
per second of hop time; the pure table rate (``NatTable.outbound``/``inbound`` alone) is printed
too.  Memory per entry: ``tracemalloc`` around a table growing to ``--flows`` UDP entries (each
also answered, so its reply is seen) and ``--connections`` TCP entries (a full handshake each).

Targets (issue 5): a NAT hop at most 1.5x a plain router hop; under 1 KB per table entry.
Run: ``python3 benchmarks/nat.py [--flows N] [--connections N] [--behaviours a,b]`` (about four
minutes at full size with one preset).  Not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import tracemalloc
from collections.abc import Callable, Generator
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netsim.proto.nat import NatTable, flow
from netsim.sim.network import Network
from netsim.sim.tcp_apps import tcp_client, tcp_echo_server
from netsim.units import MS, US, S
from netsim.wire.tcp import TCPFlags
from netsim.wire.udp import UDPDatagram

CLIENT, SERVER, OUTSIDE = "192.168.1.10", "198.51.100.10", "198.51.100.77"
FIRST_PORT = 1100


class HopTimer:
    """Wall time spent in one node's frame input, and how many frames it took."""

    def __init__(self, node: Any) -> None:
        self.seconds = 0.0
        self.frames = 0
        inner: Callable[..., None] = node.on_frame
        clock = time.perf_counter

        def timed(iface: Any, data: bytes, *rest: Any) -> None:
            start = clock()
            inner(iface, data, *rest)
            self.seconds += clock() - start
            self.frames += 1

        node.on_frame = timed


def build(kind: str, *, fds: int = 1024) -> tuple[Network, Any, Any, Any]:
    """client -- (router | NAT) -- server, 10 Gbit/s links."""
    net = Network(0, keep_trace=False, time_limit="2h")
    client = net.add_host("client", fd_limit=fds)
    server = net.add_host("server", fd_limit=fds)
    middle = net.add_router("r") if kind == "router" else net.add_nat_router("r")
    client.add_interface("eth0")
    client.add_address("eth0", f"{CLIENT}/24")
    client.set_default_gateway("192.168.1.1")
    middle.add_interface("eth0")
    middle.add_address("eth0", "192.168.1.1/24")
    middle.add_interface("eth1")
    middle.add_address("eth1", f"{OUTSIDE}/24")
    server.add_interface("eth0")
    server.add_address("eth0", f"{SERVER}/24")
    server.add_route("192.168.1.0/24", via=OUTSIDE)  # used by the plain router only
    net.connect(client["eth0"], middle["eth0"], rate="10Gbps", delay="10us", queue_packets=100_000)
    net.connect(middle["eth1"], server["eth0"], rate="10Gbps", delay="10us", queue_packets=100_000)
    if kind != "router":
        middle.enable_nat(inside="eth0", outside="eth1", behaviour=kind)
    return net, client, middle, server


def udp_run(kind: str, flows: int) -> dict[str, Any]:
    net, client, middle, server = build(kind)
    timer = HopTimer(middle)
    src, dst = IPv4Address(CLIENT), IPv4Address(SERVER)
    echoed = [0]

    def server_echo(packet: Any, datagram: Any, _iface: Any, _broadcast: bool) -> None:
        server.send_ip(packet.dst, packet.src, 17, UDPDatagram(datagram.dst_port, datagram.src_port,
                                                             datagram.payload))

    def client_count(_packet: Any, _datagram: Any, _iface: Any, _broadcast: bool) -> None:
        echoed[0] += 1

    server.udp_input = server_echo
    client.udp_input = client_count
    payload = bytes(32)

    def traffic() -> Generator[Any, Any, None]:
        for _round in range(2):
            for i in range(flows):
                client.send_ip(src, dst, 17, UDPDatagram(FIRST_PORT + i, 9, payload))
                yield net.env.timeout(US)
            yield net.env.timeout(10 * MS)

    net.process(traffic())
    start = time.perf_counter()
    net.run()
    wall = time.perf_counter() - start
    entries = len(middle.nat) if kind != "router" else 0
    return {"kind": kind, "what": "udp", "frames": timer.frames, "hop_s": timer.seconds, "wall_s": wall,
            "echoed": echoed[0], "entries": entries}


def tcp_run(kind: str, connections: int) -> dict[str, Any]:
    net, client, middle, server = build(kind, fds=connections + 100)
    timer = HopTimer(middle)
    gap = 20 * US
    hold = connections * gap + 100 * MS
    results: list[Any] = []
    net.process(tcp_echo_server(server, 9000, backlog=connections, connections=connections))

    def one(i: int) -> Generator[Any, Any, None]:
        yield net.env.timeout(i * gap)
        result = yield net.process(tcp_client(client, (SERVER, 9000), size=64, hold=hold - i * gap))
        results.append(result)

    peak = [0]

    def watch() -> Generator[Any, Any, None]:
        yield net.env.timeout(hold - 50 * MS)
        peak[0] = len(middle.nat) if kind != "router" else 0

    for i in range(connections):
        net.process(one(i))
    net.process(watch())
    start = time.perf_counter()
    net.run(hold + 30 * S)
    wall = time.perf_counter() - start
    ok = sum(1 for r in results if r.echo_ok)
    return {"kind": kind, "what": "tcp", "frames": timer.frames, "hop_s": timer.seconds, "wall_s": wall,
            "echoed": ok, "entries": peak[0]}


def table_memory(behaviour: str, flows: int, connections: int) -> dict[str, float]:
    """Bytes per entry held by a table grown to ``flows`` UDP and ``connections`` TCP entries,
    and the table's own translation rate (calls per second, no simulation)."""
    remote = IPv4Address(SERVER)
    inside = IPv4Address(CLIENT)
    gc.collect()
    tracemalloc.start()
    table = NatTable(OUTSIDE, behaviour, rng=random.Random(0))
    before = tracemalloc.get_traced_memory()[0]
    for i in range(flows):
        out = table.outbound(flow(17, inside, FIRST_PORT + i, remote, 9), MS)
        table.inbound(out.reply(), MS)  # type: ignore[union-attr]
    udp_bytes = tracemalloc.get_traced_memory()[0] - before
    mid = tracemalloc.get_traced_memory()[0]
    syn, synack, ack = int(TCPFlags.SYN), int(TCPFlags.SYN | TCPFlags.ACK), int(TCPFlags.ACK)
    for i in range(connections):
        f = flow(6, inside, 32768 + i, remote, 9000)
        out = table.outbound(f, 3 * MS, tcp_flags=syn)
        table.inbound(out.reply(), 3 * MS, tcp_flags=synack)  # type: ignore[union-attr]
        table.outbound(f, 3 * MS, tcp_flags=ack)
    tcp_bytes = tracemalloc.get_traced_memory()[0] - mid
    tracemalloc.stop()
    assert len(table) == flows + connections
    # the table's own rate, without tracemalloc: new flows, then packets of existing ones
    table = NatTable(OUTSIDE, behaviour, rng=random.Random(0))
    tuples = [flow(17, inside, FIRST_PORT + i, remote, 9) for i in range(flows)]
    start = time.perf_counter()
    for f in tuples:
        table.outbound(f, MS)
    new_rate = flows / (time.perf_counter() - start)
    start = time.perf_counter()
    for f in tuples:
        table.outbound(f, 2 * MS)
    existing_rate = flows / (time.perf_counter() - start)
    return {"udp_entry": udp_bytes / max(1, flows), "tcp_entry": tcp_bytes / max(1, connections),
            "entry": (udp_bytes + tcp_bytes) / max(1, flows + connections),
            "new_per_s": new_rate, "existing_per_s": existing_rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=60_000, help="concurrent UDP flows (default 60000)")
    parser.add_argument("--connections", type=int, default=10_000, help="concurrent TCP connections (10000)")
    parser.add_argument("--behaviours", default="linux-masquerade",
                        help="comma-separated NAT presets to compare with the router (default linux-masquerade; "
                             "each adds about two minutes at full size)")
    args = parser.parse_args()
    kinds = ["router", *args.behaviours.split(",")]
    rows = []
    for kind in kinds:
        rows.append(udp_run(kind, args.flows))
    for kind in kinds:
        rows.append(tcp_run(kind, args.connections))
    print(f"NAT hop vs plain router hop: {args.flows:,} UDP flows (2 datagrams each, echoed), "
          f"{args.connections:,} TCP connections (64 B echoed, held open together)")
    print(f"{'traffic':<5} {'middle box':<22} {'frames':>9} {'hop s':>7} {'us/frame':>9} {'frames/s':>10} "
          f"{'vs router':>9} {'entries':>8} {'ok':>7} {'run s':>7}")
    base: dict[str, float] = {}
    for row in rows:
        per = row["hop_s"] / max(1, row["frames"])
        if row["kind"] == "router":
            base[row["what"]] = per
        ratio = per / base[row["what"]]
        print(f"{row['what']:<5} {row['kind']:<22} {row['frames']:>9,} {row['hop_s']:>7.2f} {per * 1e6:>9.2f} "
              f"{1 / per:>10,.0f} {ratio:>8.2f}x {row['entries']:>8,} {row['echoed']:>7,} {row['wall_s']:>7.1f}")
    print()
    # (the per-protocol figures depend on where the tables' dicts happen to double; the
    # whole-table figure does not)
    print(f"{'table (sans-I/O)':<22} {'B/entry':>8} {'B/UDP entry':>11} {'B/TCP entry':>11} {'new flows/s':>12} "
          f"{'packets/s':>11}")
    for behaviour in kinds[1:]:
        m = table_memory(behaviour, args.flows, args.connections)
        print(f"{behaviour:<22} {m['entry']:>8,.0f} {m['udp_entry']:>11,.0f} {m['tcp_entry']:>11,.0f} "
              f"{m['new_per_s']:>12,.0f} {m['existing_per_s']:>11,.0f}")


if __name__ == "__main__":
    main()
