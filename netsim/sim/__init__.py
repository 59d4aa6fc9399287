"""The SimPy side: the Network, links, interfaces, hosts, switches, routers and sockets."""

from netsim.sim.network import Network, RunResult, TopologyError

__all__ = ["Network", "RunResult", "TopologyError"]
