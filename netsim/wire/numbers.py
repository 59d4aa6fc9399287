"""Protocol numbers from the IANA registries.

Unknown numbers are data, not errors: every parser keeps a value it does not know as a plain
``int`` (see :func:`known`), and the stack above decides what to do with it.
"""

from __future__ import annotations

import enum
from typing import TypeVar

E = TypeVar("E", bound=enum.IntEnum)


class EtherType(enum.IntEnum):
    IPV4 = 0x0800
    ARP = 0x0806
    VLAN = 0x8100
    IPV6 = 0x86DD


class IPProto(enum.IntEnum):
    """IP protocol / IPv6 next-header numbers (IANA "Assigned Internet Protocol Numbers")."""

    HOPOPT = 0
    ICMP = 1
    TCP = 6
    UDP = 17
    IPV6_ROUTE = 43
    IPV6_FRAG = 44
    ICMPV6 = 58
    IPV6_NONXT = 59
    IPV6_OPTS = 60


def known(enum_type: type[E], value: int) -> E | int:
    """The enum member for ``value`` if there is one, else ``value`` itself."""
    try:
        return enum_type(value)
    except ValueError:
        return value
