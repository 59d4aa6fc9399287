"""netsim.proto: sans-I/O engines: no SimPy, no clock, no global randomness; time comes in as `now`,
an int of nanoseconds.

Each engine is a plain object driven by calls: a decoded packet or a request plus ``now`` goes
in; packets to send, packets released or dropped, and the next deadline come out.  Absolute
times end in ``_at``, durations in ``_time``/``_timeout``.  Where randomness is needed the
caller passes a :class:`random.Random` (one of the Network's named streams).  Defaults are the
Linux ones, each citing the sysctl or RFC it comes from.
"""
