"""A sans-I/O NAT (NAPT) translation engine: RFC 4787 (UDP), RFC 5382 (TCP) and RFC 5508 (ICMP)
behaviours, Linux conntrack/masquerade where the RFCs leave a choice.  See docs/nat-engine.md.

Pure: no SimPy, no clock (``now`` is an int of ns passed to every call), no global randomness
(an ``rng`` is passed in for random port assignment).
"""

from netsim.proto.nat.behaviour import (
    PRESETS,
    Filtering,
    Mapping,
    NatBehaviour,
    Pooling,
    PortAssignment,
    Timeouts,
    Unsolicited,
)
from netsim.proto.nat.conntrack import CtDir, TcpCtState
from netsim.proto.nat.flow import ICMP, TCP, UDP, Direction, Drop, FlowTuple, PortForward, flow, icmp_echo
from netsim.proto.nat.table import NatEntry, NatTable

__all__ = [
    "ICMP", "PRESETS", "TCP", "UDP", "CtDir", "Direction", "Drop", "Filtering", "FlowTuple", "Mapping",
    "NatBehaviour", "NatEntry", "NatTable", "Pooling", "PortAssignment", "PortForward", "TcpCtState",
    "Timeouts", "Unsolicited", "flow", "icmp_echo",
]
