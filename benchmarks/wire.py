"""Codec throughput: an Ethernet/IPv4/TCP frame with 1460 bytes of payload.

Prints frames encoded (checksums computed), decoded (checksums verified) and both, per second,
and the internet checksum's throughput, beside the floor measured in the same run: bare
``struct.pack`` of the three headers plus two internet checksums of the segment computed the
fastest pure-CPython way (``int.from_bytes`` and one remainder).  The target is encode + decode
at no less than half the floor's rate.  Run: ``python3 benchmarks/wire.py``.
"""

from __future__ import annotations

import struct
import sys
import time
from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from netsim.wire import EthernetFrame, IPv4Packet, MACAddress, TCPFlags, TCPSegment
from netsim.wire.checksum import internet_checksum, sum16

PAYLOAD = bytes(range(256)) * 5 + bytes(180)  # 1460 bytes
SRC, DST = IPv4Address("10.0.0.5"), IPv4Address("203.0.113.10")
FRAME = EthernetFrame(
    dst=MACAddress.parse("02:42:ac:11:00:03"), src=MACAddress.parse("02:42:ac:11:00:02"), ethertype=0x0800,
    payload=IPv4Packet(
        src=SRC, dst=DST, protocol=6, flags=2, identification=1,
        payload=TCPSegment(src_port=54321, dst_port=9000, seq=1, ack=1, flags=TCPFlags.ACK | TCPFlags.PSH,
                           window=502, payload=PAYLOAD),
    ),
)
DATA = FRAME.to_bytes()

_ETH = struct.Struct("!6s6sH")
_IP = struct.Struct("!BBHHHBBH4s4s")
_TCP = struct.Struct("!HHIIHHHH")
_MAC1, _MAC2, _SRC, _DST = b"\x02" * 6, b"\x04" * 6, SRC.packed, DST.packed
_PSEUDO = (int(SRC) >> 16) + (int(SRC) & 0xFFFF) + (int(DST) >> 16) + (int(DST) & 0xFFFF) + 6 + 1480


def _fast_checksum(data: bytes, initial: int) -> int:
    """The fastest pure-CPython internet checksum we know: netsim's own ``sum16`` (little-endian
    ``int.from_bytes`` over four even slices, one remainder), not a slower stand-in."""
    return ~((sum16(data) + initial) % 0xFFFF) & 0xFFFF


def _plain_checksum(data: bytes, initial: int) -> int:
    """The textbook fast method: the segment as one big-endian integer, one remainder."""
    return ~((int.from_bytes(data, "big") + initial) % 0xFFFF) & 0xFFFF


def floor_once() -> None:
    """The least any codec must do for one frame each way: pack three headers, two checksums."""
    tcp = _TCP.pack(54321, 9000, 1, 1, 0x5018, 502, 0, 0)
    _fast_checksum(tcp + PAYLOAD, _PSEUDO)  # encode side
    _IP.pack(0x45, 0, 1500, 1, 0x4000, 64, 6, 0, _SRC, _DST)
    _ETH.pack(_MAC1, _MAC2, 0x0800)
    _fast_checksum(tcp + PAYLOAD, _PSEUDO)  # decode side


def textbook_floor_once() -> None:
    """The same floor with the textbook checksum (one big-endian integer, one remainder)."""
    tcp = _TCP.pack(54321, 9000, 1, 1, 0x5018, 502, 0, 0)
    _plain_checksum(tcp + PAYLOAD, _PSEUDO)
    _IP.pack(0x45, 0, 1500, 1, 0x4000, 64, 6, 0, _SRC, _DST)
    _ETH.pack(_MAC1, _MAC2, 0x0800)
    _plain_checksum(tcp + PAYLOAD, _PSEUDO)


def encode_once() -> None:
    FRAME.to_bytes()


def decode_once() -> None:
    EthernetFrame.parse(DATA, verify=True)


def both_once() -> None:
    EthernetFrame.parse(FRAME.to_bytes(), verify=True)


def rate(function: Callable[[], object], seconds: float = 1.0, repeats: int = 5) -> float:
    """Best calls per second over ``repeats`` runs of about ``seconds`` each."""
    calls = 200
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            function()
        elapsed = time.perf_counter() - start
        if elapsed > 0.1:
            break
        calls *= 4
    calls = max(1, int(calls * seconds / elapsed))
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            function()
        best = max(best, calls / (time.perf_counter() - start))
    return best


def main() -> None:
    assert EthernetFrame.parse(DATA, verify=True) == FRAME and len(DATA) == 1514
    # interleaved, best of several rounds each: the floor and the codec see the same machine
    floor = textbook = encode = decode = both = 0.0
    for _ in range(3):
        floor = max(floor, rate(floor_once, repeats=3))
        textbook = max(textbook, rate(textbook_floor_once, repeats=3))
        encode = max(encode, rate(encode_once, repeats=3))
        decode = max(decode, rate(decode_once, repeats=3))
        both = max(both, rate(both_once, repeats=3))
    segment = DATA[34:]
    big = PAYLOAD * 44 + PAYLOAD[:1296]  # 64 KiB
    ck_small = rate(lambda: internet_checksum(segment))
    ck_plain = rate(lambda: _plain_checksum(segment, 0))
    ck_big = rate(lambda: internet_checksum(big))
    print(f"netsim.wire on {sys.implementation.name} {sys.version.split()[0]}: "
          f"Ethernet/IPv4/TCP frame, {len(PAYLOAD)}-byte payload, {len(DATA)} bytes on the wire")
    print(f"{'measure':44} {'per second':>14} {'vs floor':>9}")
    print(f"{'floor: struct.pack x3 + 2 checksums':44} {floor:14,.0f} {1.0:9.2f}")
    print(f"{'  same, textbook big-endian checksum':44} {textbook:14,.0f} {textbook / floor:9.2f}")
    print(f"{'encode (to_bytes, checksums computed)':44} {encode:14,.0f} {encode / floor:9.2f}")
    print(f"{'decode (parse, checksums verified)':44} {decode:14,.0f} {decode / floor:9.2f}")
    print(f"{'encode + decode':44} {both:14,.0f} {both / floor:9.2f}")
    print(f"{'internet checksum, 1480 B (MB/s)':44} {ck_small * len(segment) / 1e6:14,.1f}")
    print(f"{'internet checksum, 64 KiB (MB/s)':44} {ck_big * len(big) / 1e6:14,.1f}")
    print(f"{'  one big-endian int + remainder, 1480 B':44} {ck_plain * len(segment) / 1e6:14,.1f}")
    verdict = "meets" if both >= floor / 2 else "MISSES"
    print(f"target: encode + decode >= 0.5 x floor -> {both / floor:.2f} x ({verdict}); "
          f"{both / textbook:.2f} x the textbook floor")


if __name__ == "__main__":
    main()
