from __future__ import annotations

import contextlib
import io
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsim.errors import TruncatedError, WireError
from netsim.wire.pcap import PCAP_MAGIC_NS, PcapngWriter, PcapReader, PcapRecord, PcapWriter, read_pcap

records = st.lists(st.tuples(st.integers(0, 2**40), st.binary(max_size=100)), max_size=20)


@given(records)
def test_pcap_roundtrip_keeps_nanoseconds(items: list[tuple[int, bytes]]) -> None:
    buffer = io.BytesIO()
    writer = PcapWriter(buffer)
    for timestamp, data in items:
        writer.write(timestamp, data)
    buffer.seek(0)
    assert list(PcapReader(buffer)) == [PcapRecord(t, d, len(d)) for t, d in items]


@given(records)
def test_pcapng_roundtrip_keeps_nanoseconds_and_interfaces(items: list[tuple[int, bytes]]) -> None:
    buffer = io.BytesIO()
    writer = PcapngWriter(buffer)
    for index, (timestamp, data) in enumerate(items):
        writer.write(timestamp, data, interface=f"if{index % 2}")
    buffer.seek(0)
    got = list(PcapReader(buffer))
    assert got == [PcapRecord(t, d, len(d), i % 2) for i, (t, d) in enumerate(items)]


def test_pcap_header_is_nanosecond_ethernet(tmp_path: Path) -> None:
    path = tmp_path / "x.pcap"
    with PcapWriter(path) as writer:
        writer.write(1_500_000_123, b"\x01" * 60)
    raw = path.read_bytes()
    assert struct.unpack("<IHHiIII", raw[:24]) == (PCAP_MAGIC_NS, 2, 4, 0, 0, 262144, 1)
    assert struct.unpack("<IIII", raw[24:40]) == (1, 500_000_123, 60, 60)


def test_snaplen_cuts_and_keeps_original_length() -> None:
    buffer = io.BytesIO()
    PcapWriter(buffer, snaplen=10).write(0, bytes(100))
    buffer.seek(0)
    (record,) = PcapReader(buffer)
    assert (len(record.data), record.orig_len) == (10, 100)


def test_reads_microsecond_big_endian_files() -> None:
    raw = struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + struct.pack(">IIII", 3, 250, 2, 2) + b"ab"
    assert list(PcapReader(io.BytesIO(raw))) == [PcapRecord(3_000_250_000, b"ab", 2)]


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"", TruncatedError),
        (b"\x00\x01\x02\x03" + bytes(20), WireError),
        (struct.pack("<IHHiIII", PCAP_MAGIC_NS, 2, 4, 0, 0, 65535, 1) + b"\x00" * 7, TruncatedError),
        (struct.pack("<IHHiIII", PCAP_MAGIC_NS, 2, 4, 0, 0, 65535, 1) + struct.pack("<IIII", 0, 0, 9, 9) + b"x",
         TruncatedError),
    ],
    ids=["empty", "bad-magic", "cut-record-header", "cut-record-data"],
)
def test_bad_files_raise_wire_errors(raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        list(PcapReader(io.BytesIO(raw)))


@given(st.binary(max_size=200))
def test_arbitrary_bytes_read_or_raise_wire_error(raw: bytes) -> None:
    for prefix in (b"", struct.pack("<IHHiIII", PCAP_MAGIC_NS, 2, 4, 0, 0, 65535, 1),
                   bytes.fromhex("0a0d0d0a")):
        with contextlib.suppress(WireError):
            list(PcapReader(io.BytesIO(prefix + raw)))


def test_read_pcap_from_path(tmp_path: Path) -> None:
    path = tmp_path / "y.pcap"
    with PcapWriter(path) as writer:
        writer.write(5, b"abc")
    assert read_pcap(path) == [PcapRecord(5, b"abc", 3)]


def test_negative_timestamp_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        PcapWriter(io.BytesIO()).write(-1, b"")
