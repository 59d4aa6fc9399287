"""The ``netsim`` command."""

from __future__ import annotations

import argparse
import json
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


def _load(path: str) -> object:
    """The scenario in ``path``, or None after printing every problem to stderr."""
    from netsim.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(path)
    except ScenarioError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None


def _validate(args: argparse.Namespace) -> int:
    from netsim.scenario import Scenario

    scenario = _load(args.file)
    if not isinstance(scenario, Scenario):
        return 2
    print(f"{args.file}: ok ({len(scenario.nodes)} nodes, {len(scenario.links)} links)")
    return 0


def _schema(_args: argparse.Namespace) -> int:
    from netsim.scenario import scenario_json_schema

    print(json.dumps(scenario_json_schema(), indent=2, ensure_ascii=False))
    return 0


def _show(args: argparse.Namespace) -> int:
    from netsim.scenario import Scenario
    from netsim.scenario.show import show

    scenario = _load(args.file)
    if not isinstance(scenario, Scenario):
        return 2
    sys.stdout.write(show(scenario))
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
    validate = commands.add_parser(
        "validate", help="check a scenario file and report every problem in it",
        description="Load and check a scenario file. Prints 'FILE: ok (N nodes, M links)', or every "
        "problem, one per line as FILE:LINE: PATH: MESSAGE, and exits with status 2.")
    validate.add_argument("file", help="the scenario file (TOML)")
    validate.set_defaults(handler=_validate)
    schema = commands.add_parser(
        "schema", help="print the JSON Schema of scenario files",
        description="Print the JSON Schema (draft 2020-12) of scenario files, generated from the format's classes.")
    schema.set_defaults(handler=_schema)
    show = commands.add_parser(
        "show", help="print the topology of a scenario file",
        description="Print a scenario's nodes with their interfaces, addresses and routes, its links with "
        "their parameters, its captures and apps. A bad file exits with status 2 and its problems.")
    show.add_argument("file", help="the scenario file (TOML)")
    show.set_defaults(handler=_show)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return int(args.handler(args))
