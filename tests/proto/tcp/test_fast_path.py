"""The header-prediction fast path of ``TCPConnection.segment_arrives`` changes nothing.

Every segment of a run is given to the connection (fast path first) and to a deep copy of it
through the general path only (``_segment_arrives``); the two must end in the same state, slot
by slot, outbox included.  The runs cover what leaves or enters the fast path: loss,
duplication, reordering, corruption, a zero window, timestamps and SACK on or off, each
congestion control, a small MSS, data both ways, a sender closing while its data is in flight
(FIN-WAIT-1), and the closing handshake.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Iterator
from enum import Enum
from typing import Any

import pytest

from netsim.proto.tcp.connection import TCPConnection
from netsim.proto.tcp.settings import MS, S, TCPSettings
from netsim.wire.tcp_options import WireValue
from tests.proto.tcp.harness import App, Pair, Wire

pytestmark = pytest.mark.pure_python  # (it replaces TCPConnection's own methods)

_PLAIN = (int, float, str, bytes, bool, type(None), Enum, WireValue)


def _state(value: Any) -> Any:
    """A comparable picture of ``value``: its slots and attributes, recursively."""
    if isinstance(value, _PLAIN) or hasattr(type(value), "__attrs_attrs__"):
        return value  # (values: segments, options, settings compare by value)
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, list | tuple | deque):
        return [_state(item) for item in value]
    if isinstance(value, dict):
        return {key: _state(item) for key, item in value.items()}
    fields = {}
    for cls in type(value).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if hasattr(value, name):
                fields[name] = _state(getattr(value, name))
    fields.update((name, _state(item)) for name, item in getattr(value, "__dict__", {}).items())
    return type(value).__name__, fields


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Check every segment arrival against the general path; yields [arrivals, fast ones]."""
    counts = [0, 0]
    fast = TCPConnection.segment_arrives
    general = TCPConnection._segment_arrives
    took_general = [False]

    def tracked(self: TCPConnection, seg: Any, now: int) -> None:
        took_general[0] = True
        general(self, seg, now)

    def arrives(self: TCPConnection, seg: Any, now: int) -> None:
        twin = copy.deepcopy(self)
        took_general[0] = False
        fast(self, seg, now)
        counts[0] += 1
        counts[1] += not took_general[0]
        general(twin, seg, now)
        assert _state(self) == _state(twin), f"fast path differs at t={now} on {seg!r}"

    monkeypatch.setattr(TCPConnection, "_segment_arrives", tracked)
    monkeypatch.setattr(TCPConnection, "segment_arrives", arrives)
    yield counts


CASES: dict[str, dict[str, Any]] = {
    "clean": {},
    "loss": {"wire": {"loss": 0.05}},
    "loss-no-sack": {"wire": {"loss": 0.05}, "settings": {"sack": False}},
    "loss-newreno-no-timestamps": {"wire": {"loss": 0.05},
                                   "settings": {"congestion_control": "newreno", "timestamps": False}},
    "reno-duplicates": {"wire": {"duplicate": 0.1}, "settings": {"congestion_control": "reno"}},
    "reorder": {"wire": {"reorder": 0.1}},
    "corrupt": {"wire": {"corrupt": 0.05}},
    "mixed-rate-limited": {"wire": {"loss": 0.02, "duplicate": 0.02, "reorder": 0.02, "corrupt": 0.02,
                                    "rate_bps": 10_000_000}},
    "small-mss-no-window-scaling": {"mss": 200, "settings": {"window_scaling": False}},
    "zero-window": {"rcvbuf": 4096, "read_size": 0},
    "both-ways": {"wire": {"loss": 0.02}, "both": True},
    "close-while-sending": {"wire": {"loss": 0.02}, "close_early": True},  # FIN-WAIT-1 throughout
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("seed", [1, 2])
def test_fast_path_matches_the_general_path(name: str, seed: int, checked: list[int]) -> None:
    case = CASES[name]
    settings = TCPSettings(**case.get("settings", {}))
    wire = Wire(delay=2 * MS, seed=seed, **case.get("wire", {}))
    pair = Pair(wire, settings_a=settings, settings_b=settings)
    if "rcvbuf" in case:
        pair.b_kwargs = {"rcvbuf": case["rcvbuf"]}
    pair.connect(local_mss=case.get("mss", 1460))
    data = bytes(range(256)) * 400
    # the writer shuts down once all is written (or, but for close_early, once all is read)
    writer = App(pair, "a", data, chunks=(1000, 65536), shutdown=bool(case.get("close_early")))
    reader = App(pair, "b", data if case.get("both") else b"", shutdown=False,
                 read=case.get("read_size") != 0)
    if not reader.do_read:
        pair.run(3 * S)  # nothing read for a while: the window closes, the sender probes it
        reader.do_read = True
        pair.at(pair.now, lambda: None)
    pair.run(600 * S, stop=lambda: len(reader.got) == len(data))
    writer.do_shutdown = reader.do_shutdown = True
    pair.at(pair.now, lambda: None)
    pair.run(pair.now + 600 * S)
    assert bytes(reader.got) == data
    assert pair.a is not None and pair.a.eof
    arrivals, fast = checked
    assert 0 < fast < arrivals  # both paths were taken
