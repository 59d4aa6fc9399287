"""The ``[[timeline]]`` section: at a simulated time, do one thing to the running network.

Each entry is ``{at = "2s", action = "...", ...}``; the ``action`` picks an attrs class registered
with :func:`register_action` (so the NAT router can bring its own actions without the loader
being edited).  Entries run in time order, entries at the same time in file order.  Each action
returns what it did, recorded in the run's timeline log (and ``summary.json``).

References, checked when the file is loaded:

- an app, by its ``name`` (or ``apps[INDEX]`` when it has none);
- a link, by its ``name``, or by either of its ends as ``node:interface`` (an interface is
  cabled at most once, so one end names the link);
- a host, router or NAT router, by node name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from netsim.scenario.model import (
    Duration,
    GilbertElliottSpec,
    HostSettings,
    HostSpec,
    Name,
    Probability,
    Scenario,
    meta,
    register_section,
    register_variant,
    variant_base,
)
from netsim.scenario.problems import did_you_mean

if TYPE_CHECKING:
    from netsim.scenario.run import RunContext

Found = Iterator[tuple[str, str]]

#: node kinds that translate addresses (the NAT router registers its kind here)
NAT_KINDS: set[str] = {"nat-router"}


@variant_base("action")
@attrs.frozen(kw_only=True)
class TimelineAction:
    """At a simulated time, one action; the ``action`` key says which."""

    at: Duration = attrs.field(metadata=meta("when, in simulated time from the start of the run"))

    TAG_VALUE: ClassVar[str] = ""

    @property
    def action(self) -> str:
        return self.TAG_VALUE

    def check(self, scenario: Scenario) -> Found:
        """Problems only this action knows about, as (key, message)."""
        return iter(())

    def apply(self, run: RunContext) -> dict[str, Any]:  # pragma: no cover - abstract
        """Do it now; what was done, as JSON data for the log."""
        raise NotImplementedError


def register_action(name: str) -> Any:
    """Class decorator: ``[[timeline]]`` entries with ``action = "<name>"`` are this class."""
    return register_variant(TimelineAction, name)


# --- references -----------------------------------------------------------------------------------


def app_names(scenario: Scenario) -> dict[str, int]:
    """Each app's name (its ``name``, or ``apps[INDEX]``) and its index."""
    return {app.name or f"apps[{index}]": index for index, app in enumerate(scenario.apps)}


def check_app(scenario: Scenario, name: str, key: str = "app") -> Found:
    names = app_names(scenario)
    if name not in names:
        known = ", ".join(sorted(names)) or "none"
        yield key, f"no app named {name!r}{did_you_mean(name, names)} (apps: {known})"


def find_link(scenario: Scenario, reference: str) -> int | None:
    """The index of the link a reference names (its name, or one of its ends)."""
    for index, link in enumerate(scenario.links):
        if reference in (link.name, link.a, link.b):
            return index
    return None


def check_link(scenario: Scenario, reference: str, key: str = "link") -> Found:
    if find_link(scenario, reference) is None:
        names = [link.name for link in scenario.links if link.name] + [
            end for link in scenario.links for end in (link.a, link.b)]
        yield key, (f"no link {reference!r}{did_you_mean(reference, names)}: name a link by its 'name' or by "
                    "one of its ends as node:interface")


def check_host(scenario: Scenario, name: str, key: str = "host") -> Found:
    node = scenario.node(name)
    if node is None:
        yield key, f"no node named {name!r}{did_you_mean(name, [n.name for n in scenario.nodes])}"
    elif not isinstance(node, HostSpec):
        yield key, f"{name!r} is a {node.KIND}, not a host or router"


# --- apps -----------------------------------------------------------------------------------------


@register_action("start")
@attrs.frozen(kw_only=True)
class StartApp(TimelineAction):
    """Start an app (typically one with ``start = "off"``)."""

    app: str = attrs.field(metadata=meta("the app's name (or apps[INDEX])"))

    def check(self, scenario: Scenario) -> Found:
        return check_app(scenario, self.app)

    def apply(self, run: RunContext) -> dict[str, Any]:
        return {"started": run.start_app(self.app)}


@register_action("stop")
@attrs.frozen(kw_only=True)
class StopApp(TimelineAction):
    """Stop an app as a kill would: its process ends and the sockets it opened are closed."""

    app: str = attrs.field(metadata=meta("the app's name (or apps[INDEX])"))

    def check(self, scenario: Scenario) -> Found:
        return check_app(scenario, self.app)

    def apply(self, run: RunContext) -> dict[str, Any]:
        return {"stopped": run.stop_app(self.app)}


# --- links ----------------------------------------------------------------------------------------


@register_action("link-down")
@attrs.frozen(kw_only=True)
class LinkDown(TimelineAction):
    """Unplug a link: frames queued or on the wire are lost, nothing passes until link-up."""

    link: str = attrs.field(metadata=meta("the link's name, or one of its ends as node:interface"))

    def check(self, scenario: Scenario) -> Found:
        return check_link(scenario, self.link)

    def apply(self, run: RunContext) -> dict[str, Any]:
        link = run.link(self.link)
        link.set_up(False)
        return {"link": link.name, "up": False}


