"""The SimPy side: the Network, links, interfaces, hosts, switches, routers and sockets."""

from netsim.sim.network import Network, TopologyError
from netsim.sim.records import RunResult

__all__ = ["Network", "RunResult", "TopologyError"]
