"""Shared field validators and helpers for the codecs.

Validators are plain functions rather than composed ``attrs.validators`` because codecs build
many values per simulated packet: one type-and-range test per field costs a third of
``and_(instance_of(int), ge(0), le(n))``.  They run on every construction, so a value that
exists is a value that can be encoded.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address
from typing import Any, NoReturn, TypeVar

import attrs

from netsim.errors import TruncatedError, WireError

Validator = Callable[[Any, Any, Any], None]
T = TypeVar("T")


def _reject(attribute: Any, value: Any, expected: str) -> NoReturn:
    raise ValueError(f"{attribute.name} must be {expected}, got {value!r}")


def check_uint(name: str, value: object, top: int) -> None:
    """The range check of an unsigned field named ``name`` (bool is not an int here; IntEnum and
    IntFlag members are ints too, accepted by value).  The attrs validators below and the
    hand-written value classes (TCPSegment, the TCP options) share it."""
    if type(value) is not int or value < 0 or value > top:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= top:
            return
        raise ValueError(f"{name} must be an int in 0..{top}, got {value!r}")


def check_bytes(name: str, value: object) -> None:
    if type(value) is not bytes:
        raise ValueError(f"{name} must be bytes, got {value!r}")


def uint(bits: int) -> Validator:
    """Validator for an unsigned integer field ``bits`` wide (see :func:`check_uint`)."""
    top = (1 << bits) - 1

    def check(_inst: Any, attribute: Any, value: Any) -> None:
        if type(value) is not int or value < 0 or value > top:  # (the common case without a call)
            check_uint(attribute.name, value, top)

    check.__name__ = f"u{bits}"
    return check


u1 = uint(1)
u2 = uint(2)
u3 = uint(3)
u4 = uint(4)
u6 = uint(6)
u8 = uint(8)
u12 = uint(12)
u13 = uint(13)
u16 = uint(16)
u20 = uint(20)
u32 = uint(32)


def optional_u16(_inst: Any, attribute: Any, value: Any) -> None:
    """A checksum field: ``None`` (computed on encode) or an explicit 16-bit value."""
    if value is not None and (type(value) is not int or value < 0 or value > 0xFFFF):
        _reject(attribute, value, "None or an int in 0..65535")


def is_bytes(_inst: Any, attribute: Any, value: Any) -> None:
    check_bytes(attribute.name, value)


def is_bool(_inst: Any, attribute: Any, value: Any) -> None:
    if type(value) is not bool:
        _reject(attribute, value, "a bool")


def is_ipv4(_inst: Any, attribute: Any, value: Any) -> None:
    kind = type(value)
    if kind is not IPv4Address and kind is not _HashedIPv4Address:
        _reject(attribute, value, "an ipaddress.IPv4Address")


def is_ipv6(_inst: Any, attribute: Any, value: Any) -> None:
    if type(value) is not IPv6Address:
        _reject(attribute, value, "an ipaddress.IPv6Address")


def need(data: bytes | memoryview, length: int, layer: str, field: str) -> None:
    """Raise :class:`TruncatedError` unless ``data`` holds at least ``length`` bytes."""
    if len(data) < length:
        raise TruncatedError(layer, field, f"needs {length} bytes, only {len(data)} available")


def malformed(layer: str, field: str, message: str) -> NoReturn:
    raise WireError(layer, field, message)


def trusted_constructor(cls: type[T]) -> Callable[..., T]:
    """A positional constructor for ``cls`` that skips ``__init__`` and its validators.

    Parsers use it for values whose fields come straight out of ``struct.unpack`` and are in
    range by construction: setting the slots through their member descriptors costs about a
    third of a validated ``__init__``, which matters when every simulated hop decodes a frame.
    The generated function takes the fields in ``attrs.fields`` order, all of them.
    """
    names = [field.name for field in attrs.fields(cls)]  # type: ignore[arg-type]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = [f"def make({', '.join(names)}):", "    obj = _new(_cls)"]
    for index, name in enumerate(names):
        namespace[f"_set{index}"] = getattr(cls, name).__set__
        lines.append(f"    _set{index}(obj, {name})")
    lines.append("    return obj")
    exec("\n".join(lines), namespace)
    make: Callable[..., T] = namespace["make"]
    make.__qualname__ = f"{cls.__name__}._trusted"
    return make


class _HashedIPv4Address(IPv4Address):
    """An :class:`ipaddress.IPv4Address` that computes its hash once.

    The standard class hashes as ``hash(hex(int(self)))`` on every call, which dominates the
    dictionary lookups a simulated packet goes through (connection tables, NAT tables, routes),
    since tuples of addresses are rehashed each time.  This subclass stores that same value, so it
    equals, hashes, prints (``IPv4Address('10.0.0.1')``) and pickles exactly as the standard one:
    the two mix freely in sets and dict keys.
    """

    # ``__hash__`` is a slot: each instance holds the bound ``__index__`` of its hash value, so
    # ``hash()`` finds it through the slot's descriptor and calls it without running a Python
    # frame (a ``def __hash__`` returning a stored int costs a frame per dict lookup)
    __slots__ = ("__hash__",)
    _ip: int

    def __init__(self, address: Any) -> None:
        super().__init__(address)
        # the standard class's own hash, computed once (salted per process like every str hash:
        # it only places keys in dicts, nothing observable depends on it)
        self.__hash__ = IPv4Address.__hash__(self).__index__  # type: ignore[method-assign]

    def __reduce__(self) -> tuple[Any, tuple[int]]:
        return fast_ipv4, (self._ip,)


_HashedIPv4Address.__name__ = _HashedIPv4Address.__qualname__ = "IPv4Address"  # the same repr

_IPV4_CACHE: dict[bytes, IPv4Address] = {}
_CACHE_LIMIT = 1 << 16


def fast_ipv4(address: IPv4Address | str | int | bytes) -> IPv4Address:
    """The shared, hash-once instance of ``address`` (see :func:`ipv4_from_packed`)."""
    if isinstance(address, _HashedIPv4Address):
        return address
    packed = address.packed if isinstance(address, IPv4Address) else IPv4Address(address).packed
    return ipv4_from_packed(packed)


def ipv4_from_packed(packed: bytes) -> IPv4Address:
    """``IPv4Address(packed)``, memoised: a simulation sees the same few addresses millions of
    times, and the objects are immutable, so sharing them is invisible."""
    address = _IPV4_CACHE.get(packed)
    if address is None:
        if len(_IPV4_CACHE) >= _CACHE_LIMIT:
            _IPV4_CACHE.clear()
        address = _IPV4_CACHE[packed] = _HashedIPv4Address(packed)
    return address


_PAIR_CACHE: dict[bytes, tuple[IPv4Address, IPv4Address, int]] = {}


def ipv4_pair_from_packed(packed: bytes) -> tuple[IPv4Address, IPv4Address, int]:
    """Source and destination from the 8 address bytes of an IPv4 header, and their words'
    sum modulo 0xFFFF (the addresses' share of a TCP/UDP pseudo-header), memoised together."""
    pair = _PAIR_CACHE.get(packed)
    if pair is None:
        if len(_PAIR_CACHE) >= _CACHE_LIMIT:
            _PAIR_CACHE.clear()
        pair = _PAIR_CACHE[packed] = (
            ipv4_from_packed(packed[:4]), ipv4_from_packed(packed[4:]), int.from_bytes(packed, "big") % 0xFFFF
        )
    return pair
