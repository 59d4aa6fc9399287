"""The scenario file as attrs classes: one class per TOML table, one field per key.

The classes hold the text the user wrote (``"1ms"``, ``"10.0.0.1/24"``), checked when the file is
structured but parsed again only when the network is built, so a scenario can be shown and
written back as it was given.  Every field carries ``metadata={"help": ...}`` (and ``min``/``max``
for numbers): the JSON Schema, the format reference in ``docs/scenario-format.md`` and the range
checks are all generated from it, so the three cannot drift apart.

Two registries make the format open to extension without editing the loader:

- node kinds: a top-level array of tables (``[[hosts]]``) and the :class:`NodeSpec` subclass each
  entry is structured into (:func:`register_node_kind`); a NAT router registers ``nat_routers``;
- app kinds: ``[[apps]]`` entries are dispatched on their ``kind`` key to the :class:`AppSpec`
  subclass registered under that name (:func:`register_app`).

Top-level sections other people own (a timeline, assertions) register with
:func:`register_section`.  No code is ever looked up by a name taken from a file other than
through these registries, which only Python code can fill.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NewType, TypeVar

import attrs

from netsim.proto.tcp.settings import TCPSettings

if TYPE_CHECKING:
    from netsim.sim.network import Network
    from netsim.sim.node import Node

# --- value types: text with a meaning, checked when the file is structured -------------------

Name = NewType("Name", str)
"""A node name: a word without spaces, ':' or '/'."""
Duration = NewType("Duration", str)
"""A duration with a unit: ``"1ms"``, ``"2h4m"`` (netsim.units.parse_duration)."""
Rate = NewType("Rate", str)
"""A bit rate with a unit: ``"100Mbps"`` (netsim.units.parse_rate)."""
Size = NewType("Size", str)
"""A size in bytes with an optional unit: ``1500``, ``"64KiB"`` (netsim.units.parse_size)."""
Probability = NewType("Probability", float)
"""A number in 0..1."""
MAC = NewType("MAC", str)
"""A MAC address: ``"02:00:00:00:00:01"``."""
IPv4 = NewType("IPv4", str)
"""An IPv4 address: ``"192.168.1.1"``."""
HostAddress = NewType("HostAddress", str)
"""An IPv4 or IPv6 address to reach, a link-local one with its zone: ``"192.0.2.10"``, ``"2001:db8::1"``,
``"fe80::1%eth0"``."""
BindAddress = NewType("BindAddress", str)
"""A local address to listen on: IPv4 (``"0.0.0.0"``) or IPv6 (``"::"``: a dual-stack socket)."""
InterfaceAddress = NewType("InterfaceAddress", str)
"""An IPv4 or IPv6 interface address with its prefix length: ``"192.168.1.10/24"``, ``"2001:db8::5/64"``."""
Prefix = NewType("Prefix", str)
"""An IPv4 network with no host bits set: ``"10.0.0.0/8"``, ``"0.0.0.0/0"``."""
RoutePrefix = NewType("RoutePrefix", str)
"""An IPv4 or IPv6 network with no host bits set: ``"10.0.0.0/8"``, ``"2001:db8:2::/64"``, ``"::/0"``."""
RouteAddress = NewType("RouteAddress", str)
"""An IPv4 or IPv6 address in a route (a gateway or a preferred source): ``"10.0.0.1"``, ``"fe80::1"``."""
PortRangeText = NewType("PortRangeText", str)
"""Two ports, low-high inclusive: ``"32768-60999"``."""
Endpoint = NewType("Endpoint", str)
"""An interface of a node: ``"client:eth0"``, ``"sw1:p1"``."""
Endpoints = NewType("Endpoints", tuple[str, ...])
"""One endpoint or a list of them."""
Filter = NewType("Filter", str)
"""A tcpdump-syntax capture filter: ``"tcp port 9000"``."""
RelativePath = NewType("RelativePath", str)
"""A file name relative to the output directory, without '..'."""
StartTime = NewType("StartTime", str)
"""When an app starts: a duration (``"0s"``, ``"2s"``), or ``"off"`` (only a timeline ``start`` starts it)."""
SocketAddress = NewType("SocketAddress", str)
"""An IPv4 address and a port, or an IPv6 one in brackets: ``"10.0.0.2:9000"``, ``"[2001:db8::10]:9000"``."""


def meta(help: str, *, min: float | None = None, max: float | None = None) -> dict[str, Any]:
    """Field metadata: the help text and the allowed range of a number."""
    data: dict[str, Any] = {"help": help}
    if min is not None:
        data["min"] = min
    if max is not None:
        data["max"] = max
    return data


# --- the network ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class NetworkSpec:
    """``[network]``: the seed and the bounds of every run."""

    seed: int = attrs.field(default=0, metadata=meta("seed of every random stream; same seed, same run", min=0))
    time_limit: Duration = attrs.field(
        default=Duration("1h"), metadata=meta("a run stops at this simulated time at the latest"))
    event_limit: int = attrs.field(
        default=50_000_000, metadata=meta("a run stops after this many events at the latest", min=1))
    keep_trace: bool = attrs.field(
        default=True, metadata=meta("keep every trace event in memory (the trace hash is computed either way)"))


# --- hosts and routers ---------------------------------------------------------------------------


_TCP = TCPSettings()


def _ns(value: int) -> Duration:
    """A default duration in the shortest exact unit (``60s``, ``200ms``)."""
    for unit, scale in (("h", 3600 * 10**9), ("m", 60 * 10**9), ("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if value % scale == 0:
            return Duration(f"{value // scale}{unit}")
    return Duration(f"{value}ns")


CongestionControl = Literal["reno", "newreno", "cubic"]


@attrs.frozen(kw_only=True)
class HostSettings:
    """``settings = {...}``: the sysctls netsim models.  Every known key is listed here, once.

    The TCP keys are Linux's ``net.ipv4.tcp_*`` names (and ``net.core.somaxconn``); their defaults
    are those of :class:`netsim.proto.tcp.settings.TCPSettings`, so a host written in a file and one
    built in Python with no settings behave the same.  Durations are strings with units."""

    ip_local_port_range: PortRangeText = attrs.field(
        default=PortRangeText("32768-60999"), metadata=meta("net.ipv4.ip_local_port_range: ephemeral ports, low-high"))
    ttl: int = attrs.field(default=64, metadata=meta("net.ipv4.ip_default_ttl", min=1, max=255))
    icmp_msgs_per_sec: int = attrs.field(
        default=1000, metadata=meta("net.ipv4.icmp_msgs_per_sec: host-wide ICMP rate limit", min=0))
    icmp_msgs_burst: int = attrs.field(
        default=50, metadata=meta("net.ipv4.icmp_msgs_burst: host-wide ICMP burst", min=0))
    icmp_echo_ignore_broadcasts: bool = attrs.field(
        default=True, metadata=meta("net.ipv4.icmp_echo_ignore_broadcasts: do not answer broadcast pings"))
    unprivileged_port_start: int = attrs.field(
        default=1024, metadata=meta("net.ipv4.ip_unprivileged_port_start", min=0, max=65535))
    fd_limit: int = attrs.field(
        default=1024, metadata=meta("RLIMIT_NOFILE (ulimit -n): file descriptors per host; more: EMFILE",
                                    min=4))
    # --- TCP (net.ipv4.tcp_*) ----------------------------------------------------------------------
    tcp_syncookies: int = attrs.field(
        default=_TCP.syncookies,
        metadata=meta("net.ipv4.tcp_syncookies: 0 never, 1 when the SYN queue overflows, 2 always", min=0, max=2))
    somaxconn: int = attrs.field(
        default=_TCP.somaxconn, metadata=meta("net.core.somaxconn: the largest listen() backlog", min=1))
    tcp_max_syn_backlog: int = attrs.field(
        default=_TCP.max_syn_backlog,
        metadata=meta("net.ipv4.tcp_max_syn_backlog: half-open connections kept without cookies", min=1))
    tcp_abort_on_overflow: bool = attrs.field(
        default=_TCP.abort_on_overflow,
        metadata=meta("net.ipv4.tcp_abort_on_overflow: reset (rather than ignore) the final ACK when the "
                      "accept queue is full"))
    tcp_syn_retries: int = attrs.field(
        default=_TCP.syn_retries, metadata=meta("net.ipv4.tcp_syn_retries: SYN retransmissions before ETIMEDOUT",
                                                min=1, max=127))
    tcp_synack_retries: int = attrs.field(
        default=_TCP.synack_retries, metadata=meta("net.ipv4.tcp_synack_retries: SYN-ACK retransmissions", min=1,
                                                   max=255))
    tcp_retries2: int = attrs.field(
        default=_TCP.retries2, metadata=meta("net.ipv4.tcp_retries2: data retransmissions before ETIMEDOUT", min=1,
                                             max=255))
    tcp_congestion_control: CongestionControl = attrs.field(
        default="cubic", metadata=meta("net.ipv4.tcp_congestion_control"))
    tcp_timestamps: bool = attrs.field(
        default=_TCP.timestamps, metadata=meta("net.ipv4.tcp_timestamps: RFC 7323 timestamps"))
    tcp_sack: bool = attrs.field(default=_TCP.sack, metadata=meta("net.ipv4.tcp_sack: RFC 2018 selective ACKs"))
    tcp_window_scaling: bool = attrs.field(
        default=_TCP.window_scaling, metadata=meta("net.ipv4.tcp_window_scaling: RFC 7323 window scaling"))
    tcp_dsack: bool = attrs.field(
        default=_TCP.dsack, metadata=meta("net.ipv4.tcp_dsack: report duplicate segments (RFC 2883 D-SACK)"))
    tcp_early_retrans: int = attrs.field(
        default=_TCP.early_retrans,
        metadata=meta("net.ipv4.tcp_early_retrans: 3 or 4 send tail loss probes (RFC 8985 §7), 0-2 do not",
                      min=0, max=4))
    tcp_recovery: int = attrs.field(
        default=_TCP.recovery,
        metadata=meta("net.ipv4.tcp_recovery: 1 = RACK loss detection (RFC 8985 §6), + 2 static reordering window, "
                      "+ 4 no 3-SACKed shortcut; 0 = RFC 6675's duplicate threshold", min=0, max=7))
    tcp_frto: int = attrs.field(
        default=_TCP.frto,
        metadata=meta("net.ipv4.tcp_frto: 1 or 2 detect a needless timeout by F-RTO (RFC 5682), 0 does not",
                      min=0, max=2))
    tcp_slow_start_after_idle: bool = attrs.field(
        default=_TCP.slow_start_after_idle,
        metadata=meta("net.ipv4.tcp_slow_start_after_idle: restart the window after an idle RTO (RFC 5681 §4.1)"))
    tcp_cubic_hystart: bool = attrs.field(
        default=_TCP.hystart, metadata=meta("tcp_cubic's hystart module parameter: leave slow start by HyStart"))
    tcp_moderate_rcvbuf: bool = attrs.field(
        default=_TCP.moderate_rcvbuf,
        metadata=meta("net.ipv4.tcp_moderate_rcvbuf: grow the receive buffer with the read rate (autotuning)"))
    core_rmem_max: int = attrs.field(
        default=_TCP.core_rmem_max,
        metadata=meta("net.core.rmem_max: the most SO_RCVBUF may ask for, in bytes (then doubled)", min=1))
    core_wmem_max: int = attrs.field(
        default=_TCP.core_wmem_max,
        metadata=meta("net.core.wmem_max: the most SO_SNDBUF may ask for, in bytes (then doubled)", min=1))
    tcp_rmem: tuple[int, ...] = attrs.field(
        default=(4096, _TCP.rmem_default, _TCP.rmem_max),
        metadata=meta("net.ipv4.tcp_rmem: min, default, max receive buffer in bytes", min=1))
    tcp_wmem: tuple[int, ...] = attrs.field(
        default=(4096, _TCP.wmem_default, _TCP.wmem_max),
        metadata=meta("net.ipv4.tcp_wmem: min, default, max send buffer in bytes", min=1))
    tcp_fin_timeout: Duration = attrs.field(
        default=_ns(_TCP.fin_timeout), metadata=meta("net.ipv4.tcp_fin_timeout: how long an orphaned "
                                                      "connection stays in FIN-WAIT-2"))
    tcp_keepalive_time: Duration = attrs.field(
        default=_ns(_TCP.keepalive_time), metadata=meta("net.ipv4.tcp_keepalive_time: idle time before the "
                                                         "first keepalive probe (SO_KEEPALIVE sockets)"))
    tcp_keepalive_intvl: Duration = attrs.field(
        default=_ns(_TCP.keepalive_intvl), metadata=meta("net.ipv4.tcp_keepalive_intvl: time between probes"))
    tcp_keepalive_probes: int = attrs.field(
        default=_TCP.keepalive_probes, metadata=meta("net.ipv4.tcp_keepalive_probes: unanswered probes before "
                                                     "ETIMEDOUT", min=1, max=127))
    msl: Duration | None = attrs.field(
        default=None, metadata=meta("maximum segment lifetime; TIME-WAIT lasts 2 x msl (give msl or time_wait, "
                                    "not both; default: time_wait)"))
    time_wait: Duration = attrs.field(
        default=_ns(_TCP.time_wait), metadata=meta("how long a connection stays in TIME-WAIT (Linux's fixed "
                                                    "TCP_TIMEWAIT_LEN = 60s)"))
    rto_initial: Duration = attrs.field(
        default=_ns(_TCP.rto_initial), metadata=meta("initial retransmission timeout (RFC 6298 §2.1)"))
    rto_min: Duration = attrs.field(default=_ns(_TCP.rto_min), metadata=meta("lower bound of the RTO (TCP_RTO_MIN)"))
    rto_max: Duration = attrs.field(default=_ns(_TCP.rto_max), metadata=meta("upper bound of the RTO (TCP_RTO_MAX)"))
    initial_cwnd: int = attrs.field(
        default=_TCP.initial_cwnd, metadata=meta("initial congestion window in segments (RFC 6928; "
                                                 "ip route ... initcwnd)", min=1, max=1000))

    def problems(self) -> Iterator[tuple[str, str]]:
        """What ranges alone cannot say, as (key, message)."""
        from netsim.units import parse_duration

        for key in ("tcp_rmem", "tcp_wmem"):
            value = getattr(self, key)
            if len(value) != 3:
                yield key, f"expected three sizes [min, default, max], got {len(value)}"
            elif not value[0] <= value[1] <= value[2]:
                yield key, f"min <= default <= max does not hold for {list(value)}"
        for key in ("tcp_fin_timeout", "tcp_keepalive_time", "tcp_keepalive_intvl", "time_wait", "rto_initial",
                    "rto_min", "rto_max", "msl"):
            text = getattr(self, key)
            if text is not None and parse_duration(text) <= 0:
                yield key, f"{text!r}: must be longer than 0"
        if self.msl is not None and self.time_wait != HostSettings().time_wait:
            yield "msl", "give msl or time_wait, not both (TIME-WAIT lasts 2 x msl)"
        low, high = parse_duration(self.rto_min), parse_duration(self.rto_max)
        if low > high:
            yield "rto_min", f"rto_min {self.rto_min!r} is above rto_max {self.rto_max!r}"

    def tcp_settings(self) -> TCPSettings:
        """The :class:`TCPSettings` these sysctls stand for."""
        from netsim.units import parse_duration

        time_wait = 2 * parse_duration(self.msl) if self.msl is not None else parse_duration(self.time_wait)
        return TCPSettings(
            syn_retries=self.tcp_syn_retries, synack_retries=self.tcp_synack_retries, retries2=self.tcp_retries2,
            rto_initial=parse_duration(self.rto_initial), rto_min=parse_duration(self.rto_min),
            rto_max=parse_duration(self.rto_max), time_wait=time_wait,
            fin_timeout=parse_duration(self.tcp_fin_timeout), keepalive_time=parse_duration(self.tcp_keepalive_time),
            keepalive_intvl=parse_duration(self.tcp_keepalive_intvl), keepalive_probes=self.tcp_keepalive_probes,
            window_scaling=self.tcp_window_scaling, timestamps=self.tcp_timestamps, sack=self.tcp_sack,
            dsack=self.tcp_dsack, early_retrans=self.tcp_early_retrans, recovery=self.tcp_recovery, frto=self.tcp_frto,
            slow_start_after_idle=self.tcp_slow_start_after_idle, hystart=self.tcp_cubic_hystart,
            congestion_control=self.tcp_congestion_control, initial_cwnd=self.initial_cwnd,
            moderate_rcvbuf=self.tcp_moderate_rcvbuf,
            rmem_default=self.tcp_rmem[1], rmem_max=self.tcp_rmem[2], wmem_default=self.tcp_wmem[1],
            wmem_max=self.tcp_wmem[2], core_rmem_max=self.core_rmem_max, core_wmem_max=self.core_wmem_max,
            syncookies=self.tcp_syncookies, max_syn_backlog=self.tcp_max_syn_backlog,
            somaxconn=self.somaxconn, abort_on_overflow=self.tcp_abort_on_overflow)

    def host_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of :class:`netsim.sim.host.Host` these settings stand for."""
        low, high = parse_port_range(self.ip_local_port_range)
        return {
            "ip_local_port_range": (low, high),
            "ttl": self.ttl,
            "icmp_msgs_per_sec": self.icmp_msgs_per_sec,
            "icmp_msgs_burst": self.icmp_msgs_burst,
            "icmp_echo_ignore_broadcasts": self.icmp_echo_ignore_broadcasts,
            "unprivileged_port_start": self.unprivileged_port_start,
            "tcp": self.tcp_settings(),
            "fd_limit": self.fd_limit,
        }


