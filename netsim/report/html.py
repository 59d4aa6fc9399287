"""The run report: one self-contained HTML file.

Everything is inline — CSS, SVG pictures, one small script — so the file opens anywhere with no
network access, and nothing in it depends on when or where it was made: the same run gives the
same bytes (every collection is walked in sorted or trace order; numbers are formatted exactly).

The inputs other than the network are plain data, so any runner (``netsim run``, a test, a
notebook) can pass what it has:

- ``app_results``: ``{app name: result}`` where a result is an attrs instance, a dict or anything
  printable; a result with a non-empty ``error`` is shown as failed.
- ``expectations``: a list of dicts or objects with ``name``/``description``, ``passed``/``ok``,
  ``expected``, ``seen``/``actual`` and ``message``.
- ``snapshots``: a list of dicts or objects with ``time`` (ns), ``host`` and ``text`` (or
  ``rows``, ss rows) and an optional ``title``; or ``(time, host, text)`` tuples.
- ``views``: a list of ``{"connection": id, "observations": [(observer, src, sport, dst, dport,
  proto), ...]}`` (observations may also be dicts with those keys; ``nat``, ``complete`` and
  ``note`` are shown when present), or objects with an ``as_dict()`` giving that shape.
- ``series``: ``{name: [(t_ns, value), ...]}``, each drawn as a step chart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

import netsim
from netsim.report.connections import Connection, group_connections
from netsim.report.ladder import FIRST_PACKETS, LAST_PACKETS, ladder_svg
from netsim.report.plots import line_chart
from netsim.report.svg import esc
from netsim.report.topology import link_label, topology_svg
from netsim.units import format_time

MAX_LADDERS = 40
MAX_CONNECTION_ROWS = 500

_CSS = """
:root { --fg: #1d2330; --muted: #667085; --line: #d0d5dd; --fwd: #1f5fbf; --rev: #1d7a4c; --bad: #b42318;
  --good: #067647; --bg-soft: #f6f7f9; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg);
  margin: 0; padding: 0 28px 40px; line-height: 1.4; font-size: 14px; }
header { border-bottom: 2px solid var(--line); padding: 18px 0 10px; margin-bottom: 8px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: var(--muted); font-size: 12.5px; }
.meta code { font-size: 12px; }
nav { font-size: 13px; margin: 8px 0 4px; }
nav a { margin-right: 14px; color: var(--fwd); text-decoration: none; }
nav button { font-size: 12px; margin-left: 6px; }
.muted { color: var(--muted); }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
pre { background: var(--bg-soft); border: 1px solid var(--line); padding: 8px 10px; overflow-x: auto;
  font-size: 12.5px; margin: 4px 0 12px; }
