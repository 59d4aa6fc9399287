"""TCP connection tracking as Linux's ``nf_conntrack_proto_tcp.c`` does it: the state is moved by
the flags of each packet and the direction it goes in, from the ``tcp_conntracks`` table, and
picks the entry's idle timeout.

Directions are conntrack's: ORIGINAL is the way the first packet went, REPLY the other way.
The table below is Linux's (``tcp_conntracks[2][6][TCP_CONNTRACK_MAX]``) with the columns netsim
keeps.  Simplified: Linux also checks that sequence and ack numbers lie in the window
(``tcp_in_window``) and shortens the timeout while data is unacknowledged or retransmitted
(``nf_conntrack_tcp_timeout_unacknowledged``/``max_retrans``); netsim sees flags only.  An
INVALID transition leaves the entry as it is and does not refresh it (Linux would also leave
the packet untranslated; netsim translates it, see docs/nat-engine.md).
"""

from __future__ import annotations

import enum

from netsim.proto.nat.behaviour import Timeouts


class CtDir(enum.IntEnum):
    """Conntrack direction of a packet relative to the entry's first packet."""

    ORIGINAL = 0
    REPLY = 1


class TcpCtState(enum.Enum):
    """Linux's TCP conntrack states, named as ``conntrack -L`` prints them."""

    NONE = "NONE"
    SYN_SENT = "SYN_SENT"
    SYN_RECV = "SYN_RECV"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT = "FIN_WAIT"
    CLOSE_WAIT = "CLOSE_WAIT"
    LAST_ACK = "LAST_ACK"
    TIME_WAIT = "TIME_WAIT"
    CLOSE = "CLOSE"
    SYN_SENT2 = "SYN_SENT2"  # simultaneous open: a SYN from each side


class _Verdict(enum.Enum):
    IGNORE = "IGNORE"  # sIG: allowed but says nothing about the state (retransmissions ...)
    INVALID = "INVALID"  # sIV


Next = TcpCtState | _Verdict
IGNORE, INVALID = _Verdict.IGNORE, _Verdict.INVALID

_NO, _SS, _SR, _ES, _FW, _CW, _LA, _TW, _CL, _S2 = TcpCtState
_IG, _IV = IGNORE, INVALID
#: column order of the rows below
_COLUMNS = (_NO, _SS, _SR, _ES, _FW, _CW, _LA, _TW, _CL, _S2)
_ROWS: dict[tuple[CtDir, str], tuple[Next, ...]] = {
    # ORIGINAL        sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
    (CtDir.ORIGINAL, "syn"): (_SS, _SS, _IG, _IG, _IG, _IG, _IG, _SS, _SS, _S2),
    (CtDir.ORIGINAL, "synack"): (_IV, _IV, _SR, _IV, _IV, _IV, _IV, _IV, _IV, _SR),
    (CtDir.ORIGINAL, "fin"): (_IV, _IV, _FW, _FW, _LA, _LA, _LA, _TW, _CL, _IV),
    (CtDir.ORIGINAL, "ack"): (_ES, _IV, _ES, _ES, _CW, _CW, _TW, _TW, _CL, _IV),
    (CtDir.ORIGINAL, "rst"): (_IV, _CL, _CL, _CL, _CL, _CL, _CL, _CL, _CL, _CL),
    (CtDir.ORIGINAL, "none"): (_IV,) * 10,
    # REPLY           sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
    (CtDir.REPLY, "syn"): (_IV, _S2, _IV, _IV, _IV, _IV, _IV, _SS, _IV, _S2),
    (CtDir.REPLY, "synack"): (_IV, _SR, _IG, _IG, _IG, _IG, _IG, _IG, _IG, _SR),
    (CtDir.REPLY, "fin"): (_IV, _IV, _FW, _FW, _LA, _LA, _LA, _TW, _CL, _IV),
    (CtDir.REPLY, "ack"): (_IV, _IG, _SR, _ES, _CW, _CW, _TW, _TW, _CL, _IG),
    (CtDir.REPLY, "rst"): (_IV, _CL, _CL, _CL, _CL, _CL, _CL, _CL, _CL, _CL),
    (CtDir.REPLY, "none"): (_IV,) * 10,
}
#: (direction, flag class, state) -> next state or verdict; the whole table as data
TCP_CONNTRACKS: dict[tuple[CtDir, str, TcpCtState], Next] = {
    (direction, kind, state): row[i] for (direction, kind), row in _ROWS.items() for i, state in enumerate(_COLUMNS)
}


def _classify(flags: int) -> str:
    if flags & 0x04:  # RST
        return "rst"
    if flags & 0x02:  # SYN
        return "synack" if flags & 0x10 else "syn"
    if flags & 0x01:  # FIN
        return "fin"
    if flags & 0x10:  # ACK
        return "ack"
    return "none"


#: every value of the 9 flag bits, classified once (plain ints: IntFlag arithmetic is slow)
_FLAG_CLASSES = tuple(_classify(flags) for flags in range(1 << 9))


def flag_class(flags: int) -> str:
    """Linux's ``get_conntrack_index``: which row a segment's flags select."""
    return _FLAG_CLASSES[flags & 0x1FF]


#: state value -> per direction, the next state for each of the 512 flag values: the per-packet
#: form of TCP_CONNTRACKS (an Enum hashes in Python; its ``_value_`` string hashes in C)
_NEXT_BY_FLAGS: dict[str, tuple[tuple[Next, ...], tuple[Next, ...]]] = {
    state._value_: tuple(  # type: ignore[misc]
        tuple(TCP_CONNTRACKS[direction, _FLAG_CLASSES[flags], state] for flags in range(1 << 9))
        for direction in CtDir
    )
    for state in TcpCtState
}


def tcp_next(state: TcpCtState, direction: CtDir, flags: int) -> Next:
    """The state after a segment with ``flags`` going ``direction``, or IGNORE / INVALID."""
    return _NEXT_BY_FLAGS[state._value_][direction][flags & 0x1FF]


def can_open(flags: int) -> bool:
    """Whether a segment may create an entry: Linux's ``tcp_new`` accepts a SYN, and (with
    ``nf_conntrack_tcp_loose`` = 1, the default) picks up a connection mid-stream from a bare ACK.
    An RST, a SYN-ACK, a FIN or a segment with none of these opens nothing."""
    return isinstance(tcp_next(TcpCtState.NONE, CtDir.ORIGINAL, flags), TcpCtState)


def tcp_timeouts(timeouts: Timeouts) -> dict[TcpCtState, int]:
    """The idle timeout of each state (``nf_conntrack_tcp_timeout_<state>``)."""
    return {
        TcpCtState.NONE: timeouts.tcp_close,
        TcpCtState.SYN_SENT: timeouts.tcp_syn_sent,
        TcpCtState.SYN_RECV: timeouts.tcp_syn_recv,
        TcpCtState.ESTABLISHED: timeouts.tcp_established,
        TcpCtState.FIN_WAIT: timeouts.tcp_fin_wait,
        TcpCtState.CLOSE_WAIT: timeouts.tcp_close_wait,
        TcpCtState.LAST_ACK: timeouts.tcp_last_ack,
        TcpCtState.TIME_WAIT: timeouts.tcp_time_wait,
        TcpCtState.CLOSE: timeouts.tcp_close,
        TcpCtState.SYN_SENT2: timeouts.tcp_syn_sent2,
    }