def parse_port_range(text: str) -> tuple[int, int]:
    """``"32768-60999"`` -> (32768, 60999); ValueError says what is wrong."""
    parts = text.split("-") if isinstance(text, str) else []
    if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
        raise ValueError(f"{text!r} is not a port range like '32768-60999'")
    low, high = int(parts[0]), int(parts[1])
    if not (1 <= low <= 65535 and 1 <= high <= 65535):
        raise ValueError(f"port range {text!r}: ports are 1..65535")
    if low > high:
        raise ValueError(f"port range {text!r}: the low end is above the high end")
    return low, high


@attrs.frozen(kw_only=True)
class InterfaceSpec:
    """``[[hosts.interfaces]]``: one network interface."""

    name: str = attrs.field(metadata=meta("interface name, unique on the node (e.g. eth0)"))
    mtu: int = attrs.field(default=1500, metadata=meta("MTU in bytes", min=68, max=65535))
    mac: MAC | None = attrs.field(
        default=None, metadata=meta("MAC address; default: derived from the node and interface names"))
    addresses: tuple[InterfaceAddress, ...] = attrs.field(
        default=(), metadata=meta("IPv4 and IPv6 addresses with prefix length; each adds its connected route"))
    multicast_groups: tuple[IPv4, ...] = attrs.field(
        default=(), metadata=meta("IPv4 multicast groups joined on this interface"))
    up: bool = attrs.field(default=True, metadata=meta("administratively up"))
    ipv6_autoconf: bool = attrs.field(default=False, metadata=meta(
        "hosts: run IPv6 from the link-local address and take addresses and a default route from "
        "router advertisements (SLAAC, RFC 4862)"))
    ipv6_advertise: bool = attrs.field(default=False, metadata=meta(
        "routers: send router advertisements for this interface's /64 prefixes (radvd's defaults, "
        "RFC 4861 §6.2)"))


