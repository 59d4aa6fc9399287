"""TCP's send and receive buffers (RFC 9293 §3.4, §3.10.7.4 step 7; RFC 2018 for SACK blocks).

The send buffer holds what the application wrote and the peer has not acknowledged, starting
at SND.UNA: segments are cut from it by offset, so a retransmission re-reads the same bytes.
The receive buffer holds in-order bytes ready for the application plus out-of-order ranges
waiting for the gap before them; it trims duplicates and overlaps the way RFC 9293 asks ("the
receiver should take the first copy" of overlapping data is not required; netsim keeps the
bytes it already has, which is what Linux's ofo queue does for full overlaps).  Sequence
numbers are absolute (mod 2**32); lengths are ints.
"""

from __future__ import annotations

from netsim.proto.tcp.seq import seq_add, seq_lt, seq_sub


class SendBuffer:
    """Bytes written by the application from SND.UNA on; ``capacity`` is SO_SNDBUF's payload share.

    Acknowledged bytes leave the front by moving ``_head`` (``_data[_head:]`` is the buffer),
    and the bytearray is compacted only once they are at least half of it: ``del`` at the front
    of a bytearray followed by appends at its end copies the whole buffer whenever it regrows
    (CPython moves the data back to the start of a new block), which cost a bulk sender one
    copy of its 4 MB buffer per half a megabyte sent."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ValueError(f"a send buffer needs a positive capacity, got {capacity}")
        self.capacity = capacity
        self._data = bytearray()
        self._head = 0

    def __len__(self) -> int:
        return len(self._data) - self._head

    @property
    def free(self) -> int:
        room = self.capacity - len(self._data) + self._head  # (max() and min() written out: every write asks)
        return room if room > 0 else 0

    def write(self, data: bytes | memoryview) -> int:
        """Append as much of ``data`` as fits; returns how many bytes were taken."""
        size, free = len(data), self.free
        taken = size if size < free else free
        self._data += data[:taken]
        return taken

    def peek(self, offset: int, size: int) -> bytes:
        """``size`` bytes from ``offset`` bytes after SND.UNA (fewer at the end)."""
        start = self._head + offset
        with memoryview(self._data) as view:  # (one copy: a bytearray slice would be a second)
            return bytes(view[start : start + size])

    def acknowledge(self, count: int) -> None:
        """Drop ``count`` acknowledged bytes from the front."""
        head = self._head + count
        if not 0 <= count <= len(self._data) - self._head:
            raise ValueError(f"cannot acknowledge {count} of {len(self)} buffered bytes")
        if head == len(self._data):
            self._data.clear()  # (all acknowledged: nothing to move)
            head = 0
        elif head >= 4096 and 2 * head >= len(self._data):
            del self._data[:head]  # the rest, at most as much as was dropped, moves once
            head = 0
        self._head = head


class ReceiveBuffer:
    """In-order data for the application, and out-of-order ranges beyond RCV.NXT."""

    def __init__(self, capacity: int, rcv_nxt: int) -> None:
        if capacity <= 0:
            raise ValueError(f"a receive buffer needs a positive capacity, got {capacity}")
        self.capacity = capacity
        self.rcv_nxt = rcv_nxt
        self._ready = bytearray()
        self._ooo: dict[int, bytes] = {}  # offset from rcv_nxt at insertion time -> bytes, kept by seq

    @property
    def readable(self) -> int:
        return len(self._ready)

    @property
    def out_of_order_bytes(self) -> int:
        return sum([len(chunk) for chunk in self._ooo.values()]) if self._ooo else 0

    @property
    def window(self) -> int:
        """RCV.WND: room left, counting what waits out of order (RFC 9293 §3.8.6.2)."""
        room = self.capacity - len(self._ready)
        if self._ooo:
            room -= self.out_of_order_bytes
        return room if room > 0 else 0

    def insert(self, seq: int, data: bytes) -> int:
        """Accept the part of a segment's data inside [RCV.NXT, RCV.NXT + window); returns how
        many new in-order bytes became readable."""
        offset = seq_sub(seq, self.rcv_nxt)
        if offset >= 1 << 31:  # starts before RCV.NXT: trim what we already have
            skip = seq_sub(self.rcv_nxt, seq)
            if skip >= len(data):
                return 0
            data, offset = data[skip:], 0
        room = self.capacity - len(self._ready)
        if offset >= room:
            return 0
        data = data[: room - offset]
        if not data:
            return 0
        if offset:
            self._store_out_of_order(seq_add(self.rcv_nxt, offset), data)
            return 0
        before = len(self._ready)
        self._ready += data
        self.rcv_nxt = seq_add(self.rcv_nxt, len(data))
        self._drain_out_of_order()
        return len(self._ready) - before

    def _store_out_of_order(self, seq: int, data: bytes) -> None:
        end = seq_add(seq, len(data))
        for start, chunk in list(self._ooo.items()):
            chunk_end = seq_add(start, len(chunk))
            if not seq_lt(start, end) or not seq_lt(seq, chunk_end):
                continue  # no overlap
            # keep what we have; store only the new bytes around it
            if seq_lt(seq, start):
                self._store_out_of_order(seq, data[: seq_sub(start, seq)])
            if seq_lt(chunk_end, end):
                self._store_out_of_order(chunk_end, data[seq_sub(chunk_end, seq) :])
            return
        self._ooo[seq] = data

    def held(self, seq: int, size: int) -> tuple[int, int] | None:
        """The first range of ``size`` bytes at ``seq`` that waits out of order already (what a
        D-SACK reports of a duplicate, RFC 2883 §4), across held chunks that touch, or None."""
        end = seq_add(seq, size)
        found: tuple[int, int] | None = None
        for start, chunk in sorted(self._ooo.items(), key=lambda item: seq_sub(item[0], self.rcv_nxt)):
            chunk_end = seq_add(start, len(chunk))
            if found is not None:
                if start != found[1] or not seq_lt(start, end):
                    break  # a gap, or past the segment
                found = (found[0], end if seq_lt(end, chunk_end) else chunk_end)
            elif seq_lt(start, end) and seq_lt(seq, chunk_end):
                found = (seq if seq_lt(start, seq) else start, end if seq_lt(end, chunk_end) else chunk_end)
        return found

    def _drain_out_of_order(self) -> None:
        while True:
            for start, chunk in list(self._ooo.items()):
                end = seq_add(start, len(chunk))
                if not seq_lt(self.rcv_nxt, start) and seq_lt(self.rcv_nxt, end):
                    del self._ooo[start]
                    fresh = chunk[seq_sub(self.rcv_nxt, start) :]
                    self._ready += fresh
                    self.rcv_nxt = seq_add(self.rcv_nxt, len(fresh))
                    break
                if not seq_lt(self.rcv_nxt, end):
                    del self._ooo[start]  # entirely old now
                    break
            else:
                return

    def read(self, size: int) -> bytes:
        ready = self._ready
        if size >= len(ready):  # all of it (the common case): one copy, not two
            data = bytes(ready)
            ready.clear()
            return data
        data = bytes(ready[:size])
        del ready[:size]
        return data

    def sack_blocks(self, limit: int = 4) -> list[tuple[int, int]]:
        """Out-of-order ranges as SACK blocks (RFC 2018 §4: most recent first is the sender's
        preference; netsim lists them in sequence order, merged)."""
        ranges = sorted(((start, seq_add(start, len(chunk))) for start, chunk in self._ooo.items()),
                        key=lambda r: seq_sub(r[0], self.rcv_nxt))
        merged: list[tuple[int, int]] = []
        for start, end in ranges:
            if merged and merged[-1][1] == start:
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        return merged[:limit]
