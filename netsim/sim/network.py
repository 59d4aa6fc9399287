"""The Network: one SimPy clock, seeded random streams, the trace, and the nodes and links.

Simulated time is ``env.now``, an int of nanoseconds.  Randomness comes only from
:meth:`Network.stream`: an independent ``random.Random`` per named component, seeded from the
network seed and the name through BLAKE2b (never ``hash()``, which is salted per process), so
adding a host does not change what another host draws.
"""

from __future__ import annotations

import hashlib
import random
from heapq import heappop, heappush
from typing import TYPE_CHECKING, Any

import simpy
from simpy.core import StopSimulation
from simpy.events import NORMAL, EventPriority

from netsim.errors import NetsimError
from netsim.sim.records import RunResult
from netsim.sim.trace import Trace
from netsim.units import format_duration, format_time, parse_duration

if TYPE_CHECKING:
    from netsim.sim.link import Link
    from netsim.sim.node import Node


def schedule(env: simpy.Environment, event: Any, delay: int = 0) -> None:
    """``env.schedule(event, NORMAL, delay)`` written out: the same place in the queue (the next
    id from the environment's counter) without a Python call, for the events every frame and
    every read schedule; ``event`` needs only what the event loop reads (see link.Wake)."""
    queue: list[Any] = env._queue  # (SimPy types its queue as holding its own events only)
    heappush(queue, (env._now + delay, NORMAL, next(env._eid), event))


class TopologyError(NetsimError, ValueError):
    """A network that cannot be built as asked (a duplicate name, an interface linked twice ...)."""


class Network:
    """A simulated network. ``time_limit`` and ``event_limit`` bound every run."""

    def __init__(
        self,
        seed: int = 0,
        *,
        time_limit: str | int | None = "1h",
        event_limit: int | None = 50_000_000,
        keep_trace: bool = True,
    ) -> None:
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        self.seed = seed
        self.env = simpy.Environment(initial_time=0)
        self.trace = Trace(keep=keep_trace)
        #: called with each socket whose connect() completes (TCP) or fixes a peer (UDP): observers
        #: such as the scenario runner's connection views read the network at that moment
        self.connection_hooks: list[Any] = []
        self.time_limit = None if time_limit is None else parse_duration(time_limit)
        self.event_limit = event_limit
        self.events = 0
        self.nodes: dict[str, Node] = {}
        self.links: list[Link] = []
        self._streams: dict[str, random.Random] = {}

    @property
    def now(self) -> int:
        return int(self.env.now)

    def stream(self, name: str) -> random.Random:
        """The random stream of one named component (the same object on every call)."""
        rng = self._streams.get(name)
        if rng is None:
            digest = hashlib.blake2b(f"{self.seed}/{name}".encode(), digest_size=8).digest()
            rng = self._streams[name] = random.Random(int.from_bytes(digest, "big"))
        return rng

    def register(self, node: Node) -> None:
        if node.name in self.nodes:
            raise TopologyError(f"a node named {node.name!r} already exists")
        self.nodes[node.name] = node

    def node(self, name: str) -> Node:
        try:
            return self.nodes[name]
        except KeyError:
            raise TopologyError(f"no node named {name!r}") from None

    # --- building -----------------------------------------------------------------------------

    def add_host(self, name: str, **settings: Any) -> Any:
        from netsim.sim.host import Host

        return Host(self, name, **settings)

    def add_router(self, name: str, **settings: Any) -> Any:
        from netsim.sim.host import Router

        return Router(self, name, **settings)

    def add_nat_router(self, name: str, **settings: Any) -> Any:
        """A router that can translate (call its ``enable_nat`` once its interfaces exist)."""
        from netsim.sim.nat import NatRouter

        return NatRouter(self, name, **settings)

    def add_switch(self, name: str, **settings: Any) -> Any:
        from netsim.sim.switch import Switch

        return Switch(self, name, **settings)

    def connect(self, a: Any, b: Any, **settings: Any) -> Link:
        """Join two interfaces with a full-duplex point-to-point link."""
        from netsim.sim.link import Link

        link = Link(self, a, b, **settings)
        self.links.append(link)
        return link

    # --- running ------------------------------------------------------------------------------

    def process(self, generator: Any) -> simpy.Process:
        return self.env.process(generator)

    def run(self, until: str | int | None = None) -> RunResult:
        """Run until ``until`` (a time), or until nothing is left to do, within the limits."""
        env = self.env
        stop_at = None if until is None else parse_duration(until)
        limit_reason = None
        if self.time_limit is not None and (stop_at is None or stop_at > self.time_limit):
            stop_at, limit_reason = self.time_limit, "time-limit"
        budget = None if self.event_limit is None else self.event_limit - self.events
        # SimPy's Environment.peek and .step, inlined: a run takes millions of steps, and the two
        # calls per step cost more than the heap operation they wrap.  The same events are popped
        # in the same (time, priority, id) order, and a failed event nobody defused still crashes
        # the run with a copy of its exception, as Environment.step does.
        queue = env._queue
        stop = float("inf") if stop_at is None else stop_at
        left = -1 if budget is None else max(0, budget)  # (-1: never reached)
        done = 0
        reason = "idle"
        try:
            while queue:
                if queue[0][0] > stop:
                    reason = limit_reason or "until"
                    break
                if done == left:
                    reason = "event-limit"
                    break
                env._now, _, _, event = heappop(queue)
                done += 1
                callbacks, event.callbacks = event.callbacks, None  # type: ignore[assignment]
                try:
                    for callback in callbacks:
                        callback(event)
                except StopSimulation:
                    event.callbacks = callbacks[callbacks.index(callback) + 1 :]
                    env.schedule(event, EventPriority(-1))  # (what Environment.step does)
                    raise
                if not event._ok and not hasattr(event, "_defused"):
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    raise exc
        finally:
            self.events += done
        if reason in ("until", "time-limit") and stop_at is not None:
            env._now = stop_at  # advance the clock to the stop time, as env.run(until=...) does
        if reason == "time-limit":
            message = f"stopped at the time limit of {format_duration(self.time_limit or 0)}"
        elif reason == "event-limit":
            message = f"stopped at the event limit of {self.event_limit:,} events at t={format_time(self.now)}"
        elif reason == "until":
            message = f"ran until t={format_time(self.now)}"
        else:
            message = f"nothing left to do at t={format_time(self.now)}"
        if reason in ("time-limit", "event-limit"):
            self.trace.event(self.now, "limit", "network", reason=reason, message=message)
        return RunResult(reason, self.now, done, message)

    def trace_hash(self) -> str:
        """SHA-256 of the canonical serialisation of every observable event so far."""
        return self.trace.hexdigest()