@attrs.frozen(kw_only=True)
class RouteSpec:
    """``[[hosts.routes]]``: ``ip route add PREFIX [via GW] [dev IFACE] [metric N] [src ADDR]``, or
    ``ip -6 route add ...`` for an IPv6 prefix."""

    prefix: RoutePrefix = attrs.field(
        metadata=meta("destination network, IPv4 or IPv6; 0.0.0.0/0 and ::/0 are the default routes"))
    via: RouteAddress | None = attrs.field(
        default=None, metadata=meta("gateway of the prefix's family; on a connected subnet, or link-local with dev"))
    dev: str | None = attrs.field(default=None, metadata=meta("outgoing interface; default: the gateway's"))
    metric: int = attrs.field(default=0, metadata=meta("route metric; lower wins among equal prefixes", min=0))
    src: RouteAddress | None = attrs.field(default=None, metadata=meta("preferred source address"))


@attrs.frozen
class PortInfo:
    """What validation needs to know about one interface of a node, whatever its kind."""

    name: str
    path: str  # relative to the node's path, e.g. "interfaces[0]"
    addresses: tuple[str, ...] = ()
    vlans: frozenset[int] | None = frozenset({1})  # None: every VLAN (a trunk without a list)
    linkable: bool = True


@attrs.frozen(kw_only=True)
class NodeSpec:
    """Base of every node kind.  Subclasses are attrs classes registered with
    :func:`register_node_kind`; they say which interfaces they have, how to build themselves, and
    any checks of their own."""

    name: Name = attrs.field(metadata=meta("node name, unique in the scenario (no spaces, ':' or '/')"))

    #: the registered ``kind`` (set by :func:`register_node_kind`)
    KIND: ClassVar[str] = "node"

    def port_info(self) -> tuple[PortInfo, ...]:
        """The interfaces this node will have."""
        return ()

    def route_specs(self) -> tuple[RouteSpec, ...]:
        return ()

    def check(self, scenario: Scenario) -> Iterator[tuple[str, str]]:
        """Problems only this kind knows about, as (path relative to the node, message)."""
        return iter(())

    def build(self, network: Network) -> Node:  # pragma: no cover - abstract
        raise NotImplementedError


