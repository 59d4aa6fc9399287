"""netsim's loss recovery beside the Linux kernel's, with the same data segments dropped.

Each scenario sends ``segments`` full segments (1448 bytes with timestamps) from a client to a
sink through real Linux (linux_loss.py: two namespaces, a veth pair, an nftables rule that drops
chosen transmissions of chosen segments by their content) and through netsim (the same bytes,
the same transmissions dropped on the client's link), then compares the client-side captures and
counters:

- which segments are resent, in what order (segment numbers: the same in both);
- how many retransmissions, tail loss probes, lost retransmissions and RTOs
  (``nstat``: TcpRetransSegs, TcpExtTCPLossProbes, TcpExtTCPLostRetransmit, TcpExtTCPTimeouts;
  netsim: ``total_retransmits``, ``loss_probes``, ``lost_retransmits``, ``rto_expiries``);
- when, as bounds: what drives each retransmission (an ACK, the probe timer, RACK's reordering
  timer, the RTO) shows in its delay, and the bounds tell them apart.

The sink replies with one byte once it has everything and the client closes only then, so the
tail of the data is the tail of the flight (no FIN after it), except in ``tail-and-fin``.

Timers: this kernel may run at HZ = 250 (the machine this was written on does), where a timer
of ``usecs_to_jiffies(t)`` jiffies fires one jiffy later still (the timer wheel rounds up,
``calc_index``): the probe timeout (2 SRTT + 2 ms, ``tcp_schedule_loss_probe``) and the
reordering timer (wait + 2 ms, ``tcp_rack_mark_lost``) come after 4 to 8 ms over a veth whose RTT
is some microseconds.  netsim rounds both up to whole milliseconds, as a kernel at HZ = 1000
would (3 ms on its 20 us link), without the timer wheel's extra jiffy.
The bounds below hold either way; the RTO (200 ms + SRTT, 204 ms in jiffies) agrees.
"""

from __future__ import annotations

import socket
from collections.abc import Generator
from pathlib import Path
from typing import Any

import attrs
import pytest

from netsim.observe.capture import Capture
from tests.oracles import linux_loss, linux_netns

pytestmark = pytest.mark.tshark

MS = 1_000_000


@attrs.frozen
class Scenario:
    segments: int
    drops: dict[int, int]  # segment number -> transmissions of it dropped
    close: str = "reply"  # "reply": the client closes after the sink's reply; "at-once": after its write


SCENARIOS = {
    # one segment lost with plenty after it: RACK (3 SACKed: no reordering window) and fast recovery
    "mid-flight": Scenario(100, {20: 1}),
    # the last three lost: the probe resends the last, its SACK lets RACK mark the other two
    "tail": Scenario(30, {27: 1, 28: 1, 29: 1}),
    # the retransmission lost too: RACK finds it lost again when later segments are SACKed
    "lost-retransmission": Scenario(300, {20: 2}),
    # the last but one lost: one segment SACKed after it, sent in the same burst: RACK's
    # reordering window, then its timer
    "reordering-timer": Scenario(30, {28: 1}),
    # the tail and the probe lost: the RTO
    "probe-lost": Scenario(30, {27: 1, 28: 1, 29: 2}),
    # the tail lost and the client closing at once: the FIN comes after the last segment (Linux:
    # on its own once the data has left; netsim: on the last segment, its write having been
    # taken whole) and the SACK of it shows the holes
    "tail-and-fin": Scenario(30, {27: 1, 28: 1, 29: 1}, close="at-once"),
}


@attrs.frozen
class Run:
    flow: linux_loss.Flow
    retransmissions: int
    loss_probes: int
    lost_retransmits: int
    rtos: int
    probe_recoveries: int


