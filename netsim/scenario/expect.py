"""The ``[[expectations]]`` section: checks evaluated when a run ends.

Each entry is ``{kind = "...", ...}``; the ``kind`` picks an attrs class registered with
:func:`register_expectation` (the NAT router adds ``observer-view`` this way).  An expectation
compares what it *sees* with one or more of ``equals``, ``not_equals``, ``at_least``,
``at_most`` and ``contains``; a failed one says what was expected and what was seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from netsim.scenario.model import (
    BindAddress,
    Name,
    Scenario,
    meta,
    register_section,
    register_variant,
    variant_base,
)
from netsim.scenario.problems import did_you_mean
from netsim.scenario.timeline import SsSnapshot, app_names, check_app, check_host

if TYPE_CHECKING:
    from netsim.scenario.run import RunContext

Found = Iterator[tuple[str, str]]


@attrs.frozen
class Verdict:
    """The outcome of one expectation."""

    ok: bool
    expected: str
    seen: str

    def __str__(self) -> str:
        return f"{'ok' if self.ok else 'FAILED'}: expected {self.expected}; seen {self.seen}"


@variant_base("kind")
@attrs.frozen(kw_only=True)
class Expectation:
    """A check at the end of the run; the ``kind`` key says which."""

    name: str | None = attrs.field(default=None, metadata=meta("a name to show in the results"))

    TAG_VALUE: ClassVar[str] = ""

    @property
    def kind(self) -> str:
        return self.TAG_VALUE

    def describe(self) -> str:
        """One line saying what is checked (the name, if given)."""
        return self.name or self.TAG_VALUE

    def check(self, scenario: Scenario) -> Found:
        """Problems only this kind knows about, as (key, message)."""
        return iter(())

    def evaluate(self, run: RunContext) -> Verdict:  # pragma: no cover - abstract
        raise NotImplementedError


def register_expectation(name: str) -> Any:
    """Class decorator: ``[[expectations]]`` entries with ``kind = "<name>"`` are this class."""
    return register_variant(Expectation, name)


def _show(value: Any) -> str:
    import json

    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, sort_keys=True) if not isinstance(value, str) else repr(value)


@attrs.frozen(kw_only=True)
class Comparison(Expectation):
    """The comparisons shared by the kinds that check one value."""

    equals: Any = attrs.field(default=None, metadata=meta("the value must equal this"))
    not_equals: Any = attrs.field(default=None, metadata=meta("the value must not equal this"))
    at_least: float | None = attrs.field(default=None, metadata=meta("the value must be at least this"))
    at_most: float | None = attrs.field(default=None, metadata=meta("the value must be at most this"))
    contains: Any = attrs.field(default=None, metadata=meta("the value (a list or text) must contain this"))

    def comparisons(self) -> list[tuple[str, Any]]:
        return [(key, getattr(self, key)) for key in ("equals", "not_equals", "at_least", "at_most", "contains")
                if getattr(self, key) is not None]

    def check(self, scenario: Scenario) -> Found:
        if not self.comparisons() and not self._default_comparison():
            yield "equals", "say what to expect: equals, not_equals, at_least, at_most or contains"

    def _default_comparison(self) -> list[tuple[str, Any]]:
        return []

    def expected_text(self) -> str:
        words = {"equals": "=", "not_equals": "!=", "at_least": ">=", "at_most": "<=", "contains": "contains"}
        return " and ".join(f"{words[key]} {_show(value)}" for key, value in
                            (self.comparisons() or self._default_comparison()))

    def compare(self, what: str, seen: Any) -> Verdict:
        ok = True
        for key, wanted in self.comparisons() or self._default_comparison():
            if key == "equals":
                ok &= seen == wanted
            elif key == "not_equals":
                ok &= seen != wanted
            elif key in ("at_least", "at_most"):
                if isinstance(seen, bool) or not isinstance(seen, int | float):
                    ok = False
                elif key == "at_least":
                    ok &= seen >= wanted
                else:
                    ok &= seen <= wanted
            elif key == "contains":
                ok &= isinstance(seen, list | str | dict) and (
                    wanted in seen if not isinstance(seen, str) else str(wanted) in seen)
        return Verdict(bool(ok), f"{what} {self.expected_text()}", f"{what} = {_show(seen)}")


def _missing(what: str, expected: str, why: str) -> Verdict:
    return Verdict(False, f"{what} {expected}", why)


@register_expectation("app")
@attrs.frozen(kw_only=True)
class AppField(Comparison):
    """A field of an app's result: ``error``, ``errors.ECONNREFUSED``, ``connections[0].local``,
    ``peers.length``, or the app's ``status`` (finished, running, stopped, not-started, crashed)."""

    app: str = attrs.field(metadata=meta("the app's name (or apps[INDEX])"))
    field: str = attrs.field(metadata=meta("the field of its result, dotted: errors.ECONNREFUSED"))

    def describe(self) -> str:
        return self.name or f"app {self.app}: {self.field} {self.expected_text()}"

    def check(self, scenario: Scenario) -> Found:
        yield from super().check(scenario)
        yield from check_app(scenario, self.app)

    def evaluate(self, run: RunContext) -> Verdict:
        from netsim.scenario.results import lookup

        what = f"{self.app}.{self.field}"
        report = run.app_report(self.app)
        try:
            seen = lookup(report["result"], self.field)
        except KeyError:
            try:
                seen = lookup(report, self.field)
            except KeyError as exc:
                keys = ", ".join(sorted(report["result"])) or "none"
                return _missing(what, self.expected_text(), f"no field {exc} in its result (fields: {keys}; "
                                                            f"status {report['status']})")
        return self.compare(what, seen)


