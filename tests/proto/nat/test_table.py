"""NatTable, one behaviour at a time: RFC 4787 mapping and filtering, port assignment, pooling,
limits, timeouts, forwards, exemptions, hairpinning, ICMP, and the conntrack listing."""

from __future__ import annotations

import random
from ipaddress import IPv4Address

import attrs
import pytest

from netsim.proto.nat import (
    Direction,
    Drop,
    FlowTuple,
    NatBehaviour,
    NatTable,
    Pooling,
    PortAssignment,
    PortForward,
    TcpCtState,
    Unsolicited,
    flow,
    icmp_echo,
)
from netsim.units import S
from netsim.wire.tcp import TCPFlags

SYN, ACK, FIN, RST = int(TCPFlags.SYN), int(TCPFlags.ACK), int(TCPFlags.FIN), int(TCPFlags.RST)
OUT = "203.0.113.1"
OUT2 = "203.0.113.2"
A, B = "192.168.1.10", "192.168.1.11"
Y, Z = "198.51.100.7", "198.51.100.8"


def ok(result: FlowTuple | Drop) -> FlowTuple:
    assert isinstance(result, FlowTuple), result
    return result


def table(preset: str = "full-cone", **changes: object) -> NatTable:
    behaviour = attrs.evolve(NatBehaviour.preset(preset), **changes)  # type: ignore[arg-type]
    return NatTable(OUT, behaviour, rng=random.Random(1))


def udp(src: str, sport: int, dst: str, dport: int) -> FlowTuple:
    return flow("udp", src, sport, dst, dport)


def tcp(src: str, sport: int, dst: str, dport: int) -> FlowTuple:
    return flow("tcp", src, sport, dst, dport)


# -- mapping (RFC 4787 §4.1) -------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["full-cone", "restricted-cone", "port-restricted-cone"])
def test_endpoint_independent_mapping_reuses_the_outside_endpoint(preset: str) -> None:
    t = table(preset)
    first = ok(t.outbound(udp(A, 5000, Y, 53), 0))
    assert (first.src, first.sport) == (IPv4Address(OUT), 5000)  # port preserved
    assert first.dst == IPv4Address(Y) and first.dport == 53
    for remote, port in ((Y, 54), (Z, 53), (Z, 9999)):
        again = ok(t.outbound(udp(A, 5000, remote, port), 1))
        assert (again.src, again.sport) == (first.src, first.sport)
    assert t.lookup_mapping(17, IPv4Address(A), 5000) == [(IPv4Address(OUT), 5000)]


def test_address_and_port_dependent_mapping_gives_each_remote_its_own_port() -> None:
    t = table("symmetric")
    ports = {ok(t.outbound(udp(A, 5000, r, p), 0)).sport for r, p in ((Y, 53), (Y, 54), (Z, 53))}
    assert len(ports) == 3
    assert ports == {1024, 1025, 1026}  # sequential from the bottom of the range
    assert ok(t.outbound(udp(A, 5000, Y, 53), 1)).sport == 1024  # the same flow keeps its port


def test_address_dependent_mapping_shares_a_port_per_remote_address() -> None:
    t = NatTable(OUT, NatBehaviour(mapping=NatBehaviour.preset("symmetric").mapping.ADDRESS_DEPENDENT,
                                   port_assignment=PortAssignment.SEQUENTIAL))
    p1 = ok(t.outbound(udp(A, 5000, Y, 53), 0)).sport
    assert ok(t.outbound(udp(A, 5000, Y, 54), 0)).sport == p1
    assert ok(t.outbound(udp(A, 5000, Z, 53), 0)).sport != p1


def test_linux_masquerade_keeps_the_port_per_remote_and_overloads_across_hosts() -> None:
    t = table("linux-masquerade")
    assert ok(t.outbound(udp(A, 5000, Y, 53), 0)).sport == 5000
    assert ok(t.outbound(udp(A, 5000, Z, 53), 0)).sport == 5000  # port kept: endpoint-independent in effect
    moved = ok(t.outbound(udp(B, 5000, Y, 53), 0)).sport
    assert moved != 5000 and 1024 <= moved <= 65535  # the reply tuple would clash: a random port, as Linux
    assert ok(t.outbound(udp(B, 5000, Y, 54), 0)).sport == 5000  # overloaded: another remote port
    # every reply still reaches the one flow it belongs to
    assert ok(t.inbound(udp(Y, 53, OUT, 5000), 1)).dst == IPv4Address(A)
    assert ok(t.inbound(udp(Y, 54, OUT, 5000), 1)).dst == IPv4Address(B)
    assert t.inbound(udp(Z, 54, OUT, 5000), 1) == Drop("filtered")


