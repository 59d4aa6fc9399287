"""Running a scenario: build it, start its apps, play its timeline, check its expectations, and
write what every observer saw.

>>> outcome = run_scenario("lab.toml", out_dir="out")     # or a loaded Scenario
>>> outcome.passed, outcome.trace_hash
>>> outcome.apps["client"]["result"]["error"]

The run is bounded by the scenario's ``time_limit`` and ``event_limit`` (the network enforces
both).  It advances in fixed slices of simulated time so that a progress callback can be told
where the clock is; the slices are the same with or without a callback, and slicing does not
change what happens, so the trace hash is the same either way.

``out_dir`` receives ``summary.json`` (the scenario file's name and text, seed, versions, trace
hash, app results, timeline log, snapshots, expectation results, drops, how the run ended),
``trace.jsonl`` (one JSON object per trace record: ``t``, ``kind``, ``where``, its ``fields``,
and for a frame its tcpdump-like ``frame`` summary, its ``len`` and a short ``sha256`` of its
bytes), the capture files, and ``scenario.toml`` (a copy of the file).  :func:`replay` re-runs a
directory and names the first record that differs.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import simpy

from netsim.scenario.apps_tcp import AppContext
from netsim.scenario.build import BuiltScenario, build_network
from netsim.scenario.expect import Expectation, Verdict
from netsim.scenario.load import load_scenario
from netsim.scenario.model import AppSpec, HostSettings, Scenario
from netsim.scenario.results import jsonable
from netsim.scenario.timeline import TimelineAction, app_names, find_link
from netsim.sim.network import Network
from netsim.sim.records import RunResult, TraceRecord
from netsim.units import format_time, parse_duration

#: how many slices of the time limit a run advances by (progress is reported after each)
SLICES = 200

Progress = Callable[[int, int], None]


@attrs.define
class AppRun:
    """One app of a run: its spec, process, live context and status."""

    name: str
    index: int
    spec: AppSpec
    ctx: AppContext
    status: str = "not-started"  # scheduled, running, finished, stopped, crashed
    process: simpy.Process | None = None
    started_at: int | None = None
    ended_at: int | None = None
    value: Any = None
    crash: str | None = None

    def report(self) -> dict[str, Any]:
        """The app's JSON result: kind, node, status, times, and its result dict."""
        result = self.spec.report(self.value) if self.value is not None else jsonable(self.ctx.result)
        out = {"name": self.name, "kind": self.spec.kind, "node": self.spec.node, "status": self.status,
               "started_at": self.started_at, "ended_at": self.ended_at, "result": result}
        if self.crash is not None:
            out["crash"] = self.crash
        return out