@attrs.frozen(kw_only=True)
class HostSpec(NodeSpec):
    """``[[hosts]]``: an end host (no forwarding)."""

    settings: HostSettings = attrs.field(factory=HostSettings, metadata=meta("sysctl-like host settings"))
    interfaces: tuple[InterfaceSpec, ...] = attrs.field(default=(), metadata=meta("network interfaces"))
    routes: tuple[RouteSpec, ...] = attrs.field(default=(), metadata=meta("static routes"))

    KIND: ClassVar[str] = "host"

    def port_info(self) -> tuple[PortInfo, ...]:
        lo = PortInfo("lo", "interfaces", ("127.0.0.1/8",), linkable=False)
        return (lo, *(PortInfo(iface.name, f"interfaces[{index}]", tuple(iface.addresses))
                      for index, iface in enumerate(self.interfaces)))

    def route_specs(self) -> tuple[RouteSpec, ...]:
        return self.routes

    def check(self, scenario: Scenario) -> Iterator[tuple[str, str]]:
        for key, message in self.settings.problems():
            yield f"settings.{key}", message
        forwards = self.KIND != "host"
        for index, iface in enumerate(self.interfaces):
            if iface.ipv6_advertise and not forwards:
                yield (f"interfaces[{index}].ipv6_advertise",
                       "only a router advertises itself as one (this host does not forward)")
            if iface.ipv6_autoconf and forwards:
                yield (f"interfaces[{index}].ipv6_autoconf",
                       f"a {self.KIND} forwards, and a router takes no router advertisements (Linux's accept_ra)")

    def build(self, network: Network) -> Node:
        from netsim.sim.host import Host

        return self._configure(Host(network, self.name, **self.settings.host_kwargs()))

    def _configure(self, host: Any) -> Node:
        for iface in self.interfaces:
            host.add_interface(iface.name, mac=iface.mac, mtu=iface.mtu)
            for address in iface.addresses:
                host.add_address(iface.name, address)
            for group in iface.multicast_groups:
                host.join_multicast(iface.name, group)
            if not iface.up:
                host.iface(iface.name).set_up(False)
            if iface.ipv6_autoconf:
                host.autoconfigure(iface.name)
            if iface.ipv6_advertise:
                host.advertise(iface.name)
        for route in self.routes:
            host.add_route(route.prefix, via=route.via, dev=route.dev, metric=route.metric, src=route.src)
        return host  # type: ignore[no-any-return]


