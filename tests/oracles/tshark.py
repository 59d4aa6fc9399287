"""Run tshark over a capture with checksum validation on and return what it flags.

The display filter is the one that caught every planted defect and nothing in correct
captures (see ../shared/ORACLES.md): malformed packets, expert errors, bad checksums of every
protocol, and records cut short.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

DEFECTS = (
    "_ws.malformed || _ws.expert.severity == error || ip.checksum.status == \"Bad\" || "
    "tcp.checksum.status == \"Bad\" || udp.checksum.status == \"Bad\" || icmp.checksum.status == \"Bad\" || "
    "icmpv6.checksum.status == \"Bad\" || frame.cap_len < frame.len"
)
CHECKSUMS_ON = ("-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE")


def tshark_fields(capture: Path, fields: list[str], display_filter: str | None = None, *extra: str) -> list[list[str]]:
    """One row per (matching) frame with the given fields, tab-separated by tshark."""
    command = ["tshark", "-r", str(capture), *CHECKSUMS_ON, "-T", "fields", "-E", "occurrence=a"]
    for field in fields:
        command += ["-e", field]
    if display_filter:
        command += ["-Y", display_filter]
    command += list(extra)
    result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=300)
    return [line.split("\t") for line in result.stdout.splitlines()]


def defects(capture: Path) -> list[list[str]]:
    """Frames tshark flags: (number, protocol column, expert messages, info)."""
    return tshark_fields(
        capture, ["frame.number", "_ws.col.Protocol", "_ws.expert.message", "_ws.col.Info"], DEFECTS
    )
