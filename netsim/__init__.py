"""netsim: a deterministic, in-memory simulator of the L2-L4 network stack."""

__version__ = "0.1.0"

from netsim.build_info import warn_if_stale

warn_if_stale()

__all__ = ["__version__"]
