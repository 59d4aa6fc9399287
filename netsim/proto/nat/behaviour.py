"""What kind of NAT a :class:`~netsim.proto.nat.table.NatTable` is: the RFC 4787 behaviours
(UDP; RFC 5382 takes the same terms for TCP, RFC 5508 for ICMP queries), its timeouts, and
named presets.

Terms (RFC 4787 §4.1, §5): an *inside endpoint* X:x sends to a remote Y:y and gets the
*mapping* X':x'.

- Mapping (§4.1): ENDPOINT_INDEPENDENT reuses X':x' for every Y:y (REQ-1 says MUST);
  ADDRESS_DEPENDENT for every Y:\\* (one mapping per remote address); ADDRESS_AND_PORT_DEPENDENT
  makes one per Y:y (the "symmetric" NAT).
- Filtering (§5): which inbound packets to X':x' get through. ENDPOINT_INDEPENDENT lets anyone
  in; ADDRESS_DEPENDENT only a Y that X:x has sent to (any port); ADDRESS_AND_PORT_DEPENDENT
  only the exact Y:y (REQ-8 recommends one of the ends of this scale).
- Port assignment (§4.2.1): PRESERVE tries x' = x first (Linux's ``nf_nat_used_tuple`` check),
  then falls back to SEQUENTIAL; PRESERVE_RANDOM falls back to a random port instead, as Linux's
  ``nf_nat_l4proto_unique_tuple`` does since 5.x (``off = get_random_u16()`` for source NAT);
  SEQUENTIAL takes the next free port after the last one given; RANDOM starts at a random port
  (RFC 6056 §3.3.1, one draw from the caller's stream).
- Port parity (§4.2.2, REQ-4 RECOMMENDED): x' has the parity of x.
- Pooling (§4.1, REQ-2 RECOMMENDED paired): with several outside addresses, PAIRED gives all
  mappings of one inside address the same outside address; ARBITRARY picks one per mapping
  (round robin here).
- Port overloading (§4.2.1, REQ-3 says MUST NOT): two inside endpoints share x' as long as the
  remote endpoints differ.  Linux does exactly this (an outside port only has to make the
  conntrack reply tuple unique), so the ``linux-masquerade`` preset turns it on; it needs
  address-and-port-dependent mapping and filtering, the only way inbound packets stay
  unambiguous.

Timeouts are Linux's conntrack sysctls (``net.netfilter.nf_conntrack_*_timeout*``); see
:meth:`Timeouts.below_rfc` for where they are shorter than RFC 4787/5382/5508 allow, and
:meth:`Timeouts.rfc_compliant` for a set that is not.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from netsim.units import HOUR, MINUTE, S


class Mapping(enum.Enum):
    """RFC 4787 §4.1 mapping behaviour."""

    ENDPOINT_INDEPENDENT = "endpoint-independent"
    ADDRESS_DEPENDENT = "address-dependent"
    ADDRESS_AND_PORT_DEPENDENT = "address-and-port-dependent"


class Filtering(enum.Enum):
    """RFC 4787 §5 filtering behaviour."""

    ENDPOINT_INDEPENDENT = "endpoint-independent"
    ADDRESS_DEPENDENT = "address-dependent"
    ADDRESS_AND_PORT_DEPENDENT = "address-and-port-dependent"


class PortAssignment(enum.Enum):
    """RFC 4787 §4.2.1 port assignment (how x' is chosen for a new mapping)."""

    PRESERVE = "preserve"
    PRESERVE_RANDOM = "preserve-random"
    SEQUENTIAL = "sequential"
    RANDOM = "random"


class Unsolicited(enum.Enum):
    """What becomes of an inbound packet the filtering refuses (RFC 4787 §5) or an inside
    packet to an outside address with hairpinning off: it is not translated either way."""

    #: silently dropped and counted: a firewall's default policy, and RFC 5382 REQ-4's silence
    DROP = "drop"
    #: handed to the NAT's own stack like any packet for its address, which answers as a host
    #: does (TCP RST, ICMP port unreachable): Linux's masquerade with no filter rule, which
    #: does not keep RFC 5382 REQ-4's 6 s of silence
    ANSWER = "answer"


class Pooling(enum.Enum):
    """RFC 4787 §4.1 IP address pooling, when there are several outside addresses."""

    PAIRED = "paired"
    ARBITRARY = "arbitrary"


#: RFC 4787 REQ-5: a UDP mapping timer MUST NOT expire in less than 2 minutes (5 RECOMMENDED)
RFC4787_UDP_MIN = 2 * MINUTE
#: RFC 5382 REQ-5: established-connection idle timeout MUST NOT be less than 2 h 4 min
RFC5382_ESTABLISHED_MIN = 2 * HOUR + 4 * MINUTE
#: RFC 5382 REQ-5: transitory-connection idle timeout MUST NOT be less than 4 minutes
RFC5382_TRANSITORY_MIN = 4 * MINUTE
#: RFC 5508 REQ-1: an ICMP query session timer MUST NOT expire in less than 60 seconds
RFC5508_ICMP_MIN = 60 * S


def _positive(_inst: Any, attribute: Any, value: Any) -> None:
    if type(value) is not int or value <= 0:
        raise ValueError(f"{attribute.name} must be a positive int of nanoseconds, got {value!r}")


def _timeout(default: int) -> Any:
    return attrs.field(default=default, validator=_positive)


@attrs.frozen
class Timeouts:
    """Idle timeouts in ns, refreshed by every packet of the entry, either direction.

    TCP ones are per conntrack state, Linux defaults (``nf_conntrack_tcp_timeout_*``).  ``udp`` is
    for an entry that has not seen a reply (or saw it in its first 2 s), ``udp_stream`` once it
    is a stream, as Linux's ``udp_packet()``.  Linux's UDP sysctls are 30 s and 120 s
    (:meth:`linux`); the defaults here are 120 s and 180 s, which RFC 4787 REQ-5 allows.
    """

    udp: int = _timeout(120 * S)
    udp_stream: int = _timeout(180 * S)
    icmp: int = _timeout(30 * S)
    tcp_syn_sent: int = _timeout(120 * S)
    tcp_syn_recv: int = _timeout(60 * S)
    tcp_established: int = _timeout(432_000 * S)
    tcp_fin_wait: int = _timeout(120 * S)
    tcp_close_wait: int = _timeout(60 * S)
    tcp_last_ack: int = _timeout(30 * S)
    tcp_time_wait: int = _timeout(120 * S)
    tcp_close: int = _timeout(10 * S)
    tcp_syn_sent2: int = _timeout(120 * S)

    @classmethod
    def linux(cls) -> Timeouts:
        """Exactly Linux's defaults (``nf_conntrack_udp_timeout`` 30 s, ``_stream`` 120 s)."""
        return cls(udp=30 * S, udp_stream=120 * S)

    @classmethod
    def rfc_compliant(cls) -> Timeouts:
        """Linux's defaults raised to the RFC minimums: transitory TCP states 4 min (RFC 5382),
        UDP 5 min (RFC 4787 REQ-5's recommendation), ICMP 60 s (RFC 5508)."""
        base = cls()
        raise_to = {
            name: max(getattr(base, name), RFC5382_TRANSITORY_MIN)
            for name in ("tcp_syn_sent", "tcp_syn_recv", "tcp_fin_wait", "tcp_close_wait", "tcp_last_ack",
                         "tcp_time_wait", "tcp_close", "tcp_syn_sent2")
        }
        return attrs.evolve(base, udp=5 * MINUTE, udp_stream=5 * MINUTE, icmp=RFC5508_ICMP_MIN, **raise_to)

    def below_rfc(self) -> list[str]:
        """The timeouts shorter than the RFC minimums, one line each (empty when compliant).

        RFC 5382 REQ-5 counts every state but ESTABLISHED as transitory; Linux's CLOSE (10 s)
        and TIME_WAIT (120 s) are below its 4 min, as are SYN_SENT, SYN_RECV, FIN_WAIT,
        CLOSE_WAIT and LAST_ACK.  (The RFC only bounds how soon a NAT may *abandon an idle*
        session; Linux ends closed ones early on purpose.)
        """
        found = []
        for name, minimum, rfc in (
            ("udp", RFC4787_UDP_MIN, "RFC 4787 REQ-5"), ("udp_stream", RFC4787_UDP_MIN, "RFC 4787 REQ-5"),
            ("icmp", RFC5508_ICMP_MIN, "RFC 5508 REQ-1"),
            ("tcp_established", RFC5382_ESTABLISHED_MIN, "RFC 5382 REQ-5"),
            *((name, RFC5382_TRANSITORY_MIN, "RFC 5382 REQ-5") for name in (
                "tcp_syn_sent", "tcp_syn_recv", "tcp_fin_wait", "tcp_close_wait", "tcp_last_ack",
                "tcp_time_wait", "tcp_close", "tcp_syn_sent2")),
        ):
            value = getattr(self, name)
            if value < minimum:
                found.append(f"{name} {value // S}s < {minimum // S}s ({rfc})")
        return found


def _port_range(_inst: Any, _attribute: Any, value: Any) -> None:
    ok = (isinstance(value, tuple) and len(value) == 2 and all(type(v) is int for v in value)
          and 1 <= value[0] <= value[1] <= 65535)
    if not ok:
        raise ValueError(f"port_range must be (low, high) with 1 <= low <= high <= 65535, got {value!r}")


def _max_entries(_inst: Any, _attribute: Any, value: Any) -> None:
    if type(value) is not int or value < 1:
        raise ValueError(f"max_entries must be a positive int, got {value!r}")


#: Linux ``nf_conntrack_max`` on a host with a few GB of RAM
DEFAULT_MAX_ENTRIES = 262_144


@attrs.frozen
class NatBehaviour:
    """The knobs of one NAT.  Defaults are an RFC 4787/5382-conformant NAT (EIM, APDF filtering,
    port preservation, paired pooling, hairpinning); :meth:`preset` names the usual kinds."""

    mapping: Mapping = Mapping.ENDPOINT_INDEPENDENT
    filtering: Filtering = Filtering.ADDRESS_AND_PORT_DEPENDENT
    port_assignment: PortAssignment = PortAssignment.PRESERVE
    #: outside ports handed out for TCP and UDP, inclusive (ICMP identifiers use 0-65535)
    port_range: tuple[int, int] = attrs.field(default=(1024, 65535), validator=_port_range)
    port_parity: bool = False
    pooling: Pooling = Pooling.PAIRED
    hairpinning: bool = True
    port_overloading: bool = False
    unsolicited: Unsolicited = Unsolicited.DROP
    timeouts: Timeouts = attrs.field(factory=Timeouts)
    max_entries: int = attrs.field(default=DEFAULT_MAX_ENTRIES, validator=_max_entries)

    def __attrs_post_init__(self) -> None:
        if self.port_overloading and (
            self.mapping is not Mapping.ADDRESS_AND_PORT_DEPENDENT
            or self.filtering is not Filtering.ADDRESS_AND_PORT_DEPENDENT
        ):
            raise ValueError("port_overloading needs address-and-port-dependent mapping and filtering: "
                             "otherwise an inbound packet to a shared port could belong to either host")

    @classmethod
    def preset(cls, name: str) -> NatBehaviour:
        """A named kind of NAT: ``full-cone``, ``restricted-cone``, ``port-restricted-cone``,
        ``symmetric``, ``linux-masquerade``.  ValueError for any other name."""
        try:
            return PRESETS[name]
        except KeyError:
            raise ValueError(f"unknown NAT preset {name!r}; known: {', '.join(PRESETS)}") from None


EIM, ADM, APDM = Mapping
EIF, ADF, APDF = Filtering

#: The presets.  The cone names are RFC 3489's, as RFC 4787 §4.1 and §5 map them onto
#: mapping + filtering.  ``linux-masquerade`` is ``iptables -t nat -A POSTROUTING -o wan -j
#: MASQUERADE`` with default sysctls: one conntrack entry per 5-tuple, the inside port kept
#: whenever the reply tuple it makes is unused (so the same inside endpoint keeps its port for
#: every remote: endpoint-independent in effect), else the next free port (a new port per
#: remote: address-and-port-dependent); only replies to an entry get in (APDF); ports are
#: overloaded across inside hosts; no hairpinning without extra rules; and with no filter rule
#: either, a packet no entry expects goes to the router's own stack, which answers it.
PRESETS: dict[str, NatBehaviour] = {
    "full-cone": NatBehaviour(mapping=EIM, filtering=EIF),
    "restricted-cone": NatBehaviour(mapping=EIM, filtering=ADF),
    "port-restricted-cone": NatBehaviour(mapping=EIM, filtering=APDF),
    "symmetric": NatBehaviour(mapping=APDM, filtering=APDF, port_assignment=PortAssignment.SEQUENTIAL),
    "linux-masquerade": NatBehaviour(
        mapping=APDM, filtering=APDF, port_assignment=PortAssignment.PRESERVE_RANDOM, port_overloading=True,
        pooling=Pooling.ARBITRARY, hairpinning=False, timeouts=Timeouts.linux(), unsolicited=Unsolicited.ANSWER,
    ),
}
