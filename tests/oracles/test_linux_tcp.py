"""netsim's TCP beside the Linux kernel's, packet by packet, for the lecture's lab 1.5.

The same 64 KB length-framed echo runs through real Linux (two network namespaces, a veth pair,
tcpdump; see linux_netns.py) and through netsim; tshark reads both captures.  What must match:
the SYN's and SYN-ACK's windows and options (order, MSS, window scale), the window after the
handshake, the segment sizes (MSS 1448 with timestamps), the number of data segments, and the
shape of the close.  Skipped where the machine cannot create namespaces (not root, a container
without CAP_NET_ADMIN); set NETSIM_REQUIRE_NETNS=1 to make that a failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.observe.capture import Capture
from netsim.proto.tcp.settings import TCPSettings
from netsim.sim.network import Network
from netsim.sim.tcp_apps import tcp_client, tcp_echo_server
from tests.oracles import linux_netns
from tests.oracles.tshark import tshark_fields

pytestmark = pytest.mark.tshark

FIELDS = ["ip.src", "tcp.seq", "tcp.flags.str", "tcp.window_size_value", "tcp.window_size", "tcp.len",
          "tcp.option_kind", "tcp.options.mss_val", "tcp.options.wscale.shift"]


def _netsim_capture(path: Path, syncookies: int = 1) -> None:
    net = Network(1)
    client, server = net.add_host("client"), net.add_host("server", tcp=TCPSettings(syncookies=syncookies))
    client.add_interface("eth0")
    client.add_address("eth0", "10.9.0.1/24")
    server.add_interface("eth0")
    server.add_address("eth0", "10.9.0.2/24")
    net.connect(client["eth0"], server["eth0"], rate="10Gbps", delay="20us")
    capture = Capture([client["eth0"]], "tcp", path=str(path))
    net.process(tcp_echo_server(server, 9000, framed=True, connections=1))
    result = net.process(tcp_client(client, ("10.9.0.2", 9000), size=65536, framed=True))
    net.run("5s")
    capture.close()
    assert result.value.echo_ok


def _rows(pcap: Path) -> list[dict[str, str]]:
    return [dict(zip(FIELDS, row, strict=False)) for row in tshark_fields(pcap, FIELDS, "tcp.port == 9000")]


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    linux_netns.require(linux_netns.available(), "Linux oracle")
    directory = tmp_path_factory.mktemp("linux")
    linux_pcap, netsim_pcap = directory / "linux.pcap", directory / "netsim.pcap"
    linux_netns.framed_echo(linux_pcap)
    _netsim_capture(netsim_pcap)
    return _rows(linux_pcap), _rows(netsim_pcap)


def test_the_handshake_is_linuxs(captures: tuple[list[dict[str, str]], list[dict[str, str]]]) -> None:
    linux, ours = captures
    for index in range(3):  # SYN, SYN-ACK, ACK
        for field in ("ip.src", "tcp.flags.str", "tcp.window_size_value", "tcp.option_kind", "tcp.options.mss_val",
                      "tcp.options.wscale.shift"):
            assert ours[index][field] == linux[index][field], (index, field, ours[index], linux[index])


def test_segment_sizes_and_counts_are_linuxs(captures: tuple[list[dict[str, str]], list[dict[str, str]]]) -> None:
    linux, ours = captures

    def sizes(rows: list[dict[str, str]], src: str) -> list[int]:
        """Data segment sizes, each sequence number once: a busy machine can make the real kernel
        retransmit (a veth burst), which is not what is compared here."""
        first: dict[str, int] = {}
        for r in rows:
            if r["ip.src"] == src and r["tcp.len"] not in ("", "0"):
                first.setdefault(r["tcp.seq"], int(r["tcp.len"]))
        return list(first.values())

    for src in ("10.9.0.1", "10.9.0.2"):
        assert sum(sizes(ours, src)) == sum(sizes(linux, src)) == 65540
        assert max(sizes(ours, src)) == max(sizes(linux, src)) == 1448
        assert len(sizes(ours, src)) == len(sizes(linux, src))


def test_the_close_is_linuxs(captures: tuple[list[dict[str, str]], list[dict[str, str]]]) -> None:
    linux, ours = captures

    def closing(rows: list[dict[str, str]]) -> list[tuple[str, str]]:
        first_fin = next(i for i, r in enumerate(rows) if "F" in r["tcp.flags.str"])
        return [(r["ip.src"], r["tcp.flags.str"]) for r in rows[first_fin:]]

    assert closing(ours) == closing(linux)


@pytest.fixture(scope="module")
def cookie_captures(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The same exchange with ``tcp_syncookies = 2``: every SYN is answered with a cookie."""
    linux_netns.require(linux_netns.available(), "Linux oracle")
    directory = tmp_path_factory.mktemp("linux-cookies")
    linux_pcap, netsim_pcap = directory / "linux.pcap", directory / "netsim.pcap"
    linux_netns.framed_echo(linux_pcap, syncookies=2)
    _netsim_capture(netsim_pcap, syncookies=2)
    return _rows(linux_pcap), _rows(netsim_pcap)


def test_a_cookie_syn_ack_is_linuxs(cookie_captures: tuple[list[dict[str, str]], list[dict[str, str]]]) -> None:
    """RFC 4987 §3.6 as Linux encodes it: the MSS from the cookie table, and window scaling and
    SACK kept (carried in the timestamp); the transfer after it is the same."""
    linux, ours = cookie_captures
    for field in ("tcp.flags.str", "tcp.window_size_value", "tcp.option_kind", "tcp.options.mss_val",
                  "tcp.options.wscale.shift"):
        assert ours[1][field] == linux[1][field], (field, ours[1], linux[1])
    assert ours[2]["tcp.window_size_value"] == linux[2]["tcp.window_size_value"]
    def delivered(rows: list[dict[str, str]]) -> int:  # distinct data, whatever was retransmitted
        return sum(int(length) for _src, _seq, length in {(r["ip.src"], r["tcp.seq"], r["tcp.len"] or "0")
                                                          for r in rows})

    assert delivered(ours) == delivered(linux) == 2 * 65540
