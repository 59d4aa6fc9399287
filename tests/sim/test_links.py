"""Link timing, queues, impairments, and what corruption must never do: reach a socket."""

from __future__ import annotations

import socket

import pytest

from netsim.sim.network import Network
from netsim.sim.records import GilbertElliott, Impairments
from netsim.units import MS, US, tx_time
from tests.sim.topologies import two_hosts


def _blast(net: Network, h1, h2, count: int, size: int = 100, gap: int = 10 * US):  # type: ignore[no-untyped-def]
    server = h2.socket("udp")
    server.bind(("0.0.0.0", 9000))
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 30)  # capped at 2 x rmem_max, as Linux
    assert count * size <= server.receive_buffer  # nothing in these tests is lost to a full buffer
    client = h1.socket("udp")
    # resolve ARP first so that every datagram goes straight out
    h1.neighbors["eth0"].fill(h2["eth0"].ipv4[0].ip, h2["eth0"].mac, 0)
    h2.neighbors["eth0"].fill(h1["eth0"].ipv4[0].ip, h1["eth0"].mac, 0)

    def send():  # type: ignore[no-untyped-def]
        for index in range(count):
            yield client.sendto(index.to_bytes(4, "big") + bytes(size - 4), ("10.0.0.2", 9000))
            yield net.env.timeout(gap)

    net.process(send())
    return server


def _drain(server) -> list[bytes]:  # type: ignore[no-untyped-def]
    return [data for data, _ in server.queue]


def test_serialisation_and_propagation_delay() -> None:
    net, h1, h2 = two_hosts(rate="10Mbps", delay="5ms")
    server = _blast(net, h1, h2, 1, size=1000)
    net.run()
    (record,) = [r for r in net.trace.select("rx", "h2:eth0")]
    frame = 14 + 20 + 8 + 1000
    assert record.time == tx_time(frame + 4 + 8 + 12, 10_000_000) + 5 * MS
    assert len(_drain(server)) == 1


def test_drop_tail_queue_limit() -> None:
    net, h1, h2 = two_hosts(rate="1Mbps", delay="1ms", queue_packets=5)
    server = _blast(net, h1, h2, 50, size=1000, gap=0)
    net.run()
    assert len(_drain(server)) == 5
    assert h1["eth0"].counters.drops["queue-full"] == 45


@pytest.mark.parametrize("loss", [0.1, 0.3])
def test_bernoulli_loss_is_close_to_its_rate(loss: float) -> None:
    net, h1, h2 = two_hosts(impairments=Impairments(loss=loss))
    server = _blast(net, h1, h2, 2000)
    net.run()
    channel = h1["eth0"].channel
    assert channel is not None
    assert channel.counters.lost + len(_drain(server)) == 2000
    assert abs(channel.counters.lost / 2000 - loss) < 0.04


def test_gilbert_elliott_loss_comes_in_bursts() -> None:
    net, h1, h2 = two_hosts(impairments=Impairments(burst_loss=GilbertElliott(p=0.01, r=0.2)))
    server = _blast(net, h1, h2, 4000)
    net.run()
    got = {int.from_bytes(d[:4], "big") for d in _drain(server)}
    lost = [i for i in range(4000) if i not in got]
    runs = sum(1 for i in lost if i - 1 not in lost)
    assert lost and len(lost) / runs > 3  # mean burst length is 1/r = 5


def test_duplication_and_reordering_are_counted_and_seen() -> None:
    net, h1, h2 = two_hosts(impairments=Impairments(duplicate=0.1, reorder=0.1, reorder_delay="1ms"))
    server = _blast(net, h1, h2, 1000)
    net.run()
    channel = h1["eth0"].channel
    assert channel is not None
    order = [int.from_bytes(d[:4], "big") for d in _drain(server)]
    assert len(order) == 1000 + channel.counters.duplicated
    assert 60 < channel.counters.duplicated < 140
    assert 60 < channel.counters.reordered < 160
    assert order != sorted(order)


def test_corrupted_frames_are_dropped_by_checksums_never_delivered() -> None:
    net, h1, h2 = two_hosts(impairments=Impairments(corrupt=0.2))
    server = _blast(net, h1, h2, 2000, size=200)
    net.run()
    channel = h1["eth0"].channel
    assert channel is not None
    delivered = _drain(server)
    for data in delivered:
        index = int.from_bytes(data[:4], "big")
        assert index < 2000 and data[4:] == bytes(196)  # never wrong bytes
    drops = h2["eth0"].counters.drops
    caught = sum(count for reason, count in drops.items() if reason.endswith("bad-checksum") or reason in (
        "other-host", "ipv4-malformed", "udp-malformed", "ipv4-truncated", "udp-truncated", "unknown-ethertype",
        "udp-no-socket", "not-for-host", "unknown-protocol", "ethernet-truncated", "vlan-tagged", "ipv6-not-configured",
        "tcp-no-socket", "tcp-malformed", "tcp-truncated", "arp-not-for-us", "icmp-type-ignored", "ipv4-bad-checksum",
    ))
    # a flip in a MAC address or the padding-free tail can still be "valid" for another host; every
    # corrupted frame was either dropped with a reason or, being harmless, delivered unchanged
    assert channel.counters.corrupted > 300
    assert len(delivered) + caught >= 2000 - 5
    assert drops["udp-bad-checksum"] + drops["ipv4-bad-checksum"] > 250