def _netsim(pcap: Path, scenario: Scenario) -> Run:
    """The scenario through netsim: a 20 us, 10 Gbps link (the veth's RTT is some us; what
    matters is that it is far below every timer), Linux's default settings, the client's send
    buffer large enough for the whole write (Linux charges whole segments to it, netsim bytes:
    a 64 KiB buffer would leave a short segment mid-stream and move the segment boundaries)."""
    server_ip = linux_netns.ADDRESSES[4][1]
    net, client, server = linux_netns.netsim_pair()
    channel = client["eth0"].channel
    assert channel is not None
    to_drop = {linux_loss.marker(segment): times for segment, times in scenario.drops.items()}


    def drop(frame: bytes) -> bool:
        """The chosen transmissions, by the first word of the TCP payload (as the nft rule)."""
        tcp = 14 + (frame[14] & 0xF) * 4
        payload = tcp + (frame[tcp + 12] >> 4) * 4
        word = int.from_bytes(frame[payload:payload + 4], "big") if len(frame) >= payload + 4 else -1
        if frame[tcp + 2:tcp + 4] == b"\x23\x28" and to_drop.get(word):  # dport 9000
            to_drop[word] -= 1
            return True
        return False

    channel.drop_if = drop
    capture = Capture([client["eth0"]], "tcp", path=str(pcap))
    data = linux_loss.stream(scenario.segments * linux_loss.FULL)
    received: list[bytes] = []
    conns: list[Any] = []

    def sink() -> Generator[Any, Any, None]:
        listener = server.socket("tcp")
        listener.bind(("0.0.0.0", 9000))
        listener.listen(16)
        conn, _peer = yield listener.accept()
        while sum(map(len, received)) < len(data):
            chunk = yield conn.recv(1 << 20)
            if not chunk:
                break
            received.append(chunk)
        yield conn.sendall(b"k")
        assert (yield conn.recv(10)) == b""
        conn.close()

    def sender() -> Generator[Any, Any, None]:
        sock = client.socket("tcp")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, len(data))
        yield sock.connect((server_ip, 9000))
        conns.append(sock.conn)
        yield sock.sendall(data)
        reply = b""
        if scenario.close == "reply":
            reply = yield sock.recv(10)
        sock.shutdown(socket.SHUT_WR)
        while chunk := (yield sock.recv(10)):
            reply += chunk
        assert reply == b"k"
        sock.close()

    net.process(sink())
    done = net.process(sender())
    net.run("5s")
    capture.close()
    assert done.triggered and b"".join(received) == data
    conn = conns[0]
    return Run(linux_loss.flow(pcap), conn.total_retransmits, conn.loss_probes, conn.lost_retransmits,
               len(conn.rto_expiries), conn.loss_probe_recoveries)


def _linux(pcap: Path, scenario: Scenario) -> Run:
    counters = linux_loss.lossy_transfer(pcap, scenario.segments * linux_loss.FULL, scenario.drops, scenario.close)
    return Run(linux_loss.flow(pcap), counters["TcpRetransSegs"], counters["TcpExtTCPLossProbes"],
               counters["TcpExtTCPLostRetransmit"], counters["TcpExtTCPTimeouts"],
               counters["TcpExtTCPLossProbeRecovery"])


@pytest.fixture(scope="module", params=list(SCENARIOS))
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Run, Run]:
    """(scenario name, Linux's run, netsim's run)."""
    linux_netns.require(linux_loss.available(), "Linux loss-recovery oracle")
    name = request.param
    directory = tmp_path_factory.mktemp(name)
    scenario = SCENARIOS[name]
    return name, _linux(directory / "linux.pcap", scenario), _netsim(directory / "netsim.pcap", scenario)


#: what both do, scenario by scenario: the segments resent in order, tail loss probes, lost
#: retransmissions found, RTOs
EXPECTED = {
    "mid-flight": ([20], 0, 0, 0),
    "tail": ([29, 27, 28], 1, 0, 0),
    "lost-retransmission": ([20, 20], 0, 1, 0),
    "reordering-timer": ([28], 0, 0, 0),
    "probe-lost": ([29, 27, 28, 29], 1, 0, 1),
}


