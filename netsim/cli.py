"""The ``netsim`` command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from netsim import __version__
from netsim.wire.pcap import PcapngWriter, PcapWriter
from netsim.wire.samples import sample_frames


def _frames(args: argparse.Namespace) -> int:
    frames = sample_frames()
    out = Path(args.out)
    writer = PcapngWriter(out) if args.pcapng else PcapWriter(out)
    with writer:
        for index, frame in enumerate(frames):
            writer.write(index * 1_000_000, frame.to_bytes())
    print(f"wrote {len(frames)} frames to {out} ({'pcapng' if args.pcapng else 'pcap'}, nanosecond timestamps)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netsim",
        description="A deterministic, in-memory simulator of the L2-L4 network stack.",
    )
    parser.add_argument("--version", action="version", version=f"netsim {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    frames = commands.add_parser(
        "frames",
        help="write a capture holding one frame of every protocol netsim encodes",
        description="Write a capture file with sample Ethernet/ARP/IPv4/IPv6/ICMP/UDP/TCP frames, "
        "to open in Wireshark or tshark.",
    )
    frames.add_argument("out", help="the capture file to write (e.g. frames.pcap)")
    frames.add_argument("--pcapng", action="store_true", help="write pcapng instead of classic pcap")
    frames.set_defaults(handler=_frames)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return int(args.handler(args))