# -- filtering (RFC 4787 §5) -------------------------------------------------------------------


def test_endpoint_independent_filtering_admits_anyone_to_a_mapped_port() -> None:
    t = table("full-cone")
    ok(t.outbound(udp(A, 5000, Y, 53), 0))
    back = ok(t.inbound(udp(Z, 7777, OUT, 5000), 1))
    assert back == udp(Z, 7777, A, 5000)
    assert t.inbound(udp(Z, 7777, OUT, 5001), 1) == Drop("no mapping")
    assert t.drops == {"no mapping": 1}


def test_address_dependent_filtering_admits_any_port_of_a_contacted_address() -> None:
    t = table("restricted-cone")
    ok(t.outbound(udp(A, 5000, Y, 53), 0))
    assert ok(t.inbound(udp(Y, 53, OUT, 5000), 1)) == udp(Y, 53, A, 5000)
    assert ok(t.inbound(udp(Y, 1234, OUT, 5000), 1)) == udp(Y, 1234, A, 5000)
    assert t.inbound(udp(Z, 53, OUT, 5000), 1) == Drop("filtered")


def test_address_and_port_dependent_filtering_admits_only_the_exact_remote() -> None:
    for preset in ("port-restricted-cone", "symmetric"):
        t = table(preset)
        out = ok(t.outbound(udp(A, 5000, Y, 53), 0))
        assert ok(t.inbound(out.reply(), 1)) == udp(Y, 53, A, 5000)
        assert t.inbound(udp(Y, 54, OUT, out.sport), 1) == Drop("filtered")
        assert t.inbound(udp(Z, 53, OUT, out.sport), 1) == Drop("filtered")
        assert t.drops["filtered"] == 2


def test_filtering_state_ends_with_the_mapping() -> None:
    t = table("restricted-cone")
    ok(t.outbound(udp(A, 5000, Y, 53), 0))
    assert t.inbound(udp(Y, 99, OUT, 5000), 121 * S) == Drop("no mapping")


# -- port assignment (RFC 4787 §4.2) -----------------------------------------------------------


def test_port_preservation_falls_back_to_sequential() -> None:
    t = table("port-restricted-cone")
    assert ok(t.outbound(udp(A, 5000, Y, 53), 0)).sport == 5000
    assert ok(t.outbound(udp(B, 5000, Y, 53), 0)).sport == 1024
    assert ok(t.outbound(udp(B, 5001, Y, 53), 0)).sport == 5001
    assert ok(t.outbound(udp(B, 80, Y, 53), 0)).sport == 1025  # outside the range: not kept
    assert ok(t.outbound(tcp(B, 5000, Y, 53), 0, tcp_flags=SYN)).sport == 5000  # per protocol


def test_port_parity_is_kept() -> None:
    t = table("symmetric", port_parity=True)
    odd = [ok(t.outbound(udp(A, 5001, Y, p), 0)).sport for p in range(1, 5)]
    even = [ok(t.outbound(udp(A, 5002, Y, p), 0)).sport for p in range(1, 5)]
    assert odd == [1025, 1027, 1029, 1031]
    assert even == [1034, 1036, 1038, 1040]  # the cursor (now 1033) is shared, the parity is not
    t2 = table("full-cone", port_parity=True)
    ok(t2.outbound(udp(A, 5001, Y, 1), 0))
    assert ok(t2.outbound(udp(B, 5001, Y, 1), 0)).sport % 2 == 1


def test_random_assignment_is_deterministic_given_the_stream() -> None:
    def ports() -> list[int]:
        t = NatTable(OUT, attrs.evolve(NatBehaviour.preset("symmetric"), port_assignment=PortAssignment.RANDOM),
                     rng=random.Random(1))
        return [ok(t.outbound(udp(A, 5000, Y, p), 0)).sport for p in range(1, 20)]
    first = ports()
    assert first == ports()
    assert len(set(first)) == len(first)
    assert first != sorted(first)
    with pytest.raises(ValueError, match="rng"):
        NatTable(OUT, attrs.evolve(NatBehaviour.preset("symmetric"), port_assignment=PortAssignment.RANDOM))


