"""Building: a checked :class:`Scenario` -> a :class:`~netsim.sim.network.Network` on the real API.

Nodes first (each kind builds itself: interfaces, addresses, routes), then links, captures, and
the apps as SimPy processes starting at their ``start`` time.  What it builds is exactly what the
same calls written in Python build, so the trace hash of a run is the same either way.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import attrs

from netsim.observe.capture import Capture
from netsim.scenario.model import AppSpec, GilbertElliottSpec, LinkSpec, Scenario
from netsim.sim.link import Link
from netsim.sim.network import Network
from netsim.sim.node import Node
from netsim.sim.records import GilbertElliott, Impairments
from netsim.units import parse_duration


@attrs.define
class BuiltScenario:
    """Handles on what was built: nodes by name, links and captures in file order, app processes."""

    scenario: Scenario
    nodes: dict[str, Node]
    links: list[Link]
    captures: list[Capture]
    apps: list[tuple[AppSpec, Any]] = attrs.field(factory=list)

    def capture(self, name: str) -> Capture:
        """The capture named ``name`` (its ``name`` key, or its ``at`` when it has none)."""
        for spec, capture in zip(self.scenario.captures, self.captures, strict=True):
            if (spec.name or ",".join(spec.at)) == name:
                return capture
        raise KeyError(name)

    def close(self) -> None:
        """Flush and close every capture file."""
        for capture in self.captures:
            capture.close()


def impairments(link: LinkSpec) -> Impairments:
    burst: GilbertElliottSpec | None = link.burst_loss
    return Impairments(
        loss=link.loss,
        burst_loss=None if burst is None else GilbertElliott(burst.p, burst.r, burst.loss_bad, burst.loss_good),
        duplicate=link.duplicate, reorder=link.reorder, reorder_delay=parse_duration(link.reorder_delay),
        corrupt=link.corrupt)


def _delayed(network: Network, start: int, process: Generator[Any, Any, Any]) -> Generator[Any, Any, Any]:
    if start:
        yield network.env.timeout(start)
    return (yield network.process(process))


def build_network(scenario: Scenario, *, output_dir: str | Path = ".",
                  start_apps: bool = True) -> tuple[Network, BuiltScenario]:
    """The network a scenario describes; capture files are written under ``output_dir``."""
    spec = scenario.network
    network = Network(spec.seed, time_limit=spec.time_limit, event_limit=spec.event_limit,
                      keep_trace=spec.keep_trace)
    nodes: dict[str, Node] = {node.name: node.build(network) for node in scenario.nodes}
    links = []
    for link in scenario.links:
        a_node, a_iface = link.a.split(":", 1)
        b_node, b_iface = link.b.split(":", 1)
        built = network.connect(nodes[a_node][a_iface], nodes[b_node][b_iface], rate=link.rate, delay=link.delay,
                                queue_packets=link.queue_packets, queue_bytes=link.queue_bytes,
                                impairments=impairments(link))
        if not link.up:
            built.set_up(False)
        links.append(built)
    captures = []
    for capture in scenario.captures:
        interfaces = [nodes[node][iface] for node, _, iface in (at.partition(":") for at in capture.at)]
        path = None if capture.file is None else Path(output_dir) / capture.file
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        captures.append(Capture(interfaces, capture.filter, path, direction=capture.direction,
                                pcapng=capture.pcapng, snaplen=capture.snaplen))
    result = BuiltScenario(scenario, nodes, links, captures)
    if start_apps:
        for app in scenario.apps:
            process = network.process(_delayed(network, parse_duration(app.start), app.launch(nodes[app.node])))
            result.apps.append((app, process))
    return network, result
