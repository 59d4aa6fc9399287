"""The values the NAT table speaks in: 5-tuples, drops, directions and port-forward rules."""

from __future__ import annotations

import enum
from ipaddress import IPv4Address, IPv4Network
from typing import Any, NamedTuple

import attrs

from netsim.wire._fields import fast_ipv4

ICMP = 1
TCP = 6
UDP = 17
PROTOCOL_NAMES = {ICMP: "icmp", TCP: "tcp", UDP: "udp"}
PROTOCOL_NUMBERS = {name: number for number, name in PROTOCOL_NAMES.items()}


class FlowTuple(NamedTuple):
    """A packet's 5-tuple.  For ICMP echo request/reply, ``sport`` and ``dport`` are both the
    echo identifier (RFC 5508 §3.1 treats it as the query's port).

    A named tuple, not an attrs class: the NAT builds and hashes one or two per packet, and a
    tuple hashes and compares in C.  Not validated here: it is built per packet from fields
    the wire layer has decoded.
    """

    protocol: int
    src: IPv4Address
    sport: int
    dst: IPv4Address
    dport: int

    def reply(self) -> FlowTuple:
        """The tuple of a packet going the other way."""
        return _new_tuple(FlowTuple, (self[0], self[3], self[4], self[1], self[2]))

    def sort_key(self) -> tuple[int, int, int, int, int]:
        """An order that does not depend on hashing: protocol, then addresses and ports as ints."""
        return (self.protocol, int(self.src), self.sport, int(self.dst), self.dport)

    def __str__(self) -> str:
        name = PROTOCOL_NAMES.get(self.protocol, str(self.protocol))
        return f"{name} {_endpoint(self.src, self.sport)} -> {_endpoint(self.dst, self.dport)}"

    def __repr__(self) -> str:
        return (f"FlowTuple(protocol={self.protocol!r}, src={self.src!r}, sport={self.sport!r}, "
                f"dst={self.dst!r}, dport={self.dport!r})")


_new_tuple = tuple.__new__


def make_flow(protocol: int, src: IPv4Address, sport: int, dst: IPv4Address, dport: int) -> FlowTuple:
    """FlowTuple(protocol, src, sport, dst, dport) for values that are already right."""
    return _new_tuple(FlowTuple, (protocol, src, sport, dst, dport))


def flow(protocol: str | int, src: str | IPv4Address, sport: int, dst: str | IPv4Address, dport: int) -> FlowTuple:
    """``flow("udp", "192.168.1.10", 5000, "198.51.100.1", 53)``: a FlowTuple from friendly values."""
    number = PROTOCOL_NUMBERS[protocol] if isinstance(protocol, str) else protocol
    return FlowTuple(number, fast_ipv4(src), sport, fast_ipv4(dst), dport)


def icmp_echo(src: str | IPv4Address, dst: str | IPv4Address, identifier: int) -> FlowTuple:
    """The tuple of an ICMP echo request or reply with that identifier."""
    return flow(ICMP, src, identifier, dst, identifier)


@attrs.frozen
class Drop:
    """The table refuses a packet; ``reason`` is also the key counted in ``NatTable.drops``.

    ``to_host``: the packet, untranslated, is for the NAT's own stack (which answers it as any
    host does): always when no entry or forward knows it ("no mapping"), and for a refusal the
    behaviour answers (:attr:`~netsim.proto.nat.behaviour.Unsolicited.ANSWER`).  Not part of
    equality: a drop is its reason.
    """

    reason: str
    to_host: bool = attrs.field(default=False, eq=False)


class Direction(enum.Enum):
    """Which way a packet crosses the NAT."""

    OUTBOUND = "outbound"  # from the inside network towards an outside address
    INBOUND = "inbound"  # arriving at one of the NAT's outside addresses


def _proto(_inst: Any, _attribute: Any, value: Any) -> None:
    if value not in (TCP, UDP):
        raise ValueError(f"a port forward is for TCP (6) or UDP (17), got {value!r}")


def _port(_inst: Any, attribute: Any, value: Any) -> None:
    if type(value) is not int or not 1 <= value <= 65535:
        raise ValueError(f"{attribute.name} must be a port number in 1..65535, got {value!r}")


def _addr(value: Any) -> Any:
    return fast_ipv4(value) if isinstance(value, str | IPv4Address) else value


def _opt_addr(value: Any) -> Any:
    return None if value is None else _addr(value)


@attrs.frozen
class PortForward:
    """DNAT: ``iptables -t nat -A PREROUTING -p udp [-d outside_addr] --dport outside_port -j DNAT
    --to inside_addr:inside_port``.  ``outside_addr`` None means every outside address."""

    protocol: int = attrs.field(validator=_proto)
    outside_addr: IPv4Address | None = attrs.field(converter=_opt_addr)
    outside_port: int = attrs.field(validator=_port)
    inside_addr: IPv4Address = attrs.field(converter=_addr)
    inside_port: int = attrs.field(validator=_port)


def _network(value: Any) -> IPv4Network:
    return value if isinstance(value, IPv4Network) else IPv4Network(value)


def networks(values: Any) -> tuple[IPv4Network, ...]:
    """Exempt prefixes given as strings or networks, as a tuple."""
    return tuple(_network(v) for v in values)


def _endpoint(address: Any, port: int) -> str:
    """``10.0.0.1:40000``, or ``[2001:db8::1]:40000`` for an IPv6 address (RFC 3986's brackets)."""
    return f"[{address}]:{port}" if address.version == 6 else f"{address}:{port}"
