"""tshark (Wireshark's dissectors) reads what netsim.wire writes: no malformed packet, no bad
checksum; and it does flag a checksum netsim broke on purpose, so the check can fail."""

from __future__ import annotations

import subprocess
from ipaddress import IPv4Address
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

from netsim.wire import EthernetFrame, ICMPv4Echo, IPv4Packet, TCPSegment, UDPDatagram
from netsim.wire.pcap import PcapngWriter, PcapWriter
from netsim.wire.samples import sample_frames
from tests import strategies as S
from tests.oracles.tshark import defects, tshark_fields
from tests.wire.helpers import evolve

pytestmark = pytest.mark.tshark


def _collect(strategy: object, count: int) -> list[EthernetFrame]:
    frames: list[EthernetFrame] = []

    @settings(max_examples=count, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(frame: EthernetFrame) -> None:
        frames.append(frame)

    run()
    return frames


def _write(path: Path, frames: list[bytes]) -> Path:
    with PcapWriter(path) as writer:
        for index, data in enumerate(frames):
            writer.write(index * 1000, data)
    return path


def test_generated_frames_have_no_defects_in_tshark(tmp_path: Path) -> None:
    frames = _collect(S.any_clean_ethernet_frames, 800)
    capture = _write(tmp_path / "generated.pcap", [frame.to_bytes() for frame in frames])
    assert len(tshark_fields(capture, ["frame.number"])) == len(frames)
    assert defects(capture) == []


def test_sample_frames_decode_as_the_protocols_we_wrote(tmp_path: Path) -> None:
    frames = sample_frames()
    capture = _write(tmp_path / "samples.pcap", [frame.to_bytes() for frame in frames])
    assert defects(capture) == []
    rows = tshark_fields(capture, ["frame.protocols"])
    stacks = [row[0] for row in rows]
    for needed in ("eth:ethertype:arp", "ip:tcp", "ip:udp", "vlan:ethertype:ip", "ip:icmp", "ipv6:tcp",
                   "ipv6:icmpv6", "ipv6:ipv6.hopopts:ipv6.dstopts:udp"):
        assert any(needed in stack for stack in stacks), needed


def test_pcapng_capture_reads_the_same(tmp_path: Path) -> None:
    frames = [frame.to_bytes() for frame in sample_frames()]
    path = tmp_path / "samples.pcapng"
    with PcapngWriter(path) as writer:
        for index, data in enumerate(frames):
            writer.write(index * 1_000_001, data, interface="h1:eth0")
    rows = tshark_fields(path, ["frame.time_epoch", "frame.len", "frame.interface_name"])
    assert [int(row[1]) for row in rows] == [len(data) for data in frames]
    assert {row[2] for row in rows} == {"h1:eth0"}
    assert rows[3][0].startswith("0.003000003")
    assert defects(path) == []


SRC, DST = IPv4Address("10.0.0.5"), IPv4Address("203.0.113.10")


def _frame(packet: IPv4Packet) -> EthernetFrame:
    frame = S.sample_frame_template()
    return attrs.evolve(frame, payload=packet)


def _broken_frames() -> dict[str, bytes]:
    """One frame per checksum, each with that checksum off by one."""
    tcp = TCPSegment(src_port=50000, dst_port=50001, seq=1, ack=1, flags=0x18, window=100, payload=b"data")
    udp = UDPDatagram(src_port=50000, dst_port=50001, payload=b"data")
    echo = ICMPv4Echo(8, 1, 1, b"data")
    good = {
        "ip": IPv4Packet(src=SRC, dst=DST, protocol=6, payload=tcp),
        "tcp": IPv4Packet(src=SRC, dst=DST, protocol=6, payload=tcp),
        "udp": IPv4Packet(src=SRC, dst=DST, protocol=17, payload=udp),
        "icmp": IPv4Packet(src=SRC, dst=DST, protocol=1, payload=echo),
    }
    broken: dict[str, bytes] = {}
    for name, packet in good.items():
        parsed = IPv4Packet.parse(packet.to_bytes())
        if name == "ip":
            correct = int.from_bytes(packet.to_bytes()[10:12], "big")
            bad = attrs.evolve(parsed, checksum=correct ^ 1)
        else:
            inner = packet.to_bytes()[20:]
            offset = {"tcp": 16, "udp": 6, "icmp": 2}[name]
            correct = int.from_bytes(inner[offset : offset + 2], "big")
            bad = attrs.evolve(parsed, payload=evolve(parsed.payload, checksum=correct ^ 1))
        broken[name] = _frame(bad).to_bytes()
    return broken


def test_tshark_flags_each_deliberately_wrong_checksum(tmp_path: Path) -> None:
    broken = _broken_frames()
    capture = _write(tmp_path / "broken.pcap", list(broken.values()))
    flagged = defects(capture)
    assert [int(row[0]) for row in flagged] == [1, 2, 3, 4]
    for row, name in zip(flagged, broken, strict=True):
        status = tshark_fields(capture, [f"{name}.checksum.status"], f"frame.number == {row[0]}")
        assert status[0][0] in ("0", "Bad"), (name, status)


def test_tshark_flags_a_frame_cut_short(tmp_path: Path) -> None:
    data = sample_frames()[4].to_bytes()
    path = tmp_path / "short.pcap"
    with PcapWriter(path, snaplen=40) as writer:
        writer.write(0, data)
    assert len(defects(path)) == 1


def test_tshark_is_installed_and_answers() -> None:
    result = subprocess.run(["tshark", "--version"], capture_output=True, text=True, check=True)
    assert "TShark" in result.stdout
