"""The receive window of a bulk transfer, netsim beside the Linux kernel (receive-buffer
autotuning, tcp_moderate_rcvbuf = 1).

A 4 MB transfer through real Linux (two namespaces, a veth pair with GSO off, the same buffer
sysctls as netsim's defaults: tcp_rmem 4096 131072 6291456, tcp_wmem 4096 16384 4194304, CUBIC),
the receiver reading as fast as it can, and the same through netsim (10 Gbps, 20 us); tshark
reads the receiver's advertised windows from both captures.

What Linux 6.18 showed (runs of this test; the kernel's tcp_rcvbuf_grow trace gave
scaling_ratio = 162, so the 128 KiB buffer offers 82944 bytes): the window starts at the
SYN-ACK's 65160, grows by two segments per segment to a plateau of 76800-81536 (netsim: 81408),
leaves it after 59-71 KB when the first once-per-RTT measurement of the read rate grows the
buffer (netsim: after 68 KB), then grows by two segments per segment again to 0.64-1.4 MB
(netsim: 1.10 MB) and, in most runs, on to 3.6-3.97 MB, under the 3981312 of tcp_rmem[2]
(netsim stays at 1.10 MB: its reader never falls behind and its RTT stays short, so the read rate
per RTT does not grow again).  The windows cannot agree segment by segment: on the veth Linux's
timing is the scheduler's (how long the reader lags, how many segments a softirq handles before
an ACK), so its receiver-side RTT (0.2-0.7 ms) and what it counts as read per RTT differ from run
to run.  So the test pins the shape: the plateau of the default buffer, growth past 128 KiB with
the read rate, two segments of window per segment, more than four times the default window in
the first 1.5 MB, never past tcp_rmem[2]; and
with SO_RCVBUF or tcp_moderate_rcvbuf = 0, no growth past the buffer's 82944.
"""

from __future__ import annotations

import itertools
import socket
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from netsim.observe.capture import Capture
from netsim.proto.tcp.autotune import win_from_space
from netsim.proto.tcp.settings import TCPSettings
from netsim.sim.tcp_apps import bulk_send
from tests.oracles import linux_netns
from tests.oracles.tshark import tshark_fields

pytestmark = pytest.mark.tshark

SIZE = 4_000_000
DEFAULT_WINDOW = win_from_space(131072)  # 82944: what tcp_rmem[1] offers
LARGEST = win_from_space(6291456)  # 3981312: what tcp_rmem[2] offers
Windows = list[tuple[int, int]]


def _netsim_capture(path: Path, *, rcvbuf: int = 0, moderate_rcvbuf: bool = True) -> None:
    server_ip = linux_netns.ADDRESSES[4][1]
    settings = {"tcp": TCPSettings(moderate_rcvbuf=moderate_rcvbuf)}
    net, client, server = linux_netns.netsim_pair(4, settings, settings)
    capture = Capture([server["eth0"]], "tcp", path=str(path))
    got = []

    def sink() -> Generator[Any, Any, None]:
        listener = server.socket("tcp")
        if rcvbuf:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        listener.bind(("0.0.0.0", 9000))
        listener.listen(16)
        conn, _peer = yield listener.accept()
        while True:
            data = yield conn.recv(65536)
            if not data:
                break
            got.append(len(data))
        conn.close()

    net.process(sink())
    net.process(bulk_send(client, (server_ip, 9000), SIZE))
    net.run("30s")
    capture.close()
    assert sum(got) == SIZE


def _windows(pcap: Path) -> Windows:
    """(ACK number, window in bytes) of each segment the receiver sent after its SYN-ACK."""
    rows = tshark_fields(pcap, ["tcp.ack", "tcp.window_size"],
                         "tcp.srcport == 9000 && tcp.flags.syn == 0 && tcp.flags.reset == 0")
    return [(int(ack), int(window)) for ack, window in rows]


def _captures(tmp: Path, **kwargs: Any) -> tuple[Windows, Windows]:
    linux_netns.require(linux_netns.available(), "Linux oracle")
    linux_pcap, netsim_pcap = tmp / "linux.pcap", tmp / "netsim.pcap"
    linux_netns.bulk_transfer(linux_pcap, SIZE if not kwargs else SIZE // 2, **kwargs)
    _netsim_capture(netsim_pcap, **kwargs)
    return _windows(linux_pcap), _windows(netsim_pcap)


@pytest.fixture(scope="module")
def default_captures(tmp_path_factory: pytest.TempPathFactory) -> tuple[Windows, Windows]:
    return _captures(tmp_path_factory.mktemp("autotune"))


def test_the_default_buffer_offers_its_window_first(default_captures: tuple[Windows, Windows]) -> None:
    """Before the first read-rate measurement: 65160 growing to what 128 KiB offers, less a segment."""
    for windows in default_captures:
        assert windows[0][1] in (65160, 65280, 68096)  # the handshake's ACK or the first data's
        plateau = max(window for ack, window in windows if ack < 50_000)
        assert 70_000 < plateau <= DEFAULT_WINDOW, (plateau, windows[:40])


def test_the_window_grows_past_128_kib_with_the_read_rate(default_captures: tuple[Windows, Windows]) -> None:
    for windows in default_captures:
        first = next(ack for ack, window in windows if window > DEFAULT_WINDOW)
        assert 50_000 < first < 1_000_000  # after the first measurement (one RTT of reading)
        assert max(window for ack, window in windows if ack < 1_500_000) > 4 * DEFAULT_WINDOW
        assert max(window for _ack, window in windows) <= LARGEST + 128  # tcp_rmem[2]'s window


def test_the_window_grows_two_segments_per_segment(default_captures: tuple[Windows, Windows]) -> None:
    """tcp_grow_window: each in-order full segment raises rcv_ssthresh by two segments."""
    for windows in default_captures:
        slopes = sorted((w2 - w1) / (a2 - a1) for (a1, w1), (a2, w2) in itertools.pairwise(windows)
                        if DEFAULT_WINDOW < w1 < w2 and 0 < a2 - a1 <= 4 * 1448)
        assert len(slopes) > 50
        assert 1.9 < slopes[len(slopes) // 2] < 2.1, slopes


@pytest.mark.parametrize("kwargs", [{"rcvbuf": 65536}, {"moderate_rcvbuf": False}],
                         ids=["so_rcvbuf", "moderate_rcvbuf_off"])
def test_no_growth_with_so_rcvbuf_or_without_moderate_rcvbuf(kwargs: dict[str, Any],
                                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    """SO_RCVBUF 64 KiB (doubled: 128 KiB, locked) or tcp_moderate_rcvbuf = 0: the window stays
    under what the 128 KiB buffer offers; and the SYN-ACK's window scale is Linux's: 1 for the
    locked buffer (tcp_select_initial_window from window_clamp = tcp_full_space), 7 otherwise."""
    tmp = tmp_path_factory.mktemp("locked")
    for windows in _captures(tmp, **kwargs):
        largest = max(window for _ack, window in windows)
        assert 70_000 < largest <= DEFAULT_WINDOW
    shifts = [tshark_fields(tmp / name, ["tcp.options.wscale.shift"], "tcp.flags.syn == 1 && tcp.flags.ack == 1")
              for name in ("linux.pcap", "netsim.pcap")]
    assert shifts[0] == shifts[1] == [["1" if "rcvbuf" in kwargs else "7"]]
