"""The ``netsim`` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from netsim import __version__, build_info
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


def _clear_previous_run(folder: Path) -> None:
    """A run directory reused: remove what the previous run wrote there (its summary names its
    captures), so no stale pcap sits beside the new run's files; other files are left alone."""
    import json

    summary = folder / "summary.json"
    if not summary.is_file():
        return
    try:
        previous = json.loads(summary.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # not a netsim summary: leave everything as it is
    captures = previous.get("captures", []) if isinstance(previous, dict) else []
    names = ["summary.json", "trace.jsonl", "scenario.toml", "report.html"]
    names += [c for c in captures if isinstance(c, str) and ".." not in Path(c).parts and not Path(c).is_absolute()]
    for name in names:
        target = folder / name
        if target.is_file():
            target.unlink()


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from netsim.scenario import Scenario
    from netsim.scenario.console import SimulatedClockBar, print_outcome
    from netsim.scenario.run import run_scenario

    scenario = _load(args.file)
    if not isinstance(scenario, Scenario):
        return 2
    if args.seed is not None and args.seed < 0:
        print(f"{args.file}: --seed must be a non-negative integer", file=sys.stderr)
        return 2
    if args.out is not None:
        try:
            Path(args.out).mkdir(parents=True, exist_ok=True)
            _clear_previous_run(Path(args.out))
        except OSError as exc:
            print(f"{args.out}: --out: cannot make the run directory: {exc.strerror or exc}", file=sys.stderr)
            return 2
    console = Console(highlight=False)
    show_bar = not args.quiet and console.is_terminal
    if show_bar:
        with SimulatedClockBar(console, f"running {Path(args.file).name}") as bar:
            outcome = run_scenario(scenario, seed=args.seed, out_dir=args.out, progress=bar)
    else:
        outcome = run_scenario(scenario, seed=args.seed, out_dir=args.out)
    if args.quiet:
        for failure in outcome.failures:
            print(f"FAILED: {failure.description}: expected {failure.verdict.expected}; seen {failure.verdict.seen}",
                  file=sys.stderr)
        for error in outcome.errors:
            print(f"error: {error}", file=sys.stderr)
    else:
        print_outcome(outcome, console)
        if args.out is not None:
            console.print(f"wrote {Path(args.out) / 'summary.json'}, trace.jsonl, scenario.toml"
                          + "".join(f", {c.file}" for c in scenario.captures if c.file), highlight=False)
    return 0 if outcome.passed else 1


def _replay(args: argparse.Namespace) -> int:
    from netsim.scenario import ScenarioError
    from netsim.scenario.run import replay

    folder = Path(args.dir)
    missing = [name for name in ("summary.json", "scenario.toml") if not (folder / name).is_file()]
    if missing:
        print(f"{folder}: not a run directory (missing {', '.join(missing)}); write one with netsim run FILE --out DIR",
              file=sys.stderr)
        return 2
    try:
        outcome = replay(folder)
    except ScenarioError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except (ValueError, KeyError) as exc:
        print(f"{folder}: bad summary.json: {exc}", file=sys.stderr)
        return 2
    if outcome.matched:
        if not args.quiet:
            print(f"{folder}: replayed with seed {outcome.seed}: {outcome.message}")
        return 0
    print(f"{folder}: replayed with seed {outcome.seed}: MISMATCH\n{outcome.message}", file=sys.stderr)
    return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netsim",
        description="A deterministic, in-memory simulator of the L2-L4 network stack.",
    )
    parser.add_argument("--version", action="version", version=f"netsim {__version__} ({build_info.describe()})")
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
    run = commands.add_parser(
        "run", help="run a scenario: apps, timeline, expectations; exit 1 if an expectation fails",
        description="Run a scenario file to its end (or its time/event limit): start its apps, play its timeline, "
        "check its expectations. Prints app results, the timeline, ss snapshots, NAT dumps, each connection's "
        "observer view (the 5-tuple every observer along its path saw), drops by reason and expectation results "
        "as tables, with a progress bar on the simulated clock (only on a terminal). "
        "Exit status: 0 when every expectation holds, 1 when one fails (or an app crashes), 2 on a bad file "
        "(every problem is listed and nothing runs).",
        epilog="With --out DIR it writes DIR/summary.json (scenario name and text, seed, versions, trace hash, "
        "results, views, series), DIR/trace.jsonl (one JSON object per trace event), DIR/scenario.toml (a copy of "
        "the file), DIR/report.html (the run as one self-contained page: topology, ladder diagrams, views, tables, "
        "plots) and the capture files the scenario names.")
    run.add_argument("file", help="the scenario file (TOML)")
    run.add_argument("--seed", type=int, default=None, metavar="N",
                     help="the seed of every random stream (default: the file's network.seed)")
    run.add_argument("--out", default=None, metavar="DIR",
                     help="write summary.json, trace.jsonl, scenario.toml, report.html and the captures into DIR "
                     "(default: write nothing)")
    run.add_argument("--quiet", "-q", action="store_true",
                     help="print nothing but failed expectations and errors (on stderr); no progress bar")
    run.set_defaults(handler=_run)
    replay = commands.add_parser(
        "replay", help="re-run a run directory and check that its trace hash is the same",
        description="Re-run DIR/scenario.toml with the seed saved in DIR/summary.json and compare trace hashes. "
        "Exit status 0 when they match; 1 on a mismatch, naming the first trace record that differs from "
        "DIR/trace.jsonl (saved and replayed); 2 when DIR is not a run directory or its scenario is bad.")
    replay.add_argument("dir", help="a directory written by netsim run FILE --out DIR")
    replay.add_argument("--quiet", "-q", action="store_true", help="print nothing when the hashes match")
    replay.set_defaults(handler=_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    return int(args.handler(args))
