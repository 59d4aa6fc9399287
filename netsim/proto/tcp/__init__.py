"""TCP as a sans-I/O engine (RFC 9293): sequence arithmetic, the state table, and (to come) the
connection, its buffers, RTO and congestion control.  No clock and no randomness of its own."""
