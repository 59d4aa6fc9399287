"""Ladder (sequence) diagrams: one lifeline per node on a connection's path, one arrow per hop.

Rows are hops in the order they were sent, one per row (as Wireshark's flow graph does), with
the simulated send time on the left.  Each arrow carries the TCP flags, the sequence and
acknowledgment numbers relative to each side's initial sequence number, the payload length, and
that hop's ``src:port -> dst:port`` — so where a NAT rewrites a packet, the addresses above and
below its lifeline differ.  Long connections show their first and last packets with a row that
says how many are left out.
"""

from __future__ import annotations

from netsim.report.connections import Connection, Hop
from netsim.report.svg import arrowhead, esc, line, num, svg_open, text
from netsim.units import format_time

TIME_W = 150  # the time column
LANE = 270  # distance between lifelines
HEAD_H = 46
ROW_H = 38
FIRST_PACKETS = 60
LAST_PACKETS = 20


def shown_rows(connection: Connection, first: int = FIRST_PACKETS,
               last: int = LAST_PACKETS) -> list[Hop | tuple[int, int]]:
    """The hops to draw, with a ``(packets, hops)`` gap marker where packets are left out."""
    if connection.packets <= first + last:
        return list(connection.hops)
    cut = connection.packets - last
    head = [h for h in connection.hops if h.packet <= first]
    tail = [h for h in connection.hops if h.packet > cut]
    hidden = len(connection.hops) - len(head) - len(tail)
    return [*head, (cut - first, hidden), *tail]


def _kind_class(hop: Hop) -> str:
    d = hop.decoded
    classes = ["fwd" if hop.forward else "rev"]
    if d.proto == "TCP":
        if d.flags & 0x004:
            classes.append("rst")
        elif d.flags & 0x003:
            classes.append("ctl")
    if hop.lost:
        classes.append("lost")
    return " ".join(classes)


def ladder_svg(connection: Connection, node_kinds: dict[str, str] | None = None) -> str:
    """The connection's ladder as an inline ``<svg>``."""
    node_kinds = node_kinds or {}
    rows = shown_rows(connection)
    lanes = {name: TIME_W + 70 + i * LANE for i, name in enumerate(connection.nodes)}
    width = TIME_W + 70 + (len(connection.nodes) - 1) * LANE + 150
    height = HEAD_H + 16 + len(rows) * ROW_H + 16
    out = [svg_open(width, height, label=f"ladder diagram of connection {connection.number}: {connection.title}",
                    cls="ladder")]
    bottom = height - 6
    out.append(text(8, 20, "time (s)", cls="head-sub"))
    out.append(text(8, 34, "#packet", cls="head-sub"))
    for name, x in lanes.items():
        kind = node_kinds.get(name, "")
        out.append(f'<rect x="{num(x - 60)}" y="6" width="120" height="{HEAD_H - 12}" rx="5" '
                   f'class="head {esc(kind)}"/>')
        out.append(text(x, 24, name, cls="head-name", anchor="middle"))
        if kind:
            out.append(text(x, 36, kind, cls="head-sub", anchor="middle"))
        out.append(line(x, HEAD_H - 6, x, bottom, cls="lifeline"))
    y = HEAD_H + 16
    for row in rows:
        if isinstance(row, tuple):
            packets, hops = row
            out.append(f'<rect x="0" y="{num(y + 4)}" width="{num(width)}" height="{ROW_H - 8}" class="gap"/>')
            out.append(text(width / 2, y + ROW_H / 2 + 4,
                            f"\u22ef {packets} packets ({hops} hops) not shown \u22ef", cls="gap-text",
                            anchor="middle"))
            y += ROW_H
            continue
        out.append(_arrow(connection, row, lanes, y))
        y += ROW_H
    out.append("</svg>")
    return "\n".join(out)


def _arrow(connection: Connection, hop: Hop, lanes: dict[str, int], top: float) -> str:
    d = hop.decoded
    x1, x2 = lanes[hop.src_node], lanes[hop.dst_node]
    y = top + ROW_H / 2 + 2
    label = hop.label(connection.isn)
    addresses = hop.addresses()
    notes = []
    if hop.lost:
        notes.append("lost")
    if hop.duplicate:
        notes.append("duplicate")
    if hop.unmatched:
        notes.append("arrived changed (corrupted?)")
    arrival = "never arrived" if hop.t_rx is None else f"rx {format_time(hop.t_rx)} s at {hop.dst_iface}"
    tooltip = (f"packet {hop.packet}: tx {format_time(hop.t_tx)} s at {hop.src_iface}, {arrival}\n{d.summary}"
               + (f"\n{', '.join(notes)}" if notes else ""))
    parts = [f'<g class="hop {_kind_class(hop)}" data-conn="{connection.number}" data-from="{esc(hop.src_node)}" '
             f'data-to="{esc(hop.dst_node)}" data-packet="{hop.packet}" data-label="{esc(label)}">',
             f"<title>{esc(tooltip)}</title>",
             text(8, y + 4, format_time(hop.t_tx), cls="time"),
             text(TIME_W + 2, y + 4, f"#{hop.packet}", cls="pkt", anchor="end")]
    if x1 == x2:  # loopback: a small loop beside the lifeline
        parts.append(f'<path d="M {num(x1)} {num(y - 8)} C {num(x1 + 50)} {num(y - 12)}, {num(x1 + 50)} '
                     f'{num(y + 12)}, {num(x1 + 6)} {num(y + 8)}" class="arrow" fill="none"/>')
        parts.append(arrowhead(x1 + 1, y + 8, -1, cls="tip"))
        parts.append(text(x1 + 56, y - 2, label, cls="label"))
        parts.append(text(x1 + 56, y + 11, addresses, cls="addr"))
    else:
        direction = 1 if x2 > x1 else -1
        end: float = x2 - direction * 2
        if hop.lost:
            end = x1 + (x2 - x1) * 0.62
        parts.append(line(x1, y, end, y, cls="arrow"))
        if hop.lost:
            parts.append(line(end - 5, y - 5, end + 5, y + 5, cls="cross"))
            parts.append(line(end - 5, y + 5, end + 5, y - 5, cls="cross"))
            parts.append(text(end + 8 * direction, y + 4, "lost", cls="lost-text",
                              anchor="start" if direction > 0 else "end"))
        else:
            parts.append(arrowhead(end, y, direction, cls="tip"))
        middle = (x1 + x2) / 2
        extra = " (dup)" if hop.duplicate else ""
        parts.append(text(middle, y - 5, label + extra, cls="label", anchor="middle"))
        parts.append(text(middle, y + 13, addresses, cls="addr", anchor="middle"))
    parts.append("</g>")
    return "".join(parts)
