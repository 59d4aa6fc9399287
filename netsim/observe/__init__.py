"""Observing a run: captures with tcpdump filters, connection tables, views."""
