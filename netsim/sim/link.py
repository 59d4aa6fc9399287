"""Point-to-point full-duplex links: rate, propagation delay, a drop-tail queue, impairments.

A frame occupies the line for its serialisation time at the link rate, counting what Ethernet
really puts on the wire: preamble and start delimiter (8 bytes), the FCS (4), padding to the
64-byte minimum, and the 12-byte inter-frame gap, so a 1514-byte frame takes 1538 byte times.
It then arrives after the propagation delay.  Frames wait in a drop-tail queue bounded in
frames and/or bytes.  Impairments draw from the direction's own random stream
(``link/<a>-><b>``): Bernoulli or Gilbert-Elliott loss, duplication, reordering (an extra delay
for a fraction of frames) and corruption (random bit flips the receiver's checksums must catch).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from netsim.sim.interface import Interface
from netsim.sim.network import schedule
from netsim.sim.records import Impairments, LinkCounters
from netsim.units import parse_duration, parse_rate

if TYPE_CHECKING:
    from netsim.sim.network import Network

ETHERNET_OVERHEAD = 8 + 4 + 12  # preamble+SFD, FCS, inter-frame gap
ETHERNET_MIN_FRAME = 64  # with FCS


def _probability(_inst: Any, attribute: Any, value: Any) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be a probability in 0..1, got {value!r}")


class Wake:
    """A link's scheduled call (end of a transmission, arrival at the far end): of a SimPy event
    only what the event loop reads (``callbacks``, ``_ok``, ``_value``; Environment.step and
    Network.run alike).  Nobody waits on these, so they need none of ``simpy.Timeout``'s
    machinery, and as a slotted class (native in a compiled build) one costs a fraction of it:
    three of them per data segment and its share of an ACK."""

    __slots__ = ("callbacks", "_ok", "_value")

    def __init__(self, callback: Callable[[Wake], None], value: object) -> None:
        self.callbacks: list[Callable[[Wake], None]] | None = [callback]
        self._ok = True
        self._value = value


class Channel:
    """One direction of a link."""

    def __init__(self, link: Link, src: Interface, dst: Interface) -> None:
        self.link = link
        self.src = src
        self.dst = dst
        self.name = f"{src.full_name}->{dst.full_name}"
        self.rng = link.network.stream(f"link/{self.name}")
        self.queue: deque[bytes] = deque()
        self._decoded: deque[object] = deque()  # beside each queued frame: its decoded TCP segment or None
        self.queued_bytes = 0
        self.busy = False
        self.counters = LinkCounters()
        self._bad_state = False
        self._transmitting: Any = None
        self._env = link.network.env
        #: a filter on what enters this direction (an nftables drop rule on the sender's
        #: egress): frames for which it returns True are dropped, counted and traced
        self.drop_if: Callable[[bytes], bool] | None = None

    def send(self, data: bytes, decoded: object = None) -> None:
        if self.drop_if is not None and self.drop_if(data):
            self.counters.filtered += 1
            self.src.drop("link-filter", len(data))
            return
        link = self.link
        if not link.up:
            self.counters.down_drops += 1
            self.src.drop("link-down", len(data))
            return
        if (link.queue_packets is not None and len(self.queue) >= link.queue_packets) or (
            link.queue_bytes is not None and self.queued_bytes + len(data) > link.queue_bytes
        ):
            self.counters.queue_drops += 1
            self.src.drop("queue-full", len(data))
            return
        self.queue.append(data)
        self._decoded.append(decoded)
        self.queued_bytes += len(data)
        if not self.busy:
            self._start()

    def _start(self) -> None:
        data = self.queue[0]
        self.busy = True
        frame = len(data) + 4  # (max() written out: the builtin costs ten times the comparison)
        wire = (frame if frame > ETHERNET_MIN_FRAME else ETHERNET_MIN_FRAME) + 8 + 12
        self._transmitting = self._wake(-(-wire * 8_000_000_000 // self.link.rate), None, self._sent)  # tx_time

    def _wake(self, delay: int, value: object, callback: Any) -> Wake:
        """Call ``callback`` after ``delay``: a :class:`Wake` in SimPy's queue, with the next id
        from the environment's counter, as ``env.timeout(delay, value)`` would take."""
        event = Wake(callback, value)
        schedule(self._env, event, delay)
        return event

    def _sent(self, event: Any) -> None:
        if event is not self._transmitting:
            return  # the link went down during the transmission; flush() already counted the frame
        data = self.queue.popleft()
        decoded = self._decoded.popleft()
        self.queued_bytes -= len(data)
        self.counters.sent += 1
        link = self.link
        if link.impaired:
            self._impaired(data, link.generation, decoded)
        else:
            self._wake(link.delay, (data, link.generation, decoded, True), self._arrival)
        if self.queue:
            self._start()
        else:
            self.busy = False

    def _impaired(self, data: bytes, generation: int, decoded: object) -> None:
        impairments = self.link.impairments
        rng = self.rng
        counters = self.counters
        burst = impairments.burst_loss
        if burst is not None:
            if self._bad_state:
                self._bad_state = rng.random() >= burst.r
            else:
                self._bad_state = rng.random() < burst.p
            loss = burst.loss_bad if self._bad_state else burst.loss_good
            if loss and rng.random() < loss:
                counters.lost += 1
                self._trace_impairment("lost", data)
                return
        if impairments.loss and rng.random() < impairments.loss:
            counters.lost += 1
            self._trace_impairment("lost", data)
            return
        as_sent = True
        if impairments.corrupt and rng.random() < impairments.corrupt:
            bit = rng.randrange(len(data) * 8)
            data = data[: bit // 8] + bytes([data[bit // 8] ^ (0x80 >> (bit % 8))]) + data[bit // 8 + 1 :]
            counters.corrupted += 1
            decoded = None  # the bytes changed: the receiver must decode (and reject) them
            as_sent = False  # (and the trace must hash them)
            self._trace_impairment("corrupted", data, bit=bit)
        copies = 1
        if impairments.duplicate and rng.random() < impairments.duplicate:
            copies = 2
            counters.duplicated += 1
            self._trace_impairment("duplicated", data)
        for _ in range(copies):
            delay = self.link.delay
            if impairments.reorder and rng.random() < impairments.reorder:
                delay += impairments.reorder_delay
                counters.reordered += 1
                self._trace_impairment("reordered", data)
            self._wake(delay, (data, generation, decoded, as_sent), self._arrival)

    def _trace_impairment(self, what: str, data: bytes, **fields: Any) -> None:
        network = self.link.network
        network.trace.event(network.now, "impairment", self.name, what=what, len=len(data), **fields)

    def _arrival(self, event: Any) -> None:
        """A frame reaches the far end (its value: the bytes, the link's generation when it
        left, its decoded TCP segment or None, and whether the bytes are those sent)."""
        data, generation, decoded, as_sent = event._value
        if generation != self.link.generation:
            # the link went down while the frame was on the wire
            self.counters.down_drops += 1
            self.dst.drop("link-down", len(data))
            return
        self.counters.delivered += 1
        self.dst.receive(data, decoded, as_sent)

    def flush(self) -> None:
        """The link went down: the frame on the line and every queued one are lost."""
        while self.queue:
            data = self.queue.popleft()
            self.counters.down_drops += 1
            self.src.drop("link-down", len(data))
        self._decoded.clear()
        self.queued_bytes = 0
        self.busy = False
        self._transmitting = None


class Link:
    """A cable between two interfaces; ``set_up(False)`` cuts it (queued and in-flight frames are lost)."""

    def __init__(
        self,
        network: Network,
        a: Interface,
        b: Interface,
        *,
        rate: str | int = "1Gbps",
        delay: str | int = "1ms",
        queue_packets: int | None = 1000,
        queue_bytes: int | str | None = None,
        impairments: Impairments | None = None,
    ) -> None:
        from netsim.sim.network import TopologyError
        from netsim.units import parse_size

        for end in (a, b):
            if not isinstance(end, Interface):
                raise TopologyError(f"a link joins two interfaces, got {end!r}")
            if end.channel is not None:
                raise TopologyError(f"{end.full_name} is already linked")
        if a is b:
            raise TopologyError(f"cannot link {a.full_name} to itself")
        self.network = network
        self.a, self.b = a, b
        self.name = f"{a.full_name}<->{b.full_name}"
        self.rate = parse_rate(rate)
        self.delay = parse_duration(delay)
        if queue_packets is not None and queue_packets < 1:
            raise ValueError(f"{self.name}: queue_packets must be at least 1")
        self.queue_packets = queue_packets
        self.queue_bytes = None if queue_bytes is None else parse_size(queue_bytes)
        self.impairments = impairments or Impairments()
        self.up = True
        self.generation = 0
        self.forward = Channel(self, a, b)
        self.backward = Channel(self, b, a)
        a.channel = self.forward
        b.channel = self.backward

    @property
    def impairments(self) -> Impairments:
        return self._impairments

    @impairments.setter
    def impairments(self, impairments: Impairments) -> None:
        self._impairments = impairments
        #: whether any impairment is on (Impairments.any, read once here rather than per frame)
        self.impaired = impairments.any

    def set_up(self, up: bool) -> None:
        """Take the link down (frames queued or on the wire are lost) or bring it back."""
        if up == self.up:
            return
        self.up = up
        if not up:
            self.generation += 1
            self.forward.flush()
            self.backward.flush()
        self.network.trace.event(self.network.now, "link-state", self.name, up=up)

    def set_impairments(self, impairments: Impairments) -> None:
        self.impairments = impairments
        self.network.trace.event(self.network.now, "impairments", self.name, **attrs.asdict(impairments))
