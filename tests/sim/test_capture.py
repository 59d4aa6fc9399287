"""Captures: tcpdump-syntax filters on interfaces, pcap files tshark reads without complaint."""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.observe.capture import Capture
from netsim.sim.apps import ping, traceroute
from netsim.wire.pcap import read_pcap
from tests.oracles.tshark import defects, tshark_fields
from tests.sim.topologies import two_routers


def _traffic(tmp_path: Path):  # type: ignore[no-untyped-def]
    net, h1, r1, _r2, h2 = two_routers(middle_mtu=576)
    captures = {
        "h1": Capture(h1["eth0"], "", tmp_path / "h1.pcap"),
        "middle": Capture(r1["eth1"], "", tmp_path / "middle.pcap"),
        "lab": Capture(h1["eth0"], "udp and src 10.0.1.10 and dst port 9000", tmp_path / "lab.pcap"),
    }
    server = h2.socket("udp")
    server.bind(("0.0.0.0", 9000))
    client = h1.socket("udp")
    client.bind(("0.0.0.0", 54321))

    def talk():  # type: ignore[no-untyped-def]
        for size in (10, 1000, 2000):
            yield client.sendto(bytes(size), ("10.0.2.20", 9000))
            yield net.env.timeout(50_000_000)
        yield client.sendto(b"x", ("10.0.2.20", 9999))

    net.process(talk())
    net.process(ping(h1, "10.0.2.20", count=2, size=1200))
    net.process(traceroute(h1, "10.0.2.20", probes=1))
    net.run()
    for capture in captures.values():
        capture.close()
    return net, captures


def test_capture_filter_keeps_only_what_it_names(tmp_path: Path) -> None:
    _net, captures = _traffic(tmp_path)
    lines = [line.split(" ", 1)[1] for line in captures["lab"].lines()]
    # whole datagrams, and the first fragments of those h1 cut to the path MTU (they carry the
    # UDP header, so tcpdump's port test matches them too)
    assert lines and all(line.startswith("IP 10.0.1.10.54321 > 10.0.2.20.9000: UDP") or "@0+)" in line
                         for line in lines)
    assert any("@0+)" in line for line in lines) and any(": UDP" in line for line in lines)
    assert len(read_pcap(tmp_path / "lab.pcap")) == captures["lab"].count
    assert captures["h1"].count > captures["lab"].count


@pytest.mark.tshark
def test_tshark_reads_every_capture_without_defects(tmp_path: Path) -> None:
    _traffic(tmp_path)
    for name in ("h1", "middle", "lab"):
        path = tmp_path / f"{name}.pcap"
        assert defects(path) == [], name
    protocols = {row[0] for row in tshark_fields(tmp_path / "middle.pcap", ["frame.protocols"])}
    assert {"eth:ethertype:ip:udp:data", "eth:ethertype:ip:icmp:data", "eth:ethertype:arp"} <= protocols
    fragments = tshark_fields(tmp_path / "middle.pcap", ["ip.flags.mf", "ip.frag_offset"], "ip.flags.mf == 1")
    assert fragments  # the 576-byte link carried fragments, and tshark reassembled them cleanly
