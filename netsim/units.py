"""Units, parsed in one place: simulated time is an int of nanoseconds, rates are bits per second,
sizes are bytes.

Scenario files and APIs write ``"1ms"``, ``"250us"``, ``"2h4m"``, ``"100Mbps"``, ``"1.5KB"``;
everything inside netsim is an integer, so no float rounding ever reaches a trace.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

NS = 1
US = 1_000
MS = 1_000_000
S = 1_000_000_000
MINUTE = 60 * S
HOUR = 60 * MINUTE

_DURATION_UNITS = {"ns": NS, "us": US, "µs": US, "ms": MS, "s": S, "m": MINUTE, "min": MINUTE, "h": HOUR}
_RATE_UNITS = {
    "bps": 1, "kbps": 10**3, "mbps": 10**6, "gbps": 10**9, "tbps": 10**12,
    "bit/s": 1, "kbit/s": 10**3, "mbit/s": 10**6, "gbit/s": 10**9,
}
_SIZE_UNITS = {
    "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30,
}
_TERM = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Zµ/]*)")


def _exact(number: str, scale: int, text: object, what: str) -> int:
    try:
        value = Decimal(number) * scale
    except InvalidOperation:  # pragma: no cover - the regex admits only digits
        raise ValueError(f"bad {what} {text!r}") from None
    if value != value.to_integral_value():
        raise ValueError(f"{what} {text!r} is not a whole number of its base unit")
    return int(value)


def parse_duration(text: str | int) -> int:
    """``"1.5ms"`` -> 1_500_000 ns. Terms add up: ``"2h4m"``, ``"1s 500ms"``. A bare int is ns."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"a duration cannot be negative: {text}")
        return text
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"bad duration {text!r}: expected a number with a unit, like 10ms, 1.5s or 2h4m")
    total, position = 0, 0
    stripped = text.strip()
    while position < len(stripped):
        match = _TERM.match(stripped, position)
        unit = match.group(2).lower() if match else ""
        if match is None or unit not in _DURATION_UNITS:
            raise ValueError(
                f"bad duration {text!r}: expected a number with a unit (ns, us, ms, s, m, h), like 10ms or 2h4m"
            )
        total += _exact(match.group(1), _DURATION_UNITS[unit], text, "duration")
        position = match.end()
    return total


def parse_rate(text: str | int) -> int:
    """``"100Mbps"`` -> 100_000_000 bit/s (SI prefixes, as link rates are quoted)."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text <= 0:
            raise ValueError(f"a rate must be positive: {text}")
        return text
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z/]+)\s*", text) if isinstance(text, str) else None
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _RATE_UNITS:
        raise ValueError(f"bad rate {text!r}: expected a number with a unit, like 10Mbps, 1Gbps or 56kbps")
    rate = _exact(match.group(1), _RATE_UNITS[unit], text, "rate")
    if rate <= 0:
        raise ValueError(f"a rate must be positive: {text!r}")
    return rate


def parse_size(text: str | int) -> int:
    """``"1.5KB"`` -> 1500 bytes; ``"64KiB"`` -> 65536. A bare int is bytes."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"a size cannot be negative: {text}")
        return text
    match = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([a-zA-Z]*)\s*", text) if isinstance(text, str) else None
    unit = (match.group(2).lower() or "b") if match else ""
    if match is None or unit not in _SIZE_UNITS:
        raise ValueError(
            f"bad size {text!r}: expected a number of bytes with an optional unit, like 1500, 64KiB, 1.5MB"
        )
    return _exact(match.group(1), _SIZE_UNITS[unit], text, "size")


def format_duration(ns: int) -> str:
    """The shortest exact text for a duration: 1500000 -> ``"1.5ms"``."""
    if ns == 0:
        return "0s"
    for unit, scale in (("h", HOUR), ("m", MINUTE), ("s", S), ("ms", MS), ("us", US)):
        if ns % scale == 0:
            return f"{ns // scale}{unit}"
        if ns >= scale and unit in ("s", "ms", "us"):
            text = f"{Decimal(ns) / scale:f}".rstrip("0").rstrip(".")
            return f"{text}{unit}"
    return f"{ns}ns"


def format_time(ns: int) -> str:
    """A simulated instant as seconds with nanoseconds: ``"1.500000000"``."""
    return f"{ns // S}.{ns % S:09d}"


def tx_time(nbytes: int, rate_bps: int) -> int:
    """Serialisation delay of ``nbytes`` at ``rate_bps``, in ns, rounded up (integer arithmetic)."""
    return -(-nbytes * 8 * S // rate_bps)