def test_link_down_loses_queued_and_in_flight_frames_then_recovers() -> None:
    net, h1, h2 = two_hosts(rate="1Mbps", delay="10ms")
    link = net.links[0]
    server = _blast(net, h1, h2, 10, size=1000, gap=0)

    def cut():  # type: ignore[no-untyped-def]
        yield net.env.timeout(15 * MS)
        link.set_up(False)
        yield net.env.timeout(50 * MS)
        link.set_up(True)
        client = h1.socket("udp")
        yield client.sendto(b"\x00\x00\x00\x63" + bytes(96), ("10.0.0.2", 9000))

    net.process(cut())
    net.run()
    got = [int.from_bytes(d[:4], "big") for d in _drain(server)]
    assert got[-1] == 99 and len(got) < 10
    assert h1["eth0"].counters.drops["link-down"] + h2["eth0"].counters.drops["link-down"] == 10 - (len(got) - 1)


def test_impairments_validate_probabilities() -> None:
    with pytest.raises(ValueError, match="loss"):
        Impairments(loss=1.5)


def test_a_drop_rule_drops_what_it_matches_and_says_so() -> None:
    """Channel.drop_if: an egress filter (an nft drop rule): the matched frames never reach the
    wire, each is counted (``filtered``) and traced as a drop with its reason; the rest pass."""
    net, h1, h2 = two_hosts()
    channel = h1["eth0"].channel
    assert channel is not None
    channel.drop_if = lambda frame: frame[-1] == 1  # the odd datagrams, by their last byte
    server = _blast_marked(net, h1, h2, 10)
    net.run()
    received = [int.from_bytes(data[:4], "big") for data in _drain(server)]
    assert received == [0, 2, 4, 6, 8]
    assert channel.counters.filtered == 5 and channel.counters.sent == 5
    assert h1["eth0"].counters.drops["link-filter"] == 5
    assert len([r for r in net.trace.select("drop") if r.fields["reason"] == "link-filter"]) == 5


def _blast_marked(net: Network, h1, h2, count: int):  # type: ignore[no-untyped-def]
    """``count`` datagrams numbered 0.., each ending in its number's parity."""
    server = h2.socket("udp")
    server.bind(("0.0.0.0", 9000))
    client = h1.socket("udp")
    h1.neighbors["eth0"].fill(h2["eth0"].ipv4[0].ip, h2["eth0"].mac, 0)

    def send():  # type: ignore[no-untyped-def]
        for index in range(count):
            yield client.sendto(index.to_bytes(4, "big") + bytes(60) + bytes([index % 2]), ("10.0.0.2", 9000))

    net.process(send())
    return server


def test_an_arrival_as_sent_is_hashed_by_reference_and_kept_whole() -> None:
    from netsim.sim.trace import Trace

    def digest(data: bytes, as_sent: bool) -> tuple[str, bytes]:
        trace = Trace()
        trace.record_frame(5, trace.label("rx", "h2:eth0"), "rx", "h2:eth0", data, as_sent)
        return trace.hexdigest(), trace.records[0].fields["data"]

    # the bytes were hashed when they were sent: an intact arrival adds its time, place and
    # length; a changed one (as_sent False) its bytes too; the record keeps the bytes either way
    assert digest(b"abc", True)[0] == digest(b"xyz", True)[0] != digest(b"abc", False)[0] != digest(b"xyz", False)[0]
    assert digest(b"abc", True)[1] == b"abc"


@pytest.mark.pure_python  # (it replaces Trace.record_frame)
def test_only_frames_the_link_corrupted_are_hashed_again_on_arrival(monkeypatch: pytest.MonkeyPatch) -> None:
    from netsim.sim.trace import Trace

    arrivals: list[tuple[bytes, bool]] = []
    sent: list[bytes] = []
    record = Trace.record_frame

    def spy(self: Trace, now: int, label: bytes, kind: str, where: str, data: bytes, as_sent: bool = False) -> None:
        if where == "h2:eth0" and kind == "rx":
            arrivals.append((data, as_sent))
        elif where == "h1:eth0" and kind == "tx":
            sent.append(data)
        record(self, now, label, kind, where, data, as_sent)

    monkeypatch.setattr(Trace, "record_frame", spy)
    net, h1, h2 = two_hosts(impairments=Impairments(corrupt=0.3))
    _blast(net, h1, h2, 300)
    net.run()
    channel = h1["eth0"].channel
    assert channel is not None and channel.counters.corrupted > 50
    assert len(arrivals) == len(sent) == 300  # FIFO, nothing lost: the k-th arrival is the k-th frame sent
    assert sum(not as_sent for _, as_sent in arrivals) == channel.counters.corrupted
    assert all((data == original) == as_sent for (data, as_sent), original in zip(arrivals, sent, strict=True))