@register_action("link-up")
@attrs.frozen(kw_only=True)
class LinkUp(TimelineAction):
    """Plug a link back in."""

    link: str = attrs.field(metadata=meta("the link's name, or one of its ends as node:interface"))

    def check(self, scenario: Scenario) -> Found:
        return check_link(scenario, self.link)

    def apply(self, run: RunContext) -> dict[str, Any]:
        link = run.link(self.link)
        link.set_up(True)
        return {"link": link.name, "up": True}


@register_action("autoconf")
@attrs.frozen(kw_only=True)
class Autoconf(TimelineAction):
    """A host's interface starts IPv6 autoconfiguration now (as when it joins a network): router
    solicitations, then an address and a default route from the advertisement (SLAAC)."""

    host: Name = attrs.field(metadata=meta("the host"))
    interface: str = attrs.field(metadata=meta("its interface"))

    def check(self, scenario: Scenario) -> Found:
        yield from check_host(scenario, self.host)
        node = scenario.node(self.host)
        if isinstance(node, HostSpec):
            if node.KIND != "host":
                yield "host", f"{self.host!r} is a {node.KIND}: a router takes no router advertisements"
            names = [iface.name for iface in node.interfaces]
            if self.interface not in names:
                yield "interface", (f"{self.host} has no interface {self.interface!r}"
                                    f"{did_you_mean(self.interface, names)}")

    def apply(self, run: RunContext) -> dict[str, Any]:
        run.network.nodes[self.host].autoconfigure(self.interface)  # type: ignore[attr-defined]
        return {"host": self.host, "interface": self.interface}


@register_action("impair")
@attrs.frozen(kw_only=True)
class Impair(TimelineAction):
    """Change a link's impairments; keys left out keep their value."""

    link: str = attrs.field(metadata=meta("the link's name, or one of its ends as node:interface"))
    loss: Probability | None = attrs.field(default=None, metadata=meta("probability that a frame is lost",
                                                                        min=0, max=1))
    burst_loss: GilbertElliottSpec | None = attrs.field(default=None, metadata=meta("Gilbert-Elliott burst loss"))
    no_burst_loss: bool = attrs.field(default=False, metadata=meta("remove the burst loss model"))
    duplicate: Probability | None = attrs.field(default=None, metadata=meta("probability of duplication",
                                                                             min=0, max=1))
    reorder: Probability | None = attrs.field(default=None, metadata=meta("probability of reordering",
                                                                           min=0, max=1))
    reorder_delay: Duration | None = attrs.field(default=None, metadata=meta("extra delay of a reordered frame"))
    corrupt: Probability | None = attrs.field(default=None, metadata=meta("probability of a flipped bit",
                                                                           min=0, max=1))

    def check(self, scenario: Scenario) -> Found:
        yield from check_link(scenario, self.link)
        if self.burst_loss is not None and self.no_burst_loss:
            yield "no_burst_loss", "give burst_loss or no_burst_loss, not both"

    def apply(self, run: RunContext) -> dict[str, Any]:
        from netsim.sim.records import GilbertElliott
        from netsim.units import parse_duration

        link = run.link(self.link)
        changes: dict[str, Any] = {}
        for key in ("loss", "duplicate", "reorder", "corrupt"):
            if getattr(self, key) is not None:
                changes[key] = getattr(self, key)
        if self.reorder_delay is not None:
            changes["reorder_delay"] = parse_duration(self.reorder_delay)
        if self.burst_loss is not None:
            b = self.burst_loss
            changes["burst_loss"] = GilbertElliott(b.p, b.r, b.loss_bad, b.loss_good)
        elif self.no_burst_loss:
            changes["burst_loss"] = None
        link.set_impairments(attrs.evolve(link.impairments, **changes))
        return {"link": link.name, "changed": sorted(changes)}


# --- hosts ----------------------------------------------------------------------------------------


@register_action("ss")
@attrs.frozen(kw_only=True)
class SsSnapshot(TimelineAction):
    """Take ``ss -tan [state STATES] [FILTER]`` of a host: kept as rows and as text."""

    host: Name = attrs.field(metadata=meta("the host"))
    states: str | None = attrs.field(
        default=None, metadata=meta("ss state words, space- or comma-separated (established, syn-recv, "
                                    "time-wait, listening, connected, all ...); default: all"))
    filter: str | None = attrs.field(default=None, metadata=meta("an ss filter expression: '( sport = :9000 )'"))
    name: str | None = attrs.field(default=None, metadata=meta("a name for expectations to refer to "
                                                               "(default: HOST@AT)"))
    timers: bool = attrs.field(default=True, metadata=meta("include ss -o's timer column in the text"))

    def snapshot_name(self) -> str:
        return self.name or f"{self.host}@{self.at}"

    def check(self, scenario: Scenario) -> Found:
        from netsim.observe.ss import SsFilterError, _parse_states, compile_ss_filter

        yield from check_host(scenario, self.host)
        try:
            _parse_states(self.states)
        except SsFilterError as exc:
            yield "states", str(exc)
        if self.filter:
            try:
                compile_ss_filter(self.filter)
            except SsFilterError as exc:
                yield "filter", str(exc)

    def apply(self, run: RunContext) -> dict[str, Any]:
        snapshot = run.take_snapshot(self.snapshot_name(), self.host, self.states, self.filter, self.timers)
        return {"snapshot": snapshot["name"], "rows": len(snapshot["rows"])}