@attrs.frozen(kw_only=True)
class RouterSpec(HostSpec):
    """``[[routers]]``: a host that forwards (net.ipv4.ip_forward = 1)."""

    KIND: ClassVar[str] = "router"

    def build(self, network: Network) -> Node:
        from netsim.sim.host import Router

        return self._configure(Router(network, self.name, **self.settings.host_kwargs()))


# --- switches ------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SwitchPortSpec:
    """``[[switches.ports]]``: one switch port and its 802.1Q mode."""

    name: str = attrs.field(metadata=meta("port name, unique on the switch (e.g. p1)"))
    mode: Literal["access", "trunk"] = attrs.field(
        default="access", metadata=meta("access: one VLAN untagged; trunk: VLANs tagged, the native one untagged"))
    vlan: int | None = attrs.field(
        default=None, metadata=meta("access ports: the VLAN (default 1)", min=1, max=4094))
    vlans: tuple[int, ...] | None = attrs.field(
        default=None, metadata=meta("trunk ports: the VLANs carried tagged (default: all)", min=1, max=4094))
    native: int | None = attrs.field(
        default=None, metadata=meta("trunk ports: the VLAN carried untagged (default: none)", min=1, max=4094))


@attrs.frozen(kw_only=True)
class SwitchSpec(NodeSpec):
    """``[[switches]]``: a learning bridge with 802.1Q VLANs."""

    ports: int | tuple[SwitchPortSpec, ...] = attrs.field(
        default=0,
        metadata=meta("a number of access ports in VLAN 1 named p1..pN, or a list of port tables", min=0,
                      max=4096))
    ageing_time: Duration = attrs.field(
        default=Duration("300s"), metadata=meta("how long a learned MAC address is remembered"))

    KIND: ClassVar[str] = "switch"

    def port_specs(self) -> tuple[SwitchPortSpec, ...]:
        if isinstance(self.ports, int):
            return tuple(SwitchPortSpec(name=f"p{i}") for i in range(1, self.ports + 1))
        return self.ports

    def port_info(self) -> tuple[PortInfo, ...]:
        infos = []
        for index, port in enumerate(self.port_specs()):
            path = "ports" if isinstance(self.ports, int) else f"ports[{index}]"
            if port.mode == "access":
                vlans: frozenset[int] | None = frozenset({port.vlan or 1})
            elif port.vlans is None:
                vlans = None
            else:
                vlans = frozenset({*port.vlans, *([port.native] if port.native is not None else [])})
            infos.append(PortInfo(port.name, path, (), vlans))
        return tuple(infos)

    def check(self, scenario: Scenario) -> Iterator[tuple[str, str]]:
        if isinstance(self.ports, int):
            return
        for index, port in enumerate(self.ports):
            if port.mode == "access" and (port.vlans is not None or port.native is not None):
                yield f"ports[{index}]", "'vlans' and 'native' are for trunk ports; an access port has one 'vlan'"
            if port.mode == "trunk" and port.vlan is not None:
                yield f"ports[{index}].vlan", "'vlan' is for access ports; a trunk port has 'vlans' and 'native'"

    def build(self, network: Network) -> Node:
        from netsim.sim.switch import Switch

        specs = self.port_specs()
        switch = Switch(network, self.name, ageing_time=self.ageing_time, ports=[port.name for port in specs])
        for port in specs:
            if port.mode == "trunk":
                switch.set_trunk(port.name, list(port.vlans) if port.vlans is not None else None, port.native)
            elif port.vlan is not None and port.vlan != 1:
                switch.set_access(port.name, port.vlan)
        return switch


