"""Captures: the tcpdump of the simulation.

A capture taps one or more interfaces, keeps the frames a tcpdump-syntax filter selects, in
both directions or one, and writes them to a pcap (or pcapng) file with simulated timestamps.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from netsim.observe.filter import compile_filter
from netsim.wire.pcap import PcapngWriter, PcapRecord, PcapWriter
from netsim.wire.summary import summarize_bytes

if TYPE_CHECKING:
    from netsim.sim.interface import Interface


class Capture:
    """``tcpdump -i IFACE -w FILE 'FILTER'``; ``direction`` is ``"both"``, ``"in"`` or ``"out"``.

    Frames are also kept in memory (``records``) unless ``keep=False``; ``lines()`` gives
    ``tcpdump -nn``-style text.
    """

    def __init__(
        self,
        interfaces: Interface | list[Interface],
        expression: str = "",
        path: str | Path | None = None,
        *,
        direction: str = "both",
        pcapng: bool = False,
        snaplen: int = 262144,
        keep: bool = True,
    ) -> None:
        if direction not in ("both", "in", "out"):
            raise ValueError(f"direction must be 'both', 'in' or 'out', got {direction!r}")
        self.interfaces = interfaces if isinstance(interfaces, list) else [interfaces]
        if not self.interfaces:
            raise ValueError("a capture needs at least one interface")
        self.filter = compile_filter(expression)
        self.expression = expression
        self.direction = direction
        self.keep = keep
        self.records: list[PcapRecord] = []
        self.count = 0
        self.path = Path(path) if path is not None else None
        self._writer: PcapWriter | PcapngWriter | None = None
        if self.path is not None:
            self._writer = PcapngWriter(self.path, snaplen=snaplen) if pcapng else PcapWriter(self.path,
                                                                                              snaplen=snaplen)
        for index, iface in enumerate(self.interfaces):
            iface.taps.append(self._tap_for(iface, index))

    def _tap_for(self, iface: Interface, index: int):  # type: ignore[no-untyped-def]
        wanted = {"both": ("tx", "rx"), "in": ("rx",), "out": ("tx",)}[self.direction]
        matches = self.filter.matches_bytes
        name = iface.full_name

        def tap(now: int, direction: str, data: bytes) -> None:
            if direction not in wanted or not matches(data):
                return
            self.count += 1
            if self.keep:
                self.records.append(PcapRecord(now, data, len(data), index))
            writer = self._writer
            if isinstance(writer, PcapngWriter):
                writer.write(now, data, interface=name)
            elif writer is not None:
                writer.write(now, data)

        return tap

    def lines(self) -> list[str]:
        """What ``tcpdump -nn -r FILE`` would print (times in simulated seconds)."""
        from netsim.units import format_time

        return [f"{format_time(record.timestamp_ns)} {summarize_bytes(record.data)}" for record in self.records]

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
