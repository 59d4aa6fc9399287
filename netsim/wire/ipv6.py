"""IPv6 (placeholder being written)."""
from __future__ import annotations
import attrs
@attrs.frozen
class IPv6Packet:
    @classmethod
    def parse(cls, data: bytes, *, verify: bool = False, decode: bool = True) -> "IPv6Packet":
        raise NotImplementedError
    def to_bytes(self) -> bytes:
        raise NotImplementedError
