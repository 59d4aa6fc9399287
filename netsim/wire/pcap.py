"""Capture files: classic pcap and pcapng, written as a stream and read back.

Classic pcap (the format tcpdump writes; draft-ietf-opsawg-pcap) is written with the
nanosecond magic 0xA1B23C4D, because simulated time is integer nanoseconds and a microsecond
file would round it.  pcapng (draft-ietf-opsawg-pcapng) is written with one interface block
whose ``if_tsresol`` is 9 (nanoseconds) and ``if_name`` names the capture point.  Both readers
accept either byte order; the classic one also microsecond files.  Link type is always
``LINKTYPE_ETHERNET`` (1) for what netsim writes.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

import attrs

from netsim.errors import TruncatedError, WireError

LINKTYPE_ETHERNET = 1
PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_MAGIC_NS = 0xA1B23C4D
PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D
_SHB, _IDB, _EPB, _SPB = 0x0A0D0D0A, 0x00000001, 0x00000006, 0x00000003
DEFAULT_SNAPLEN = 262144


@attrs.frozen
class PcapRecord:
    """One captured frame: time in nanoseconds, the captured bytes and the original length."""

    timestamp_ns: int
    data: bytes
    orig_len: int
    interface: int = 0


def _open(target: str | Path | BinaryIO, mode: str) -> tuple[BinaryIO, bool]:
    if isinstance(target, str | Path):
        return cast(BinaryIO, open(target, mode)), True  # closed by the writer/reader that owns it
    return target, False


class PcapWriter:
    """Stream frames to a classic pcap file (nanosecond timestamps).

    ``snaplen`` cuts long frames as a capture would; the record keeps the original length.
    """

    def __init__(
        self, target: str | Path | BinaryIO, *, snaplen: int = DEFAULT_SNAPLEN, linktype: int = LINKTYPE_ETHERNET
    ) -> None:
        self._file, self._owned = _open(target, "wb")
        self.snaplen = snaplen
        self._file.write(struct.pack("<IHHiIII", PCAP_MAGIC_NS, 2, 4, 0, 0, snaplen, linktype))
        self.count = 0

    def write(self, timestamp_ns: int, data: bytes) -> None:
        if timestamp_ns < 0:
            raise ValueError(f"a capture timestamp cannot be negative: {timestamp_ns}")
        captured = data[: self.snaplen]
        seconds, nanos = divmod(timestamp_ns, 1_000_000_000)
        self._file.write(struct.pack("<IIII", seconds, nanos, len(captured), len(data)))
        self._file.write(captured)
        self.count += 1

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if self._owned:
            self._file.close()
        else:
            self._file.flush()

    def __enter__(self) -> PcapWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _pad4(data: bytes) -> bytes:
    return data + bytes(-len(data) % 4)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + _pad4(value)


class PcapngWriter:
    """Stream frames to a pcapng file, one interface per capture point name."""

    def __init__(self, target: str | Path | BinaryIO, *, snaplen: int = DEFAULT_SNAPLEN) -> None:
        self._file, self._owned = _open(target, "wb")
        self.snaplen = snaplen
        self._interfaces: dict[str, int] = {}
        shb_options = _option(4, b"netsim") + _option(0, b"")  # shb_userappl, opt_endofopt
        body = struct.pack("<IHHq", PCAPNG_BYTE_ORDER_MAGIC, 1, 0, -1) + shb_options
        self._block(_SHB, body)
        self.count = 0

    def _block(self, kind: int, body: bytes) -> None:
        length = 12 + len(body)
        self._file.write(struct.pack("<II", kind, length) + body + struct.pack("<I", length))

    def add_interface(self, name: str) -> int:
        """Declare a capture point; returns its interface id (reused for the same name)."""
        if name in self._interfaces:
            return self._interfaces[name]
        options = _option(2, name.encode()) + _option(9, b"\x09") + _option(0, b"")  # if_name, if_tsresol=1e-9
        self._block(_IDB, struct.pack("<HHI", LINKTYPE_ETHERNET, 0, self.snaplen) + options)
        self._interfaces[name] = len(self._interfaces)
        return self._interfaces[name]

    def write(self, timestamp_ns: int, data: bytes, interface: str = "netsim") -> None:
        if timestamp_ns < 0:
            raise ValueError(f"a capture timestamp cannot be negative: {timestamp_ns}")
        ident = self.add_interface(interface)
        captured = data[: self.snaplen]
        header = struct.pack("<IIIII", ident, timestamp_ns >> 32, timestamp_ns & 0xFFFFFFFF, len(captured), len(data))
        self._block(_EPB, header + _pad4(captured))
        self.count += 1

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if self._owned:
            self._file.close()
        else:
            self._file.flush()

    def __enter__(self) -> PcapngWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PcapReader:
    """Iterate the records of a classic pcap or a pcapng file (detected from its first bytes).

    Raises :class:`WireError` for an unknown magic number or a malformed block and
    :class:`TruncatedError` for a file that ends inside a record.
    """

    def __init__(self, source: str | Path | BinaryIO) -> None:
        self._file, self._owned = _open(source, "rb")
        self.linktype = LINKTYPE_ETHERNET

    def __iter__(self) -> Iterator[PcapRecord]:
        head = self._file.read(4)
        if len(head) < 4:
            raise TruncatedError("pcap", "magic", "file is shorter than a header")
        if head == struct.pack("<I", _SHB):
            yield from self._pcapng(head)
        else:
            yield from self._classic(head)

    def _read(self, size: int, what: str, fmt: str = "pcap") -> bytes:
        data = self._file.read(size)
        if len(data) < size:
            raise TruncatedError(fmt, what, f"needs {size} bytes, only {len(data)} left in the file")
        return data

    def _classic(self, head: bytes) -> Iterator[PcapRecord]:
        for order in "<>":
            (magic,) = struct.unpack(order + "I", head)
            if magic in (PCAP_MAGIC_US, PCAP_MAGIC_NS):
                break
        else:
            raise WireError("pcap", "magic", f"{head.hex()} is not a pcap or pcapng magic number")
        scale = 1 if magic == PCAP_MAGIC_NS else 1000
        _major, _minor, _zone, _sigfigs, _snaplen, self.linktype = struct.unpack(
            order + "HHiIII", self._read(20, "header")
        )
        while True:
            record = self._file.read(16)
            if not record:
                return
            if len(record) < 16:
                raise TruncatedError("pcap", "record", "file ends inside a record header")
            seconds, fraction, incl_len, orig_len = struct.unpack(order + "IIII", record)
            yield PcapRecord(seconds * 1_000_000_000 + fraction * scale, self._read(incl_len, "data"), orig_len)

    def _pcapng(self, head: bytes) -> Iterator[PcapRecord]:
        order = "<"
        resolutions: list[int] = []
        first = True
        while True:
            kind_bytes = head if first else self._file.read(4)
            if not kind_bytes:
                return
            if len(kind_bytes) < 4:
                raise TruncatedError("pcapng", "block", "file ends inside a block header")
            length_bytes = self._read(4, "block_length", "pcapng")
            if first or struct.unpack(order + "I", kind_bytes)[0] == _SHB:
                magic = self._read(4, "byte_order_magic", "pcapng")
                order = "<" if struct.unpack("<I", magic)[0] == PCAPNG_BYTE_ORDER_MAGIC else ">"
                (length,) = struct.unpack(order + "I", length_bytes)
                if length < 28 or length % 4:
                    raise WireError("pcapng", "block_length", f"bad section header length {length}")
                self._read(length - 12, "section", "pcapng")
                resolutions = []
                first = False
                continue
            (kind,) = struct.unpack(order + "I", kind_bytes)
            (length,) = struct.unpack(order + "I", length_bytes)
            if length < 12 or length % 4:
                raise WireError("pcapng", "block_length", f"bad block length {length}")
            body = self._read(length - 8, "block", "pcapng")[:-4]
            if kind == _IDB:
                resolutions.append(_tsresol(body[8:], order))
            elif kind == _EPB:
                if len(body) < 20:
                    raise WireError("pcapng", "block_length", "enhanced packet block too short")
                ident, high, low, incl_len, orig_len = struct.unpack_from(order + "IIIII", body)
                if ident >= len(resolutions) or 20 + incl_len > len(body):
                    raise WireError("pcapng", "interface_id", f"bad interface {ident} or captured length")
                ticks = (high << 32) | low
                unit = resolutions[ident]
                nanos = ticks * 1_000_000_000 // unit
                yield PcapRecord(nanos, bytes(body[20 : 20 + incl_len]), orig_len, ident)


def _tsresol(options: bytes, order: str) -> int:
    """Ticks per second from an interface block's options (default microseconds)."""
    i = 0
    while i + 4 <= len(options):
        code, size = struct.unpack_from(order + "HH", options, i)
        if code == 0:
            break
        if code == 9 and size >= 1:
            value: int = options[i + 4]
            return int(2 ** (value & 0x7F) if value & 0x80 else 10**value)
        i += 4 + size + (-size % 4)
    return 1_000_000


def read_pcap(source: str | Path | BinaryIO) -> list[PcapRecord]:
    """All records of a capture file."""
    reader = PcapReader(source)
    try:
        return list(reader)
    finally:
        if reader._owned:
            reader._file.close()


