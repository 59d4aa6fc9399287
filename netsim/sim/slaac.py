"""Router advertisements and stateless address autoconfiguration (RFC 4861 §6, RFC 4862).

A router's interface that *advertises* sends Router Advertisements as radvd does with its
defaults: one when advertising starts, then at a random interval between MinRtrAdvInterval
(198 s, 0.33 x the maximum) and MaxRtrAdvInterval (600 s) — at most 16 s apart for the first three (§6.2.4) — and,
answering a Router Solicitation, one more after a random 0-500 ms delay but never within 3 s of
the last multicast one (§6.2.6).  Each goes from the interface's link-local address to ff02::1
with hop limit 255, the router lifetime 1800 s, the interface's MAC (Source Link-Layer Address)
and a Prefix Information option (on-link, autonomous, 30 days valid, 7 days preferred) for each
/64 of the interface.

A host interface that *autoconfigures* (Linux's ``accept_ra = 1`` and ``autoconf = 1``, which
are the defaults on a host that does not forward) has its link-local address, sends up to three
Router Solicitations 4 s apart after a random 0-1 s delay (§6.3.7) until an advertisement
comes, and takes from each valid advertisement (§6.1.2: from a link-local source, hop limit
255): a default route via the router's link-local address for the router lifetime (0: the
router withdraws it), the on-link prefixes as connected routes, an address for each autonomous
/64 prefix made from the prefix and the interface's modified EUI-64 identifier (RFC 4862 §5.5.3),
the advertised current hop limit, and the router's MAC in the neighbour cache.

Simplified (documented): no duplicate address detection, address and prefix lifetimes are not
aged (a prefix advertised with a valid lifetime of 0 is ignored rather than timing out what is
there), no MTU option, no router preference, no DHCPv6 for the M and O flags, one hop limit
for the host (Linux keeps one per interface).
"""

from __future__ import annotations

from ipaddress import IPv6Address, IPv6Interface, IPv6Network
from typing import TYPE_CHECKING, Any

import attrs

from netsim.proto.routing import Route
from netsim.sim.ipv6 import ALL_NODES, link_local_for
from netsim.units import MS, S
from netsim.wire.icmpv6 import ICMPv6RouterAdvertisement, ICMPv6RouterSolicitation
from netsim.wire.ipv6 import IPv6Packet
from netsim.wire.ndp import NDPPrefixInformation, NDPSourceLinkLayerAddress

if TYPE_CHECKING:
    from netsim.sim.interface import Interface
    from netsim.sim.ipv6 import IPv6Stack

ALL_ROUTERS = IPv6Address("ff02::2")
DEFAULT_ROUTE = IPv6Network("::/0")

#: RFC 4861 §10 and radvd's defaults
MAX_RTR_ADV_INTERVAL = 600 * S
MIN_RTR_ADV_INTERVAL = 198 * S  # radvd: 0.33 * MaxRtrAdvInterval
MAX_INITIAL_RTR_ADVERT_INTERVAL = 16 * S
MAX_INITIAL_RTR_ADVERTISEMENTS = 3
MAX_RA_DELAY_TIME = 500 * MS
MIN_DELAY_BETWEEN_RAS = 3 * S
MAX_RTR_SOLICITATION_DELAY = 1 * S
RTR_SOLICITATION_INTERVAL = 4 * S
MAX_RTR_SOLICITATIONS = 3


@attrs.define
class Advertiser:
    """The advertising state of one router interface."""

    router_lifetime: int = 1800  # seconds (AdvDefaultLifetime: 3 x MaxRtrAdvInterval)
    sent: int = 0
    last_multicast: int | None = None
    solicited_pending: bool = False


