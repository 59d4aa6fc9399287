"""Time series sampled on the simulated clock: cwnd, ssthresh, srtt of a connection, how many of a
host's sockets are in a state (SYN-RECV occupancy under a flood), a NAT's table size.

A :class:`Sampler` is a SimPy process that reads each registered probe every ``interval`` and
keeps ``(t_ns, value)`` points; the report draws them.  Probes only read state, so sampling
never changes a run (its trace hash is the same with or without a sampler).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from netsim.proto.tcp.states import TCPState

Probe = Callable[[], float | int | None]


class Sampler:
    """Samples named probes every ``interval`` ns from ``start`` until ``stop`` (or the run's end)."""

    def __init__(self, network: Any, interval: int, *, start: int = 0, stop: int | None = None) -> None:
        if interval <= 0:
            raise ValueError(f"a sampling interval must be positive, got {interval}")
        self.network = network
        self.interval = interval
        self.start = start
        self.stop = stop
        self.probes: dict[str, Probe] = {}
        self.series: dict[str, list[tuple[int, float]]] = {}
        self._running = False

    def add(self, name: str, probe: Probe) -> None:
        if name in self.probes:
            raise ValueError(f"a series named {name!r} is already sampled")
        self.probes[name] = probe
        self.series[name] = []
        if not self._running:
            self._running = True
            self.network.process(self._run())

    def _run(self) -> Any:
        env = self.network.env
        if env.now < self.start:
            yield env.timeout(self.start - env.now)
        while self.stop is None or env.now <= self.stop:
            for name in sorted(self.probes):
                value = self.probes[name]()
                if value is not None:
                    self.series[name].append((int(env.now), float(value)))
            if env.peek() == float("inf"):  # nothing else will ever happen: stop instead of ticking for ever
                return
            yield env.timeout(self.interval)


def tcp_states(state: str) -> frozenset[TCPState]:
    """The states a name stands for, as ``ss`` shows them (``SYN-RECV``, ``ESTAB``), as RFC 9293
    writes them (``SYN-RECEIVED``), or as ss's filter words and groups (``syn-recv``,
    ``established``, ``connected``); empty when it is none of those."""
    from netsim.observe.ss import _STATE_WORDS

    exact = frozenset(s for s in TCPState if state in (s.ss_name, s.value))
    return exact or _STATE_WORDS.get(state.lower(), frozenset())


def state_count(host: Any, state: str) -> Probe:
    """How many of ``host``'s TCP sockets are in ``state`` (any name :func:`tcp_states` takes)."""
    wanted = tcp_states(state)
    if not wanted:
        raise ValueError(f"unknown TCP state {state!r}")

    def probe() -> int:
        return sum(1 for sock in host.tcp.connections.values() if sock.conn is not None and sock.conn.state in wanted)

    return probe


def connection_metric(sock: Any, metric: str) -> Probe:
    """A number of ``sock``'s connection: ``cwnd``, ``ssthresh``, ``srtt``, ``rttvar``, ``rto``,
    ``snd_wnd``, ``rcv_wnd``, ``flight`` (bytes and ns; None before it connects or after it ends)."""
    readers: dict[str, Callable[[Any], Any]] = {
        "cwnd": lambda c: c.cwnd, "ssthresh": lambda c: min(c.ssthresh, 1 << 30), "srtt": lambda c: c.rtt.srtt,
        "rttvar": lambda c: c.rtt.rttvar, "rto": lambda c: c.rtt.rto, "snd_wnd": lambda c: c.snd_wnd,
        "rcv_wnd": lambda c: c.rcv_wnd, "flight": lambda c: c.flight,
    }
    if metric not in readers:
        raise ValueError(f"unknown connection metric {metric!r}; known: {', '.join(readers)}")
    read = readers[metric]

    def probe() -> Any:
        conn = sock.conn
        if conn is None or not conn.state.synchronized:
            return None
        return read(conn)

    return probe


def nat_entries(router: Any) -> Probe:
    """How many translation entries a NAT router holds."""
    def probe() -> int:
        return 0 if router.nat is None else len(router.nat._by_orig)

    return probe
