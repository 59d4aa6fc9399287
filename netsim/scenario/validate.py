"""Semantic checks of a structured scenario: what types alone cannot say.

Each check appends (field path, message) and carries on, so one run reports everything: values
out of their documented range, duplicate names, links to nodes or interfaces that do not exist,
an interface cabled twice, overlapping subnets on one node, a duplicated address on one L2
segment, gateways that are not on a connected subnet.  Nodes whose entries did not even
structure (or only in part) are passed in ``broken``, so a reference to them is not reported a
second time.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Interface, IPv6Interface, ip_address, ip_interface, ip_network
from pathlib import PurePosixPath
from typing import Any

import attrs

from netsim.scenario.model import SECTIONS, HostSpec, NodeSpec, PortInfo, Scenario, SwitchSpec
from netsim.scenario.problems import did_you_mean, join_path

Found = list[tuple[str, str]]

#: the files ``netsim run --out DIR`` writes itself; a capture must not take their names
RUN_FILES = frozenset({"summary.json", "trace.jsonl", "scenario.toml", "report.html"})


def validate(scenario: Scenario, broken: Iterable[str] = ()) -> Found:
    """Every semantic problem of ``scenario`` as (path, message)."""
    problems: Found = []
    broken = set(broken)
    node_paths = scenario.node_paths()
    check_ranges(scenario.network, "network", problems)
    for path, node in node_paths:
        check_ranges(node, path, problems)
    for section, items in (("links", scenario.links), ("captures", scenario.captures), ("apps", scenario.apps)):
        for index, item in enumerate(items):
            check_ranges(item, f"{section}[{index}]", problems)
    for name, value in scenario.sections.items():
        check_ranges(value, name, problems)

    nodes: dict[str, NodeSpec] = {}
    first: dict[str, str] = {}
    for path, node in node_paths:
        if node.name in first:
            problems.append((f"{path}.name", f"duplicate node name {node.name!r} (also {first[node.name]})"))
        else:
            first[node.name] = path
            nodes[node.name] = node
    for path, node in node_paths:
        _check_node(scenario, path, node, problems)

    checker = _References(nodes, broken, problems)
    used: dict[tuple[str, str], str] = {}
    for index, link in enumerate(scenario.links):
        path = f"links[{index}]"
        ends = []
        for end in ("a", "b"):
            endpoint = getattr(link, end)
            port = checker.port(endpoint, f"{path}.{end}")
            if port is None:
                continue
            key = (endpoint.split(":", 1)[0], port.name)
            if not port.linkable:
                problems.append((f"{path}.{end}", f"{endpoint} is the loopback interface; it cannot be linked"))
            elif key in used:
                problems.append((f"{path}.{end}", f"{endpoint} is already linked by {used[key]}"))
            else:
                ends.append(key)
        if link.a == link.b:
            problems.append((path, f"a link cannot join {link.a} to itself"))
            continue
        for key in ends:
            used[key] = path
    link_names: dict[str, str] = {}
    for index, link in enumerate(scenario.links):
        if link.name is not None:
            if link.name in link_names:
                problems.append((f"links[{index}].name",
                                 f"duplicate link name {link.name!r} (also {link_names[link.name]})"))
            link_names.setdefault(link.name, f"links[{index}]")
    capture_files: dict[str, str] = {}
    for index, capture in enumerate(scenario.captures):
        if capture.file is not None:
            normal = PurePosixPath(str(capture.file).replace("\\", "/")).as_posix()
            if normal in RUN_FILES:
                problems.append((f"captures[{index}].file", f"{capture.file!r} is a file of the run directory "
                                 f"(netsim run writes {', '.join(sorted(RUN_FILES))}); choose another name"))
            elif normal in capture_files:
                problems.append((f"captures[{index}].file",
                                 f"{capture.file!r} is also written by {capture_files[normal]}"))
            capture_files.setdefault(normal, f"captures[{index}]")
        for position, endpoint in enumerate(capture.at):
            at = f"captures[{index}].at" + (f"[{position}]" if len(capture.at) > 1 else "")
            checker.port(endpoint, at)
    app_names: dict[str, str] = {}
    for index, app in enumerate(scenario.apps):
        path = f"apps[{index}]"
        if app.name is not None:
            if app.name in app_names:
                problems.append((f"{path}.name", f"duplicate app name {app.name!r} (also {app_names[app.name]})"))
            elif app.name.startswith("apps["):
                problems.append((f"{path}.name", f"{app.name!r}: names like apps[N] are the default names"))
            app_names.setdefault(app.name, path)
        runs_on = checker.node(app.node, f"{path}.node")
        if runs_on is not None and not isinstance(runs_on, HostSpec):
            problems.append((f"{path}.node", f"apps run on hosts and routers; {app.node!r} is a {runs_on.KIND}"))
        problems.extend((join_path(path, sub), message) for sub, message in app.check(scenario))
    _check_segments(scenario, nodes, problems)
    for name, registered in SECTIONS.items():
        if registered.check is not None and scenario.sections.get(name) is not None:
            problems.extend((join_path(name, sub) if not sub.startswith("[") else name + sub, message)
                            for sub, message in registered.check(scenario, scenario.sections[name]))
    return problems


def check_ranges(value: Any, path: str, problems: Found) -> None:
    """Numbers against the ``min``/``max`` of their field's metadata, recursively."""
    if not attrs.has(type(value)):
        return
    for field in attrs.fields(type(value)):
        item = getattr(value, field.name)
        low, high = field.metadata.get("min"), field.metadata.get("max")
        where = join_path(path, field.name)
        if isinstance(item, tuple):
            for index, element in enumerate(item):
                _check_number(element, low, high, join_path(where, index), problems)
                check_ranges(element, join_path(where, index), problems)
        else:
            _check_number(item, low, high, where, problems)
            check_ranges(item, where, problems)