def test_port_exhaustion_drops_new_flows_and_keeps_old_ones() -> None:
    t = table("symmetric", port_range=(2000, 2003))
    outs = [ok(t.outbound(udp(A, 5000, Y, p), 0)) for p in range(4)]
    assert t.outbound(udp(A, 5000, Y, 99), 0) == Drop("ports exhausted")
    assert t.outbound(udp(B, 5000, Y, 99), 0) == Drop("ports exhausted")
    assert t.drops == {"ports exhausted": 2}
    for p, out in enumerate(outs):
        assert ok(t.outbound(udp(A, 5000, Y, p), 1)) == out
        assert ok(t.inbound(out.reply(), 1)) == udp(Y, p, A, 5000)
    # ports come back when their mappings expire
    assert t.expire(400 * S) and len(t) == 0
    assert ok(t.outbound(udp(A, 5000, Y, 99), 400 * S)).sport in range(2000, 2004)


def test_table_size_limit() -> None:
    t = table("full-cone", max_entries=2)
    ok(t.outbound(udp(A, 5001, Y, 1), 0))
    ok(t.outbound(udp(A, 5002, Y, 1), 0))
    assert t.outbound(udp(A, 5003, Y, 1), 0) == Drop("table full")
    assert t.inbound(udp(Z, 1, OUT, 5001), 0) == Drop("table full")  # EIF would have made an entry
    assert ok(t.outbound(udp(A, 5001, Y, 1), 1)).sport == 5001
    assert t.drops == {"table full": 2}


# -- pooling (RFC 4787 §4.1, REQ-2) ------------------------------------------------------------


def test_paired_pooling_keeps_an_inside_host_on_one_address() -> None:
    t = NatTable([OUT, OUT2], NatBehaviour.preset("symmetric"))
    a = {ok(t.outbound(udp(A, 5000 + i, Y, 53), 0)).src for i in range(5)}
    b = {ok(t.outbound(udp(B, 5000 + i, Y, 53), 0)).src for i in range(5)}
    assert a == {IPv4Address(OUT)} and b == {IPv4Address(OUT2)}


def test_arbitrary_pooling_spreads_mappings() -> None:
    t = NatTable([OUT, OUT2], attrs.evolve(NatBehaviour.preset("symmetric"), pooling=Pooling.ARBITRARY))
    used = [ok(t.outbound(udp(A, 5000 + i, Y, 53), 0)).src for i in range(4)]
    assert used == [IPv4Address(x) for x in (OUT, OUT2, OUT, OUT2)]


def test_arbitrary_pooling_moves_on_when_an_address_is_full() -> None:
    behaviour = attrs.evolve(NatBehaviour.preset("symmetric"), pooling=Pooling.ARBITRARY, port_range=(2000, 2000))
    t = NatTable([OUT, OUT2], behaviour)
    assert {ok(t.outbound(udp(A, 5000, Y, p), 0)).src for p in (1, 2)} == {IPv4Address(OUT), IPv4Address(OUT2)}
    assert t.outbound(udp(A, 5000, Y, 3), 0) == Drop("ports exhausted")


# -- timeouts ----------------------------------------------------------------------------------


def test_syn_sent_expires_after_120_s() -> None:
    t = table("port-restricted-cone")
    ok(t.outbound(tcp(A, 40000, Y, 80), 0, tcp_flags=SYN))
    assert t.next_deadline() == 120 * S
    assert t.entries()[0].state is TcpCtState.SYN_SENT
    assert t.expire(120 * S - 1) == [] and len(t) == 1
    assert [e.original for e in t.expire(120 * S)] == [tcp(A, 40000, Y, 80)]
    assert t.next_deadline() is None


def handshake(t: NatTable, now: int = 0) -> FlowTuple:
    out = ok(t.outbound(tcp(A, 40000, Y, 80), now, tcp_flags=SYN))
    ok(t.inbound(out.reply(), now, tcp_flags=SYN | ACK))
    ok(t.outbound(tcp(A, 40000, Y, 80), now, tcp_flags=ACK))
    return out


