"""netsim's TCP beside the Linux kernel's, packet by packet, for the lecture's lab 1.5.

The same 64 KB length-framed echo runs through real Linux (two network namespaces, a veth pair,
tcpdump; see linux_netns.py) and through netsim, over IPv4 and over IPv6; tshark reads both
captures.  What must match: the SYN's and SYN-ACK's windows and options (order, MSS, window
scale), TTL / hop limit, the window after the handshake, the segment sizes (1448 with
timestamps; 1428 over IPv6), the number of data segments, the shape of the close, and over IPv6
one nonzero flow label per direction.  Skipped where the machine cannot create namespaces (not root, a container
without CAP_NET_ADMIN); set NETSIM_REQUIRE_NETNS=1 to make that a failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.observe.capture import Capture
from netsim.proto.tcp.settings import TCPSettings
from netsim.sim.tcp_apps import tcp_client, tcp_echo_server
from tests.oracles import linux_netns
from tests.oracles.tshark import tshark_fields

pytestmark = pytest.mark.tshark

FIELDS = ["src", "tcp.seq", "tcp.flags.str", "tcp.window_size_value", "tcp.window_size", "tcp.len",
          "tcp.option_kind", "tcp.options.mss_val", "tcp.options.wscale.shift", "hlim", "flow"]
Rows = list[dict[str, str]]


def _netsim_capture(path: Path, syncookies: int = 1, version: int = 4) -> None:
    server_ip = linux_netns.ADDRESSES[version][1]
    net, client, server = linux_netns.netsim_pair(version, server={"tcp": TCPSettings(syncookies=syncookies)})
    capture = Capture([client["eth0"]], "tcp", path=str(path))
    net.process(tcp_echo_server(server, 9000, framed=True, connections=1, address="::" if version == 6 else "0.0.0.0"))
    result = net.process(tcp_client(client, (server_ip, 9000), size=65536, framed=True))
    net.run("5s")
    capture.close()
    assert result.value.echo_ok


def _rows(pcap: Path, version: int = 4) -> Rows:
    """One dict per segment; ``src``, ``hlim`` and ``flow`` from the IPv4 or the IPv6 header."""
    ip = ["ip.src", "tcp.seq"] if version == 4 else ["ipv6.src", "tcp.seq"]
    extra = ["ip.ttl", "ip.id"] if version == 4 else ["ipv6.hlim", "ipv6.flow"]
    fields = [*ip, *FIELDS[2:9], *extra]
    return [dict(zip(FIELDS, row, strict=False)) for row in tshark_fields(pcap, fields, "tcp.port == 9000")]


@pytest.fixture(scope="module", params=[4, 6], ids=["ipv4", "ipv6"])
def captures(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Rows, Rows]:
    """Lab 1.5 through Linux and through netsim, over IPv4 and over IPv6 (where the MSS is
    1500 - 40 - 20 = 1440 and a full segment with timestamps 1428)."""
    version = request.param
    linux_netns.require(linux_netns.available(), "Linux oracle")
    directory = tmp_path_factory.mktemp(f"linux{version}")
    linux_pcap, netsim_pcap = directory / "linux.pcap", directory / "netsim.pcap"
    linux_netns.framed_echo(linux_pcap, version=version)
    _netsim_capture(netsim_pcap, version=version)
    return _rows(linux_pcap, version), _rows(netsim_pcap, version)


def _full_segment(rows: Rows) -> int:
    return 1448 if "." in rows[0]["src"] else 1428


def test_the_handshake_is_linuxs(captures: tuple[Rows, Rows]) -> None:
    linux, ours = captures
    for index in range(3):  # SYN, SYN-ACK, ACK
        for field in ("src", "hlim", "tcp.flags.str", "tcp.window_size_value", "tcp.option_kind", "tcp.options.mss_val",
                      "tcp.options.wscale.shift"):
            assert ours[index][field] == linux[index][field], (index, field, ours[index], linux[index])


def test_segment_sizes_and_counts_are_linuxs(captures: tuple[Rows, Rows]) -> None:
    linux, ours = captures

    def sizes(rows: Rows, src: str) -> list[int]:
        """Data segment sizes, each sequence number once: a busy machine can make the real kernel
        retransmit (a veth burst), which is not what is compared here."""
        first: dict[str, int] = {}
        for r in rows:
            if r["src"] == src and r["tcp.len"] not in ("", "0"):
                first.setdefault(r["tcp.seq"], int(r["tcp.len"]))
        return list(first.values())

    for src in (linux[0]["src"], linux[1]["src"]):
        assert sum(sizes(ours, src)) == sum(sizes(linux, src)) == 65540
        assert max(sizes(ours, src)) == max(sizes(linux, src)) == _full_segment(linux)
        assert len(sizes(ours, src)) == len(sizes(linux, src))


def test_the_close_is_linuxs(captures: tuple[Rows, Rows]) -> None:
    linux, ours = captures

    def closing(rows: Rows) -> list[tuple[str, str]]:
        first_fin = next(i for i, r in enumerate(rows) if "F" in r["tcp.flags.str"])
        return [(r["src"], r["tcp.flags.str"]) for r in rows[first_fin:]]

    assert closing(ours) == closing(linux)


@pytest.mark.parametrize("captures", [6], indirect=True, ids=["ipv6"])
def test_over_ipv6_each_direction_keeps_one_nonzero_flow_label_as_linux(captures: tuple[Rows, Rows]) -> None:
    """RFC 6437 §3: a flow's packets carry one flow label; Linux sets one per socket
    (net.ipv6.auto_flowlabels), so each direction of a connection has its own."""
    linux, _ours = captures
    for rows in captures:
        for src in (linux[0]["src"], linux[1]["src"]):
            labels = {int(r["flow"], 16) for r in rows if r["src"] == src}
            assert len(labels) == 1 and 0 not in labels, (src, labels)


@pytest.fixture(scope="module")
def cookie_captures(tmp_path_factory: pytest.TempPathFactory) -> tuple[Rows, Rows]:
    """The same exchange with ``tcp_syncookies = 2``: every SYN is answered with a cookie."""
    linux_netns.require(linux_netns.available(), "Linux oracle")
    directory = tmp_path_factory.mktemp("linux-cookies")
    linux_pcap, netsim_pcap = directory / "linux.pcap", directory / "netsim.pcap"
    linux_netns.framed_echo(linux_pcap, syncookies=2)
    _netsim_capture(netsim_pcap, syncookies=2)
    return _rows(linux_pcap), _rows(netsim_pcap)


def test_a_cookie_syn_ack_is_linuxs(cookie_captures: tuple[Rows, Rows]) -> None:
    """RFC 4987 §3.6 as Linux encodes it: the MSS from the cookie table, and window scaling and
    SACK kept (carried in the timestamp); the transfer after it is the same."""
    linux, ours = cookie_captures
    for field in ("tcp.flags.str", "tcp.window_size_value", "tcp.option_kind", "tcp.options.mss_val",
                  "tcp.options.wscale.shift"):
        assert ours[1][field] == linux[1][field], (field, ours[1], linux[1])
    assert ours[2]["tcp.window_size_value"] == linux[2]["tcp.window_size_value"]
    def delivered(rows: list[dict[str, str]]) -> int:  # distinct data, whatever was retransmitted
        return sum(int(length) for _src, _seq, length in {(r["src"], r["tcp.seq"], r["tcp.len"] or "0")
                                                          for r in rows})

    assert delivered(ours) == delivered(linux) == 2 * 65540
