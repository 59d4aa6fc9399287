"""TCP bulk transfer: simulated data segments per wall-second, memory per connection.

Two runs, each beside the raw SimPy floor measured in the same process (two processes passing
a token through two ``simpy.Store``s: a put, a get and a timeout per hop, the least any SimPy
model of a segment's trip does):

1. one connection sends ``--size`` bytes (default 100 MB) host - link - host, 1 Gbps, 1 ms,
   MTU 1500 (the issue's setting);
2. ``--connections`` connections (default 1,000) each send 100 KB at once.

Memory: the process's peak resident set size after run 2 (tracemalloc would slow the timed run
several times over), and the Python memory an idle established
connection holds (both sockets' share of a pair of idle hosts' memory, measured by building
``--idle`` idle connections and dividing).

Run: ``python3 benchmarks/tcp_bulk.py [--size 100MB] [--connections 1000] [--profile]``.  It
runs the checkout as it is: pure Python, or compiled in place by ``python3 hatch_build.py`` (the
first line of the output says which; ``--clean`` goes back).
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import simpy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netsim import build_info
from netsim.proto.tcp.settings import TCPSettings
from netsim.sim.network import Network
from netsim.sim.tcp_apps import ServerStats, bulk_send, bulk_sink
from netsim.units import parse_size


def simpy_floor(hops: int) -> float:
    """Hops per second of a bare SimPy Store ping-pong."""
    env = simpy.Environment()
    a, b = simpy.Store(env), simpy.Store(env)

    def ping() -> Any:
        for _ in range(hops // 2):
            yield a.put(b"x")
            yield b.get()

    def pong() -> Any:
        for _ in range(hops // 2):
            yield a.get()
            yield env.timeout(1)
            yield b.put(b"x")

    env.process(ping())
    env.process(pong())
    start = time.perf_counter()
    env.run()
    return hops / (time.perf_counter() - start)


def pair(fd_limit: int = 1024, **link: Any) -> tuple[Network, Any, Any]:
    net = Network(0, keep_trace=False)
    settings = TCPSettings(rmem_default=4 * 1024 * 1024, wmem_default=4 * 1024 * 1024)
    sender = net.add_host("sender", tcp=settings, fd_limit=fd_limit, ip_local_port_range=(10000, 60999))
    receiver = net.add_host("receiver", tcp=settings, fd_limit=fd_limit)
    sender.add_interface("eth0")
    sender.add_address("eth0", "10.0.0.1/24")
    receiver.add_interface("eth0")
    receiver.add_address("eth0", "10.0.0.2/24")
    net.connect(sender["eth0"], receiver["eth0"], rate="1Gbps", delay="1ms", queue_packets=10_000, **link)
    return net, sender, receiver


def one_connection(size: int) -> tuple[float, int, float, int]:
    net, sender, receiver = pair()
    stats = ServerStats()
    sink = net.process(bulk_sink(receiver, 5001, stats=stats))
    net.process(bulk_send(sender, ("10.0.0.2", 5001), size, chunk=1 << 20))
    finished: list[int] = []
    sink.callbacks.append(lambda _event: finished.append(net.now))
    start = time.perf_counter()
    result = net.run("600s")
    elapsed = time.perf_counter() - start
    assert stats.bytes_received == size, (stats.bytes_received, size, result)
    segments = _segments(sender)
    return segments / elapsed, segments, elapsed, finished[0]


def _segments(host: Any) -> int:
    return host.tcp.counters.get("data-segments-sent", 0)


def many_connections(count: int, each: int) -> tuple[float, int, float, int]:
    net, sender, receiver = pair(fd_limit=2 * count + 64)
    stats = ServerStats()
    net.process(bulk_sink(receiver, 5001, stats=stats, connections=count, backlog=count))

    def start_all() -> Any:
        for _ in range(count):
            net.process(bulk_send(sender, ("10.0.0.2", 5001), each, chunk=each))
        yield net.env.timeout(0)

    net.process(start_all())
    start = time.perf_counter()
    net.run("600s")
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB
    assert stats.bytes_received == count * each, (stats.bytes_received, count * each)
    segments = _segments(sender)
    return segments / elapsed, segments, elapsed, peak


def idle_connection_bytes(count: int) -> float:
    """Python memory per idle established connection (client and server socket together)."""
    def build(n: int) -> tuple[Network, list[Any]]:
        net, sender, receiver = pair(fd_limit=2 * n + 64)
        keep: list[Any] = []

        def server() -> Any:
            listener = receiver.socket("tcp")
            listener.bind(("0.0.0.0", 5001))
            listener.listen(4096)
            for _ in range(n):
                conn, _peer = yield listener.accept()
                keep.append(conn)

        def client() -> Any:
            for _ in range(n):
                sock = sender.socket("tcp")
                yield sock.connect(("10.0.0.2", 5001))
                keep.append(sock)

        net.process(server())
        net.process(client())
        net.run("60s")
        return net, keep

    gc.collect()
    tracemalloc.start()
    small = build(10)
    gc.collect()
    base, _ = tracemalloc.get_traced_memory()
    big = build(count + 10)
    gc.collect()
    total, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(big[1]) == 2 * (count + 10) and len(small[1]) == 20
    return (total - base) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100MB")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the single-connection run (compiled functions are invisible to it: "
                             "profile the Python source, python3 hatch_build.py --clean)")
    args = parser.parse_args()
    size = parse_size(args.size)
    if args.profile:
        import cProfile
        import pstats

        cProfile.runctx("one_connection(size)", globals(), {"size": size, "one_connection": one_connection},
                        "/tmp/tcp_bulk.prof")
        pstats.Stats("/tmp/tcp_bulk.prof").sort_stats("tottime").print_stats(25)
        return
    floor = max(simpy_floor(200_000) for _ in range(3))
    rate1, segs1, wall1, sim1 = one_connection(size)
    floor = max(floor, simpy_floor(200_000))
    rate2, segs2, wall2, peak = many_connections(args.connections, 100_000)
    idle = idle_connection_bytes(args.idle)
    print("TCP bulk, host - 1 Gbps / 1 ms link - host, MTU 1500 (MSS 1448 with timestamps)")
    print(f"netsim: {build_info.describe()}")
    print(f"{'measure':58} {'per wall-second':>16} {'vs floor':>9}")
    print(f"{'raw SimPy Store ping-pong (hops)':58} {floor:16,.0f} {1.0:9.2f}")
    print(f"{f'1 connection, {size / 1e6:.0f} MB: data segments':58} {rate1:16,.0f} {rate1 / floor:9.2f}")
    print(f"{f'{args.connections:,} connections x 100 KB: data segments':58} {rate2:16,.0f} {rate2 / floor:9.2f}")
    print(f"1 connection: {segs1:,} data segments in {wall1:.1f} s wall; all bytes read at t = {sim1 / 1e9:.3f} s "
          f"simulated ({size * 8 / (sim1 / 1e9) / 1e6:.0f} Mbit/s goodput incl. handshake)")
    print(f"{args.connections:,} connections: {segs2:,} data segments in {wall2:.1f} s wall; "
          f"peak RSS of the process {peak / 1e6:.0f} MB")
    print(f"idle established connection (both ends): {idle / 1e3:.1f} KB")


if __name__ == "__main__":
    main()
