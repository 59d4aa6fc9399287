"""netsim's TCP over IPv6 beside the Linux kernel's: lab 1.5's 64 KB length-framed echo between
fd00:9::1 and fd00:9::2, through real namespaces (linux_netns.py) and through netsim, read by
tshark.  What must match: the handshake's windows and options (MSS 1440 = 1500 - 40 - 20 over
IPv6), the segment sizes (1428 with timestamps) and counts, the close, the hop limit, and that
every segment carries a flow label constant over the connection in each direction, as Linux's
``net.ipv6.auto_flowlabels`` gives (RFC 6437).  Skipped where namespaces cannot be made;
NETSIM_REQUIRE_NETNS=1 makes that a failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from netsim.observe.capture import Capture
from netsim.sim.network import Network
from netsim.sim.tcp_apps import tcp_client, tcp_echo_server
from tests.oracles import linux_netns
from tests.oracles.tshark import tshark_fields

pytestmark = pytest.mark.tshark

FIELDS = ["ipv6.src", "ipv6.hlim", "ipv6.flow", "tcp.seq", "tcp.flags.str", "tcp.window_size_value", "tcp.len",
          "tcp.option_kind", "tcp.options.mss_val", "tcp.options.wscale.shift"]
CLIENT, SERVER, _PREFIX = linux_netns.ADDRESSES[6]


def _netsim_capture(path: Path) -> None:
    net = Network(1)
    client, server = net.add_host("client"), net.add_host("server")
    client.add_interface("eth0")
    client.add_address("eth0", f"{CLIENT}/64")
    server.add_interface("eth0")
    server.add_address("eth0", f"{SERVER}/64")
    net.connect(client["eth0"], server["eth0"], rate="10Gbps", delay="20us")
    capture = Capture([client["eth0"]], "tcp", path=str(path))
    net.process(tcp_echo_server(server, 9000, framed=True, connections=1, address="::"))
    result = net.process(tcp_client(client, (SERVER, 9000), size=65536, framed=True))
    net.run("5s")
    capture.close()
    assert result.value.echo_ok


def _rows(pcap: Path) -> list[dict[str, str]]:
    return [dict(zip(FIELDS, row, strict=False)) for row in tshark_fields(pcap, FIELDS, "tcp.port == 9000")]


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    linux_netns.require(linux_netns.available(), "Linux oracle")
    directory = tmp_path_factory.mktemp("linux6")
    linux_pcap, netsim_pcap = directory / "linux.pcap", directory / "netsim.pcap"
    linux_netns.framed_echo(linux_pcap, version=6)
    _netsim_capture(netsim_pcap)
    return _rows(linux_pcap), _rows(netsim_pcap)


def test_the_handshake_over_ipv6_is_linuxs(captures: tuple[list[dict[str, str]], list[dict[str, str]]]) -> None:
    linux, ours = captures
    for index in range(3):  # SYN, SYN-ACK, ACK
        for field in ("ipv6.src", "ipv6.hlim", "tcp.flags.str", "tcp.window_size_value", "tcp.option_kind",
                      "tcp.options.mss_val", "tcp.options.wscale.shift"):
            assert ours[index][field] == linux[index][field], (index, field, ours[index], linux[index])
    assert ours[0]["tcp.options.mss_val"] == "1440"


def test_segment_sizes_and_counts_over_ipv6_are_linuxs(captures: tuple[list[dict[str, str]],
                                                                        list[dict[str, str]]]) -> None:
    linux, ours = captures

    def sizes(rows: list[dict[str, str]], src: str) -> list[int]:
        first: dict[str, int] = {}
        for r in rows:
            if r["ipv6.src"] == src and r["tcp.len"] not in ("", "0"):
                first.setdefault(r["tcp.seq"], int(r["tcp.len"]))
        return list(first.values())

    for src in (CLIENT, SERVER):
        assert sum(sizes(ours, src)) == sum(sizes(linux, src)) == 65540
        assert max(sizes(ours, src)) == max(sizes(linux, src)) == 1428
        assert len(sizes(ours, src)) == len(sizes(linux, src))


def test_the_close_over_ipv6_is_linuxs(captures: tuple[list[dict[str, str]], list[dict[str, str]]]) -> None:
    linux, ours = captures

    def closing(rows: list[dict[str, str]]) -> list[tuple[str, str]]:
        first_fin = next(i for i, r in enumerate(rows) if "F" in r["tcp.flags.str"])
        return [(r["ipv6.src"], r["tcp.flags.str"]) for r in rows[first_fin:]]

    assert closing(ours) == closing(linux)


def test_each_direction_keeps_one_nonzero_flow_label_as_linux(captures: tuple[list[dict[str, str]],
                                                                              list[dict[str, str]]]) -> None:
    """RFC 6437 §3: a flow's packets carry one flow label; Linux sets one per socket
    (auto_flowlabels), so the two directions of a connection differ in general."""
    for rows in captures:
        for src in (CLIENT, SERVER):
            labels = {int(r["ipv6.flow"], 16) for r in rows if r["ipv6.src"] == src}
            assert len(labels) == 1 and 0 not in labels, (src, labels)
