"""TCPSegment and the TCP options are hand-written value classes (native when compiled): they
must behave as the attrs values they replaced did."""

from __future__ import annotations

import copy
import pickle

import pytest

from netsim.build_info import manifest
from netsim.wire.tcp import TCPFlags, TCPSegment
from netsim.wire.tcp_options import TCPOptionMSS, TCPOptionNOP, TCPOptionSACK, TCPOptionTimestamps

SEGMENT = TCPSegment(40000, 80, seq=7, ack=9, flags=TCPFlags.ACK, window=512,
                     options=(TCPOptionNOP(), TCPOptionNOP(), TCPOptionTimestamps(1, 2)), payload=b"hi")


def test_equal_by_value_with_equal_hashes() -> None:
    twin = TCPSegment(40000, 80, 7, 9, 0x10, 512, 0, (TCPOptionNOP(), TCPOptionNOP(), TCPOptionTimestamps(1, 2)), b"hi")
    assert twin == SEGMENT and hash(twin) == hash(SEGMENT)
    assert not (twin != SEGMENT)  # noqa: SIM202  (__ne__ is its own method)
    assert SEGMENT.evolve(seq=8) != SEGMENT and SEGMENT != (40000, 80)
    assert TCPOptionMSS(1460) == TCPOptionMSS(1460) != TCPOptionMSS(1400)
    assert TCPOptionNOP() == TCPOptionNOP() and hash(TCPOptionNOP()) == hash(TCPOptionNOP())
    assert TCPOptionMSS(4) != TCPOptionTimestamps(4)  # a value is only equal to its own kind


def test_repr_names_every_field_in_order() -> None:
    assert repr(TCPOptionTimestamps(1, 2)) == "TCPOptionTimestamps(tsval=1, tsecr=2)"
    assert repr(TCPSegment(1, 2)) == (
        "TCPSegment(src_port=1, dst_port=2, seq=0, ack=0, flags=0, window=0, urgent=0, options=(), "
        "payload=b'', checksum=None, reserved=0)"
    )


def test_evolve_validates_and_knows_the_fields() -> None:
    assert SEGMENT.evolve(window=1).window == 1 and SEGMENT.evolve(window=1).payload == b"hi"
    assert TCPOptionSACK(((1, 2),)).evolve(blocks=((3, 4),)).blocks == ((3, 4),)
    with pytest.raises(ValueError, match=r"dst_port must be an int in 0\.\.65535, got 70000"):
        SEGMENT.evolve(dst_port=70000)
    with pytest.raises(ValueError, match="options take 3 bytes"):
        SEGMENT.evolve(options=(TCPOptionNOP(), TCPOptionNOP(), TCPOptionNOP()))
    with pytest.raises(TypeError, match="no field 'port'"):
        SEGMENT.evolve(port=1)


def test_pickle_and_copy_give_equal_values() -> None:
    for value in (SEGMENT, TCPOptionNOP(), TCPOptionSACK(((1, 2), (5, 9)))):
        assert pickle.loads(pickle.dumps(value)) == value == copy.deepcopy(value) == copy.copy(value)


@pytest.mark.skipif(manifest() is None, reason="the Python build does not enforce Final fields")
def test_the_compiled_build_refuses_to_assign_a_field() -> None:
    with pytest.raises(AttributeError):
        SEGMENT.seq = 1  # type: ignore[misc]
    with pytest.raises(AttributeError):
        TCPOptionMSS(1).mss = 2  # type: ignore[misc]