# --- links and captures --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class GilbertElliottSpec:
    """``burst_loss = {p = ..., r = ...}``: two-state burst loss (Gilbert-Elliott)."""

    p: Probability = attrs.field(metadata=meta("per-frame probability of going from the good to the bad state",
                                               min=0, max=1))
    r: Probability = attrs.field(metadata=meta("per-frame probability of going from the bad to the good state",
                                               min=0, max=1))
    loss_bad: Probability = attrs.field(
        default=Probability(1.0), metadata=meta("loss probability in the bad state", min=0, max=1))
    loss_good: Probability = attrs.field(
        default=Probability(0.0), metadata=meta("loss probability in the good state", min=0, max=1))


@attrs.frozen(kw_only=True)
class LinkSpec:
    """``[[links]]``: a full-duplex point-to-point cable between two interfaces."""

    a: Endpoint = attrs.field(metadata=meta("one end, as node:interface"))
    b: Endpoint = attrs.field(metadata=meta("the other end, as node:interface"))
    rate: Rate = attrs.field(default=Rate("1Gbps"), metadata=meta("line rate of each direction"))
    delay: Duration = attrs.field(default=Duration("1ms"), metadata=meta("one-way propagation delay"))
    queue_packets: int = attrs.field(
        default=1000, metadata=meta("drop-tail queue bound of each direction, in frames", min=1))
    queue_bytes: Size | None = attrs.field(
        default=None, metadata=meta("drop-tail queue bound of each direction, in bytes (default: none)"))
    loss: Probability = attrs.field(
        default=Probability(0.0), metadata=meta("probability that a frame is lost", min=0, max=1))
    burst_loss: GilbertElliottSpec | None = attrs.field(
        default=None, metadata=meta("Gilbert-Elliott burst loss, on top of 'loss'"))
    duplicate: Probability = attrs.field(
        default=Probability(0.0), metadata=meta("probability that a frame is delivered twice", min=0, max=1))
    reorder: Probability = attrs.field(
        default=Probability(0.0), metadata=meta("probability that a frame is held back by reorder_delay",
                                                min=0, max=1))
    reorder_delay: Duration = attrs.field(
        default=Duration("1ms"), metadata=meta("extra delay of a reordered frame"))
    corrupt: Probability = attrs.field(
        default=Probability(0.0), metadata=meta("probability that one bit of a frame is flipped", min=0, max=1))
    up: bool = attrs.field(default=True, metadata=meta("the cable is plugged in"))
    name: str | None = attrs.field(
        default=None, metadata=meta("a name for timeline actions to refer to it by (they may also use either "
                                    "end, as node:interface)"))


