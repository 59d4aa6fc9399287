"""``[[nat_routers]]``: routers that translate, with every RFC 4787 knob of the NAT engine.

```toml
[[nat_routers]]
name = "home"
interfaces = [
  { name = "lan", addresses = ["192.168.1.1/24"] },
  { name = "wan", addresses = ["198.51.100.77/24"] },
]
routes = [{ prefix = "0.0.0.0/0", via = "198.51.100.1" }]
nat = { inside = ["lan"], outside = "wan", preset = "linux-masquerade" }
```

The ``preset`` names a behaviour (``full-cone``, ``restricted-cone``, ``port-restricted-cone``,
``symmetric``, ``linux-masquerade``); any other key of ``nat`` overrides that part of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Address, IPv4Network
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import attrs

from netsim.scenario.model import Duration, IPv4, Prefix, RouterSpec, Scenario, meta, register_node_kind

if TYPE_CHECKING:
    from netsim.sim.network import Network
    from netsim.sim.node import Node

PRESET_NAMES = ("full-cone", "restricted-cone", "port-restricted-cone", "symmetric", "linux-masquerade")
BEHAVIOURS = ("endpoint-independent", "address-dependent", "address-and-port-dependent")


@attrs.frozen(kw_only=True)
class PortForwardSpec:
    """``forwards = [{...}]``: DNAT, ``iptables -t nat -A PREROUTING ... -j DNAT``."""

    protocol: Literal["tcp", "udp"] = attrs.field(metadata=meta("tcp or udp"))
    port: int = attrs.field(metadata=meta("outside port", min=1, max=65535))
    to: str = attrs.field(metadata=meta("inside address:port, e.g. 192.168.1.20:80"))
    address: IPv4 | None = attrs.field(default=None, metadata=meta("outside address (default: every one)"))


@attrs.frozen(kw_only=True)
class NatTimeoutsSpec:
    """``timeouts = {...}``: how long idle entries live, per protocol and TCP state."""

    udp: Duration | None = attrs.field(default=None, metadata=meta("a UDP flow seen one way (unreplied)"))
    udp_stream: Duration | None = attrs.field(default=None, metadata=meta("a UDP flow with replies (assured)"))
    icmp: Duration | None = attrs.field(default=None, metadata=meta("an ICMP query"))
    tcp_syn_sent: Duration | None = attrs.field(default=None, metadata=meta("TCP after the SYN"))
    tcp_syn_recv: Duration | None = attrs.field(default=None, metadata=meta("TCP after the SYN-ACK"))
    tcp_established: Duration | None = attrs.field(default=None, metadata=meta("TCP established"))
    tcp_fin_wait: Duration | None = attrs.field(default=None, metadata=meta("TCP after a FIN"))
    tcp_close_wait: Duration | None = attrs.field(default=None, metadata=meta("TCP after the other FIN"))
    tcp_last_ack: Duration | None = attrs.field(default=None, metadata=meta("TCP waiting for the last ACK"))
    tcp_time_wait: Duration | None = attrs.field(default=None, metadata=meta("TCP after both FINs"))
    tcp_close: Duration | None = attrs.field(default=None, metadata=meta("TCP after an RST"))


@attrs.frozen(kw_only=True)
class NatSpec:
    """``nat = {...}``: which interfaces are inside and outside, and how the NAT behaves."""

    inside: tuple[str, ...] = attrs.field(metadata=meta("the inside (private) interfaces"))
    outside: str = attrs.field(metadata=meta("the outside (public) interface"))
    preset: Literal["full-cone", "restricted-cone", "port-restricted-cone", "symmetric", "linux-masquerade"] = (
        attrs.field(default="linux-masquerade", metadata=meta("the behaviour to start from")))
    addresses: tuple[IPv4, ...] = attrs.field(
        default=(), metadata=meta("outside addresses to translate to (default: the outside interface's)"))
    mapping: Literal["endpoint-independent", "address-dependent", "address-and-port-dependent"] | None = (
        attrs.field(default=None, metadata=meta("RFC 4787 §4.1 mapping behaviour")))
    filtering: Literal["endpoint-independent", "address-dependent", "address-and-port-dependent"] | None = (
        attrs.field(default=None, metadata=meta("RFC 4787 §5 filtering behaviour")))
    port_assignment: Literal["preserve", "preserve-random", "sequential", "random"] | None = attrs.field(
        default=None, metadata=meta("RFC 4787 §4.2: keep the inside port when free (else the next free one, or a "
                                    "random one as Linux), or always the next, or always a random one"))
    port_range: str | None = attrs.field(default=None, metadata=meta("outside ports handed out, e.g. 1024-65535"))
    port_parity: bool | None = attrs.field(default=None, metadata=meta("RFC 4787 REQ-5: keep even/odd parity"))
    pooling: Literal["paired", "arbitrary"] | None = attrs.field(
        default=None, metadata=meta("RFC 4787 §4.1: one outside address per inside host (paired) or any"))
    hairpinning: bool | None = attrs.field(default=None, metadata=meta("RFC 4787 §6: inside to inside via outside"))
    unsolicited: Literal["drop", "answer"] | None = attrs.field(default=None, metadata=meta(
        "a packet the filtering refuses: dropped in silence, or answered by the router's own stack "
        "(RST, port unreachable) as Linux's masquerade without a firewall rule does"))
    max_entries: int | None = attrs.field(default=None, metadata=meta("translation table size", min=1))
    timeouts: NatTimeoutsSpec = attrs.field(factory=NatTimeoutsSpec, metadata=meta("idle timeouts"))
    forwards: tuple[PortForwardSpec, ...] = attrs.field(default=(), metadata=meta("port forwards (DNAT)"))
    exempt: tuple[Prefix, ...] = attrs.field(default=(), metadata=meta("prefixes routed without translation"))

    def behaviour(self) -> Any:
        from netsim.proto.nat.behaviour import Filtering, Mapping, NatBehaviour, Pooling, PortAssignment, Unsolicited
        from netsim.units import parse_duration

        base = NatBehaviour.preset(self.preset)
        changes: dict[str, Any] = {}
        kinds = {"endpoint-independent": 0, "address-dependent": 1, "address-and-port-dependent": 2}
        if self.mapping is not None:
            changes["mapping"] = list(Mapping)[kinds[self.mapping]]
        if self.filtering is not None:
            changes["filtering"] = list(Filtering)[kinds[self.filtering]]
        if self.port_assignment is not None:
            changes["port_assignment"] = {
                "preserve": PortAssignment.PRESERVE, "preserve-random": PortAssignment.PRESERVE_RANDOM,
                "sequential": PortAssignment.SEQUENTIAL, "random": PortAssignment.RANDOM}[self.port_assignment]
        if self.port_range is not None:
            low, _, high = self.port_range.partition("-")
            changes["port_range"] = (int(low), int(high))
        if self.port_parity is not None:
            changes["port_parity"] = self.port_parity
        if self.pooling is not None:
            changes["pooling"] = Pooling.PAIRED if self.pooling == "paired" else Pooling.ARBITRARY
        if self.hairpinning is not None:
            changes["hairpinning"] = self.hairpinning
        if self.unsolicited is not None:
            changes["unsolicited"] = Unsolicited(self.unsolicited)
        if self.max_entries is not None:
            changes["max_entries"] = self.max_entries
        timeouts = {field.name: getattr(self.timeouts, field.name) for field in attrs.fields(NatTimeoutsSpec)}
        timeout_changes = {name: parse_duration(value) for name, value in timeouts.items() if value is not None}
        if timeout_changes:
            changes["timeouts"] = _evolve_timeouts(base.timeouts, timeout_changes)
        if changes.get("mapping") is not None or changes.get("filtering") is not None:
            mapping = changes.get("mapping", base.mapping)
            filtering = changes.get("filtering", base.filtering)
            if base.port_overloading and (mapping is not Mapping.ADDRESS_AND_PORT_DEPENDENT
                                          or filtering is not Filtering.ADDRESS_AND_PORT_DEPENDENT):
                changes["port_overloading"] = False
        return attrs.evolve(base, **changes)


def _evolve_timeouts(timeouts: Any, changes: dict[str, int]) -> Any:
    """The engine's :class:`Timeouts` with the file's overrides (the field names are the same)."""
    return attrs.evolve(timeouts, **changes)


@register_node_kind("nat-router", "nat_routers", "routers that translate addresses (NAT/NAPT, RFC 4787/5382)")
@attrs.frozen(kw_only=True)
class NatRouterSpec(RouterSpec):
    """``[[nat_routers]]``: a router with NAT between its inside interfaces and an outside one."""

    nat: NatSpec = attrs.field(metadata=meta("the translation: interfaces and behaviour"))

    KIND: ClassVar[str] = "nat-router"

    def check(self, scenario: Scenario) -> Iterator[tuple[str, str]]:
        yield from super().check(scenario)  # (settings and interfaces, as every router's)
        names = [iface.name for iface in self.interfaces]
        for index, inside in enumerate(self.nat.inside):
            if inside not in names:
                yield f"nat.inside[{index}]", f"no interface {inside!r} on {self.name} (it has {', '.join(names)})"
        if self.nat.outside not in names:
            yield "nat.outside", f"no interface {self.nat.outside!r} on {self.name} (it has {', '.join(names)})"
        elif self.nat.outside in self.nat.inside:
            yield "nat.outside", f"{self.nat.outside!r} cannot be both inside and outside"
        else:
            outside = next(i for i in self.interfaces if i.name == self.nat.outside)
            if not outside.addresses and not self.nat.addresses:
                yield "nat.outside", f"the outside interface {self.nat.outside!r} has no address to translate to"
        if self.nat.port_range is not None:
            low, dash, high = self.nat.port_range.partition("-")
            if not (dash and low.isdigit() and high.isdigit() and 1 <= int(low) <= int(high) <= 65535):
                yield "nat.port_range", f"{self.nat.port_range!r} is not a port range like 1024-65535"
        for index, forward in enumerate(self.nat.forwards):
            host, _, port = forward.to.rpartition(":")
            try:
                IPv4Address(host)
                if not 1 <= int(port) <= 65535:
                    raise ValueError
            except ValueError:
                yield f"nat.forwards[{index}].to", f"{forward.to!r} is not an inside address:port"
        for index, prefix in enumerate(self.nat.exempt):
            try:
                IPv4Network(prefix)
            except ValueError as exc:
                yield f"nat.exempt[{index}]", f"{prefix!r} is not a prefix: {exc}"
        try:
            self.nat.behaviour()
        except ValueError as exc:
            yield "nat", str(exc)

    def build(self, network: Network) -> Node:
        from netsim.proto.nat.flow import PortForward
        from netsim.sim.nat import NatRouter

        router = self._configure(NatRouter(network, self.name, **self.settings.host_kwargs()))
        forwards = []
        for forward in self.nat.forwards:
            host, _, port = forward.to.rpartition(":")
            forwards.append(PortForward(6 if forward.protocol == "tcp" else 17, forward.address, forward.port,
                                        host, int(port)))
        router.enable_nat(inside=list(self.nat.inside), outside=self.nat.outside,  # type: ignore[attr-defined]
                          behaviour=self.nat.behaviour(), addresses=list(self.nat.addresses) or None,
                          forwards=forwards, exempt=list(self.nat.exempt))
        return router