def test_the_same_segments_are_resent_for_the_same_reasons(runs: tuple[str, Run, Run]) -> None:
    name, linux, ours = runs
    for run in (linux, ours):
        assert run.flow.short_segments == 0 and run.flow.max_length == linux_loss.FULL
        assert run.flow.transmissions == SCENARIOS[name].segments + len(run.flow.retransmissions)
        assert run.retransmissions == len(run.flow.retransmissions)
        # a probe that repaired a loss alone (its ACK beyond it, no recovery begun): none here
        assert run.probe_recoveries == 0
    if name == "tail-and-fin":
        # each lost segment resent once and no RTO, in an order that depends on where the FIN went
        assert sorted(linux.flow.resent) == sorted(ours.flow.resent) == [27, 28, 29]
        assert linux.rtos == ours.rtos == 0
        # netsim's FIN rides on the last segment; the probe resends both, the sink SACKs the FIN
        # with the data (as Linux's receiver: tcp_data_queue_ofo), and RACK marks the holes lost
        assert ours.flow.resent == [29, 27, 28] and ours.loss_probes == 1
        return
    resent, probes, lost_retransmits, rtos = EXPECTED[name]
    assert linux.flow.resent == ours.flow.resent == resent
    assert (linux.loss_probes, linux.lost_retransmits, linux.rtos) == (probes, lost_retransmits, rtos)
    assert (ours.loss_probes, ours.lost_retransmits, ours.rtos) == (probes, lost_retransmits, rtos)


def _delays(run: Run) -> list[int]:
    return [r.after_previous for r in run.flow.retransmissions]


def test_what_drives_each_retransmission_shows_in_its_timing(runs: tuple[str, Run, Run]) -> None:
    """Bounds, not values: an ACK-driven retransmission comes well within 50 ms of the loss in
    both (Linux: some 0.1 ms; netsim: on the third SACK), a timer-driven one after its timer:
    the probe and the reordering timer after 2 ms (Linux at HZ = 250: 4 to 8 ms; netsim 3 ms, in
    whole ms as at HZ = 1000), the RTO after 200 ms."""
    name, linux, ours = runs
    for who, run in (("linux", linux), ("netsim", ours)):
        delays = _delays(run)
        if name in ("mid-flight", "lost-retransmission"):
            assert delays[0] < 50 * MS, (who, delays)  # SACK-driven
            # after a SACK: in netsim the third (RACK's window is 0 from three SACKed on; the
            # burst before shares one send time), in Linux the first to the tenth or so (a
            # SACK that shows a segment sent more than min_rtt / 4 after the hole marks it; the
            # writer owns the socket and ACKs wait in its backlog)
            assert run.flow.retransmissions[0].sacked_before >= 1, (who, run.flow.retransmissions)
            assert who == "linux" or run.flow.retransmissions[0].sacked_before == 3
            if name == "lost-retransmission":
                assert delays[1] < 50 * MS, (who, delays)  # found lost again by RACK, not by the RTO
        elif name in ("tail", "probe-lost"):
            assert 2 * MS < delays[0] < 50 * MS, (who, delays)  # the probe timeout
            if name == "tail":
                # the probe's SACK marks the others lost: resent within a few ms of the probe
                probe_at = run.flow.retransmissions[0].after_first
                assert all(r.after_first - probe_at < 20 * MS for r in run.flow.retransmissions[1:]), (who, run)
            else:
                assert 200 * MS < delays[1] < 300 * MS, (who, delays)  # the RTO
        elif name == "reordering-timer":
            assert 2 * MS < delays[0] < 50 * MS, (who, delays)
        else:
            assert max(delays) < 50 * MS, (who, delays)  # no RTO
    if name in ("tail", "probe-lost"):
        # netsim's probe timeout: 2 SRTT + 2 ms in whole ms (usecs_to_jiffies at HZ = 1000)
        assert _delays(ours)[0] == pytest.approx(3 * MS, abs=0.2 * MS)
    if name == "reordering-timer":
        assert _delays(ours)[0] == pytest.approx(3 * MS, abs=0.2 * MS)  # 1 ms (whole ms) + 2 ms

