"""ICMP echo and traceroute across two routers; TTL and the ICMP errors routers send."""

from __future__ import annotations

from netsim.sim.apps import ping, traceroute
from netsim.units import MS
from tests.sim.topologies import two_routers


def test_ping_across_two_routers_reports_rtt_statistics() -> None:
    net, h1, _r1, _r2, _h2 = two_routers(delay="2ms")
    process = net.process(ping(h1, "10.0.2.20", count=4, interval="1s"))
    net.run()
    result = process.value
    assert (result.sent, result.received, result.loss) == (4, 4, 0.0)
    # 3 links of 2 ms each way = 12 ms of propagation, plus serialisation and the first ARP
    assert all(12 * MS < rtt < 14 * MS for rtt in result.rtts[1:])
    assert result.rtts[0] > result.rtts[1]  # the first one waited for ARP on three links
    assert "4 packets transmitted, 4 received, 0% packet loss" in result.summary()
    assert result.lines[1].startswith("64 bytes from 10.0.2.20: icmp_seq=2 ttl=62 time=")


def test_traceroute_lists_each_router_then_the_destination() -> None:
    net, h1, _r1, _r2, _h2 = two_routers(delay="1ms")
    process = net.process(traceroute(h1, "10.0.2.20", probes=2))
    net.run()
    result = process.value
    assert [hop.responders for hop in result.hops] == [
        ("10.0.1.1", "10.0.1.1"), ("10.0.12.2", "10.0.12.2"), ("10.0.2.20", "10.0.2.20"),
    ]
    assert result.reached
    assert result.lines()[0].startswith(" 1  10.0.1.1  ")


def test_ping_to_an_unrouted_network_gets_net_unreachable_from_the_router() -> None:
    net, h1, r1, _r2, _h2 = two_routers()
    process = net.process(ping(h1, "192.0.2.1", count=1))
    net.run()
    assert process.value.received == 0
    assert r1["eth0"].counters.drops["no-route"] == 1
    assert process.value.errors == ("ENETUNREACH",)
    assert process.value.lines == ("From 10.0.1.1 icmp_seq=1 Destination Net Unreachable",)


def test_ttl_expiry_on_the_way_is_counted_and_answered() -> None:
    net, h1, r1, _r2, _h2 = two_routers()
    sock = h1.socket("udp")
    sock.setsockopt(0, 2, 1)  # IPPROTO_IP, IP_TTL = 1
    sock.enable_error_queue()

    def probe():  # type: ignore[no-untyped-def]
        yield sock.sendto(b"x", ("10.0.2.20", 33434))
        report = yield sock.recv_error()
        return report

    process = net.process(probe())
    net.run()
    assert process.value.offender == "10.0.1.1" and process.value.type == 11
    assert r1["eth0"].counters.drops["ttl-exceeded"] == 1


def test_a_stopped_ping_or_traceroute_closes_its_socket() -> None:
    """An app stopped mid-run (a timeline ``stop``: an Interrupt at the yield it waits on) leaves
    no socket behind: no descriptor, no identifier or port still bound."""
    import simpy

    net, h1, _r1, _r2, _h2 = two_routers(delay="1ms")
    before = dict(h1.fds.table)

    def stopped(app: object) -> object:
        try:
            yield from app  # type: ignore[misc]
        except simpy.Interrupt:
            return "stopped"
        return "finished"

    pinger = net.process(stopped(ping(h1, "10.0.2.20", count=100, interval="100ms")))
    tracer = net.process(stopped(traceroute(h1, "10.0.2.99", probes=3, timeout="5s")))

    def stop_both() -> object:
        yield net.env.timeout(1_500 * MS)
        pinger.interrupt("stop")
        tracer.interrupt("stop")

    net.process(stop_both())
    net.run("3s")
    assert (pinger.value, tracer.value) == ("stopped", "stopped")
    assert h1.fds.table == before and not h1.icmp_ids and not h1.udp_ports
