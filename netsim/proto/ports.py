"""Ephemeral port selection (RFC 6056).

The range is Linux's ``net.ipv4.ip_local_port_range`` (default 32768-60999), minus
``ip_local_reserved_ports``.  :func:`choose_ephemeral_port` is RFC 6056 §3.3.1, Algorithm 1
("simple port randomization"): start at a uniformly random port of the range and take the first
free one, wrapping around.  That is the shape of Linux's choice for ``bind()`` to port 0 and for
an unbound UDP socket's first send (``udp_lib_get_port``: a random start, then a walk); Linux's
walk visits ports in a different order (by hash slot), so the sequence of ports netsim picks is
equally unpredictable but not Linux's port for port.  One random draw per call, from the
caller's stream.

Extension point for TCP ``connect()``: Linux picks the port with RFC 6056 §3.3.4 Algorithm 4
(double-hash: an offset from a keyed hash of the local address, remote address and port, plus
a perturbation table; ``__inet_hash_connect``), and a port only has to make the 4-tuple unique,
not be free.  That variant will compute its own ``offset`` and call :func:`probe_ports` with an
``in_use`` that checks the 4-tuple; nothing here needs to change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import attrs

#: Linux ``net.ipv4.ip_local_port_range`` default (since 2.6.x with 4 GB+ RAM; all systems since 4.x)
DEFAULT_LOW = 32768
DEFAULT_HIGH = 60999


class RandomSource(Protocol):
    """What the selection needs of a :class:`random.Random`: the caller passes one of the
    Network's named streams (this module never touches the ``random`` module's global state)."""

    def randrange(self, stop: int, /) -> int: ...


def _port(_inst: Any, attribute: Any, value: Any) -> None:
    if type(value) is not int or not 1 <= value <= 65535:
        raise ValueError(f"{attribute.name} must be a port number in 1..65535, got {value!r}")


def _ordered(inst: Any, _attribute: Any, value: Any) -> None:
    _port(inst, _attribute, value)
    if value < inst.low:
        raise ValueError(f"a port range needs low <= high, got {inst.low}-{value}")


def _frozen_ports(value: Iterable[int]) -> frozenset[int]:
    return frozenset(value)


def _reserved(_inst: Any, _attribute: Any, value: Any) -> None:
    if not isinstance(value, frozenset) or any(type(p) is not int or not 1 <= p <= 65535 for p in value):
        raise ValueError(f"reserved must be a frozenset of port numbers, got {value!r}")


@attrs.frozen
class PortRange:
    """``ip_local_port_range`` (inclusive at both ends) and ``ip_local_reserved_ports``.

    Linux refuses ``high < low`` (``EINVAL``) and so does netsim; Linux's advice to give the two
    ends different parity (so connect() and bind() can prefer one each) is not enforced.
    """

    low: int = attrs.field(default=DEFAULT_LOW, validator=_port)
    high: int = attrs.field(default=DEFAULT_HIGH, validator=_ordered)
    reserved: frozenset[int] = attrs.field(default=frozenset(), converter=_frozen_ports, validator=_reserved)

    def __len__(self) -> int:
        """How many ports the range spans (reserved ones included)."""
        return self.high - self.low + 1

    def __contains__(self, port: object) -> bool:
        """Whether ``port`` is one automatic selection may pick."""
        return type(port) is int and self.low <= port <= self.high and port not in self.reserved

    def __str__(self) -> str:
        return f"{self.low}\t{self.high}"  # as /proc/sys/net/ipv4/ip_local_port_range reads


def probe_ports(port_range: PortRange, in_use: Callable[[int], bool], offset: int) -> int | None:
    """The first port of ``port_range``, starting ``offset`` ports in and wrapping around, that
    is neither reserved nor ``in_use``; None when every port is taken (RFC 6056 §3.3.1's loop)."""
    low, size, reserved = port_range.low, len(port_range), port_range.reserved
    offset %= size
    for step in range(size):
        port = low + (offset + step) % size
        if port in reserved or in_use(port):
            continue
        return port
    return None


def choose_ephemeral_port(
    port_range: PortRange, in_use: Callable[[int], bool], rng: RandomSource
) -> int | None:
    """An ephemeral port for ``bind(port=0)`` or an unbound UDP socket (RFC 6056 §3.3.1).

    A uniformly random start in the range (one draw from ``rng``), then the first port after it
    that ``in_use`` says is free.  None when none is: the caller fails the call the way Linux
    does (``EADDRINUSE`` for bind(), ``EAGAIN`` for an autobind).
    """
    return probe_ports(port_range, in_use, rng.randrange(len(port_range)))


class ConnectPortSelector:
    """RFC 6056 §3.3.4, Algorithm 4 ("double-hash port selection"), the shape of Linux's
    ``__inet_hash_connect``: a keyed hash of (local address, remote address, remote port) picks
    where to start, a small perturbation table (Linux: 256 slots) moves the start on after each
    success so consecutive connections to one destination get different ports, and ports of
    the range's parity come first (Linux >= 6.x: connect() prefers even ports, leaving odd ones
    to bind()).  A port is usable when ``usable(port)`` says so — for TCP: not held by a bind()
    and the 4-tuple not in use — so one host can have more connections than the range has
    ports, as long as they go to different destinations.
    """

    TABLE_SIZE = 256

    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._perturb = [0] * self.TABLE_SIZE

    def _hash(self, key: bytes) -> int:
        return int.from_bytes(hashlib.blake2b(key, key=self._secret, digest_size=4).digest(), "big")

    def select(self, port_range: PortRange, key: bytes, usable: Callable[[int], bool]) -> int | None:
        """The port for a connect() whose (local address, remote address, port) is ``key``."""
        port_offset = self._hash(key)
        index = port_offset & (self.TABLE_SIZE - 1)
        size = len(port_range)
        offset = (self._perturb[index] + (port_offset >> 16)) % size
        offset &= ~1
        low, reserved = port_range.low, port_range.reserved
        tried = 0
        for parity in (0, 1):
            for step in range(parity, size, 2):
                port = low + (offset + step) % size
                tried += 1
                if port in reserved or not usable(port):
                    continue
                self._perturb[index] = (self._perturb[index] + tried + 1) & 0xFFFFFFFF
                return port
        return None