def _settings_fields() -> dict[str, Any]:
    return {field.name: field for field in attrs.fields(attrs.resolve_types(HostSettings))}


@register_action("sysctl")
@attrs.frozen(kw_only=True)
class Sysctl(TimelineAction):
    """Change host settings (the keys of a host's ``settings``) while the run goes on.  As in
    Linux, TCP settings apply to new connections; tcp_syncookies, tcp_max_syn_backlog and
    tcp_abort_on_overflow also to existing listeners (somaxconn only at the next listen())."""

    host: Name = attrs.field(metadata=meta("the host"))
    set: dict[str, Any] = attrs.field(metadata=meta("settings to change: { tcp_syncookies = 0, ... }"))

    def check(self, scenario: Scenario) -> Found:
        from netsim.scenario.load import CONVERTER, flatten_errors
        from netsim.scenario.validate import check_ranges

        yield from check_host(scenario, self.host)
        fields = _settings_fields()
        if not self.set:
            yield "set", "nothing to change"
        good = {}
        for key, value in self.set.items():
            if key not in fields:
                yield f"set.{key}", f"unknown setting {key!r}{did_you_mean(key, fields)}"
                continue
            try:
                good[key] = CONVERTER.structure(value, fields[key].type)
            except Exception as exc:
                for _path, message in flatten_errors(exc, ""):
                    yield f"set.{key}", message
        if good:
            merged = attrs.evolve(HostSettings(), **good)
            found: list[tuple[str, str]] = []
            check_ranges(merged, "set", found)
            for path, message in found:
                if path.split(".")[1].split("[")[0] in good:
                    yield path, message

    def apply(self, run: RunContext) -> dict[str, Any]:
        return {"changed": run.apply_sysctl(self.host, self.set)}


# --- NAT (the NAT router may register its own versions of these) ----------------------------------


def check_nat(scenario: Scenario, name: str, key: str = "node") -> Found:
    node = scenario.node(name)
    if node is None:
        yield key, f"no node named {name!r}{did_you_mean(name, [n.name for n in scenario.nodes])}"
    elif node.KIND not in NAT_KINDS:
        yield key, f"{name!r} is a {node.KIND}, not a NAT router ({', '.join(sorted(NAT_KINDS))})"


@register_action("nat-flush")
@attrs.frozen(kw_only=True)
class NatFlush(TimelineAction):
    """Forget every translation of a NAT router (a NAT reboot)."""

    node: Name = attrs.field(metadata=meta("the NAT router"))

    def check(self, scenario: Scenario) -> Found:
        return check_nat(scenario, self.node)

    def apply(self, run: RunContext) -> dict[str, Any]:
        router = run.network.nodes[self.node]
        flush = getattr(router, "flush_nat", None)
        return {"flushed": flush() if flush is not None else None}


@register_action("nat-dump")
@attrs.frozen(kw_only=True)
class NatDump(TimelineAction):
    """Record a NAT router's table (``conntrack -L``) at this time."""

    node: Name = attrs.field(metadata=meta("the NAT router"))
    name: str | None = attrs.field(default=None, metadata=meta("a name for the dump (default: NODE@AT)"))

    def check(self, scenario: Scenario) -> Found:
        return check_nat(scenario, self.node)

    def apply(self, run: RunContext) -> dict[str, Any]:
        router = run.network.nodes[self.node]
        lister = getattr(router, "conntrack", None)
        lines = list(lister()) if lister is not None else []
        name = self.name or f"{self.node}@{self.at}"
        run.nat_dumps.append({"name": name, "node": self.node, "at": run.network.now, "lines": lines})
        return {"dump": name, "entries": len(lines)}


# --- the section ----------------------------------------------------------------------------------


def check_timeline(scenario: Scenario, entries: tuple[TimelineAction, ...]) -> Found:
    names: dict[str, int] = {}
    for index, entry in enumerate(entries):
        for key, message in entry.check(scenario):
            yield f"[{index}].{key}", message
        if isinstance(entry, SsSnapshot):
            name = entry.snapshot_name()
            if name in names:
                yield f"[{index}].name", f"duplicate snapshot name {name!r} (also timeline[{names[name]}])"
            names.setdefault(name, index)


register_section("timeline", tuple[TimelineAction, ...],
                 "actions at simulated times: start/stop apps, links down/up, impairments, ss snapshots, sysctls, "
                 "NAT flush/dump", tuple, check_timeline)
