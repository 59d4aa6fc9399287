"""Run a bulk transfer through the real Linux kernel with chosen data segments dropped: the
oracle netsim's loss recovery (RACK, tail loss probes, PRR, the RTO) is compared with.

Two network namespaces joined by a veth pair (as linux_netns.py), GSO off so the capture shows
wire segments.  The client writes ``size`` bytes whose content names its own offset: the stream
is the big-endian 32-bit words 0, 1, 2 ..., so a full-sized segment (1448 bytes with
timestamps, 362 words) number ``k`` starts with the word ``362 k``.  An nftables rule in the
server's namespace (prerouting, after tcpdump on the client's side has seen the frame) matches
that first word (``@ih,0,32``, the payload whatever the options) and drops the segment while a
byte quota lasts: ``times`` transmissions of it, each 1500 bytes at the IP layer, are dropped,
the next gets through.  Which transmission is dropped does not depend on timing, only on the
segment's content, so the kernel's own scheduling cannot move the loss.

Both ends run on one CPU: a veth hands a frame to the backlog of the CPU that sends it, so a
sender that moves between CPUs mid-burst can reorder its own segments, which RACK then takes
for a loss (unpinned, one run in five or so resent a segment that was not dropped); and at a
real-time priority (SCHED_FIFO), so that a busy machine does not hold back the sink's ACKs past
the 4 to 8 ms of a probe timeout (without it, a spurious probe in one loaded run in ten).

The client's namespace is fresh, so ``nstat -asz`` there gives this one connection's counters
(TcpExtTCPLossProbes, TcpExtTCPLostRetransmit, TcpRetransSegs ...).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import attrs

from tests.oracles import linux_netns
from tests.oracles.tshark import tshark_fields

#: payload bytes of a full segment with timestamps (1500 - 20 - 32)
FULL = 1448
WORDS = FULL // 4
#: IP-layer length of a full segment (what nftables' quota counts)
IP_LEN = 1500

BULK = r'''
import os, socket, sys
role, size, server_ip, close, cpu = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
os.sched_setaffinity(0, {cpu})
os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
data = b"".join(i.to_bytes(4, "big") for i in range(size // 4))
if role == "server":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 9000)); s.listen(16)
    print("listening", flush=True)
    c, _ = s.accept()
    got = []
    while sum(map(len, got)) < len(data):
        x = c.recv(1 << 20)
        if not x:
            break
        got.append(x)
    assert b"".join(got) == data, "the stream arrived damaged"
    c.sendall(b"k")
    assert c.recv(10) == b""
    c.close()
else:
    s = socket.create_connection((server_ip, 9000))
    s.sendall(data)
    if close == "reply":
        assert s.recv(10) == b"k"
    s.shutdown(socket.SHUT_WR)
    rest = b""
    while True:
        x = s.recv(10)
        if not x:
            break
        rest += x
    assert rest == (b"" if close == "reply" else b"k")
    s.close()
'''


def available() -> str | None:
    """None when the machine can run the oracle, else why not (linux_netns's needs, and nft)."""
    if shutil.which("nft") is None and os.geteuid() == 0:
        return "needs nft (Debian package nftables)"
    return linux_netns.available()


def stream(size: int) -> bytes:
    """The client's bytes: the 32-bit words 0, 1, 2 ... (``size`` a multiple of 4)."""
    return b"".join(i.to_bytes(4, "big") for i in range(size // 4))


def marker(segment: int) -> int:
    """The first word of full-sized segment number ``segment`` (0: the first data segment)."""
    return segment * WORDS


def _run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def nft_rules(drops: Mapping[int, int]) -> str:
    """The nftables ruleset dropping ``times`` transmissions of each segment in ``drops``."""
    rules = "".join(
        f"    tcp dport 9000 @ih,0,32 {marker(segment):#x} quota until {times * IP_LEN + IP_LEN // 2} bytes drop\n"
        for segment, times in sorted(drops.items())
    )
    return ("table inet loss {\n  chain pre {\n    type filter hook prerouting priority 0; policy accept;\n"
            f"{rules}  }}\n}}\n")


def nstat(namespace: str) -> dict[str, int]:
    """The namespace's SNMP counters (``nstat -asz``: absolute, zeros too, no history kept)."""
    counters: dict[str, int] = {}
    for line in _run(*linux_netns.in_namespace(namespace, "nstat", "-asz")).splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit():
            counters[parts[0]] = int(parts[1])
    return counters


def lossy_transfer(pcap: Path, size: int, drops: Mapping[int, int], close: str = "reply") -> dict[str, int]:
    """A client in one namespace sends ``size`` bytes (:func:`stream`) to a sink in the other
    and closes; ``drops`` maps a segment number to how many of its transmissions are dropped
    on the way in to the server.  ``pcap`` gets the client side's capture (every transmission,
    dropped ones too); returns the client namespace's counters after the exchange."""
    server_ip = linux_netns.ADDRESSES[4][1]
    script = pcap.parent / "linux_bulk.py"
    script.write_text(BULK)
    cpu = str(min(os.sched_getaffinity(0)))
    names = (f"netsim-la{os.getpid()}", f"netsim-lb{os.getpid()}")
    try:
        linux_netns.veth_pair(names)
        subprocess.run(["ip", "netns", "exec", names[1], "nft", "-f", "-"], input=nft_rules(drops), check=True,
                       capture_output=True, text=True)
        server = subprocess.Popen(["ip", "netns", "exec", names[1], sys.executable, str(script), "server", str(size),
                                   server_ip, close, cpu], stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None
        server.stdout.readline()  # "listening"
        dump = linux_netns.start_capture(names[0], pcap)
        _run("ip", "netns", "exec", names[0], sys.executable, str(script), "client", str(size), server_ip, close,
             cpu)
        server.wait(timeout=30)
        assert server.returncode == 0, "the Linux sink saw a damaged stream"
        time.sleep(1.0)  # let tcpdump write the last packets
        dump.terminate()
        dump.wait(timeout=10)
        return nstat(names[0])
    finally:
        for name in names:
            subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


@attrs.frozen
class Retransmission:
    """A data segment sent again: which (``segment``: its number, as :func:`marker`; ``length``),
    when (ns after its previous transmission, ``after_previous``; after the first data segment,
    ``after_first``), and how many segments the last ACK before it SACKed (``sacked_before``)."""

    segment: int
    length: int
    after_previous: int
    after_first: int
    sacked_before: int


@attrs.frozen
class Flow:
    """What a capture on the client's side shows of one transfer."""

    transmissions: int  # data segments sent, retransmissions included
    retransmissions: tuple[Retransmission, ...]
    max_length: int
    short_segments: int  # data segments shorter than a full one before the last byte
    duration: int  # ns from the first data segment to the last ACK of data

    @property
    def resent(self) -> list[int]:
        return [r.segment for r in self.retransmissions]


def flow(pcap: Path, client_ip: str = linux_netns.ADDRESSES[4][0]) -> Flow:
    """Read ``pcap`` (tshark, relative sequence numbers) into a :class:`Flow`."""
    rows = tshark_fields(pcap, ["frame.time_epoch", "ip.src", "tcp.seq", "tcp.len", "tcp.ack", "tcp.options.sack_le",
                                "tcp.options.sack_re",
                                "tcp.flags.str"], "tcp.port == 9000")
    sent: dict[int, int] = {}  # sequence number -> last transmission
    first = last_ack_time = 0
    sacked = 0
    retransmissions: list[Retransmission] = []
    transmissions = max_length = short = 0
    end = 1
    for stamp, src, seq_text, length_text, ack_text, sack_left, sack_right, _flags in rows:
        now = round(float(stamp) * 1e9)
        if src == client_ip:
            length = int(length_text or 0)
            if not length:
                continue
            seq = int(seq_text)
            transmissions += 1
            max_length = max(max_length, length)
            first = first or now
            if seq in sent:
                retransmissions.append(Retransmission((seq - 1) // FULL, length, now - sent[seq], now - first, sacked))
            elif length < FULL:
                short += 1
            sent[seq] = now
            end = max(end, seq + length)
        else:
            ack = int(ack_text or 0)
            blocks = zip((int(x) for x in sack_left.split(",") if x), (int(x) for x in sack_right.split(",") if x),
                         strict=True)
            sacked = sum(-(-(right - left) // FULL) for left, right in blocks if left > ack)  # not D-SACKs
            if ack > 1 and ack <= end:
                last_ack_time = now
    return Flow(transmissions, tuple(retransmissions), max_length, max(0, short - 1), last_ack_time - first)
