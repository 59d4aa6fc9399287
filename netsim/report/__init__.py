"""The run report: one self-contained HTML file with the topology, a ladder diagram per connection,
observer views, results, ss snapshots, drops and plots (see :func:`render_report`)."""

from netsim.report.connections import Connection, Hop, group_connections
from netsim.report.html import render_report

__all__ = ["Connection", "Hop", "group_connections", "render_report"]
