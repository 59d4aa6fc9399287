"""Two TCP engines joined by an in-memory wire: the sans-I/O engine tested with no SimPy.

A tiny discrete-event loop (a heap of (time, order, action)); segments cross as real bytes
(encoded with the pseudo-header checksum, decoded with verification), so corruption is caught
as a kernel would catch it.  Impairments draw from a seeded ``random.Random``.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any

from netsim.errors import WireError
from netsim.proto.tcp.connection import TCPConnection
from netsim.proto.tcp.settings import MS, TCPSettings
from netsim.proto.tcp.states import TCPState
from netsim.wire.checksum import pseudo_header_sum
from netsim.wire.tcp import TCPSegment
from netsim.wire.tcp import _decode as decode_tcp

A_IP, B_IP = IPv4Address("10.0.0.1"), IPv4Address("10.0.0.2")


class Wire:
    def __init__(self, *, delay: int = 5 * MS, loss: float = 0.0, duplicate: float = 0.0, reorder: float = 0.0,
                 corrupt: float = 0.0, seed: int = 1, rate_bps: int | None = None) -> None:
        self.delay, self.loss, self.duplicate, self.reorder, self.corrupt = delay, loss, duplicate, reorder, corrupt
        self.rng = random.Random(seed)
        self.rate_bps = rate_bps
        self.busy_until = {0: 0, 1: 0}
        #: drop_if(side, seg) -> True drops that transmission (side 0: A -> B, 1: B -> A)
        self.drop_if: Callable[[int, TCPSegment], bool] | None = None
        self.dropped = 0


class Pair:
    """Endpoint A (client, 10.0.0.1) and B (server, 10.0.0.2)."""

    def __init__(self, wire: Wire | None = None, *, settings_a: TCPSettings | None = None,
                 settings_b: TCPSettings | None = None, trace: bool = False) -> None:
        self.wire = wire or Wire()
        self.now = 0
        self._heap: list[tuple[int, int, Callable[[], None]]] = []
        self._order = 0
        self.settings_a = settings_a or TCPSettings()
        self.settings_b = settings_b or TCPSettings()
        self.a: TCPConnection | None = None
        self.b: TCPConnection | None = None
        self.log: list[tuple[int, str, TCPSegment]] = []
        self.trace = trace
        self.corrupted_dropped = 0
        self.b_kwargs: dict[str, Any] = {}
        self.b_iss = 500_000
        self._armed: dict[int, int] = {}
        #: called after every event (before the outboxes are flushed): applications live here
        self.hooks: list[Callable[[], None]] = []

    # --- the event loop -----------------------------------------------------------------------

    def at(self, when: int, action: Callable[[], None]) -> None:
        self._order += 1
        heapq.heappush(self._heap, (when, self._order, action))

    def run(self, until: int, stop: Callable[[], bool] | None = None) -> None:
        while self._heap and self._heap[0][0] <= until:
            when, _, action = heapq.heappop(self._heap)
            self.now = when
            action()
            for hook in self.hooks:
                hook()
            self.flush()
            if stop is not None and stop():
                return
        self.now = max(self.now, until) if not self._heap or stop is None else self.now

    # --- plumbing -------------------------------------------------------------------------------

    def connect(self, iss: int = 1000, **kwargs: Any) -> TCPConnection:
        self.a = TCPConnection.active(40000, 9000, settings=self.settings_a, iss=iss, now=self.now, **kwargs)
        self.flush()
        return self.a

    def flush(self) -> None:
        for side, conn in ((0, self.a), (1, self.b)):
            if conn is None:
                continue
            for seg in conn.take_outbox():
                self._transmit(side, seg)
            self._arm(conn)

    def _arm(self, conn: TCPConnection) -> None:
        deadline = conn.next_deadline()
        if deadline is None:
            return
        armed = self._armed.get(id(conn))
        if armed is not None and self.now <= armed <= deadline:
            return  # a wake-up at or before the deadline is already pending
        self._armed[id(conn)] = deadline

        def fire(c: TCPConnection = conn, at: int = deadline) -> None:
            if self._armed.get(id(c)) == at:
                del self._armed[id(c)]
            due = c.next_deadline()
            if due is not None and due <= self.now:
                c.on_timer(self.now)

        self.at(max(deadline, self.now), fire)

    def _transmit(self, side: int, seg: TCPSegment) -> None:
        src, dst = (A_IP, B_IP) if side == 0 else (B_IP, A_IP)
        data = seg._encode(pseudo_header_sum(src, dst, 6, 0))
        self.log.append((self.now, "AB"[side] + ">", seg))
        wire = self.wire
        rng = wire.rng
        start = self.now
        if wire.rate_bps:
            start = max(start, wire.busy_until[side])
            wire.busy_until[side] = start + (len(data) + 58) * 8 * 1_000_000_000 // wire.rate_bps
            start = wire.busy_until[side]
        if wire.drop_if is not None and wire.drop_if(side, seg):
            wire.dropped += 1
            return
        if rng.random() < wire.loss:
            return
        copies = 2 if rng.random() < wire.duplicate else 1
        for _ in range(copies):
            delay = wire.delay
            if rng.random() < wire.reorder:
                delay += rng.randrange(1, 4 * wire.delay + 2)
            payload = data
            if rng.random() < wire.corrupt:
                position = rng.randrange(len(payload))
                flipped = payload[position] ^ (1 << rng.randrange(8))
                payload = payload[:position] + bytes([flipped]) + payload[position + 1:]
            self.at(start + delay, lambda d=payload, s=side: self._arrive(1 - s, d))

    def _arrive(self, side: int, data: bytes) -> None:
        src, dst = (B_IP, A_IP) if side == 0 else (A_IP, B_IP)
        try:
            seg = decode_tcp(data, pseudo_header_sum(src, dst, 6, len(data)), True)
        except WireError:
            self.corrupted_dropped += 1
            return
        if side == 1 and self.b is None:
            if seg.flags == 0x02:
                self.b = TCPConnection.passive(seg, settings=self.settings_b, iss=self.b_iss, now=self.now,
                                               **self.b_kwargs)
            return
        conn = self.a if side == 0 else self.b
        if conn is not None:
            conn.segment_arrives(seg, self.now)


class App:
    """An application on one endpoint: writes ``data`` in ``chunks``-sized writes as the send
    buffer allows, shuts down its side when done (``close_after``), and reads everything."""

    def __init__(self, pair: Pair, side: str, data: bytes = b"", *, chunks: tuple[int, ...] = (65536,),
                 read_size: int = 1 << 20, shutdown: bool = True, read: bool = True) -> None:
        self.pair, self.side, self.data, self.chunks = pair, side, data, chunks
        self.read_size, self.do_shutdown, self.do_read = read_size, shutdown, read
        self.written = 0
        self.writes = 0
        self.got = bytearray()
        self.shut = False
        pair.hooks.append(self.step)
        pair.at(pair.now, lambda: None)  # run the hooks now, not at the next event

    @property
    def conn(self) -> TCPConnection | None:
        return self.pair.a if self.side == "a" else self.pair.b

    @property
    def done_reading(self) -> bool:
        conn = self.conn
        return conn is not None and conn.eof and conn.recv_q == 0

    def step(self) -> None:
        conn = self.conn
        if conn is None:
            return
        now = self.pair.now
        if conn.state in (TCPState.ESTABLISHED, TCPState.CLOSE_WAIT):
            while self.written < len(self.data):
                size = self.chunks[self.writes % len(self.chunks)]
                taken = conn.send(self.data[self.written:self.written + size], now)
                if not taken:
                    break
                self.written += taken
                self.writes += 1
            if self.written == len(self.data) and self.do_shutdown and not self.shut:
                self.shut = True
                conn.shutdown(now)
        if self.do_read:
            while conn.recv_q:
                self.got += conn.recv(self.read_size, now)


def delay_first(pair: Pair, una: int, indexes: set[int], extra: int, mss: int = 1448) -> set[int]:
    """The first transmission of each of A's segments in ``indexes`` (counted in ``mss`` from
    ``una``) takes ``extra`` ns longer on the wire; returns the set, which the caller may add to."""
    original = pair._transmit

    def transmit(side: int, seg: TCPSegment) -> None:
        index = ((seg.seq - una) & 0xFFFFFFFF) // mss
        if side == 0 and seg.payload and index in indexes:
            indexes.discard(index)
            saved = pair.wire.delay
            pair.wire.delay = saved + extra
            original(side, seg)
            pair.wire.delay = saved
            return
        original(side, seg)

    pair._transmit = transmit  # type: ignore[method-assign]
    return indexes


def drop_first(pair: Pair, una: int, drops: dict[int, int], mss: int = 1448) -> None:
    """Drop the first ``drops[i]`` transmissions of A's segment i (counted in ``mss`` from
    ``una``)."""
    seen: dict[int, int] = {}

    def drop(side: int, seg: TCPSegment) -> bool:
        if side != 0 or not seg.payload:
            return False
        index = ((seg.seq - una) & 0xFFFFFFFF) // mss
        seen[index] = seen.get(index, 0) + 1
        return seen[index] <= drops.get(index, 0)

    pair.wire.drop_if = drop
