"""IEEE 802 MAC addresses."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import attrs

_TEXT = re.compile(r"^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$")


def _six_bytes(_inst: Any, _attribute: Any, value: Any) -> None:
    if type(value) is not bytes or len(value) != 6:
        raise ValueError(f"a MAC address is 6 bytes, got {value!r}")


@attrs.frozen(order=True)
class MACAddress:
    """A 48-bit MAC address: ``MACAddress.parse("02:42:ac:11:00:02")``, ``str(mac)``.

    The I/G bit (least significant bit of the first octet) marks group (multicast and
    broadcast) addresses; the U/L bit marks locally administered ones (IEEE 802-2014 §8.2).
    """

    packed: bytes = attrs.field(validator=_six_bytes)

    BROADCAST: ClassVar[MACAddress]

    @classmethod
    def parse(cls, text: str) -> MACAddress:
        """Parse ``aa:bb:cc:dd:ee:ff`` (or with dashes); raise ``ValueError`` otherwise."""
        if not isinstance(text, str) or not _TEXT.match(text):
            raise ValueError(f"not a MAC address: {text!r} (expected six hex octets like 02:42:ac:11:00:02)")
        return cls(bytes.fromhex(text.replace("-", "").replace(":", "")))

    @classmethod
    def from_int(cls, value: int) -> MACAddress:
        return cls(value.to_bytes(6, "big"))

    def __int__(self) -> int:
        return int.from_bytes(self.packed, "big")

    def __str__(self) -> str:
        return self.packed.hex(":")

    @property
    def is_broadcast(self) -> bool:
        return self.packed == b"\xff\xff\xff\xff\xff\xff"

    @property
    def is_multicast(self) -> bool:
        """True for every group address, broadcast included (the I/G bit is set)."""
        return bool(self.packed[0] & 1)

    @property
    def is_locally_administered(self) -> bool:
        return bool(self.packed[0] & 2)


MACAddress.BROADCAST = MACAddress(b"\xff" * 6)


_MAC_CACHE: dict[bytes, MACAddress] = {}


def mac_from_packed(packed: bytes) -> MACAddress:
    """``MACAddress(packed)`` for 6 bytes from a parser, memoised like IPv4 addresses."""
    mac = _MAC_CACHE.get(packed)
    if mac is None:
        if len(_MAC_CACHE) >= 1 << 16:
            _MAC_CACHE.clear()
        mac = _MAC_CACHE[packed] = MACAddress(packed)
    return mac


_PAIR_CACHE: dict[bytes, tuple[MACAddress, MACAddress]] = {}


def mac_pair_from_packed(packed: bytes) -> tuple[MACAddress, MACAddress]:
    """Destination and source MAC from the first 12 bytes of a frame, memoised as a pair."""
    pair = _PAIR_CACHE.get(packed)
    if pair is None:
        if len(_PAIR_CACHE) >= 1 << 16:
            _PAIR_CACHE.clear()
        pair = _PAIR_CACHE[packed] = (mac_from_packed(packed[:6]), mac_from_packed(packed[6:]))
    return pair