def test_established_lasts_five_days_and_close_goes_through_time_wait() -> None:
    t = table("port-restricted-cone")
    out = handshake(t)
    (entry,) = t.entries()
    assert entry.state is TcpCtState.ESTABLISHED and entry.assured
    day = 86400 * S
    assert t.expire(4 * day) == []
    ok(t.outbound(tcp(A, 40000, Y, 80), 4 * day, tcp_flags=ACK))
    assert t.next_deadline() == 9 * day
    ok(t.outbound(tcp(A, 40000, Y, 80), 4 * day, tcp_flags=FIN | ACK))
    assert entry.state is TcpCtState.FIN_WAIT and t.next_deadline() == 4 * day + 120 * S
    ok(t.inbound(out.reply(), 4 * day, tcp_flags=ACK))
    assert entry.state is TcpCtState.CLOSE_WAIT
    ok(t.inbound(out.reply(), 4 * day, tcp_flags=FIN | ACK))
    assert entry.state is TcpCtState.LAST_ACK and t.next_deadline() == 4 * day + 30 * S
    ok(t.outbound(tcp(A, 40000, Y, 80), 4 * day + S, tcp_flags=ACK))
    assert entry.state is TcpCtState.TIME_WAIT
    assert t.next_deadline() == 4 * day + S + 120 * S
    assert t.expire(4 * day + 121 * S) == [entry]


def test_rst_closes_in_ten_seconds_and_invalid_segments_change_nothing() -> None:
    t = table("port-restricted-cone")
    out = handshake(t)
    (entry,) = t.entries()
    ok(t.outbound(tcp(A, 40000, Y, 80), 5 * S, tcp_flags=SYN | ACK))  # invalid: translated, not tracked
    assert entry.state is TcpCtState.ESTABLISHED and entry.deadline == 432000 * S
    ok(t.inbound(out.reply(), 5 * S, tcp_flags=RST))
    assert entry.state is TcpCtState.CLOSE and t.next_deadline() == 15 * S


def test_tcp_segments_that_cannot_open_an_entry_are_dropped() -> None:
    t = table("full-cone")
    for flags in (0, RST, FIN, SYN | ACK):
        assert t.outbound(tcp(A, 40000, Y, 80), 0, tcp_flags=flags) == Drop("invalid")
    assert ok(t.outbound(tcp(A, 40000, Y, 80), 0, tcp_flags=ACK)).sport == 40000  # loose pickup
    assert t.entries()[0].state is TcpCtState.ESTABLISHED
    assert t.inbound(tcp(Z, 1, OUT, 40000), 0, tcp_flags=RST) == Drop("invalid")
    assert t.drops == {"invalid": 5}


def test_udp_unreplied_then_stream() -> None:
    t = table("port-restricted-cone")
    out = ok(t.outbound(udp(A, 5000, Y, 53), 0))
    (entry,) = t.entries()
    assert t.next_deadline() == 120 * S and not entry.seen_reply
    ok(t.inbound(out.reply(), S))
    assert entry.seen_reply and not entry.assured and entry.deadline == 121 * S  # a reply within 2 s
    ok(t.outbound(udp(A, 5000, Y, 53), 3 * S))
    assert entry.assured and entry.deadline == 183 * S
    assert t.expire(182 * S) == [] and t.expire(183 * S) == [entry]


def test_a_packet_refreshes_only_its_own_entry_and_expiry_does_not_depend_on_timer_calls() -> None:
    t1, t2 = table("full-cone"), table("full-cone")
    for t in (t1, t2):
        ok(t.outbound(udp(A, 5000, Y, 53), 0))
        ok(t.outbound(udp(B, 5000, Y, 53), 60 * S))
    t1.expire(121 * S)
    r1 = t1.outbound(udp(A, 6000, Y, 53), 130 * S)
    r2 = t2.outbound(udp(A, 6000, Y, 53), 130 * S)
    assert r1 == r2 and len(t1) == len(t2) == 2
    with pytest.raises(ValueError, match="backwards"):
        t1.outbound(udp(A, 5000, Y, 53), 0)


def test_flush_forgets_everything_but_configuration() -> None:
    t = NatTable(OUT, "symmetric", forwards=[PortForward(17, None, 53, B, 53)])
    ok(t.outbound(udp(A, 5000, Y, 53), 0))
    t.flush()
    assert len(t) == 0 and t.next_deadline() is None and t.conntrack_lines(0) == []
    assert ok(t.outbound(udp(A, 5000, Z, 53), 1)).sport == 1024  # allocation starts over
    assert ok(t.inbound(udp(Z, 9, OUT, 53), 1)).dst == IPv4Address(B)


# -- rules -------------------------------------------------------------------------------------


