"""NatBehaviour, its presets and timeouts; the conntrack TCP table."""

from __future__ import annotations

import pytest

from netsim.proto.nat import PRESETS, Filtering, Mapping, NatBehaviour, PortAssignment, TcpCtState, Timeouts
from netsim.proto.nat.conntrack import IGNORE, INVALID, TCP_CONNTRACKS, CtDir, can_open, flag_class, tcp_next
from netsim.units import HOUR, MINUTE, S
from netsim.wire.tcp import TCPFlags

SYN, ACK, FIN, RST = int(TCPFlags.SYN), int(TCPFlags.ACK), int(TCPFlags.FIN), int(TCPFlags.RST)
OR, RE = CtDir.ORIGINAL, CtDir.REPLY
EIM, ADM, APDM = Mapping
EIF, ADF, APDF = Filtering


@pytest.mark.parametrize(("name", "mapping", "filtering"), [
    ("full-cone", EIM, EIF),
    ("restricted-cone", EIM, ADF),
    ("port-restricted-cone", EIM, APDF),
    ("symmetric", APDM, APDF),
    ("linux-masquerade", APDM, APDF),
])
def test_presets_have_their_mapping_and_filtering(name: str, mapping: Mapping, filtering: Filtering) -> None:
    preset = NatBehaviour.preset(name)
    assert (preset.mapping, preset.filtering) == (mapping, filtering)


def test_linux_masquerade_is_what_linux_does() -> None:
    linux = NatBehaviour.preset("linux-masquerade")
    assert linux.port_assignment is PortAssignment.PRESERVE_RANDOM  # nf_nat: keep x, else a random port
    assert linux.port_overloading
    assert not linux.hairpinning
    assert linux.timeouts == Timeouts.linux()
    assert (linux.timeouts.udp, linux.timeouts.udp_stream) == (30 * S, 120 * S)
    assert NatBehaviour.preset("symmetric").port_assignment is PortAssignment.SEQUENTIAL


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: full-cone, restricted-cone") as info:
        NatBehaviour.preset("cone")
    for name in PRESETS:
        assert name in str(info.value)


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="port_overloading"):
        NatBehaviour(port_overloading=True)
    with pytest.raises(ValueError, match="port_range"):
        NatBehaviour(port_range=(2000, 1000))
    with pytest.raises(ValueError, match="port_range"):
        NatBehaviour(port_range=(0, 10))
    with pytest.raises(ValueError, match="max_entries"):
        NatBehaviour(max_entries=0)
    with pytest.raises(ValueError, match="udp"):
        Timeouts(udp=0)


def test_default_timeouts_are_linux_tcp_and_rfc_udp() -> None:
    t = Timeouts()
    assert (t.tcp_syn_sent, t.tcp_syn_recv, t.tcp_established, t.tcp_fin_wait) == (120 * S, 60 * S, 432000 * S, 120 * S)
    assert (t.tcp_close_wait, t.tcp_last_ack, t.tcp_time_wait, t.tcp_close) == (60 * S, 30 * S, 120 * S, 10 * S)
    assert (t.udp, t.udp_stream, t.icmp) == (120 * S, 180 * S, 30 * S)


def test_below_rfc_names_linux_shortfalls() -> None:
    below = " ".join(Timeouts.linux().below_rfc())
    for name in ("udp 30s", "icmp 30s", "tcp_syn_sent", "tcp_time_wait", "tcp_close 10s"):
        assert name in below
    assert "tcp_established" not in below  # 5 days >= 2h4m
    assert "udp_stream" not in below  # 120 s is exactly RFC 4787's two minutes
    assert Timeouts.rfc_compliant().below_rfc() == []
    short = Timeouts(tcp_established=2 * HOUR).below_rfc()
    assert sorted(short) == sorted(["tcp_established 7200s < 7440s (RFC 5382 REQ-5)", *Timeouts().below_rfc()])
    assert Timeouts.rfc_compliant().tcp_time_wait == 4 * MINUTE


def test_flag_classes() -> None:
    assert [flag_class(f) for f in (SYN, SYN | ACK, FIN | ACK, ACK, RST | ACK, 0)] == [
        "syn", "synack", "fin", "ack", "rst", "none"]


def test_conntrack_table_is_complete() -> None:
    assert len(TCP_CONNTRACKS) == 2 * 6 * len(TcpCtState)


def test_three_way_handshake_and_close() -> None:
    s = TcpCtState.NONE
    steps = [(OR, SYN, "SYN_SENT"), (RE, SYN | ACK, "SYN_RECV"), (OR, ACK, "ESTABLISHED"), (OR, ACK, "ESTABLISHED"),
             (OR, FIN | ACK, "FIN_WAIT"), (RE, ACK, "CLOSE_WAIT"), (RE, FIN | ACK, "LAST_ACK"), (OR, ACK, "TIME_WAIT")]
    for direction, flags, expected in steps:
        nxt = tcp_next(s, direction, flags)
        assert isinstance(nxt, TcpCtState)
        assert nxt.value == expected
        s = nxt


def test_odd_segments() -> None:
    assert tcp_next(TcpCtState.SYN_SENT, RE, SYN) is TcpCtState.SYN_SENT2  # simultaneous open
    assert tcp_next(TcpCtState.ESTABLISHED, OR, SYN) is IGNORE
    assert tcp_next(TcpCtState.ESTABLISHED, RE, RST) is TcpCtState.CLOSE
    assert tcp_next(TcpCtState.NONE, OR, RST) is INVALID
    assert tcp_next(TcpCtState.TIME_WAIT, OR, SYN) is TcpCtState.SYN_SENT  # port reuse reopens
    assert can_open(SYN) and can_open(ACK)
    assert not can_open(RST) and not can_open(SYN | ACK) and not can_open(FIN) and not can_open(0)
