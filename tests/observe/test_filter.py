"""Capture filters: the same frames as tcpdump selects, and clear errors for bad expressions."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from netsim.observe.filter import FilterError, compile_filter
from netsim.wire import EthernetFrame
from netsim.wire.pcap import PcapReader, PcapWriter
from netsim.wire.samples import sample_frames
from tests import strategies as S

EXPRESSIONS = [
    "", "ip", "ip6", "arp", "tcp", "udp", "icmp", "icmp6", "not ip", "tcp or udp", "tcp and not udp",
    "host 10.0.0.5", "src host 10.0.0.5", "dst host 203.0.113.10", "host 10.0.0.5 or 203.0.113.10",
    "src 10.0.0.5 and dst 203.0.113.10", "net 10.0.0.0/8", "src net 10.0.0.0/24", "net 10",
    "dst net 203.0.113.0 mask 255.255.255.0",
    "port 9000", "src port 54321", "dst port 9000 or 53", "tcp port 9000", "udp port 53", "portrange 9000-9999",
    "tcp and src 10.0.0.5 and src port 54321 and dst port 9000", "host 2001:db8::5", "net 2001:db8::/32",
    "ip6 and tcp", "ether host 02:42:ac:11:00:02", "ether src 02:42:ac:11:00:03", "ether dst 02:42:ac:11:00:03",
    "ether broadcast", "ether multicast", "broadcast", "multicast", "vlan", "vlan 10", "vlan 10 and udp",
    "vlan and ip", "len <= 100", "greater 500", "less 80", "ip proto 1", "ip proto \\tcp", "ip6 proto 58",
    "not tcp and not udp", "tcp or udp and not port 53", "(tcp or udp) and host 10.0.0.5", "!arp && !ip6",
    "tcp[tcpflags] & tcp-syn != 0", "tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn", "icmp or arp",
    "ip multicast", "ip6 multicast", "ether proto 0x0806", "src or dst port 9000",
]


def _frames() -> list[bytes]:
    frames = [frame.to_bytes() for frame in sample_frames()]

    @settings(max_examples=300, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(S.any_clean_ethernet_frames)
    def collect(frame: EthernetFrame) -> None:
        frames.append(frame.to_bytes())

    collect()
    return frames


@pytest.mark.skipif(shutil.which("tcpdump") is None and not os.environ.get("NETSIM_REQUIRE_ORACLES"),
                    reason="tcpdump is not installed (apt-get install tcpdump)")
@pytest.mark.parametrize("expression", EXPRESSIONS)
def test_same_frames_as_tcpdump(expression: str, tmp_path: Path) -> None:
    frames = _FRAMES
    source = tmp_path / "all.pcap"
    with PcapWriter(source) as writer:
        for index, data in enumerate(frames):
            writer.write(index * 1000, data)
    out = tmp_path / "out.pcap"
    subprocess.run(["tcpdump", "-r", str(source), "-w", str(out), expression], check=True, capture_output=True)
    theirs = [record.timestamp_ns // 1000 for record in PcapReader(out)]
    compiled = compile_filter(expression)
    ours = [index for index, data in enumerate(frames) if compiled.matches_bytes(data)]
    assert ours == theirs


_FRAMES = _frames()


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("port foo", "syntax error at 5: expected a port number, got 'foo'"),
        ("(tcp", "expected ')'"),
        ("tcp and", "the expression ends too early"),
        ("host 10.0.0.300", "expected an IPv4 or IPv6 address"),
        ("net 10.0.0.1/8", "no host bits set"),
        ("tcp host 10.0.0.1", "'tcp host' is not valid"),
        ("frobnicate", "expected a primitive"),
        ("port 70000", "0..65535"),
        ("tcp $", "unexpected character '$'"),
    ],
)
def test_bad_filters_say_where_and_what(expression: str, message: str) -> None:
    with pytest.raises(FilterError) as caught:
        compile_filter(expression)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


@settings(max_examples=200)
@given(frame=S.any_ethernet_frames)
def test_matching_never_raises(frame: EthernetFrame) -> None:
    data = frame.to_bytes()
    for expression in EXPRESSIONS:
        assert compile_filter(expression).matches_bytes(data) in (True, False)
    assert compile_filter("tcp").matches_bytes(b"\x00" * 5) is False
