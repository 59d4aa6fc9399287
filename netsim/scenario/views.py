"""Observer views and plots in a scenario run.

- Every connection an app makes is followed along its path (:mod:`netsim.observe.views`): a TCP
  connection the moment its ``connect()`` completes (the NAT entries exist then), a connected
  UDP socket at the end of the run.  ``netsim run`` prints each view, ``summary.json`` and the
  report carry them, and ``[[expectations]] kind = "observer-view"`` checks what one observer saw:

  ```toml
  [[expectations]]
  kind = "observer-view"
  app = "client"                # the connection's app (or host = ...), connection = 0 by default
  observer = "server socket"    # as the view names it: "<host> socket", "<node>:<iface> in|out"
  src = "198.51.100.77"         # any of src, sport, dst, dport
  dport = 9000
  ```

- ``[[plots]]`` samples series on the simulated clock for the report:

  ```toml
  [[plots]]
  name = "SYN-RECV on server"
  metric = "state-count"        # state-count, cwnd, ssthresh, srtt, rttvar, rto, flight, nat-entries
  node = "server"
  state = "SYN-RECV"            # state-count only
  interval = "100ms"
  ```

  Connection metrics follow the first connection of ``node`` to port ``dport`` (or any).
"""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Any, Literal

import attrs

from netsim.scenario.expect import Expectation as _Expectation
from netsim.scenario.expect import Verdict, register_expectation
from netsim.scenario.model import Duration, IPv4, Name, Scenario, meta, register_section
from netsim.scenario.problems import did_you_mean
from netsim.scenario.results import endpoint
from netsim.scenario.timeline import app_names
from netsim.units import parse_duration

if TYPE_CHECKING:
    from netsim.scenario.run import RunContext


class ViewCollector:
    """Listens for completed connects and keeps each connection's view."""

    def __init__(self, context: RunContext) -> None:
        self.context = context
        self.network = context.network
        self.views: list[dict[str, Any]] = []
        self._deferred: list[tuple[int, Any, str | None]] = []
        self.network.connection_hooks.append(self._on_connect)

    def _app_of(self, sock: Any) -> str | None:
        for name, app in self.context.apps.items():
            if any(s is sock for s in app.ctx.sockets):
                return name
        return None

    def _on_connect(self, sock: Any) -> None:
        app = self._app_of(sock)
        if sock.protocol == "tcp":
            self._record(sock, app, self.network.now)
        elif sock.protocol == "udp":
            self._deferred.append((self.network.now, sock, app))

    def _record(self, sock: Any, app: str | None, at: int) -> None:
        from netsim.observe.views import connection_view

        try:
            view = connection_view(self.network, sock)
        except OSError:
            return  # no longer connected
        local, peer = view.client, view.observations[-1]
        self.views.append({
            "index": len(self.views), "app": app, "host": sock.host.name, "at": at, "protocol": sock.protocol,
            "connection": f"{sock.host.name} {endpoint((str(local.src), local.sport))} -> "
                          f"{endpoint((str(local.dst), local.dport))}",
            "view": view, **view.as_dict(), "last": peer.observer,
        })

    def finish(self) -> None:
        """Views of connected UDP sockets, now that their datagrams have made NAT entries."""
        for at, sock, app in self._deferred:
            self._record(sock, app, at)
        self._deferred.clear()
        self.views.sort(key=lambda v: (v["at"], v["index"]))
        for index, view in enumerate(self.views):
            view["index"] = index

    def as_json(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in view.items() if k != "view"} for view in self.views]


@register_expectation("observer-view")
@attrs.frozen(kw_only=True)
class ObserverView(_Expectation):
    """What one observer saw of a connection: its view's row for ``observer`` has these values.
    The connection is the ``connection``-th (default 0) made by ``app`` (or from ``host``)."""

    app: str | None = attrs.field(default=None, metadata=meta("the app that made the connection"))
    host: Name | None = attrs.field(default=None, metadata=meta("or: the host the connection was made from"))
    connection: int = attrs.field(default=0, metadata=meta("which of its connections, in order (0: the first)",
                                                           min=0))
    observer: str = attrs.field(metadata=meta("the observer as the view names it: 'server socket', 'nat:wan out'"))
    src: IPv4 | None = attrs.field(default=None, metadata=meta("the source address it must have seen"))
    sport: int | None = attrs.field(default=None, metadata=meta("the source port", min=0, max=65535))
    dst: IPv4 | None = attrs.field(default=None, metadata=meta("the destination address"))
    dport: int | None = attrs.field(default=None, metadata=meta("the destination port", min=0, max=65535))

    def describe(self) -> str:
        who = f"app {self.app}" if self.app else f"host {self.host}"
        wanted = ", ".join(f"{k}={v}" for k, v in self._wanted().items())
        return self.name or f"{who} connection {self.connection}: {self.observer} saw {wanted}"

    def _wanted(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("src", "sport", "dst", "dport") if getattr(self, k) is not None}

    def check(self, scenario: Scenario) -> Iterator[tuple[str, str]]:
        if (self.app is None) == (self.host is None):
            yield "app", "give exactly one of app and host"
        if self.app is not None and self.app not in app_names(scenario):
            yield "app", f"no app named {self.app!r}"
        if self.host is not None and scenario.node(self.host) is None:
            yield "host", f"no node named {self.host!r}"
        if not self._wanted():
            yield "observer", "say what the observer must have seen: one or more of src, sport, dst, dport"
        for key in ("src", "dst"):
            value = getattr(self, key)
            if value is not None:
                try:
                    IPv4Address(value)
                except ValueError:
                    yield key, f"{value!r} is not an IPv4 address"

    def evaluate(self, run: RunContext) -> Verdict:
        views = [v for v in run.views.views if (self.app is not None and v["app"] == self.app)
                 or (self.host is not None and v["host"] == self.host)]
        expected = f"{self.observer} saw " + ", ".join(f"{k}={v}" for k, v in self._wanted().items())
        if len(views) <= self.connection:
            return Verdict(False, expected, f"only {len(views)} connection(s) were made")
        view = views[self.connection]["view"]
        try:
            seen = view.observer(self.observer)
        except KeyError as exc:
            return Verdict(False, expected, str(exc.args[0]))
        got = {"src": str(seen.src), "sport": seen.sport, "dst": str(seen.dst), "dport": seen.dport}
        ok = all(got[k] == (str(v) if k in ("src", "dst") else v) for k, v in self._wanted().items())
        return Verdict(ok, expected, f"{self.observer} saw {got['src']}:{got['sport']} -> {got['dst']}:{got['dport']}")


