"""Comparison helpers for codec properties."""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

import attrs

from netsim.wire.tcp_options import WireValue


def same_modulo_correct_checksums(parsed: Any, original: Any) -> bool:
    """True if ``parsed`` equals ``original`` except where ``original`` gave an explicit
    checksum that happened to be the correct one (``parse`` reports a correct checksum as None)."""
    if isinstance(parsed, IPv4Address) and isinstance(original, IPv4Address):
        return parsed == original  # decoding gives the hash-once subclass (netsim.wire._fields)
    if type(parsed) is not type(original):
        return False
    names = fields_of(type(original))
    if names is None:
        if isinstance(original, tuple):
            return len(parsed) == len(original) and all(
                same_modulo_correct_checksums(p, o) for p, o in zip(parsed, original, strict=True)
            )
        return bool(parsed == original)
    for name in names:
        mine, theirs = getattr(parsed, name), getattr(original, name)
        if name == "checksum" and mine is None and theirs is not None:
            continue
        if not same_modulo_correct_checksums(mine, theirs):
            return False
    return True


def fields_of(cls: type) -> tuple[str, ...] | None:
    """The field names of a codec value class: an attrs class's, or those a hand-written value
    class (TCPSegment and the TCP options, native in the compiled build) lists in __match_args__."""
    if attrs.has(cls):
        return tuple(field.name for field in attrs.fields(cls))
    if issubclass(cls, WireValue):
        return cls.__match_args__
    return None


def evolve(value: Any, **changes: Any) -> Any:
    """``attrs.evolve`` for any codec value (the hand-written ones have their own ``evolve``)."""
    return attrs.evolve(value, **changes) if attrs.has(type(value)) else value.evolve(**changes)