class RouterDiscovery:
    """Router advertisements of a router, router solicitations and SLAAC of a host: one per
    IPv6 stack, made when an interface first advertises or autoconfigures."""

    def __init__(self, stack: IPv6Stack) -> None:
        self.stack = stack
        self.host = stack.host
        self.advertising: dict[str, Advertiser] = {}
        self.soliciting: dict[str, int] = {}  # interface -> solicitations sent, until an RA arrives
        self.rng = self.host.network.stream(f"host/{self.host.name}/ndisc")

    # --- the router side ----------------------------------------------------------------------

    def advertise(self, iface: Interface, *, router_lifetime: int = 1800) -> None:
        """Start sending Router Advertisements on ``iface`` (now, then periodically)."""
        if not 0 <= router_lifetime <= 9000:
            raise ValueError(f"a router lifetime is 0..9000 s (RFC 4861 §6.2.1), got {router_lifetime}")
        if iface.name in self.advertising:
            self.advertising[iface.name].router_lifetime = router_lifetime  # (one advertiser per interface)
            return
        self.stack.join(iface, ALL_ROUTERS)
        self.advertising[iface.name] = Advertiser(router_lifetime=router_lifetime)
        self.host.network.env.process(self._periodic(iface))

    def _periodic(self, iface: Interface) -> Any:
        env = self.host.network.env
        state = self.advertising[iface.name]
        while True:
            self.send_advertisement(iface)
            interval = MIN_RTR_ADV_INTERVAL + self.rng.randrange(MAX_RTR_ADV_INTERVAL - MIN_RTR_ADV_INTERVAL + 1)
            if state.sent < MAX_INITIAL_RTR_ADVERTISEMENTS:
                interval = min(interval, MAX_INITIAL_RTR_ADVERT_INTERVAL)
            yield env.timeout(interval)

    def send_advertisement(self, iface: Interface) -> None:
        """One multicast Router Advertisement (RFC 4861 §6.2.3) from ``iface``."""
        stack = self.stack
        source = stack.scope_address(iface)
        state = self.advertising.get(iface.name)
        if source is None or state is None or not iface.up:
            return
        prefixes = tuple(
            NDPPrefixInformation(prefix=address.network.network_address, prefix_length=64)
            for address in stack.addresses(iface)
            if address.network.prefixlen == 64 and not address.ip.is_link_local
        )
        message = ICMPv6RouterAdvertisement(router_lifetime=state.router_lifetime,
                                            options=(NDPSourceLinkLayerAddress(iface.mac), *prefixes))
        state.sent += 1
        state.last_multicast = self.host.network.now
        stack.send(source, ALL_NODES, 58, message, hop_limit=255)

    def solicitation(self, packet: IPv6Packet, message: ICMPv6RouterSolicitation, iface: Interface) -> None:
        """A Router Solicitation (valid with hop limit 255, RFC 4861 §6.1.1): its sender's MAC
        goes in the neighbour cache as STALE (§6.2.6), and an advertisement answers it."""
        if packet.hop_limit != 255 or message.code != 0 or iface.name not in self.advertising:
            iface.drop("rs-ignored", 0)
            return
        if not packet.src.is_unspecified:
            self.stack.learn_from(message.options, packet.src, iface, override=True)
        self.solicited(iface)

    def solicited(self, iface: Interface) -> None:
        """Answer a solicitation with a multicast advertisement after a random 0-500 ms, pushed
        past MIN_DELAY_BETWEEN_RAS after the last one (RFC 4861 §6.2.6)."""
        state = self.advertising.get(iface.name)
        if state is None or state.solicited_pending:
            return
        now = self.host.network.now
        delay = self.rng.randrange(MAX_RA_DELAY_TIME + 1)
        if state.last_multicast is not None and now < state.last_multicast + MIN_DELAY_BETWEEN_RAS:
            # "at the time of the last one plus MIN_DELAY_BETWEEN_RAS plus the random value"
            delay += state.last_multicast + MIN_DELAY_BETWEEN_RAS - now
        state.solicited_pending = True

        def answer(_event: object) -> None:
            state.solicited_pending = False
            self.send_advertisement(iface)

        self.host.network.env.timeout(delay).callbacks.append(answer)

    # --- the host side ------------------------------------------------------------------------

    def solicit(self, iface: Interface) -> None:
        """Start soliciting routers on ``iface`` (RFC 4861 §6.3.7); nothing if it already is."""
        if iface.name in self.soliciting:
            return
        self.soliciting[iface.name] = 0
        self.host.network.env.process(self._solicitations(iface))

    def _solicitations(self, iface: Interface) -> Any:
        env = self.host.network.env
        yield env.timeout(self.rng.randrange(MAX_RTR_SOLICITATION_DELAY + 1))
        while iface.name in self.soliciting and self.soliciting[iface.name] < MAX_RTR_SOLICITATIONS:
            self.soliciting[iface.name] += 1  # (a try while the interface is down counts too)
            source = self.stack.scope_address(iface)
            if source is not None and iface.up:
                message = ICMPv6RouterSolicitation(options=(NDPSourceLinkLayerAddress(iface.mac),))
                self.stack.send(source, ALL_ROUTERS, 58, message, hop_limit=255)
            yield env.timeout(RTR_SOLICITATION_INTERVAL)

    def advertisement(self, packet: IPv6Packet, message: ICMPv6RouterAdvertisement, iface: Interface) -> None:
        """Take a Router Advertisement (RFC 4861 §6.3.4, RFC 4862 §5.5.3), if valid (§6.1.2)."""
        host, stack = self.host, self.stack
        if host.forwarding or packet.hop_limit != 255 or not packet.src.is_link_local or message.code != 0:
            iface.drop("ra-ignored", 0)
            return
        self.soliciting.pop(iface.name, None)
        # as Linux's ndisc_router_discovery -> ndisc_update: what waited for the MAC goes now
        stack.learn_from(message.options, packet.src, iface, override=True)
        if message.cur_hop_limit:
            stack.hop_limit = message.cur_hop_limit
        routes = host.routes
        known = [r for r in routes.routes() if r.prefix == DEFAULT_ROUTE and r.interface == iface.name
                 and r.gateway == packet.src]
        if not message.router_lifetime:
            routes.remove(DEFAULT_ROUTE, iface.name, packet.src)  # the router withdraws itself
        elif not known:  # (an entry already there stays as it is, in its place among equals)
            routes.add(Route(prefix=DEFAULT_ROUTE, interface=iface.name, gateway=packet.src, kind="default"))
        for option in message.options:
            if isinstance(option, NDPPrefixInformation):
                self._prefix(option, iface)

    def _prefix(self, option: NDPPrefixInformation, iface: Interface) -> None:
        """One Prefix Information option (RFC 4861 §6.3.4, RFC 4862 §5.5.3; Linux's
        addrconf_prefix_rcv): ignored for a link-local, multicast, loopback or unspecified prefix,
        a length over 128, a preferred lifetime over the valid one, or a valid lifetime of 0; an
        on-link prefix becomes a connected route; an autonomous /64 an address, made from the
        prefix and the interface's modified EUI-64 identifier."""
        prefix, length = option.prefix, option.prefix_length
        if (length > 128 or prefix.is_link_local or prefix.is_multicast or prefix.is_loopback
                or prefix.is_unspecified or option.preferred_lifetime > option.valid_lifetime
                or not option.valid_lifetime):
            iface.drop("ra-prefix-ignored", 0)
            return
        stack, routes = self.stack, self.host.routes
        network = IPv6Network((prefix, length), strict=False)
        on_link = option.on_link and not any(r.prefix == network and r.interface == iface.name
                                             for r in routes.routes())
        if option.autonomous and length == 64:
            identifier = link_local_for(iface.mac).packed[8:]
            address = IPv6Interface((IPv6Address(network.network_address.packed[:8] + identifier), 64))
            if address.ip not in stack.local:
                # (the connected route only when the prefix is on-link: A=1 L=0 gives none)
                stack.add_address(iface, address, route=on_link)
                return
        if on_link:
            routes.add(Route(prefix=network, interface=iface.name, kind="connected"))
