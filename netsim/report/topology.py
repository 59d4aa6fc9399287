"""The topology as a picture: nodes as shapes by kind, links labelled with rate, delay and the
addresses of the interfaces at each end.

Layout is deterministic and needs no solver: in each connected part of the network, the longest
shortest path (found by two breadth-first searches, ties broken by name) is laid out left to
right; every other node hangs below the node of that path it is nearest to, in order of distance
and then name.  That draws the usual client - switch - NAT - router - server chain as a line,
and hosts sharing a switch as a column under it.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from netsim.report.svg import esc, line, num, svg_open, text
from netsim.units import format_duration

COL_W = 340  # between two nodes of the main chain
SLOT_W = 200  # between two nodes side by side below one node
ROW_H = 170
MARGIN_X = 90
MARGIN_Y = 70


def format_rate(bps: int) -> str:
    for unit, scale in (("Gbit/s", 10**9), ("Mbit/s", 10**6), ("kbit/s", 10**3)):
        if bps >= scale:
            value = bps / scale
            return f"{value:.3g} {unit}" if value != int(value) else f"{int(value)} {unit}"
    return f"{bps} bit/s"


def link_label(link: Any) -> str:
    parts = [format_rate(int(link.rate)), format_duration(int(link.delay))]
    impairments = getattr(link, "impairments", None)
    if impairments is not None and getattr(impairments, "any", False):
        for name in ("loss", "duplicate", "reorder", "corrupt"):
            value = getattr(impairments, name, 0)
            if value:
                parts.append(f"{name} {value * 100:g}%")
        if getattr(impairments, "burst_loss", None) is not None:
            parts.append("burst loss")
    if not getattr(link, "up", True):
        parts.append("DOWN")
    return " \u00b7 ".join(parts)


def _bfs(adjacency: dict[str, list[str]], start: str) -> dict[str, str | None]:
    parents: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for other in adjacency[node]:
            if other not in parents:
                parents[other] = node
                queue.append(other)
    return parents


def _farthest(adjacency: dict[str, list[str]], start: str) -> tuple[str, dict[str, str | None]]:
    parents = _bfs(adjacency, start)
    depth = {start: 0}
    for node in parents:  # insertion order is BFS order
        parent = parents[node]
        if parent is not None:
            depth[node] = depth[parent] + 1
    deepest = max(depth.values())
    best = min(n for n in parents if depth[n] == deepest)  # ties: the first name
    return best, parents


def layout(network: Any) -> dict[str, tuple[float, float]]:
    """The centre (x, y) of every node, in pixels."""
    names = sorted(network.nodes)
    adjacency: dict[str, list[str]] = {name: [] for name in names}
    for link in network.links:
        a, b = link.a.node.name, link.b.node.name
        if a == b:
            continue
        if b not in adjacency[a]:
            adjacency[a].append(b)
        if a not in adjacency[b]:
            adjacency[b].append(a)
    for name in names:
        adjacency[name].sort()
    placed: dict[str, tuple[float, float]] = {}
    top = float(MARGIN_Y)
    for name in names:
        if name in placed:
            continue
        # one connected part: start at the first host by name if there is one, so clients sit left
        part = list(_bfs(adjacency, name))
        hosts = sorted(n for n in part if getattr(network.nodes[n], "kind", "") == "host")
        start = hosts[0] if hosts else min(part)
        a, _ = _farthest(adjacency, start)
        b, parents = _farthest(adjacency, a)
        spine: list[str] = []
        node: str | None = b
        while node is not None:
            spine.append(node)
            node = parents[node]
        toward_start = spine.index(start) > len(spine) // 2 if start in spine else spine[0] > spine[-1]
        if toward_start:  # the chain starts at the end nearer the first host
            spine.reverse()
        column = {n: i for i, n in enumerate(spine)}
        depth = {n: 0 for n in spine}
        queue = deque(spine)
        while queue:
            current = queue.popleft()
            for other in adjacency[current]:
                if other not in depth:
                    depth[other] = depth[current] + 1
                    column[other] = column[current]
                    queue.append(other)
        # each spine node gets a block wide enough for the widest level of what hangs below it
        levels: list[dict[int, list[str]]] = [{} for _ in spine]
        for other in sorted(part, key=lambda n: (depth[n], n)):
            if depth[other] > 0:
                levels[column[other]].setdefault(depth[other], []).append(other)
        x = float(MARGIN_X) - COL_W / 2
        rows = 0
        for i, spine_node in enumerate(spine):
            widest = max((len(level) for level in levels[i].values()), default=1)
            block = max(COL_W, widest * SLOT_W)
            centre = x + block / 2 if i else float(MARGIN_X) + max(0.0, (block - COL_W) / 2)
            if i == 0:
                x = centre - block / 2
            placed[spine_node] = (centre, top)
            for level, members in levels[i].items():
                for j, other in enumerate(members):
                    placed[other] = (centre + (j - (len(members) - 1) / 2) * SLOT_W, top + level * ROW_H)
                rows = max(rows, level)
            x += block
        top += (rows + 1) * ROW_H
    return placed


HALF_WIDTH = {"host": 55, "switch": 62, "router": 30, "nat-router": 46}


def _shape(kind: str, x: float, y: float) -> str:
    if kind == "host":
        return f'<rect x="{num(x - 55)}" y="{num(y - 22)}" width="110" height="44" rx="9" class="n-host"/>'
    if kind == "switch":
        return f'<rect x="{num(x - 62)}" y="{num(y - 16)}" width="124" height="32" rx="2" class="n-switch"/>'
    if kind == "router":
        return f'<circle cx="{num(x)}" cy="{num(y)}" r="30" class="n-router"/>'
    if kind == "nat-router":
        pts = " ".join(f"{num(x + dx)},{num(y + dy)}" for dx, dy in
                       ((-46, 0), (-24, -30), (24, -30), (46, 0), (24, 30), (-24, 30)))
        return f'<polygon points="{pts}" class="n-nat"/>'
    pts = f"{num(x)},{num(y - 30)} {num(x + 36)},{num(y)} {num(x)},{num(y + 30)} {num(x - 36)},{num(y)}"
    return f'<polygon points="{pts}" class="n-other"/>'


def _iface_text(iface: Any, node: Any) -> list[str]:
    lines = [iface.name]
    inside = getattr(node, "inside", None)
    if inside is not None and getattr(node, "outside", None) is not None:
        if iface.name in inside:
            lines[0] += " (inside)"
        elif iface.name == node.outside:
            lines[0] += " (outside)"
    for address in getattr(iface, "addresses", []):
        lines.append(str(address))
    if getattr(node, "kind", "") == "switch" and getattr(iface, "vlan_mode", "access") != "access":
        lines.append("trunk")
    return lines


def topology_svg(network: Any) -> str:
    """The network as an inline ``<svg>``."""
    if not network.nodes:
        return '<p class="muted">(no nodes)</p>'
    positions = layout(network)
    left = min(x for x, _ in positions.values())
    if left < MARGIN_X:  # nodes spread left of the first one: move everything right
        positions = {name: (x + MARGIN_X - left, y) for name, (x, y) in positions.items()}
    width = max(x for x, _ in positions.values()) + MARGIN_X
    height = max(y for _, y in positions.values()) + 70

    def xy(name: str) -> tuple[float, float]:
        return positions[name]

    out = [svg_open(width, height, label="network topology", cls="topology")]
    links = sorted(network.links, key=lambda link: (link.a.full_name, link.b.full_name))
    for link in links:
        ax, ay = xy(link.a.node.name)
        bx, by = xy(link.b.node.name)
        down = "" if getattr(link, "up", True) else " down"
        out.append(f'<g class="link{down}" data-link="{esc(link.name)}">')
        out.append(f"<title>{esc(link.name)}: {esc(link_label(link))}</title>")
        out.append(line(ax, ay, bx, by, cls="wire"))
        mx, my = (ax + bx) / 2, (ay + by) / 2
        horizontal = abs(bx - ax) >= abs(by - ay)
        if horizontal:
            out.append(text(mx, my - 8, link_label(link), cls="link-label", anchor="middle"))
        else:
            upper_x, lower_x = (ax, bx) if ay < by else (bx, ax)
            if lower_x > upper_x:
                out.append(text(mx + 8, my + 4, link_label(link), cls="link-label"))
            else:
                out.append(text(mx - 8, my + 4, link_label(link), cls="link-label", anchor="end"))
        for iface, (sx, sy), (tx, ty) in ((link.a, (ax, ay), (bx, by)), (link.b, (bx, by), (ax, ay))):
            lines = _iface_text(iface, iface.node)
            if horizontal:
                direction = 1 if tx > sx else -1
                px = sx + direction * (HALF_WIDTH.get(getattr(iface.node, "kind", ""), 36) + 8)
                anchor = "start" if direction > 0 else "end"
                base = sy + 16  # below the wire
                for k, content in enumerate(lines):
                    out.append(text(px, base + k * 12, content, cls="iface" if k == 0 else "addr",
                                    anchor=anchor))
            else:
                # a link going down or up: labels a little way along it from their node; the upper
                # end's on the inner side, the lower end's on the outer side, below the link label
                below = ty > sy
                fraction = 0.2 if below else 0.26
                fx, fy = sx + (tx - sx) * fraction, sy + (ty - sy) * fraction
                lean = (tx - sx) if below else (sx - tx)  # > 0: the lower end is to the right
                inner = (lean > 0) == below
                anchor, dx = ("end", -6.0) if inner else ("start", 6.0)
                first = fy + 4 if below else fy - 12 * (len(lines) - 1)
                for k, content in enumerate(lines):
                    out.append(text(fx + dx, first + k * 12, content, cls="iface" if k == 0 else "addr",
                                    anchor=anchor))
        out.append("</g>")
    for name in sorted(network.nodes):
        if name not in positions:
            continue
        node = network.nodes[name]
        kind = getattr(node, "kind", "node")
        x, y = xy(name)
        out.append(f'<g class="node" data-node="{esc(name)}" data-kind="{esc(kind)}">')
        out.append(f"<title>{esc(name)} ({esc(kind)})</title>")
        out.append(_shape(kind, x, y))
        out.append(text(x, y - 1, name, cls="node-name", anchor="middle"))
        out.append(text(x, y + 12, kind, cls="node-kind", anchor="middle"))
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)
