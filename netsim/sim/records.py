"""Value classes of the simulation (attrs): kept out of the modules mypyc compiles."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import attrs

from netsim.units import format_time, parse_duration


def _probability(_inst: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be a probability in 0..1, got {value!r}")


@attrs.define
class InterfaceCounters:
    """What ``ip -s link`` shows, plus drops by reason (``queue-full``, ``bad-checksum`` ...)."""

    rx_frames: int = 0
    rx_bytes: int = 0
    tx_frames: int = 0
    tx_bytes: int = 0
    drops: Counter[str] = attrs.field(factory=Counter)


@attrs.frozen
class GilbertElliott:
    """Two-state burst loss (Gilbert 1960, Elliott 1963): ``p`` good->bad, ``r`` bad->good per frame;
    a frame is lost with ``loss_bad`` in the bad state and ``loss_good`` in the good one."""

    p: float = attrs.field(validator=_probability)
    r: float = attrs.field(validator=_probability)
    loss_bad: float = attrs.field(default=1.0, validator=_probability)
    loss_good: float = attrs.field(default=0.0, validator=_probability)


@attrs.frozen
class Impairments:
    loss: float = attrs.field(default=0.0, validator=_probability)
    burst_loss: GilbertElliott | None = None
    duplicate: float = attrs.field(default=0.0, validator=_probability)
    reorder: float = attrs.field(default=0.0, validator=_probability)
    reorder_delay: int = attrs.field(default=1_000_000, converter=parse_duration)
    corrupt: float = attrs.field(default=0.0, validator=_probability)

    @property
    def any(self) -> bool:
        return bool(self.loss or self.burst_loss or self.duplicate or self.reorder or self.corrupt)


@attrs.define
class LinkCounters:
    sent: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    reordered: int = 0
    corrupted: int = 0
    queue_drops: int = 0
    down_drops: int = 0
    filtered: int = 0  # dropped by the direction's drop_if rule


@attrs.frozen
class RunResult:
    """How a run ended: ``reason`` is ``"idle"`` (nothing left to do), ``"until"`` (the requested
    time), ``"time-limit"`` or ``"event-limit"``; ``message`` says it in words."""

    reason: str
    now: int
    events: int
    message: str

    @property
    def hit_limit(self) -> bool:
        return self.reason in ("time-limit", "event-limit")


@attrs.frozen
class TraceRecord:
    """One event: when (ns), what (``tx``, ``rx``, ``drop``, ``syscall``, ``state`` ...), where
    (``h1:eth0``, ``h1``), and its fields (for frames, ``data`` holds the bytes)."""

    time: int
    kind: str
    where: str
    fields: dict[str, Any]

    def to_json(self) -> str:
        fields = {key: (value.hex() if isinstance(value, bytes) else value) for key, value in self.fields.items()}
        return json.dumps({"t": self.time, "kind": self.kind, "where": self.where, **fields}, sort_keys=True,
                          default=str)

    def __str__(self) -> str:
        shown = " ".join(
            f"{key}={value.hex() if isinstance(value, bytes) else value}"
            for key, value in sorted(self.fields.items()) if key != "data"
        )
        return f"{format_time(self.time)} {self.where} {self.kind} {shown}".rstrip()
