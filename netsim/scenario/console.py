"""What ``netsim run`` prints: rich tables of app results, snapshots, expectations and drops, and a
progress bar on the simulated clock."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from netsim.units import format_duration, format_time

if TYPE_CHECKING:
    from netsim.scenario.run import RunOutcome

#: result keys shown first in the apps table, when an app has them
_HEADLINE = ("error", "errors", "local", "peer", "target", "listen", "accepted", "peers", "sent", "received",
             "bytes_sent", "bytes_received", "echo_ok", "connected", "failed", "attempted", "local_ports",
             "requests", "responses", "latency", "rtt", "lost", "goodput_bps", "retransmits", "connect_latency",
             "messages", "datagrams", "sources", "first_error", "first_error_at", "listen_counters")
MAX_VIEWS = 8  # connection views printed; the rest are in summary.json and the report
_SKIP = {"connections", "latencies", "rtts", "lines", "port", "hops"}


def _value(key: str, value: Any) -> str:
    if isinstance(value, dict) and {"min", "avg", "max"} <= set(value):
        if value.get("count") == 0:
            return "-"
        return "/".join(format_duration(int(value[k])) if value[k] is not None else "-" for k in ("min", "avg", "max"))
    if key.endswith("_at") and isinstance(value, int) and not isinstance(value, bool):
        return format_time(value)
    if isinstance(value, list) and len(value) > 4:
        return ", ".join(str(v) for v in value[:4]) + f" ... ({len(value)})"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
    return json.dumps(value) if not isinstance(value, str) else value


def app_lines(result: dict[str, Any]) -> str:
    keys = [k for k in _HEADLINE if k in result and result[k] not in (None, {}, [])]
    keys += [k for k in result if k not in keys and k not in _SKIP and result[k] not in (None, {}, [])
             and k not in _HEADLINE]
    return "\n".join(f"{key}: {_value(key, result[key])}" for key in keys)


def _cells(*values: str) -> list[str]:
    """Table cells as text, not rich markup: "[fe80::1%2]:9000" must print as written."""
    return [escape(value) for value in values]


def print_outcome(outcome: RunOutcome, console: Console) -> None:
    """Every table of a run, in order: apps, timeline, snapshots, NAT dumps, connection views (the
    5-tuple each observer saw), drops, expectations."""
    apps = Table(title="apps", show_lines=True)
    for column in ("app", "kind", "node", "status", "result"):
        apps.add_column(column, overflow="fold")
    for name, report in outcome.apps.items():
        status = report["status"] + (f"\n{report['crash']}" if "crash" in report else "")
        apps.add_row(*_cells(name, report["kind"], report["node"], status, app_lines(report["result"])))
    if outcome.apps:
        console.print(apps)
    if outcome.timeline:
        timeline = Table(title="timeline")
        for column in ("at", "action", "what happened"):
            timeline.add_column(column, overflow="fold")
        for entry in outcome.timeline:
            rest = {k: v for k, v in entry.items() if k not in ("index", "at", "action")}
            timeline.add_row(*_cells(format_time(entry["at"]), entry["action"], _value("", rest)))
        console.print(timeline)
    for snapshot in outcome.snapshots:
        table = Table(title=f"ss {snapshot['host']} at {format_time(snapshot['at'])} ({snapshot['name']})")
        for column in ("State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port", "Timer"):
            table.add_column(column, justify="right" if column.endswith("-Q") else "left")
        for row in snapshot["rows"]:
            table.add_row(*_cells(row["state"], str(row["recv_q"]), str(row["send_q"]), row["local"], row["peer"],
                                  row["timer"]))
        console.print(table)
    for dump in outcome.nat_dumps:
        console.print(f"[bold]NAT table of {dump['node']} at {format_time(dump['at'])}[/bold] ({len(dump['lines'])} "
                      "entries)")
        for line in dump["lines"]:
            console.print("  " + line, markup=False, highlight=False)
    for view in outcome.views[:MAX_VIEWS]:
        table = Table(title=f"connection {view['index']}: {view['connection']}"
                            + (f" (app {view['app']})" if view.get("app") else ""))
        for column in ("observer", "src", "sport", "dst", "dport", "proto"):
            table.add_column(column)
        for row in view["observations"]:
            table.add_row(row["observer"], row["src"], str(row["sport"]), row["dst"], str(row["dport"]),
                          row["protocol"].upper())
        console.print(table)
        for link in view.get("nat", []):
            console.print(f"  NAT {link['node']}: {link['conntrack']}", markup=False, highlight=False)
        if not view.get("complete", True):
            console.print(f"  (the view stops here: {view.get('note', '')})", markup=False, highlight=False)
    if len(outcome.views) > MAX_VIEWS:
        console.print(f"({len(outcome.views) - MAX_VIEWS} more connection views in summary.json and report.html)")
    if outcome.drops:
        drops = Table(title="drops by reason")
        drops.add_column("where")
        drops.add_column("reason")
        drops.add_column("count", justify="right")
        for where, reasons in outcome.drops.items():
            for reason, count in reasons.items():
                drops.add_row(*_cells(where, reason, str(count)))
        console.print(drops)
    if outcome.expectations:
        table = Table(title="expectations", show_lines=True)
        for column in ("", "expectation", "expected", "seen"):
            table.add_column(column, overflow="fold")
        for result in outcome.expectations:
            mark = "[green]ok[/green]" if result.ok else "[bold red]FAILED[/bold red]"
            table.add_row(mark, *_cells(result.description, result.verdict.expected, result.verdict.seen))
        console.print(table)
    for error in outcome.errors:
        console.print(f"[bold red]error:[/bold red] {escape(error)}", highlight=False)
    passed = sum(1 for e in outcome.expectations if e.ok)
    verdict = "[green]passed[/green]" if outcome.passed else "[bold red]FAILED[/bold red]"
    console.print(f"{outcome.result.message}; {outcome.result.events:,} events; seed {outcome.seed}; "
                  f"trace {outcome.trace_hash[:16]}; expectations {passed}/{len(outcome.expectations)}: {verdict}",
                  highlight=False)


class SimulatedClockBar:
    """A rich progress bar over simulated time (use as a context manager; call it as the callback)."""

    def __init__(self, console: Console, label: str) -> None:
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                 TextColumn("{task.fields[now]} / {task.fields[limit]} simulated"),
                                 console=console, transient=True)
        self.label = label
        self.task: Any = None

    def __enter__(self) -> SimulatedClockBar:
        self.progress.start()
        self.task = self.progress.add_task(self.label, total=1, now="0s", limit="?")
        return self

    def __exit__(self, *_exc: object) -> None:
        self.progress.stop()

    def __call__(self, now: int, limit: int) -> None:
        self.progress.update(self.task, total=limit, completed=now, now=format_time(now),
                             limit=format_duration(limit))