@register_expectation("errno")
@attrs.frozen(kw_only=True)
class ErrnoSeen(Comparison):
    """How many times an app saw an errno (``at_least = 1`` unless said otherwise)."""

    app: str = attrs.field(metadata=meta("the app's name (or apps[INDEX])"))
    errno: str = attrs.field(metadata=meta("the errno name: ECONNREFUSED, ETIMEDOUT, EADDRNOTAVAIL ..."))

    def _default_comparison(self) -> list[tuple[str, Any]]:
        return [("at_least", 1)]

    def describe(self) -> str:
        return self.name or f"app {self.app} saw {self.errno} {self.expected_text()} times"

    def check(self, scenario: Scenario) -> Found:
        import errno as errno_module

        yield from check_app(scenario, self.app)
        known = set(errno_module.errorcode.values())
        if self.errno not in known:
            yield "errno", f"unknown errno {self.errno!r}{did_you_mean(self.errno, known)}"

    def evaluate(self, run: RunContext) -> Verdict:
        report = run.app_report(self.app)
        errors = report["result"].get("errors") or {}
        count = errors.count(self.errno) if isinstance(errors, list) else int(errors.get(self.errno, 0))
        if report["result"].get("error") == self.errno and not count:
            count = 1
        verdict = self.compare(f"{self.app}: {self.errno} count", count)
        return attrs.evolve(verdict, seen=f"{verdict.seen} (all errors: {_show(errors)})")


@register_expectation("counter")
@attrs.frozen(kw_only=True)
class Counter(Comparison):
    """A counter: a host's TCP counters (``scope = "tcp"``: OutRsts, SyncookiesSent ...), a
    listener's (``"listener"`` with ``port``: ListenOverflows, ListenDrops, SyncookiesSent,
    SyncookiesRecv, TCPReqQFullDrop), an interface's drops by reason or ``rx_frames``...
    (``"interface"``), or the host's own (``"host"``: forwarded, icmp-ratelimited).  A counter never
    incremented is 0."""

    host: Name = attrs.field(metadata=meta("the node"))
    counter: str = attrs.field(metadata=meta("the counter's name"))
    scope: str = attrs.field(default="tcp", metadata=meta("tcp, listener, interface or host"))
    port: int | None = attrs.field(default=None, metadata=meta("scope listener: the listening port", min=1,
                                                               max=65535))
    interface: str | None = attrs.field(default=None, metadata=meta("scope interface: its name"))

    def describe(self) -> str:
        where = {"listener": f" port {self.port}", "interface": f" {self.interface}"}.get(self.scope, "")
        return self.name or f"{self.host} {self.scope}{where} {self.counter} {self.expected_text()}"

    def check(self, scenario: Scenario) -> Found:
        yield from super().check(scenario)
        node = scenario.node(self.host)
        if node is None:
            yield "host", f"no node named {self.host!r}{did_you_mean(self.host, [n.name for n in scenario.nodes])}"
        scopes = ("tcp", "listener", "interface", "host")
        if self.scope not in scopes:
            yield "scope", f"{self.scope!r} is not one of {', '.join(scopes)}{did_you_mean(self.scope, scopes)}"
        if self.scope == "listener" and self.port is None:
            yield "port", "scope 'listener' needs the listening port"
        if self.scope == "interface":
            ports = {port.name for port in node.port_info()} if node is not None else set()
            if self.interface is None:
                yield "interface", "scope 'interface' needs the interface name"
            elif node is not None and self.interface not in ports:
                hint = did_you_mean(self.interface, ports)
                yield "interface", f"{self.host} has no interface {self.interface!r}{hint}"

    def evaluate(self, run: RunContext) -> Verdict:
        what = self.describe_counter()
        found = run.counter(self.host, self.scope, self.counter, port=self.port, interface=self.interface)
        if found is None:
            return _missing(what, self.expected_text(), f"no listener on port {self.port} was seen on {self.host}")
        return self.compare(what, found)

    def describe_counter(self) -> str:
        where = {"listener": f":{self.port}", "interface": f":{self.interface}"}.get(self.scope, "")
        return f"{self.host}{where} {self.scope} {self.counter}"