# --- plots -------------------------------------------------------------------------------------------

METRICS = ("state-count", "cwnd", "ssthresh", "srtt", "rttvar", "rto", "flight", "snd_wnd", "nat-entries")


@attrs.frozen(kw_only=True)
class PlotSpec:
    """``[[plots]]``: a number sampled on the simulated clock, drawn in the report."""

    name: str = attrs.field(metadata=meta("the series' title"))
    metric: Literal["state-count", "cwnd", "ssthresh", "srtt", "rttvar", "rto", "flight", "snd_wnd",
                    "nat-entries"] = attrs.field(metadata=meta("what to sample"))
    node: Name = attrs.field(metadata=meta("the host (or NAT router, for nat-entries)"))
    state: str | None = attrs.field(default=None, metadata=meta("state-count: the ss state (SYN-RECV, ESTAB ...)"))
    dport: int | None = attrs.field(
        default=None, metadata=meta("connection metrics: the peer port of the connection to follow", min=1,
                                    max=65535))
    interval: Duration = attrs.field(default=Duration("100ms"), metadata=meta("time between samples"))


def _check_plots(scenario: Scenario, plots: tuple[PlotSpec, ...]) -> Iterator[tuple[str, str]]:
    from netsim.observe.series import tcp_states
    from netsim.proto.tcp.states import TCPState

    names: set[str] = set()
    for index, plot in enumerate(plots):
        if plot.name in names:
            yield f"[{index}].name", f"two plots are named {plot.name!r}"
        names.add(plot.name)
        if scenario.node(plot.node) is None:
            yield f"[{index}].node", f"no node named {plot.node!r}"
        if plot.metric == "state-count":
            known = {s.ss_name for s in TCPState} | {s.value for s in TCPState}
            if plot.state is None:
                yield f"[{index}].state", f"state-count needs a state, one of {', '.join(sorted(known))}"
            elif not tcp_states(plot.state):
                hint = (f" (did you mean {plot.state.upper()!r}?)" if plot.state.upper() in known
                        else f"{did_you_mean(plot.state, known)}")
                yield f"[{index}].state", (f"{plot.state!r} is not a TCP state{hint}: one of "
                                           f"{', '.join(sorted(known))}")
        try:
            if parse_duration(plot.interval) <= 0:
                yield f"[{index}].interval", "the interval must be positive"
        except ValueError as exc:
            yield f"[{index}].interval", str(exc)


register_section("plots", tuple[PlotSpec, ...], "series sampled on the simulated clock, drawn in the report",
                 tuple, _check_plots)


def _connection_probe(host: Any, metric: str, dport: int | None) -> Any:
    from netsim.observe.series import connection_metric

    chosen: dict[str, Any] = {}

    def probe() -> Any:
        sock = chosen.get("sock")
        if sock is None:
            for candidate in sorted(host.tcp.connections.values(), key=lambda s: s.sort_key()):
                if candidate.remote is not None and (dport is None or candidate.remote[1] == dport) \
                        and candidate.parent is None:
                    chosen["sock"] = sock = candidate
                    break
        return None if sock is None else connection_metric(sock, metric)()

    return probe


def start_plots(context: RunContext) -> dict[str, Any]:
    """Start a sampler per plot; returns name -> sampler (read ``.series[name]`` at the end)."""
    from netsim.observe.series import Sampler, nat_entries, state_count

    samplers: dict[str, Any] = {}
    for plot in context.scenario.sections.get("plots", ()):
        node = context.built.nodes[plot.node]
        sampler = Sampler(context.network, parse_duration(plot.interval))
        if plot.metric == "state-count":
            sampler.add(plot.name, state_count(node, plot.state))
        elif plot.metric == "nat-entries":
            sampler.add(plot.name, nat_entries(node))
        else:
            sampler.add(plot.name, _connection_probe(node, plot.metric, plot.dport))
        samplers[plot.name] = sampler
    return samplers
