"""Sequence-number arithmetic modulo 2**32 (RFC 9293 §3.4, RFC 1982's serial-number rules).

Comparisons are only meaningful between numbers less than 2**31 apart, which TCP's windows
guarantee; every comparison in the engine goes through these functions, never through ``<``.
"""

from __future__ import annotations

MOD = 1 << 32
HALF = 1 << 31


def seq_add(a: int, n: int) -> int:
    return (a + n) & 0xFFFFFFFF


def seq_sub(a: int, b: int) -> int:
    """The distance from ``b`` forward to ``a`` (in 0..2**32-1)."""
    return (a - b) & 0xFFFFFFFF


def seq_lt(a: int, b: int) -> bool:
    """``a`` comes before ``b``."""
    return 0 < ((b - a) & 0xFFFFFFFF) < HALF


def seq_le(a: int, b: int) -> bool:
    return a == b or seq_lt(a, b)


def seq_gt(a: int, b: int) -> bool:
    return seq_lt(b, a)


def seq_ge(a: int, b: int) -> bool:
    return a == b or seq_lt(b, a)


def seq_in_window(value: int, start: int, size: int) -> bool:
    """``start <= value < start + size`` modulo 2**32 (the acceptability tests of §3.10.7.4)."""
    return ((value - start) & 0xFFFFFFFF) < size


def seq_max(a: int, b: int) -> int:
    return b if seq_lt(a, b) else a