@register_expectation("state-count")
@attrs.frozen(kw_only=True)
class StateCount(Comparison):
    """How many of a host's TCP sockets are in a state, at a timeline ``ss`` snapshot or at the end."""

    host: Name = attrs.field(metadata=meta("the host"))
    state: str = attrs.field(metadata=meta("an ss state word or group (syn-recv, SYN-RECV, time-wait, "
                                           "established ...)"))
    snapshot: str | None = attrs.field(default=None, metadata=meta("the name of an ss snapshot of the "
                                                                   "timeline (default: the end of the run)"))
    filter: str | None = attrs.field(default=None, metadata=meta("an ss filter expression"))

    def describe(self) -> str:
        when = f"at {self.snapshot}" if self.snapshot else "at the end"
        return self.name or f"{self.host} {self.state} sockets {when} {self.expected_text()}"

    def check(self, scenario: Scenario) -> Found:
        from netsim.observe.ss import SsFilterError, _parse_states, compile_ss_filter

        yield from super().check(scenario)
        yield from check_host(scenario, self.host)
        try:
            _parse_states(self.state)
        except SsFilterError as exc:
            yield "state", str(exc)
        if self.filter:
            try:
                compile_ss_filter(self.filter)
            except SsFilterError as exc:
                yield "filter", str(exc)
        if self.snapshot is not None:
            snapshots = {e.snapshot_name(): e for e in scenario.sections.get("timeline", ())
                         if isinstance(e, SsSnapshot)}
            if self.snapshot not in snapshots:
                yield "snapshot", (f"no ss snapshot named {self.snapshot!r}{did_you_mean(self.snapshot, snapshots)}"
                                   f" (snapshots: {', '.join(sorted(snapshots)) or 'none'})")
            elif snapshots[self.snapshot].host != self.host:
                yield "snapshot", f"snapshot {self.snapshot!r} is of {snapshots[self.snapshot].host}, not {self.host}"

    def evaluate(self, run: RunContext) -> Verdict:
        from netsim.observe.ss import _parse_states, compile_ss_filter

        wanted = {state.ss_name for state in _parse_states(self.state)}
        predicate = compile_ss_filter(self.filter) if self.filter else None
        if self.snapshot is not None:
            snapshot = run.snapshot(self.snapshot)
            if snapshot is None:
                return _missing(self.state, self.expected_text(), f"snapshot {self.snapshot!r} was not taken "
                                                                  "(the run ended before it)")
            rows = [row for row in snapshot["objects"] if predicate is None or predicate(row)]
        else:
            rows = run.ss_rows(self.host, None, self.filter)
        count = sum(1 for row in rows if row.state in wanted)
        when = f"at {self.snapshot}" if self.snapshot else "at the end"
        return self.compare(f"{self.host} {self.state} sockets {when}", count)


@register_expectation("peer")
@attrs.frozen(kw_only=True)
class PeerSeen(Expectation):
    """A host saw this peer: an app's accepted connections (or datagram senders, or its own
    connection's peer) include ``peer_address`` (and ``peer_port``).  ``seen = false`` expects the
    opposite."""

    host: Name = attrs.field(metadata=meta("the host whose view is checked"))
    app: str | None = attrs.field(default=None, metadata=meta("the app on it (default: every app on the host)"))
    peer_address: BindAddress = attrs.field(
        metadata=meta("the peer address it must have seen (IPv6 as written: '::ffff:10.0.0.1', '2001:db8::5')"))
    peer_port: int | None = attrs.field(default=None, metadata=meta("and the peer port", min=0, max=65535))
    seen: bool = attrs.field(default=True, metadata=meta("false: it must not have seen it"))

    def describe(self) -> str:
        peer = self.peer_address + (f":{self.peer_port}" if self.peer_port is not None else "")
        return self.name or f"{self.host} {'saw' if self.seen else 'did not see'} peer {peer}"

    def check(self, scenario: Scenario) -> Found:
        yield from check_host(scenario, self.host)
        if self.app is not None:
            yield from check_app(scenario, self.app)
            index = app_names(scenario).get(self.app)
            if index is not None and scenario.apps[index].node != self.host:
                yield "app", f"app {self.app!r} runs on {scenario.apps[index].node}, not {self.host}"

    def evaluate(self, run: RunContext) -> Verdict:
        peers = run.peers_seen(self.host, self.app)
        address = f"[{self.peer_address}]" if ":" in self.peer_address else self.peer_address
        wanted = address + (f":{self.peer_port}" if self.peer_port is not None else "")
        hit = any(peer == wanted or (self.peer_port is None and peer.rpartition(":")[0].split("%")[0]
                                     in (address, address[:-1])) for peer in peers)
        where = f"{self.host}" + (f" ({self.app})" if self.app else "")
        expected = f"{where} {'sees' if self.seen else 'does not see'} peer {wanted}"
        shown = ", ".join(peers[:10]) + (f" ... ({len(peers)} in all)" if len(peers) > 10 else "")
        return Verdict(hit == self.seen, expected, f"peers seen: {shown or 'none'}")


def check_expectations(scenario: Scenario, entries: tuple[Expectation, ...]) -> Found:
    for index, entry in enumerate(entries):
        for key, message in entry.check(scenario):
            yield f"[{index}].{key}", message


register_section("expectations", tuple[Expectation, ...],
                 "checks evaluated at the end of the run: app results, errnos, counters, state counts, peers",
                 tuple, check_expectations)