def test_port_forward_creates_entries_and_replies_go_back_through_them() -> None:
    t = NatTable(OUT, "symmetric", forwards=[PortForward(6, OUT, 8080, B, 80)])
    inside = ok(t.inbound(tcp(Z, 33000, OUT, 8080), 0, tcp_flags=SYN))
    assert inside == tcp(Z, 33000, B, 80)
    assert ok(t.outbound(tcp(B, 80, Z, 33000), 0, tcp_flags=SYN | ACK)) == tcp(OUT, 8080, Z, 33000)
    ok(t.inbound(tcp(Z, 33000, OUT, 8080), 0, tcp_flags=ACK))
    (entry,) = t.entries()
    assert entry.initiator is Direction.INBOUND and entry.state is TcpCtState.ESTABLISHED and entry.assured
    assert t.conntrack_lines(0) == [
        "tcp      6 432000 ESTABLISHED src=198.51.100.8 dst=203.0.113.1 sport=33000 dport=8080 "
        "src=192.168.1.11 dst=198.51.100.8 sport=80 dport=33000 [ASSURED] mark=0 use=1"]
    # the forwarded port is never handed out, and a new flow from the server gets its own port
    s = table("symmetric", port_range=(8080, 8081))
    s = NatTable(OUT, s.behaviour, forwards=[PortForward(17, None, 8080, B, 80)])
    assert ok(s.outbound(udp(A, 8080, Y, 1), 0)).sport == 8081
    assert s.outbound(udp(A, 8080, Y, 2), 0) == Drop("ports exhausted")
    with pytest.raises(ValueError, match="two port forwards"):
        NatTable(OUT, forwards=[PortForward(6, None, 80, A, 80), PortForward(6, OUT, 80, B, 80)])
    with pytest.raises(ValueError, match="not an outside address"):
        NatTable(OUT, forwards=[PortForward(6, "10.0.0.1", 80, A, 80)])


def test_exempt_prefixes_pass_untranslated() -> None:
    t = NatTable(OUT, "symmetric", exempt=["10.0.0.0/8"])
    f = udp(A, 5000, "10.1.2.3", 53)
    assert t.outbound(f, 0) == f
    assert t.inbound(f.reply(), 0) == f.reply()
    assert len(t) == 0


# -- hairpinning (RFC 4787 REQ-9, RFC 5382 REQ-8) ----------------------------------------------


def test_hairpinning_translates_both_ends() -> None:
    t = table("full-cone")
    ok(t.outbound(udp(B, 6000, Y, 3478), 0))  # B's mapping: OUT:6000
    there = ok(t.outbound(udp(A, 5000, OUT, 6000), 1))
    assert there == udp(OUT, 5000, B, 6000)  # source is A's outside endpoint (REQ-9a)
    back = ok(t.outbound(udp(B, 6000, OUT, 5000), 2))
    assert back == udp(OUT, 6000, A, 5000)
    assert t.outbound(udp(A, 5000, OUT, 7000), 3) == Drop("no mapping")
    assert len(t) == 3  # A->B, B->Y, B->A; the failed attempt left nothing


def test_hairpinning_respects_filtering_and_can_be_off() -> None:
    t = table("port-restricted-cone")
    ok(t.outbound(udp(B, 6000, Y, 3478), 0))
    assert t.outbound(udp(A, 5000, OUT, 6000), 1) == Drop("filtered")
    off = table("full-cone", hairpinning=False)
    ok(off.outbound(udp(B, 6000, Y, 3478), 0))
    assert off.outbound(udp(A, 5000, OUT, 6000), 1) == Drop("hairpin disabled")
    assert off.drops == {"hairpin disabled": 1}


# -- ICMP (RFC 5508) ---------------------------------------------------------------------------


def test_icmp_echo_identifier_is_translated() -> None:
    t = table("port-restricted-cone")
    out = ok(t.outbound(icmp_echo(A, Y, 7), 0))
    assert (out.src, out.dst, out.sport, out.dport) == (IPv4Address(OUT), IPv4Address(Y), 7, 7)
    other = ok(t.outbound(icmp_echo(B, Y, 7), 0))
    assert other.sport == other.dport != 7
    assert ok(t.inbound(icmp_echo(Y, OUT, other.sport), 0)) == icmp_echo(Y, B, 7)
    assert ok(t.inbound(icmp_echo(Y, OUT, 7), 0)) == icmp_echo(Y, A, 7)
    assert t.next_deadline() == 30 * S
    assert t.conntrack_lines(S)[0] == (
        "icmp     1 29 src=192.168.1.10 dst=198.51.100.7 type=8 code=0 id=7 "
        "src=198.51.100.7 dst=203.0.113.1 type=0 code=0 id=7 mark=0 use=1")