@attrs.frozen(kw_only=True)
class CaptureSpec:
    """``[[captures]]``: ``tcpdump -i IFACE -w FILE 'FILTER'``."""

    at: Endpoints = attrs.field(metadata=meta("the interface(s) to capture on, as node:interface"))
    filter: Filter = attrs.field(default=Filter(""), metadata=meta("tcpdump-syntax filter; empty: every frame"))
    file: RelativePath | None = attrs.field(
        default=None, metadata=meta("pcap file to write, relative to the output directory; default: memory only"))
    direction: Literal["both", "in", "out"] = attrs.field(
        default="both", metadata=meta("which frames: received (in), sent (out) or both"))
    pcapng: bool = attrs.field(default=False, metadata=meta("write pcapng instead of classic pcap"))
    snaplen: int = attrs.field(default=262144, metadata=meta("bytes kept of each frame", min=1, max=262144))
    name: str | None = attrs.field(default=None, metadata=meta("a name to find the capture by (default: 'at')"))


# --- applications --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class AppSpec:
    """Base of every app kind: ``[[apps]]`` with ``kind = "..."`` picks the subclass."""

    node: Name = attrs.field(metadata=meta("the host or router the app runs on"))
    start: StartTime = attrs.field(
        default=StartTime("0s"), metadata=meta("when the app starts; \"off\": only when a timeline 'start' "
                                               "action starts it"))
    name: str | None = attrs.field(
        default=None, metadata=meta("a unique name for the timeline and expectations to refer to it by "
                                    "(default: apps[INDEX])"))

    #: the registered ``kind`` (set by :func:`register_app`)
    KIND: ClassVar[str] = "app"

    @property
    def kind(self) -> str:
        return self.KIND

    def check(self, scenario: Scenario) -> Iterator[tuple[str, str]]:
        """Problems only this kind knows about, as (path relative to the app, message)."""
        return iter(())

    def launch(self, node: Any) -> Any:  # pragma: no cover - abstract
        """The SimPy process generator that runs the app on ``node``."""
        raise NotImplementedError

    def run(self, ctx: Any) -> Any:
        """The process generator the scenario runner starts, given an
        :class:`~netsim.scenario.apps_tcp.AppContext` (``ctx.host``; ``ctx.result``, a dict the app
        may fill as it goes so that a stopped or still running app has results too; ``ctx.socket``
        and ``ctx.spawn``, which let a ``stop`` action close what the app opened).  By default:
        :meth:`launch` on ``ctx.host``."""
        return self.launch(ctx.host)

    def report(self, value: Any) -> dict[str, Any]:
        """The app's result as a JSON-serialisable dict, from what its process returned."""
        from netsim.scenario.results import jsonable

        data = jsonable(value)
        return data if isinstance(data, dict) else {"value": data}


# --- the scenario --------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Scenario:
    """A whole scenario file, structured and checked."""

    network: NetworkSpec = attrs.field(factory=NetworkSpec)
    nodes: tuple[NodeSpec, ...] = ()
    links: tuple[LinkSpec, ...] = ()
    captures: tuple[CaptureSpec, ...] = ()
    apps: tuple[AppSpec, ...] = ()
    #: registered extra sections (see :func:`register_section`), by name
    sections: dict[str, Any] = attrs.field(factory=dict)
    file: str = "<string>"

    def node(self, name: str) -> NodeSpec | None:
        return next((node for node in self.nodes if node.name == name), None)

    def node_paths(self) -> list[tuple[str, NodeSpec]]:
        """Each node with its path in the file (``hosts[2]``), in file order."""
        counts: dict[str, int] = {}
        out = []
        for node in self.nodes:
            section = NODE_KINDS[node.KIND].section
            out.append((f"{section}[{counts.get(section, 0)}]", node))
            counts[section] = counts.get(section, 0) + 1
        return out