def _check_number(value: Any, low: float | None, high: float | None, path: str, problems: Found) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            wanted = f"{low:g}..{high:g}"
        elif low is not None:
            wanted = f"at least {low:g}"
        else:
            wanted = f"at most {high:g}"
        problems.append((path, f"{value:g} is out of range: must be {wanted}"))


class _References:
    """Looks up ``node`` and ``node:interface`` references and reports the missing ones."""

    def __init__(self, nodes: dict[str, NodeSpec], broken: set[str], problems: Found) -> None:
        self.nodes = nodes
        self.broken = broken
        self.problems = problems

    def node(self, name: str, path: str) -> NodeSpec | None:
        node = self.nodes.get(name)
        if node is None and name not in self.broken:
            self.problems.append((path, f"no node named {name!r}{did_you_mean(name, self.nodes)}"))
        return node

    def port(self, endpoint: str, path: str) -> PortInfo | None:
        name, _, iface = endpoint.partition(":")
        node = self.node(name, path)
        if node is None:
            return None
        ports = {port.name: port for port in node.port_info()}
        if iface not in ports and name in self.broken:
            return None  # the interface may be in the part of the entry that had problems
        if iface not in ports:
            self.problems.append((path, f"{name} has no interface {iface!r}{did_you_mean(iface, ports)} "
                                        f"(it has {', '.join(sorted(ports)) or 'none'})"))
            return None
        return ports[iface]


