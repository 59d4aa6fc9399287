"""A scenario's topology as text (``netsim show FILE``): nodes with their interfaces, addresses and
routes, links with their parameters, captures and apps.  Defaults are shown resolved (the MAC an
interface will really have), so what is printed is what will be built."""

from __future__ import annotations

import attrs

from netsim.scenario.model import AppSpec, HostSpec, LinkSpec, Scenario, SwitchSpec
from netsim.sim.node import default_mac


def _link_parameters(link: LinkSpec) -> str:
    words = [link.rate, f"delay {link.delay}", f"queue {link.queue_packets} frames"]
    if link.queue_bytes is not None:
        words.append(f"/ {link.queue_bytes} bytes")
    for name in ("loss", "duplicate", "reorder", "corrupt"):
        value = getattr(link, name)
        if value:
            words.append(f"{name} {value:g}")
    if link.reorder:
        words.append(f"reorder_delay {link.reorder_delay}")
    if link.burst_loss is not None:
        burst = link.burst_loss
        words.append(f"burst_loss(p={burst.p:g} r={burst.r:g} loss_bad={burst.loss_bad:g} "
                     f"loss_good={burst.loss_good:g})")
    if not link.up:
        words.append("DOWN")
    return ", ".join(words)


def _app_parameters(app: AppSpec) -> str:
    skip = {"node", "start", "name"}
    return " ".join(f"{field.name}={getattr(app, field.name)}" for field in attrs.fields(type(app))
                    if field.name not in skip and getattr(app, field.name) is not None)


def show(scenario: Scenario) -> str:
    """The topology of ``scenario`` as lines of text."""
    net = scenario.network
    out = [f"network: seed {net.seed}, time limit {net.time_limit}, event limit {net.event_limit:,}", "", "nodes:"]
    for node in scenario.nodes:
        if isinstance(node, HostSpec):
            out.append(f"  {node.KIND} {node.name}")
            for iface in node.interfaces:
                mac = iface.mac or str(default_mac(node.name, iface.name))
                addresses = " ".join(iface.addresses) or "(no address)"
                state = "" if iface.up else "  DOWN"
                groups = f"  groups {' '.join(iface.multicast_groups)}" if iface.multicast_groups else ""
                out.append(f"    {iface.name:<6} mtu {iface.mtu:<5} {mac}  {addresses}{groups}{state}")
            for route in node.routes:
                words: list[str] = [route.prefix]
                words += [f"via {route.via}"] if route.via else []
                words += [f"dev {route.dev}"] if route.dev else []
                words += [f"metric {route.metric}"] if route.metric else []
                words += [f"src {route.src}"] if route.src else []
                out.append(f"    route {' '.join(words)}")
        elif isinstance(node, SwitchSpec):
            out.append(f"  switch {node.name} (ageing {node.ageing_time})")
            for port in node.port_specs():
                if port.mode == "access":
                    mode = f"access vlan {port.vlan or 1}"
                else:
                    vlans = "all" if port.vlans is None else ",".join(str(v) for v in port.vlans)
                    mode = f"trunk vlans {vlans}" + (f" native {port.native}" if port.native is not None else "")
                out.append(f"    {port.name:<6} {mode}")
        else:
            out.append(f"  {node.KIND} {node.name}")
            for info in node.port_info():
                out.append(f"    {info.name:<6} {' '.join(info.addresses)}")
    out += ["", "links:"]
    out += [f"  {link.a} <-> {link.b}  {_link_parameters(link)}" for link in scenario.links] or ["  (none)"]
    if scenario.captures:
        out += ["", "captures:"]
        for capture in scenario.captures:
            target = capture.file or "(memory)"
            expression = f" {capture.filter!r}" if capture.filter else ""
            out.append(f"  {', '.join(capture.at)} {capture.direction}{expression} -> {target}")
    if scenario.apps:
        out += ["", "apps:"]
        out += [f"  {app.kind}{f' {app.name!r}' if app.name else ''} on {app.node} "
                f"{'started by the timeline' if app.start == 'off' else f'at {app.start}'}: {_app_parameters(app)}"
                for app in scenario.apps]
    return "\n".join(out) + "\n"