class RunContext:
    """What the timeline actions and expectations act on and read: the network, the built
    nodes and links, the apps, the snapshots and NAT dumps taken so far."""

    def __init__(self, scenario: Scenario, network: Network, built: BuiltScenario) -> None:
        self.scenario = scenario
        self.network = network
        self.built = built
        self.env = network.env
        self.apps: dict[str, AppRun] = {}
        for name, index in app_names(scenario).items():
            spec = scenario.apps[index]
            self.apps[name] = AppRun(name, index, spec, AppContext(built.nodes[spec.node]))  # type: ignore[arg-type]
        self.snapshots: list[dict[str, Any]] = []
        self.nat_dumps: list[dict[str, Any]] = []
        self.log: list[dict[str, Any]] = []
        self.errors: list[str] = []
        from netsim.scenario.views import ViewCollector, start_plots

        self.views = ViewCollector(self)
        self.samplers = start_plots(self)

    # --- apps ------------------------------------------------------------------------------------

    def schedule(self) -> None:
        """Start every app at its start time (not those with ``start = "off"``), and the timeline."""
        for app in sorted(self.apps.values(), key=lambda a: a.index):
            if app.spec.start != "off":
                self._launch(app, parse_duration(app.spec.start))
        entries = list(enumerate(self.scenario.sections.get("timeline", ())))
        if entries:
            entries.sort(key=lambda item: parse_duration(item[1].at))
            self.env.process(self._timeline(entries))

    def _launch(self, app: AppRun, delay: int) -> None:
        app.status = "scheduled" if delay else "running"
        app.process = self.env.process(self._app_main(app, delay))

    def _app_main(self, app: AppRun, delay: int) -> Any:
        try:
            if delay:
                yield self.env.timeout(delay)
        except simpy.Interrupt:
            app.status = "stopped"
            return
        app.status = "running"
        app.started_at = self.network.now
        try:
            value = yield from app.spec.run(app.ctx)
        except simpy.Interrupt:
            app.status = "stopped"
            app.ctx.close_all()
        except OSError as exc:
            app.status = "finished"
            app.ctx.error(exc, app.ctx.result)
        except Exception as exc:
            app.status = "crashed"
            app.crash = f"{type(exc).__name__}: {exc}"
            self.errors.append(f"app {app.name} crashed at t={format_time(self.network.now)}: {app.crash}")
        else:
            app.status = "finished"
            app.value = value
        app.ended_at = self.network.now

    def start_app(self, name: str) -> bool:
        """Start an app now; False if it was already started."""
        app = self.apps[name]
        if app.process is not None:
            return False
        self._launch(app, 0)
        return True

    def stop_app(self, name: str) -> bool:
        """Stop an app now (its process and children end, its sockets close); False if it was not running."""
        app = self.apps[name]
        if app.process is None or not app.process.is_alive:
            return False
        for process in [app.process, *app.ctx.children]:
            if process.is_alive:
                target = process.target
                if target is not None:
                    target.defused = True  # closing the app's sockets fails what it waited on
                process.interrupt("stopped by the timeline")
        return True

    def app_report(self, name: str) -> dict[str, Any]:
        return self.apps[name].report()

    # --- the timeline ----------------------------------------------------------------------------

    def _timeline(self, entries: list[tuple[int, TimelineAction]]) -> Any:
        for index, entry in entries:
            wait = parse_duration(entry.at) - self.network.now
            if wait > 0:
                yield self.env.timeout(wait)
            record: dict[str, Any] = {"index": index, "at": self.network.now, "action": entry.action}
            try:
                record.update(entry.apply(self))
            except Exception as exc:
                record["error"] = f"{type(exc).__name__}: {exc}"
                self.errors.append(f"timeline[{index}] ({entry.action}) failed at t={format_time(self.network.now)}: "
                                   f"{record['error']}")
            self.network.trace.event(self.network.now, "timeline", entry.action, index=index)
            self.log.append(record)

    def link(self, reference: str) -> Any:
        index = find_link(self.scenario, reference)
        if index is None:
            raise KeyError(f"no link {reference!r}")
        return self.built.links[index]

    def ss_rows(self, host: str, states: str | None, expression: str | None) -> list[Any]:
        from netsim.observe.ss import ss

        return ss(self.built.nodes[host], states, expression)  # type: ignore[arg-type]

    def take_snapshot(self, name: str, host: str, states: str | None, expression: str | None,
                      timers: bool = True) -> dict[str, Any]:
        from netsim.observe.ss import format_ss

        rows = self.ss_rows(host, states, expression)
        snapshot = {"name": name, "host": host, "at": self.network.now, "states": states, "filter": expression,
                    "rows": [{"state": r.state, "recv_q": r.recv_q, "send_q": r.send_q, "local": r.local,
                              "peer": r.peer, "timer": r.timer} for r in rows],
                    "text": format_ss(rows, timers=timers), "objects": rows}
        self.snapshots.append(snapshot)
        return snapshot

    def snapshot(self, name: str) -> dict[str, Any] | None:
        return next((s for s in self.snapshots if s["name"] == name), None)

    def apply_sysctl(self, host_name: str, changes: dict[str, Any]) -> list[str]:
        """Apply settings to a running host (see :class:`~netsim.scenario.timeline.Sysctl`)."""
        from netsim.proto.ports import PortRange
        from netsim.proto.ratelimit import ICMPRateLimiter
        from netsim.scenario.load import CONVERTER
        from netsim.scenario.model import HostSpec, parse_port_range

        host: Any = self.built.nodes[host_name]
        spec = self.scenario.node(host_name)
        base = spec.settings if isinstance(spec, HostSpec) else HostSettings()
        fields = {field.name: field for field in attrs.fields(attrs.resolve_types(HostSettings))}
        structured = {key: CONVERTER.structure(value, fields[key].type)  # type: ignore[arg-type]
                      for key, value in changes.items()}
        current = host.scenario_settings if isinstance(host.scenario_settings, HostSettings) else base
        settings = attrs.evolve(current, **structured)
        host.scenario_settings = settings
        tcp = settings.tcp_settings()
        host.tcp.settings = tcp
        for listeners in host.tcp.listeners.values():
            for listener in listeners:
                if listener.queue is not None:
                    listener.queue.settings = tcp  # read per SYN, as Linux reads the sysctls
        host.ttl = settings.ttl
        host.port_range = PortRange(*parse_port_range(settings.ip_local_port_range))
        host.icmp_echo_ignore_broadcasts = settings.icmp_echo_ignore_broadcasts
        host.unprivileged_port_start = settings.unprivileged_port_start
        host.fds.limit = settings.fd_limit
        if "icmp_msgs_per_sec" in changes or "icmp_msgs_burst" in changes:
            host.icmp_limiter = ICMPRateLimiter(msgs_per_sec=settings.icmp_msgs_per_sec,
                                                msgs_burst=settings.icmp_msgs_burst)
        self.network.trace.event(self.network.now, "sysctl", host_name,
                                 **{key: jsonable(value) for key, value in sorted(structured.items())})
        return sorted(changes)

    # --- what expectations read ------------------------------------------------------------------

    def counter(self, host_name: str, scope: str, name: str, *, port: int | None = None,
                interface: str | None = None) -> int | None:
        node: Any = self.built.nodes[host_name]
        if scope == "tcp":
            return int(node.tcp.counters.get(name, 0)) if hasattr(node, "tcp") else 0
        if scope == "host":
            return int(getattr(node, "counters", {}).get(name, 0))
        if scope == "interface":
            counters = node[interface].counters
            if name in ("rx_frames", "rx_bytes", "tx_frames", "tx_bytes"):
                return int(getattr(counters, name))
            return int(counters.drops.get(name, 0))
        found: list[dict[str, int]] = []
        if hasattr(node, "tcp"):
            for listener in node.tcp.listeners.get(port, ()):
                if listener.queue is not None:
                    found.append(listener.queue.counters)
        for app in self.apps.values():
            live = app.ctx.result.get("listen_counters")
            if app.spec.node == host_name and app.ctx.result.get("port") == port and isinstance(live, dict) and \
                    not any(live is other for other in found):
                found.append(live)
        if not found:
            return None
        return sum(int(counters.get(name, 0)) for counters in found)

    def peers_seen(self, host: str, app_name: str | None) -> list[str]:
        peers: list[str] = []
        for name, app in self.apps.items():
            if app.spec.node != host or (app_name is not None and name != app_name):
                continue
            result = app.report()["result"]
            candidates = list(result.get("peers") or [])
            candidates += [c.get("peer") for c in result.get("connections") or [] if isinstance(c, dict)]
            candidates += [result.get("peer"), result.get("echoed_by")]
            for peer in candidates:
                if isinstance(peer, str) and peer not in peers:
                    peers.append(peer)
        return peers

    # --- running ---------------------------------------------------------------------------------

    def run(self, progress: Progress | None = None) -> RunResult:
        network = self.network
        limit = network.time_limit
        if limit is None:
            result = network.run()
        else:
            step = max(1, limit // SLICES)
            boundary = step
            while True:
                result = network.run(boundary if boundary < limit else None)
                if progress is not None:
                    progress(network.now, limit)
                if result.reason != "until":
                    break
                boundary += step
        return RunResult(result.reason, network.now, network.events, result.message)


def drops_by_reason(network: Network) -> dict[str, dict[str, int]]:
    """Every interface's drops by reason (``node:iface`` -> reason -> count), and each link
    direction's impairment losses, only where non-zero."""
    out: dict[str, dict[str, int]] = {}
    for name in sorted(network.nodes):
        node = network.nodes[name]
        for iface_name in sorted(node.interfaces):
            drops = node.interfaces[iface_name].counters.drops
            if drops:
                out[f"{name}:{iface_name}"] = {reason: drops[reason] for reason in sorted(drops)}
    for link in network.links:
        for channel in (link.forward, link.backward):
            c = channel.counters
            losses = {"lost": c.lost, "corrupted": c.corrupted}
            losses = {key: value for key, value in losses.items() if value}
            if losses:
                out[channel.name] = losses
    return out


def record_data(record: TraceRecord) -> dict[str, Any]:
    """A trace record as JSON data: a frame as its summary, length and a short SHA-256."""
    from netsim.wire.summary import summarize_bytes

    fields: dict[str, Any] = {}
    data: dict[str, Any] = {"t": record.time, "kind": record.kind, "where": record.where}
    for key, value in sorted(record.fields.items()):
        if key == "data" and isinstance(value, bytes):
            data["frame"] = summarize_bytes(value)
            data["len"] = len(value)
            data["sha256"] = hashlib.sha256(value).hexdigest()[:16]
        else:
            fields[key] = jsonable(value)
    if fields:
        data["fields"] = fields
    return data


def record_line(record: TraceRecord) -> str:
    return json.dumps(record_data(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def versions() -> dict[str, str]:
    from importlib import metadata

    from netsim import __version__

    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "unknown"

    return {"netsim": __version__, "python": platform.python_version(), "simpy": version("simpy"),
            "attrs": version("attrs"), "cattrs": version("cattrs")}


@attrs.define
class ExpectationResult:
    index: int
    kind: str
    description: str
    verdict: Verdict

    @property
    def ok(self) -> bool:
        return self.verdict.ok

    def to_json(self) -> dict[str, Any]:
        return {"index": self.index, "kind": self.kind, "description": self.description, "ok": self.ok,
                "expected": self.verdict.expected, "seen": self.verdict.seen}


@attrs.define
class RunOutcome:
    """Everything a run produced."""

    scenario: Scenario
    source: str | None
    seed: int
    network: Network
    built: BuiltScenario
    result: RunResult
    apps: dict[str, dict[str, Any]]
    timeline: list[dict[str, Any]]
    snapshots: list[dict[str, Any]]
    nat_dumps: list[dict[str, Any]]
    expectations: list[ExpectationResult]
    drops: dict[str, dict[str, int]]
    errors: list[str]
    trace_hash: str
    views: list[dict[str, Any]] = attrs.field(factory=list)
    series: dict[str, list[tuple[int, float]]] = attrs.field(factory=dict)

    @property
    def passed(self) -> bool:
        """Every expectation holds and nothing crashed."""
        return all(e.ok for e in self.expectations) and not self.errors

    @property
    def failures(self) -> list[ExpectationResult]:
        return [e for e in self.expectations if not e.ok]

    def trace_lines(self) -> Iterator[str]:
        for record in self.network.trace:
            yield record_line(record)

    def summary(self) -> dict[str, Any]:
        return {
            "scenario": {"file": Path(self.scenario.file).name, "path": self.scenario.file, "text": self.source},
            "seed": self.seed,
            "versions": versions(),
            "trace_hash": self.trace_hash,
            "trace_records": self.network.trace.count,
            "run": {"reason": self.result.reason, "now": self.result.now, "events": self.result.events,
                    "message": self.result.message, "hit_limit": self.result.hit_limit},
            "passed": self.passed,
            "errors": self.errors,
            "apps": list(self.apps.values()),
            "timeline": self.timeline,
            "snapshots": [{k: v for k, v in s.items() if k != "objects"} for s in self.snapshots],
            "nat_dumps": self.nat_dumps,
            "views": [{k: v for k, v in view.items() if k != "view"} for view in self.views],
            "series": {name: [list(point) for point in points] for name, points in self.series.items()},
            "expectations": [e.to_json() for e in self.expectations],
            "drops": self.drops,
            "captures": [c.file for c in self.scenario.captures if c.file],
        }

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write summary.json, trace.jsonl and scenario.toml into ``out_dir`` (the captures are
        already there); the paths written."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        summary = out / "summary.json"
        summary.write_text(json.dumps(self.summary(), indent=2, sort_keys=False, ensure_ascii=False) + "\n",
                           encoding="utf-8")
        written.append(summary)
        trace = out / "trace.jsonl"
        with trace.open("w", encoding="utf-8") as handle:
            for line in self.trace_lines():
                handle.write(line + "\n")
        written.append(trace)
        if self.source is not None:
            copy = out / "scenario.toml"
            copy.write_bytes(self.source.encode("utf-8"))
            written.append(copy)
        report = out / "report.html"
        report.write_text(self.report_html(), encoding="utf-8")
        written.append(report)
        return written

    def report_html(self) -> str:
        """The run as one self-contained HTML page (netsim.report)."""
        from netsim.report import render_report

        return render_report(
            self.network, title=f"netsim run: {Path(self.scenario.file).name}", scenario_text=self.source,
            app_results={name: report.get("result", report) for name, report in self.apps.items()},
            expectations=[{"description": e.description, "passed": e.ok, "expected": e.verdict.expected,
                           "seen": e.verdict.seen} for e in self.expectations],
            snapshots=[{"time": s.get("at", 0), "host": s.get("host", ""), "title": s.get("name", ""),
                        "text": s.get("text", "")} for s in self.snapshots],
            views=[{"connection": v["connection"], "observations": v["observations"], "nat": v.get("nat", []),
                    "complete": v.get("complete", True), "note": v.get("note", "")} for v in self.views],
            series=self.series)


def _read_source(scenario: Scenario) -> str | None:
    path = Path(scenario.file)
    try:
        # bytes decoded as they are (no newline translation): scenario.toml is a byte-for-byte copy
        return path.read_bytes().decode("utf-8") if path.is_file() else None
    except (OSError, UnicodeDecodeError):
        return None


def run_scenario(scenario: Scenario | str | Path, *, seed: int | None = None, out_dir: str | Path | None = None,
                 progress: Progress | None = None) -> RunOutcome:
    """Run a scenario (a loaded one, or a file: :class:`ScenarioError` if it is bad) to its end or
    its limits; ``seed`` overrides the file's; ``out_dir`` receives the files (none when None);
    ``progress(now, time_limit)`` is called as the simulated clock advances."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    source = _read_source(scenario)
    if seed is not None:
        scenario = attrs.evolve(scenario, network=attrs.evolve(scenario.network, seed=seed))
    build_from = scenario
    if out_dir is None:
        build_from = attrs.evolve(scenario, captures=tuple(attrs.evolve(c, file=None) for c in scenario.captures))
    network, built = build_network(build_from, output_dir=out_dir or ".", start_apps=False)
    context = RunContext(scenario, network, built)
    context.schedule()
    try:
        result = context.run(progress)
    finally:
        built.close()
    context.views.finish()
    verdicts = []
    for index, expectation in enumerate(scenario.sections.get("expectations", ())):
        assert isinstance(expectation, Expectation)
        try:
            verdict = expectation.evaluate(context)
        except Exception as exc:
            verdict = Verdict(False, expectation.describe(), f"could not be evaluated: {type(exc).__name__}: {exc}")
        verdicts.append(ExpectationResult(index, expectation.kind, expectation.describe(), verdict))
    outcome = RunOutcome(
        scenario=scenario, source=source, seed=scenario.network.seed, network=network, built=built, result=result,
        apps={name: app.report() for name, app in context.apps.items()}, timeline=context.log,
        snapshots=context.snapshots, nat_dumps=context.nat_dumps, expectations=verdicts,
        drops=drops_by_reason(network), errors=context.errors, trace_hash=network.trace_hash(),
        views=list(context.views.views),
        series={name: list(sampler.series[name]) for name, sampler in context.samplers.items()})
    if out_dir is not None:
        outcome.write(out_dir)
    return outcome


# --- replay ---------------------------------------------------------------------------------------


@attrs.frozen
class ReplayOutcome:
    """A replay: the saved and the new trace hash, and where the traces part."""

    matched: bool
    saved_hash: str
    new_hash: str
    seed: int
    message: str
    first_difference: int | None = None
    saved_record: str | None = None
    new_record: str | None = None


def _saved_hash_and_seed(summary: object) -> tuple[str, int]:
    """``trace_hash`` and ``seed`` of a parsed summary.json; ValueError naming what is wrong."""
    if not isinstance(summary, dict):
        raise ValueError("not a JSON object")
    for key in ("seed", "trace_hash"):
        if key not in summary:
            raise ValueError(f"{key}: missing")
    seed, saved_hash = summary["seed"], summary["trace_hash"]
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {json.dumps(seed)}")
    if not isinstance(saved_hash, str):
        raise ValueError(f"trace_hash: expected a string, got {json.dumps(saved_hash)}")
    return saved_hash, seed


def replay(directory: str | Path, *, progress: Progress | None = None) -> ReplayOutcome:
    """Re-run ``directory/scenario.toml`` with the seed in ``directory/summary.json`` and compare
    trace hashes; on a mismatch, find the first record that differs from ``trace.jsonl``."""
    folder = Path(directory)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    saved_hash, seed = _saved_hash_and_seed(summary)
    outcome = run_scenario(folder / "scenario.toml", seed=seed, progress=progress)
    new_hash = outcome.trace_hash
    if new_hash == saved_hash:
        return ReplayOutcome(True, saved_hash, new_hash, seed, f"trace hash matches: {new_hash}")
    saved_path = folder / "trace.jsonl"
    saved_lines = saved_path.read_text(encoding="utf-8").splitlines() if saved_path.is_file() else []
    index = 0
    for index, line in enumerate(outcome.trace_lines()):
        if index >= len(saved_lines):
            return ReplayOutcome(False, saved_hash, new_hash, seed,
                                 f"trace differs: the saved trace ends after {len(saved_lines)} records; the replay "
                                 f"goes on with record {index}: {line}", index, None, line)
        if line != saved_lines[index]:
            return ReplayOutcome(False, saved_hash, new_hash, seed,
                                 f"trace differs first at record {index} (line {index + 1} of trace.jsonl):\n"
                                 f"  saved:  {saved_lines[index]}\n  replay: {line}", index, saved_lines[index], line)
    count = outcome.network.trace.count if not outcome.network.trace.keep else len(outcome.network.trace.records)
    if count < len(saved_lines):
        return ReplayOutcome(False, saved_hash, new_hash, seed,
                             f"trace differs: the replay ends after {count} records; the saved trace goes on with "
                             f"record {count}: {saved_lines[count]}", count, saved_lines[count], None)
    if not outcome.network.trace.keep:
        why = "the scenario does not keep trace records (keep_trace = false), so no record can be named"
    else:
        why = "every record of trace.jsonl matches, so the difference is in what it leaves out"
    return ReplayOutcome(False, saved_hash, new_hash, seed, f"trace hash differs ({saved_hash} saved, {new_hash} "
                                                            f"now); {why}")
