"""Same build and seed, same trace hash: in this process, and in others with another PYTHONHASHSEED."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from netsim.sim.network import Network
from netsim.sim.records import Impairments

SCRIPT = textwrap.dedent(
    """
    from netsim.sim.apps import ping, traceroute
    from netsim.sim.records import Impairments
    from tests.sim.topologies import two_routers

    def build(seed):
        net, h1, r1, r2, h2 = two_routers(seed, middle_mtu=576, impairments=Impairments(loss=0.05, duplicate=0.02))
        net.process(ping(h1, "10.0.2.20", count=20, interval="10ms", size=1000))
        net.process(traceroute(h1, "10.0.2.20", probes=1))
        server = h2.socket("udp"); server.bind(("0.0.0.0", 9000))
        client = h1.socket("udp")
        for index in range(20):
            client.sendto(bytes([index]) * 700, ("10.0.2.20", 9000))
        from netsim.sim.tcp_apps import tcp_client, tcp_echo_server
        net.process(tcp_echo_server(h2, 7000, framed=True))
        for _ in range(3):  # ISNs, ports, timestamps, retransmissions over a lossy path
            net.process(tcp_client(h1, ("10.0.2.20", 7000), size=40_000, framed=True))
        net.run("300s")
        return net

    if __name__ == "__main__":
        import sys
        print(build(int(sys.argv[1])).trace_hash())
    """
)


def test_trace_hash_is_the_same_across_processes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    hashes = {}
    for hash_seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": root}
        for seed in (1, 2):
            result = subprocess.run([sys.executable, str(script), str(seed)], capture_output=True, text=True,
                                    env=env, check=True, cwd=root)
            hashes.setdefault(seed, set()).add(result.stdout.strip())
    assert all(len(values) == 1 for values in hashes.values())
    assert hashes[1] != hashes[2]  # the seed matters (the loss draws differ)


def test_named_streams_are_independent_of_other_components() -> None:
    a, b = Network(7), Network(7)
    b.stream("host/other")  # drawing another component's stream first changes nothing
    assert [a.stream("link/x").random() for _ in range(3)] == [b.stream("link/x").random() for _ in range(3)]
    assert Network(8).stream("link/x").random() != Network(7).stream("link/x").random()


def test_run_limits_stop_with_a_clear_message() -> None:
    net = Network(0, event_limit=100)
    h1 = net.add_host("h1")
    h1.add_interface("eth0")
    h1.add_address("eth0", "10.0.0.1/24")
    h2 = net.add_host("h2")
    h2.add_interface("eth0")
    h2.add_address("eth0", "10.0.0.2/24")
    net.connect(h1["eth0"], h2["eth0"], impairments=Impairments())
    from netsim.sim.apps import ping

    net.process(ping(h1, "10.0.0.2", count=1000, interval="1ms"))
    result = net.run()
    assert result.reason == "event-limit" and result.events == 100
    assert "event limit of 100 events" in result.message
    timed = Network(0, time_limit="10ms")
    timed.process(iter_forever(timed))
    result = timed.run()
    assert result.reason == "time-limit" and result.now == 10_000_000
    assert "time limit of 10ms" in result.message


def iter_forever(net):  # type: ignore[no-untyped-def]
    while True:
        yield net.env.timeout(1_000_000)


def test_a_syscall_line_hashes_and_records_as_the_general_event() -> None:
    from netsim.sim.trace import Trace

    for call, fd, result in (("recv", 3, 1460), ("recv", -1, "EAGAIN"), ("accept", 4, ("10.0.0.1", 5)),
                             ("sendé", 0, b"\x00'")):
        general, short = Trace(), Trace()
        general.event(5, "syscall", "h1", call=call, fd=fd, result=result)
        short.syscall(5, "h1", call, fd, result)
        assert short.hexdigest() == general.hexdigest()
        assert short.records == general.records and short.count == general.count == 1
