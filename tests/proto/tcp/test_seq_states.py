"""Sequence arithmetic across the 2**32 wrap, and the RFC 9293 state table."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from netsim.proto.tcp.seq import seq_add, seq_ge, seq_gt, seq_in_window, seq_le, seq_lt, seq_max, seq_sub
from netsim.proto.tcp.states import TRANSITIONS, S, TCPState, legal, reachable_from

u32 = st.integers(0, 2**32 - 1)


@given(a=u32, n=st.integers(1, 2**31 - 1))
def test_adding_less_than_half_the_space_moves_forward(a: int, n: int) -> None:
    b = seq_add(a, n)
    assert seq_lt(a, b) and seq_le(a, b) and seq_gt(b, a) and seq_ge(b, a) and not seq_lt(b, a)
    assert seq_sub(b, a) == n
    assert seq_max(a, b) == b


def test_wraparound_examples() -> None:
    assert seq_lt(0xFFFFFFF0, 0x10)  # 0x10 is after the wrap
    assert seq_add(0xFFFFFFFF, 1) == 0
    assert seq_sub(0x5, 0xFFFFFFFB) == 10
    assert seq_in_window(0x2, 0xFFFFFFFE, 8) and not seq_in_window(0x6, 0xFFFFFFFE, 8)


@given(a=u32)
def test_a_number_is_not_before_itself(a: int) -> None:
    assert not seq_lt(a, a) and seq_le(a, a) and seq_ge(a, a)


@given(value=u32, start=u32, size=st.integers(0, 2**31))
def test_window_membership_matches_the_rfc_inequalities(value: int, start: int, size: int) -> None:
    expected = size > 0 and seq_le(start, value) and seq_lt(value, seq_add(start, size)) if size < 2**31 else None
    if expected is not None:
        assert seq_in_window(value, start, size) == expected


def test_every_state_is_in_the_table_and_reachable_from_closed() -> None:
    states = {state for pair in TRANSITIONS for state in pair}
    assert states == set(TCPState)
    assert reachable_from(TCPState.CLOSED) == set(TCPState)
    for state in TCPState:
        assert TCPState.CLOSED in reachable_from(state)  # every connection can end


def test_legal_transitions_follow_rfc_9293_figure_5() -> None:
    assert legal(TCPState.SYN_SENT, TCPState.ESTABLISHED, "rcv SYN,ACK")
    assert legal(TCPState.SYN_SENT, TCPState.SYN_RECEIVED, "rcv SYN")  # simultaneous open
    assert legal(TCPState.FIN_WAIT_1, TCPState.CLOSING, "rcv FIN")  # simultaneous close
    assert not legal(TCPState.LISTEN, TCPState.ESTABLISHED, "rcv ACK")
    assert not legal(TCPState.TIME_WAIT, TCPState.ESTABLISHED, "rcv SYN")
    assert TCPState.SYN_RECEIVED.ss_name == "SYN-RECV" and TCPState.ESTABLISHED.ss_name == "ESTAB"
    assert TCPState.ESTABLISHED.synchronized and not TCPState.SYN_RECEIVED.synchronized


def test_the_plain_namespace_of_states_holds_every_member_itself() -> None:
    names = [name for name in vars(S) if not name.startswith("_")]
    assert names == list(TCPState.__members__)
    assert all(getattr(S, name) is member for name, member in TCPState.__members__.items())