def _check_node(scenario: Scenario, path: str, node: NodeSpec, problems: Found) -> None:
    ports = node.port_info()
    seen: set[str] = set()
    for port in ports:
        if port.name in seen:
            what = ("'lo' is the loopback interface every host already has" if port.name == "lo"
                    else f"duplicate interface name {port.name!r}")
            problems.append((f"{path}.{port.path}.name" if "[" in port.path else f"{path}.{port.path}", what))
        seen.add(port.name)
    # addresses: no duplicates, no overlapping subnets on two interfaces (Linux would take both,
    # but routing between them is then ambiguous: always a mistake in a lab topology)
    owned: list[tuple[IPv4Interface | IPv6Interface, PortInfo]] = []
    for port in ports:
        for index, text in enumerate(port.addresses):
            address = ip_interface(text)
            where = f"{path}.{port.path}.addresses[{index}]"
            for other, other_port in owned:
                if other.ip == address.ip:
                    problems.append((where, f"duplicate address {address.ip} (also on {other_port.name})"))
                    break
                if (other_port.name != port.name and other.version == address.version
                        and address.network.overlaps(other.network)):
                    problems.append((where, f"{text} overlaps {other} on {other_port.name}: the subnets of two "
                                            "interfaces of one node must not overlap"))
                    break
            owned.append((address, port))
    names = {port.name: port for port in ports}
    local = {address.ip for address, _ in owned}
    routes_seen: dict[tuple[Any, ...], int] = {}
    for index, route in enumerate(node.route_specs()):
        where = f"{path}.routes[{index}]"
        key = (route.prefix, route.via, route.dev, route.metric, route.src)
        if key in routes_seen:
            problems.append((where, f"duplicate route to {route.prefix} (also routes[{routes_seen[key]}])"))
            continue
        routes_seen[key] = index
        if route.via is None and route.dev is None:
            problems.append((where, f"a route to {route.prefix} needs a gateway (via) or an interface (dev)"))
        if route.dev is not None and route.dev not in names:
            problems.append((f"{where}.dev", f"{node.name} has no interface {route.dev!r}"
                                             f"{did_you_mean(route.dev, names)}"))
            continue
        family = ip_network(route.prefix).version
        for field, value in (("via", route.via), ("src", route.src)):
            if value is not None and ip_address(value).version != family:
                problems.append((f"{where}.{field}", f"{value} is an IPv{6 if family == 4 else 4} address, but the "
                                                   f"prefix {route.prefix} is IPv{family}"))
        if route.via is not None and ip_address(route.via).version == family:
            gateway = ip_address(route.via)
            candidates = [a for a, port in owned if port.linkable and (route.dev is None or port.name == route.dev)]
            if gateway.version == 6 and gateway.is_link_local:
                if route.dev is None:
                    problems.append((f"{where}.dev", f"the link-local gateway {gateway} needs an interface (dev): "
                                                     "fe80::/10 is on every link"))
            elif not any(gateway in address.network for address in candidates):
                subnets = ", ".join(sorted({str(a.network) for a in candidates})) or "none"
                problems.append((f"{where}.via", f"gateway {gateway} is not on a connected subnet of {node.name}"
                                                 f"{' ' + route.dev if route.dev else ''} ({subnets})"))
        if route.src is not None and ip_address(route.src) not in local:
            problems.append((f"{where}.src", f"{route.src} is not an address of {node.name}"))
    problems.extend((join_path(path, sub), message) for sub, message in node.check(scenario))


def _check_segments(scenario: Scenario, nodes: dict[str, NodeSpec], problems: Found) -> None:
    """One L2 segment (links joined through switches, per VLAN) must not hold an address twice.
    Different subnets on one segment are fine: that is how secondary networks are run."""
    parent: dict[Any, Any] = {}

    def find(key: Any) -> Any:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def union(a: Any, b: Any) -> None:
        parent[find(a)] = find(b)

    for link in scenario.links:
        union(("if", *link.a.split(":", 1)), ("if", *link.b.split(":", 1)))
    for node in nodes.values():
        if not isinstance(node, SwitchSpec):
            continue
        ports = node.port_info()
        used = sorted({vlan for port in ports if port.vlans is not None for vlan in port.vlans})
        for port in ports:
            vlans: list[Any] = sorted(port.vlans) if port.vlans is not None else [*used] or ["*"]
            for vlan in vlans:
                union(("if", node.name, port.name), ("vlan", node.name, vlan))
    seen: dict[tuple[Any, Any], tuple[str, str]] = {}
    for path, node in scenario.node_paths():
        if nodes.get(node.name) is not node:
            continue
        for port in node.port_info():
            if not port.linkable:
                continue
            segment = find(("if", node.name, port.name))
            for index, text in enumerate(port.addresses):
                address = ip_interface(text).ip
                other = seen.get((segment, address))
                if other is None:
                    seen[(segment, address)] = (node.name, f"{node.name}:{port.name}")
                elif other[0] != node.name:
                    problems.append((f"{path}.{port.path}.addresses[{index}]",
                                     f"address {address} is also used by {other[1]} on the same L2 segment"))