def test_embedded_tuples_of_icmp_errors() -> None:
    t = table("symmetric")
    out = ok(t.outbound(udp(A, 5000, Y, 53), 0))
    # a router on the way returns port unreachable quoting what we sent
    assert t.translate_embedded(out, Direction.INBOUND, 1) == udp(A, 5000, Y, 53)
    assert t.translate_embedded(udp(OUT, 9, Y, 53), Direction.INBOUND, 1) is None
    # A answers a reply with an ICMP error quoting the packet as it received it
    received = ok(t.inbound(out.reply(), 1))
    assert t.translate_embedded(received, Direction.OUTBOUND, 1) == out.reply()
    ping = ok(t.outbound(icmp_echo(A, Y, 7), 1))
    assert t.translate_embedded(ping, Direction.INBOUND, 1) == icmp_echo(A, Y, 7)
    assert [e.packets_out for e in t.entries()] == [1, 1]


# -- looking at the table ----------------------------------------------------------------------


def test_conntrack_lines_format() -> None:
    t = NatTable("198.51.100.77", "port-restricted-cone")
    out = ok(t.outbound(tcp(A, 55001, "203.0.113.10", 9000), 0, tcp_flags=SYN))
    assert t.conntrack_lines(S // 2) == [
        "tcp      6 119 SYN_SENT src=192.168.1.10 dst=203.0.113.10 sport=55001 dport=9000 [UNREPLIED] "
        "src=203.0.113.10 dst=198.51.100.77 sport=9000 dport=55001 mark=0 use=1"]
    ok(t.inbound(out.reply(), S, tcp_flags=SYN | ACK))
    ok(t.outbound(tcp(A, 55001, "203.0.113.10", 9000), S, tcp_flags=ACK))
    ok(t.outbound(udp(A, 5353, "203.0.113.10", 53), S))
    assert t.conntrack_lines(2 * S) == [
        "tcp      6 431999 ESTABLISHED src=192.168.1.10 dst=203.0.113.10 sport=55001 dport=9000 "
        "src=203.0.113.10 dst=198.51.100.77 sport=9000 dport=55001 [ASSURED] mark=0 use=1",
        "udp      17 119 src=192.168.1.10 dst=203.0.113.10 sport=5353 dport=53 [UNREPLIED] "
        "src=203.0.113.10 dst=198.51.100.77 sport=53 dport=5353 mark=0 use=1",
    ]


def test_find_links_every_observers_view() -> None:
    t = table("symmetric")
    inside = udp(A, 5000, Y, 53)
    out = ok(t.outbound(inside, 0))
    entry = t.find(inside)
    assert entry is not None and entry.translated == out
    for view in (inside.reply(), out, out.reply()):
        assert t.find(view) is entry
    assert entry.inside == (IPv4Address(A), 5000) and entry.remote == (IPv4Address(Y), 53)
    assert entry.outside == (out.src, out.sport)
    assert t.find(udp(B, 1, Y, 1)) is None


def test_a_refusal_is_for_the_nat_s_own_stack_only_when_the_behaviour_answers_it() -> None:
    """Drop.to_host: "no mapping" always; "filtered" and "hairpin disabled" under
    Unsolicited.ANSWER (linux-masquerade) only; equality stays by reason."""
    for preset, answers in (("linux-masquerade", True), ("port-restricted-cone", False)):
        t = table(preset, hairpinning=False)
        assert t.behaviour.unsolicited is (Unsolicited.ANSWER if answers else Unsolicited.DROP)
        out = ok(t.outbound(udp(A, 5000, Y, 53), 0))
        stranger = t.inbound(udp(Y, 99, str(out.src), out.sport), 1)
        nobody = t.inbound(udp(Y, 99, str(out.src), 7777), 1)
        hairpin = t.outbound(udp(B, 6000, OUT, 5000), 1)
        assert isinstance(stranger, Drop) and isinstance(nobody, Drop) and isinstance(hairpin, Drop)
        assert (stranger.reason, stranger.to_host) == ("filtered", answers)
        assert (hairpin.reason, hairpin.to_host) == ("hairpin disabled", answers)
        assert (nobody.reason, nobody.to_host) == ("no mapping", True)
        assert stranger == Drop("filtered")