table { border-collapse: collapse; margin: 6px 0 14px; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg-soft); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.pass td.result { background: #dcfae6; color: var(--good); font-weight: 600; }
tr.fail td.result { background: #fee4e2; color: var(--bad); font-weight: 600; }
tr.fail td { background: #fff6f5; }
td.changed { background: #fff3c4; font-weight: 600; }
table.kv { margin: 0; font-size: 12.5px; }
table.kv td, table.kv th { border: none; padding: 0 10px 0 0; background: none; font-weight: normal; }
table.kv th { color: var(--muted); }
.scroll { overflow-x: auto; max-width: 100%; border: 1px solid var(--line); background: #fff; margin: 6px 0 10px; }
details { margin: 8px 0 16px; }
summary { cursor: pointer; font-weight: 600; }
.pill { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 11.5px; margin-left: 6px;
  background: #eef4ff; color: var(--fwd); font-weight: 600; }
.pill.nat { background: #fff3c4; color: #8a5a00; }
svg text { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
svg.topology { display: block; }
svg .wire { stroke: #475467; stroke-width: 2; }
svg .link.down .wire { stroke: var(--bad); stroke-dasharray: 6 4; }
svg .link-label { font-size: 11px; fill: #344054; font-weight: 600; }
svg .iface { font-size: 10.5px; fill: #344054; }
svg .addr { font-size: 10px; fill: var(--muted); }
svg .node-name { font-size: 12px; font-weight: 700; fill: #101828; }
svg .node-kind { font-size: 10px; fill: var(--muted); }
svg .n-host { fill: #e8f0fe; stroke: #1f5fbf; stroke-width: 2; }
svg .n-switch { fill: #e3f6ea; stroke: #1d7a4c; stroke-width: 2; }
svg .n-router { fill: #fff1dc; stroke: #c4661f; stroke-width: 2; }
svg .n-nat { fill: #f3e8fd; stroke: #7a3fb0; stroke-width: 2; }
svg .n-other { fill: #f2f4f7; stroke: #475467; stroke-width: 2; }
svg.ladder .head { fill: #f2f4f7; stroke: #98a2b3; }
svg.ladder .head.host { fill: #e8f0fe; stroke: #1f5fbf; }
svg.ladder .head.switch { fill: #e3f6ea; stroke: #1d7a4c; }
svg.ladder .head.router { fill: #fff1dc; stroke: #c4661f; }
svg.ladder .head.nat-router { fill: #f3e8fd; stroke: #7a3fb0; }
svg.ladder .head-name { font-size: 12px; font-weight: 700; }
svg.ladder .head-sub { font-size: 10px; fill: var(--muted); }
svg.ladder .lifeline { stroke: #98a2b3; stroke-width: 1.5; stroke-dasharray: 4 3; }
svg.ladder .time { font-size: 10.5px; fill: #344054; }
svg.ladder .pkt { font-size: 10px; fill: var(--muted); }
svg.ladder .arrow { stroke-width: 1.6; }
svg.ladder .fwd .arrow { stroke: var(--fwd); } svg.ladder .fwd .tip { fill: var(--fwd); }
svg.ladder .rev .arrow { stroke: var(--rev); } svg.ladder .rev .tip { fill: var(--rev); }
svg.ladder .rst .arrow { stroke: var(--bad); } svg.ladder .rst .tip { fill: var(--bad); }
svg.ladder .lost .arrow { stroke-dasharray: 5 3; }
svg.ladder .cross { stroke: var(--bad); stroke-width: 2.2; }
svg.ladder .lost-text { font-size: 10.5px; fill: var(--bad); font-weight: 700; }
svg.ladder .label { font-size: 11px; font-weight: 700; fill: #101828; }
svg.ladder .fwd .label { fill: #17407f; } svg.ladder .rev .label { fill: #155c39; }
svg.ladder .addr { font-size: 10px; fill: #475467; }
svg.ladder .gap { fill: #f2f4f7; }
svg.ladder .gap-text { font-size: 12px; fill: var(--muted); font-style: italic; }
svg.ladder .hop:hover .arrow { stroke-width: 3; }
svg.ladder .hop.hl .arrow { stroke-width: 3.2; }
svg.ladder .hop.hl .label { text-decoration: underline; }
svg.chart .plot-area { fill: #fcfcfd; stroke: var(--line); }
svg.chart .grid { stroke: #eaecf0; }
svg.chart .tick { font-size: 10.5px; fill: var(--muted); }
svg.chart .axis-label { font-size: 11px; fill: #344054; }
svg.chart .chart-title { font-size: 13px; font-weight: 700; fill: #101828;
  font-family: system-ui, sans-serif; }
svg.chart .series { stroke: var(--fwd); stroke-width: 1.8; }
#js-status { font-size: 11px; color: var(--muted); }
"""

# Small and defensive: it only adds conveniences; the report is complete without it.
_SCRIPT = """
(function () {
  "use strict";
  var status = document.getElementById("js-status");
  function setAll(open) {
    var all = document.querySelectorAll("details.ladder-box");
    for (var i = 0; i < all.length; i++) { all[i].open = open; }
  }
  var expand = document.getElementById("expand-all");
  var collapse = document.getElementById("collapse-all");
  if (expand) { expand.addEventListener("click", function () { setAll(true); }); }
  if (collapse) { collapse.addEventListener("click", function () { setAll(false); }); }
  var hops = document.querySelectorAll("svg.ladder g.hop");
  for (var i = 0; i < hops.length; i++) {
    hops[i].addEventListener("click", function () {
      var key = this.getAttribute("data-conn") + "/" + this.getAttribute("data-packet");
      var all = document.querySelectorAll("svg.ladder g.hop");
      for (var j = 0; j < all.length; j++) {
        var other = all[j].getAttribute("data-conn") + "/" + all[j].getAttribute("data-packet");
        all[j].classList.toggle("hl", other === key);
      }
    });
  }
  if (status) {
    status.setAttribute("data-js", "ok");
    status.textContent = "script ran: " + hops.length + " hops (click an arrow to follow its packet)";
  }
})();
"""


def _get(item: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        if isinstance(item, Mapping):
            if name in item:
                return item[name]
        elif hasattr(item, name):
            return getattr(item, name)
    return default


def _value(value: Any) -> str:
    """A value as short text: (ip, port) pairs as ``ip:port``, times left as they are."""
    if value is None:
        return "\u2014"
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], int) and not isinstance(value[1], bool):
        return f"{value[0]}:{value[1]}"
    if isinstance(value, Mapping):
        return ", ".join(f"{key}={_value(value[key])}" for key in sorted(value, key=str))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value)


def _fields(result: Any) -> list[tuple[str, Any]]:
    if attrs.has(type(result)):
        return [(field.name, getattr(result, field.name)) for field in attrs.fields(type(result))]
    if isinstance(result, Mapping):
        return [(str(key), result[key]) for key in sorted(result, key=str)]
    return [("result", result)]


def _table(header: Iterable[str], rows: Iterable[str], cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    return f"<table{klass}><thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>"


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}">\n<h2>{esc(title)}</h2>\n{body}\n</section>'


# --- sections ----------------------------------------------------------------------------------

def _expectations_html(expectations: Iterable[Any]) -> str:
    items = list(expectations)
    if not items:
        return '<p class="muted">No expectations.</p>'
    rows = []
    held = 0
    for number, item in enumerate(items, 1):
        passed = bool(_get(item, "passed", "ok", "holds", "result", default=False))
        held += passed
        name = _get(item, "name", "description", "what", "expectation", "text", default=f"expectation {number}")
        rows.append(
            f'<tr class="{"pass" if passed else "fail"}"><td class="num">{number}</td><td>{esc(name)}</td>'
            f"<td>{esc(_value(_get(item, 'expected')))}</td>"
            f"<td>{esc(_value(_get(item, 'seen', 'actual', 'observed')))}</td>"
            f'<td class="result">{"PASS" if passed else "FAIL"}</td>'
            f"<td>{esc(_get(item, 'message', 'detail', default='') or '')}</td></tr>")
    summary = f'<p><b>{held} of {len(items)}</b> expectations hold.</p>'
    return summary + _table(["#", "expectation", "expected", "seen", "result", "message"], rows)


def _apps_html(app_results: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> str:
    pairs = sorted(app_results.items(), key=lambda kv: str(kv[0])) if isinstance(app_results, Mapping) \
        else list(app_results)
    if not pairs:
        return '<p class="muted">No application results.</p>'
    rows = []
    for name, result in pairs:
        fields = _fields(result)
        error = dict(fields).get("error") or dict(fields).get("errors")
        ok = not error
        details = "".join(f"<tr><th>{esc(key)}</th><td class=\"mono\">{esc(_value(value))}</td></tr>"
                          for key, value in fields)
        rows.append(f'<tr class="{"pass" if ok else "fail"}"><td><b>{esc(name)}</b></td>'
                    f'<td class="result">{"ok" if ok else "error"}</td>'
                    f'<td><table class="kv">{details}</table></td></tr>')
    return _table(["application", "status", "result"], rows)


def _normalise_views(views: Any) -> list[dict[str, Any]]:
    items: list[tuple[Any, Any]]
    if isinstance(views, Mapping):
        items = [(key, views[key]) for key in sorted(views, key=str)]
    else:
        items = [(None, view) for view in views]
    result = []
    for number, (key, view) in enumerate(items, 1):
        if hasattr(view, "as_dict"):
            view = view.as_dict()  # noqa: PLW2901 - a ConnectionView-like object
        if isinstance(view, Mapping):
            ident = key if key is not None else _get(view, "connection", "id", "name", default=number)
            observations = _get(view, "observations", "view", default=[])
            extra = {"nat": _get(view, "nat", default=[]), "complete": _get(view, "complete"),
                     "note": _get(view, "note", default="")}
        else:
            ident, observations, extra = (key if key is not None else number), view, {}
        rows = []
        for observation in observations:
            if isinstance(observation, Mapping):
                proto = str(observation.get("proto", observation.get("protocol", ""))).upper()
                rows.append((*(str(observation.get(k, "")) for k in ("observer", "src", "sport", "dst", "dport")),
                             proto))
            else:
                cells = [str(c) for c in observation] + [""] * 6
                rows.append((*cells[:5], cells[5].upper()))
        result.append({"id": ident, "rows": rows, **extra})
    return result


def _views_html(views: Any) -> str:
    normalised = _normalise_views(views)
    if not normalised:
        return '<p class="muted">No observer views.</p>'
    out = []
    for view in normalised:
        rows = []
        previous: tuple[str, ...] | None = None
        for row in view["rows"]:
            cells = [f"<td>{esc(row[0])}</td>"]
            for i in range(1, 6):
                changed = previous is not None and previous[i] != row[i]
                klass = ' class="changed"' if changed else ""
                cells.append(f"<td{klass}>{esc(row[i])}</td>")
            rows.append("<tr>" + "".join(cells) + "</tr>")
            previous = row
        out.append(f"<h3>connection {esc(view['id'])}</h3>")
        out.append(_table(["observer", "src", "sport", "dst", "dport", "proto"], rows, "view"))
        for nat in view.get("nat") or []:
            if isinstance(nat, Mapping):
                out.append(f'<pre>NAT {esc(nat.get("node", ""))}: {esc(nat.get("before", ""))}  =&gt;  '
                           f'{esc(nat.get("after", ""))}\n    {esc(nat.get("conntrack", ""))}</pre>')
            else:
                out.append(f"<pre>{esc(nat)}</pre>")
        if view.get("complete") is False:
            out.append(f'<p class="muted">incomplete: {esc(view.get("note", ""))}</p>')
    out.append('<p class="muted">Highlighted cells differ from the row above: an address or port rewritten '
               "between two observers.</p>")
    return "\n".join(out)


def _snapshots_html(snapshots: Any) -> str:
    items: list[Any]
    if isinstance(snapshots, Mapping):
        items = [{"title": key, "text": snapshots[key]} for key in sorted(snapshots, key=str)]
    else:
        items = list(snapshots)
    if not items:
        return '<p class="muted">No snapshots.</p>'
    out = []
    for item in items:
        if isinstance(item, tuple):
            when, host, body = [*item, None, None, None][:3]
            title = None
        else:
            when = _get(item, "time", "t", "at")
            host = _get(item, "host", "node")
            title = _get(item, "title", "label", "name")
            body = _get(item, "text", "table", "output")
            if body is None:
                rows = _get(item, "rows", default=[])
                from netsim.observe.ss import format_ss

                body = format_ss(rows, timers=True)
        heading = " ".join(part for part in (
            str(title) if title else "",
            f"ss on {host}" if host is not None else "",
            f"at t={format_time(int(when))} s" if isinstance(when, int) else (f"at {when}" if when else ""),
        ) if part)
        out.append(f"<h3>{esc(heading or 'snapshot')}</h3>\n<pre>{esc(body)}</pre>")
    return "\n".join(out)


def _counters_html(network: Any) -> str:
    rows = []
    for name in sorted(network.nodes):
        node = network.nodes[name]
        for iface_name in sorted(node.interfaces):
            iface = node.interfaces[iface_name]
            counters = iface.counters
            drops = counters.drops
            if iface_name == "lo" and not (counters.rx_frames or counters.tx_frames or drops):
                continue
            total = sum(drops.values())
            reasons = ", ".join(f"{reason}: {drops[reason]}" for reason in sorted(drops) if drops[reason])
            cls = ' class="fail"' if total else ""
            rows.append(f"<tr{cls}><td>{esc(name)}</td><td>{esc(iface_name)}</td>"
                        f'<td class="num">{counters.rx_frames}</td><td class="num">{counters.rx_bytes}</td>'
                        f'<td class="num">{counters.tx_frames}</td><td class="num">{counters.tx_bytes}</td>'
                        f'<td class="num">{total}</td><td>{esc(reasons) or "&mdash;"}</td></tr>')
    out = [_table(["node", "interface", "rx frames", "rx bytes", "tx frames", "tx bytes", "drops", "drops by reason"],
                  rows)]
    node_rows = []
    for name in sorted(network.nodes):
        node = network.nodes[name]
        for label, counters in (("", getattr(node, "counters", None)), ("nat ", getattr(node, "nat_counters", None))):
            if isinstance(counters, Mapping) and counters:
                for key in sorted(counters, key=str):
                    node_rows.append(f"<tr><td>{esc(name)}</td><td>{esc(label + str(key))}</td>"
                                     f'<td class="num">{esc(counters[key])}</td></tr>')
    if node_rows:
        out.append("<h3>Node counters</h3>")
        out.append(_table(["node", "counter", "value"], node_rows))
    link_rows = []
    fields = ("sent", "delivered", "lost", "duplicated", "reordered", "corrupted", "queue_drops", "down_drops",
              "filtered")
    for link in sorted(network.links, key=lambda link: link.name):
        for channel in (link.forward, link.backward):
            counters = channel.counters
            cells = "".join(f'<td class="num">{getattr(counters, f, 0)}</td>' for f in fields)
            bad = any(getattr(counters, f, 0) for f in fields[2:])
            klass = ' class="fail"' if bad else ""
            link_rows.append(f"<tr{klass}><td>{esc(channel.name)}</td><td>{esc(link_label(link))}</td>{cells}</tr>")
    if link_rows:
        out.append("<h3>Links</h3>")
        out.append(_table(["direction", "link", *(f.replace("_", " ") for f in fields)], link_rows))
    return "\n".join(out)


def _rewrites(connection: Connection) -> list[str]:
    found: list[str] = []
    for hop in connection.hops:
        if hop.prev is not None and hop.prev.decoded.tuple5 != hop.decoded.tuple5:
            before, after = hop.prev.decoded, hop.decoded
            note = (f"{hop.src_node}: {before.src}:{before.sport} \u2192 {before.dst}:{before.dport}  becomes  "
                    f"{after.src}:{after.sport} \u2192 {after.dst}:{after.dport}")
            if note not in found:
                found.append(note)
    return found


def _connections_html(connections: list[Connection], node_kinds: dict[str, str], max_ladders: int,
                      kept: bool = True) -> str:
    if not connections:
        if not kept:
            return ('<p class="muted">The trace was not kept (<code>Network(keep_trace=False)</code>), so there '
                    "are no frames to draw.</p>")
        return '<p class="muted">No TCP or UDP traffic in the trace.</p>'
    rows = []
    for connection in connections[:MAX_CONNECTION_ROWS]:
        tuples = "<br>".join(esc(f"{t[1]}:{t[2]} \u2192 {t[3]}:{t[4]}") for t in connection.tuples)
        anchor = f"conn-{connection.number}"
        link = f'<a href="#{anchor}">{connection.number}</a>' if connection.number <= max_ladders \
            else str(connection.number)
        path = " \u2192 ".join(connection.nodes)
        rows.append(f'<tr><td class="num">{link}</td><td>{esc(connection.proto)}</td><td class="mono">{tuples}</td>'
                    f"<td>{esc(path)}</td>"
                    f'<td class="num">{connection.packets}</td><td class="num">{len(connection.hops)}</td>'
                    f'<td class="num">{format_time(connection.first_time)}</td>'
                    f'<td class="num">{format_time(connection.last_time)}</td></tr>')
    out = [_table(["#", "proto", "5-tuples (client \u2192 server, per segment of the path)", "path", "packets",
                   "hops", "first (s)", "last (s)"], rows)]
    if len(connections) > MAX_CONNECTION_ROWS:
        out.append(f'<p class="muted">{len(connections) - MAX_CONNECTION_ROWS} more connections not listed.</p>')
    out.append(f'<p class="muted">Each ladder shows one arrow per frame per link, in sending order; sequence '
               f"numbers are relative to each side's initial sequence number. Connections of more than "
               f"{FIRST_PACKETS + LAST_PACKETS} packets show the first {FIRST_PACKETS} and the last "
               f"{LAST_PACKETS}.</p>")
    for connection in connections[:max_ladders]:
        pills = f'<span class="pill">{connection.packets} packets</span>'
        rewrites = _rewrites(connection)
        if rewrites:
            pills += '<span class="pill nat">rewritten</span>'
        notes = "".join(f"<li>{esc(r)}</li>" for r in rewrites)
        out.append(f'<details class="ladder-box" id="conn-{connection.number}" data-conn="{connection.number}" '
                   f'data-proto="{esc(connection.proto)}" open>'
                   f"<summary>connection {connection.number}: {esc(connection.title)}{pills}</summary>")
        if notes:
            out.append(f'<ul class="mono">{notes}</ul>')
        out.append(f'<div class="scroll">{ladder_svg(connection, node_kinds)}</div></details>')
    if len(connections) > max_ladders:
        out.append(f'<p class="muted">{len(connections) - max_ladders} more connections have no ladder drawn '
                   f"(the report draws the first {max_ladders}).</p>")
    return "\n".join(out)


def _plots_html(series: Mapping[str, Any], end: int) -> str:
    if not series:
        return '<p class="muted">No series.</p>'
    return "\n".join(f'<div class="scroll chart-box">{line_chart(str(name), series[name], end=end)}</div>'
                     for name in sorted(series, key=str))


# --- the page ----------------------------------------------------------------------------------

def render_report(network: Any, *, title: str, scenario_text: str | None = None, app_results: Any = None,
                  expectations: Any = None, snapshots: Any = None, views: Any = None,
                  series: Mapping[str, Any] | None = None, max_ladders: int = MAX_LADDERS) -> str:
    """The report of a run of ``network`` as one self-contained HTML document."""
    connections = group_connections(network)
    node_kinds = {name: str(getattr(node, "kind", "")) for name, node in sorted(network.nodes.items())}
    sections: list[tuple[str, str, str]] = [("topology", "Topology", topology_svg(network))]
    if expectations is not None:
        sections.append(("expectations", "Expectations", _expectations_html(expectations)))
    if app_results is not None:
        sections.append(("apps", "Application results", _apps_html(app_results)))
    if views is not None:
        sections.append(("views", "Observer views", _views_html(views)))
    sections.append(("connections", f"Connections ({len(connections)})",
                     _connections_html(connections, node_kinds, max_ladders,
                                       kept=bool(getattr(network.trace, "keep", True)))))
    if snapshots is not None:
        sections.append(("snapshots", "Socket snapshots (ss)", _snapshots_html(snapshots)))
    sections.append(("counters", "Counters and drops", _counters_html(network)))
    if series:
        sections.append(("plots", "Over time", _plots_html(series, network.now)))
    if scenario_text is not None:
        sections.append(("scenario", "Scenario file", f"<pre>{esc(scenario_text)}</pre>"))
    nav = "".join(f'<a href="#{anchor}">{esc(name)}</a>' for anchor, name, _ in sections)
    nav += '<button type="button" id="expand-all">expand all</button>'
    nav += '<button type="button" id="collapse-all">collapse all</button>'
    trace = network.trace
    meta = (f"netsim {esc(netsim.__version__)} &middot; seed {esc(network.seed)} &middot; simulated time "
            f"{esc(format_time(network.now))} s &middot; {trace.count} trace events &middot; "
            f"trace SHA-256 <code>{esc(network.trace_hash())}</code>")
    body = "\n".join(_section(anchor, name, content) for anchor, name, content in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<header><h1>{esc(title)}</h1>\n<div class="meta">{meta}</div>\n<nav>{nav}</nav>\n'
        '<div id="js-status" data-js="pending">(script not run)</div></header>\n'
        f"{body}\n<script>{_SCRIPT}</script>\n</body>\n</html>\n"
    )
