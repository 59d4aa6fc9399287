"""The trace: every observable event of a run, in order, and its SHA-256.

Each event is serialised canonically as it happens and fed to the hash, so ``trace_hash()`` is the
same for the same scenario and seed in any process on any machine: times are integer
nanoseconds, frames are their bytes (an arrival of the bytes a transmission hashed refers to
them), other fields are JSON with sorted keys.  Records are also
kept (unless ``keep=False``) for ``trace.jsonl`` and for tests that read what happened.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from netsim.sim.records import TraceRecord


class Trace:
    """Append-only event log with a running SHA-256."""

    def __init__(self, *, keep: bool = True) -> None:
        self.keep = keep
        self.records: list[TraceRecord] = []
        self._hash = hashlib.sha256()
        self.count = 0
        self._labels: dict[tuple[str, str], bytes] = {}
        self._syscall_labels: dict[tuple[str, str], bytes] = {}

    def frame(self, now: int, kind: str, where: str, data: bytes, /, **fields: Any) -> None:
        """A frame event: hashed as its bytes, not as text, because it happens millions of times."""
        label = self.label(kind, where)
        extra = json.dumps(fields, sort_keys=True, default=str).encode() if fields else b""
        self._hash.update(b"%d%s%s\x00%d\x00" % (now, label, extra, len(data)))
        self._hash.update(data)
        self.count += 1
        if self.keep:
            self.records.append(TraceRecord(now, kind, where, {"data": data, **fields}))

    def label(self, kind: str, where: str) -> bytes:
        """The encoded ``"\\0kind\\0where\\0"`` of a frame event, for :meth:`record_frame`."""
        label = self._labels.get((kind, where))
        if label is None:
            label = self._labels[kind, where] = b"\x00%s\x00%s\x00" % (kind.encode(), where.encode())
        return label

    def record_frame(self, now: int, label: bytes, kind: str, where: str, data: bytes, as_sent: bool = False) -> None:
        """``frame(now, kind, where, data)`` with no other fields, its ``label`` encoded once by
        the caller (an interface, per direction).  ``as_sent``: the frame arrives as the very bytes
        an interface transmitted, whose record hashed them, so this one hashes a reference ("=")
        instead of hashing them again (half of all frame hashing; what is kept is the same)."""
        update = self._hash.update
        update(b"%d%s\x00%d\x00" % (now, label, len(data)))  # (no fields: no JSON)
        update(b"=" if as_sent else data)
        self.count += 1
        if self.keep:
            self.records.append(TraceRecord(now, kind, where, {"data": data}))

    def event(self, _now: int, _kind: str, _where: str, /, **fields: Any) -> None:
        """Any other observable event (socket call, state change, drop with a reason).

        Hashed as the ``repr`` of its sorted fields: values are ints, strings, bools, tuples
        and addresses, whose ``repr`` is the same in every process (JSON would cost ten times
        as much on a path taken for every socket call).
        (The positional names start with "_": mypyc passes a keyword of the same name into
        them despite the "/".)
        """
        now, kind, where = _now, _kind, _where
        # repr(sorted(fields.items())), built from the sorted keys: the same text, without
        # sorting and printing a list of pairs
        text = ", ".join([f"({name!r}, {fields[name]!r})" for name in sorted(fields)])
        self._hash.update(b"%d\x00%s\x00%s\x00[%s]\n" % (now, kind.encode(), where.encode(), text.encode()))
        self.count += 1
        if self.keep:
            self.records.append(TraceRecord(now, kind, where, fields))

    def syscall(self, now: int, where: str, call: str, fd: int, result: Any, /) -> None:
        """``event(now, "syscall", where, call=call, fd=fd, result=result)``: the same bytes
        hashed and the same record kept, the sorted fields' ``repr`` written out (the keys sort
        as call, fd, result) instead of built from a dict for every socket call."""
        prefix = self._syscall_labels.get((where, call))
        if prefix is None:  # "\0syscall\0where\0[('call', 'recv'), ('fd', ", encoded once per place and call
            prefix = self._syscall_labels[where, call] = b"\x00syscall\x00%s\x00[('call', %s), ('fd', " % (
                where.encode(), repr(call).encode())
        self._hash.update(b"%d%s%s), ('result', %s)]\n" % (now, prefix, repr(fd).encode(), repr(result).encode()))
        self.count += 1
        if self.keep:
            self.records.append(TraceRecord(now, "syscall", where, {"call": call, "fd": fd, "result": result}))

    def hexdigest(self) -> str:
        return self._hash.copy().hexdigest()

    def __iter__(self) -> Iterator[TraceRecord]:
        return iter(self.records)

    def select(self, kind: str | None = None, where: str | None = None) -> list[TraceRecord]:
        return [r for r in self.records if (kind is None or r.kind == kind) and (where is None or r.where == where)]
