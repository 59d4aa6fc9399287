"""The TCP connection states and their legal transitions (RFC 9293 §3.3.2, figure 5).

The table is data, as h11 keeps its state machine: the engine asserts every change against it,
the tests enumerate it, and the docs can draw it.  Each entry is (from, to) -> the causes that
allow it.  RFC 9293 §3.10.7 adds the RST and timeout exits that figure 5 leaves out.
"""

from __future__ import annotations

import enum
from typing import Final


class TCPState(enum.Enum):
    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN-SENT"
    SYN_RECEIVED = "SYN-RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN-WAIT-1"
    FIN_WAIT_2 = "FIN-WAIT-2"
    CLOSE_WAIT = "CLOSE-WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST-ACK"
    TIME_WAIT = "TIME-WAIT"

    # Members are singletons compared by identity: hash them by identity too (a C slot) rather
    # than by Enum's Python-level hash of the name, which state-set tests paid on every segment.
    __hash__ = object.__hash__

    @property
    def ss_name(self) -> str:
        """The name ``ss`` prints (``ESTAB``, ``SYN-RECV``, ``TIME-WAIT`` ...)."""
        return _SS_NAMES[self]

    @property
    def synchronized(self) -> bool:
        """RFC 9293 §3.5: every state from ESTABLISHED on has exchanged sequence numbers."""
        return self not in (TCPState.CLOSED, TCPState.LISTEN, TCPState.SYN_SENT, TCPState.SYN_RECEIVED)


_SS_NAMES = {
    TCPState.CLOSED: "UNCONN", TCPState.LISTEN: "LISTEN", TCPState.SYN_SENT: "SYN-SENT",
    TCPState.SYN_RECEIVED: "SYN-RECV", TCPState.ESTABLISHED: "ESTAB", TCPState.FIN_WAIT_1: "FIN-WAIT-1",
    TCPState.FIN_WAIT_2: "FIN-WAIT-2", TCPState.CLOSE_WAIT: "CLOSE-WAIT", TCPState.CLOSING: "CLOSING",
    TCPState.LAST_ACK: "LAST-ACK", TCPState.TIME_WAIT: "TIME-WAIT",
}


class S:
    """The states as plain class attributes, for the engine's tests of its state on every
    segment: on Python 3.11 ``TCPState.X`` goes through ``EnumType.__getattr__`` (a call from C
    into the metaclass), several times what a class attribute costs.  ``S.X is TCPState.X``."""

    CLOSED: Final = TCPState.CLOSED
    LISTEN: Final = TCPState.LISTEN
    SYN_SENT: Final = TCPState.SYN_SENT
    SYN_RECEIVED: Final = TCPState.SYN_RECEIVED
    ESTABLISHED: Final = TCPState.ESTABLISHED
    FIN_WAIT_1: Final = TCPState.FIN_WAIT_1
    FIN_WAIT_2: Final = TCPState.FIN_WAIT_2
    CLOSE_WAIT: Final = TCPState.CLOSE_WAIT
    CLOSING: Final = TCPState.CLOSING
    LAST_ACK: Final = TCPState.LAST_ACK
    TIME_WAIT: Final = TCPState.TIME_WAIT


#: (from, to) -> causes.  "rcv X" is a received segment, "snd X" one we send, plain words are
#: user calls (RFC 9293 §3.10.1-3.10.6) and timers.
TRANSITIONS: dict[tuple[TCPState, TCPState], frozenset[str]] = {
    (S.CLOSED, S.LISTEN): frozenset({"passive open"}),
    (S.CLOSED, S.SYN_SENT): frozenset({"active open"}),
    (S.LISTEN, S.SYN_RECEIVED): frozenset({"rcv SYN"}),
    (S.LISTEN, S.SYN_SENT): frozenset({"send"}),
    (S.LISTEN, S.CLOSED): frozenset({"close"}),
    (S.SYN_SENT, S.SYN_RECEIVED): frozenset({"rcv SYN"}),  # simultaneous open
    (S.SYN_SENT, S.ESTABLISHED): frozenset({"rcv SYN,ACK"}),
    (S.SYN_SENT, S.CLOSED): frozenset({"close", "rcv RST", "timeout"}),
    (S.SYN_RECEIVED, S.ESTABLISHED): frozenset({"rcv ACK"}),
    (S.SYN_RECEIVED, S.FIN_WAIT_1): frozenset({"close"}),
    (S.SYN_RECEIVED, S.LISTEN): frozenset({"rcv RST"}),  # a passive open goes back to listening
    (S.SYN_RECEIVED, S.CLOSED): frozenset({"rcv RST", "timeout", "abort"}),
    (S.SYN_RECEIVED, S.CLOSE_WAIT): frozenset({"rcv FIN"}),  # a FIN with the ACK of our SYN
    (S.ESTABLISHED, S.FIN_WAIT_1): frozenset({"close"}),
    (S.ESTABLISHED, S.CLOSE_WAIT): frozenset({"rcv FIN"}),
    (S.ESTABLISHED, S.CLOSED): frozenset({"rcv RST", "timeout", "abort"}),
    (S.FIN_WAIT_1, S.FIN_WAIT_2): frozenset({"rcv ACK of FIN"}),
    (S.FIN_WAIT_1, S.CLOSING): frozenset({"rcv FIN"}),  # simultaneous close
    (S.FIN_WAIT_1, S.TIME_WAIT): frozenset({"rcv FIN,ACK of FIN"}),
    (S.FIN_WAIT_1, S.CLOSED): frozenset({"rcv RST", "timeout", "abort"}),
    (S.FIN_WAIT_2, S.TIME_WAIT): frozenset({"rcv FIN"}),
    (S.FIN_WAIT_2, S.CLOSED): frozenset({"rcv RST", "timeout", "abort"}),  # Linux's tcp_fin_timeout
    (S.CLOSE_WAIT, S.LAST_ACK): frozenset({"close"}),
    (S.CLOSE_WAIT, S.CLOSED): frozenset({"rcv RST", "timeout", "abort"}),
    (S.CLOSING, S.TIME_WAIT): frozenset({"rcv ACK of FIN"}),
    (S.CLOSING, S.CLOSED): frozenset({"rcv RST", "timeout", "abort"}),
    (S.LAST_ACK, S.CLOSED): frozenset({"rcv ACK of FIN", "rcv RST", "timeout", "abort"}),
    (S.TIME_WAIT, S.CLOSED): frozenset({"timeout", "rcv RST", "abort"}),  # 2 MSL; RFC 1337 notes RST
}


def legal(old: TCPState, new: TCPState, cause: str) -> bool:
    """Whether RFC 9293 allows ``old`` -> ``new`` for ``cause``."""
    return cause in TRANSITIONS.get((old, new), frozenset())


def reachable_from(state: TCPState) -> set[TCPState]:
    """Every state reachable from ``state`` through the table."""
    seen = {state}
    frontier = [state]
    while frontier:
        current = frontier.pop()
        for (old, new) in TRANSITIONS:
            if old is current and new not in seen:
                seen.add(new)
                frontier.append(new)
    return seen