# --- registries ----------------------------------------------------------------------------------


@attrs.frozen
class NodeKind:
    """A registered node kind: the top-level array of tables it is written in and its class."""

    kind: str
    section: str
    spec: type[NodeSpec]
    help: str


@attrs.frozen
class Section:
    """A registered top-level section (a timeline, assertions ...): its key, type, help, and an
    optional semantic check ``check(scenario, value)`` yielding (path below the section, message)."""

    name: str
    type: Any
    help: str
    default: Callable[[], Any]
    check: Callable[[Scenario, Any], Iterable[tuple[str, str]]] | None = None


@attrs.frozen
class Variants:
    """A family of tables told apart by one key (``action = "link-down"``, ``kind = "app"``): the
    key and the attrs class registered for each of its values."""

    tag: str
    classes: dict[str, type]


NODE_KINDS: dict[str, NodeKind] = {}
APP_KINDS: dict[str, type[AppSpec]] = {}
SECTIONS: dict[str, Section] = {}
#: base classes whose tables are dispatched on a tag key (see :func:`register_variant`)
VARIANT_BASES: dict[type, Variants] = {}

#: top-level keys the loader handles itself
CORE_SECTIONS = ("network", "links", "captures", "apps")

T = TypeVar("T")
N = TypeVar("N", bound=NodeSpec)
A = TypeVar("A", bound=AppSpec)


def register_node_kind(kind: str, section: str, help: str) -> Callable[[type[N]], type[N]]:
    """Class decorator: entries of the top-level array ``[[section]]`` are nodes of this class."""

    def register(cls: type[N]) -> type[N]:
        if not (attrs.has(cls) and issubclass(cls, NodeSpec)):
            raise TypeError(f"{cls!r} must be an attrs subclass of NodeSpec")
        taken = {k.section for k in NODE_KINDS.values() if k.kind != kind} | set(CORE_SECTIONS) | set(SECTIONS)
        if section in taken:
            raise ValueError(f"the top-level key {section!r} is already taken")
        cls.KIND = kind
        NODE_KINDS[kind] = NodeKind(kind, section, cls, help)
        return cls

    return register


def register_app(kind: str) -> Callable[[type[A]], type[A]]:
    """Class decorator: ``[[apps]]`` entries with ``kind = "<kind>"`` are structured into this class."""

    def register(cls: type[A]) -> type[A]:
        if not (attrs.has(cls) and issubclass(cls, AppSpec)):
            raise TypeError(f"{cls!r} must be an attrs subclass of AppSpec")
        cls.KIND = kind
        APP_KINDS[kind] = cls
        return cls

    return register


def register_section(name: str, type_: Any, help: str, default: Callable[[], Any],
                     check: Callable[[Scenario, Any], Iterable[tuple[str, str]]] | None = None) -> None:
    """A new top-level key, structured into ``type_`` (an attrs class, or a tuple of one) and kept in
    ``Scenario.sections[name]`` (``default()`` when the file has none); ``check(scenario, value)``
    yields its semantic problems as (path below the section, message)."""
    if name in CORE_SECTIONS or name in {k.section for k in NODE_KINDS.values()}:
        raise ValueError(f"the top-level key {name!r} is already taken")
    SECTIONS[name] = Section(name, type_, help, default, check)


def variant_base(tag: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: tables of this attrs class are structured into the subclass registered
    (:func:`register_variant`) under the value of their ``tag`` key."""

    def declare(cls: type[T]) -> type[T]:
        VARIANT_BASES[cls] = Variants(tag, {})
        return cls

    return declare


def register_variant(base: type, name: str) -> Callable[[type[T]], type[T]]:
    """Class decorator: tables of ``base`` whose tag key is ``name`` are structured into this class
    (an attrs subclass of ``base``); its ``TAG_VALUE`` is set to ``name``."""

    def register(cls: type[T]) -> type[T]:
        if not (attrs.has(cls) and isinstance(cls, type) and issubclass(cls, base)):
            raise TypeError(f"{cls!r} must be an attrs subclass of {base.__name__}")
        cls.TAG_VALUE = name  # type: ignore[attr-defined]
        VARIANT_BASES[base].classes[name] = cls
        return cls

    return register


register_node_kind("host", "hosts", "end hosts")(HostSpec)
register_node_kind("router", "routers", "routers: hosts that forward")(RouterSpec)
register_node_kind("switch", "switches", "learning switches with 802.1Q VLANs")(SwitchSpec)
