"""Run a TCP exchange through the real Linux kernel, in two network namespaces joined by a veth
pair, and capture it with tcpdump: the oracle netsim's TCP is compared with.

Needs root, ``ip netns`` and tcpdump; :func:`available` says whether this machine can.  GSO is
turned off on the veth (``gso_max_segs 1``) so the capture shows wire-sized segments, and the
namespaces get Linux's default buffer sysctls (``tcp_rmem`` max 6 MB -> window scale 7), which are
netsim's defaults, whatever the host has.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from netsim.sim.network import Network

ECHO = r'''
import socket, sys
role, size, server_ip = sys.argv[1], int(sys.argv[2]), sys.argv[3]
family = socket.AF_INET6 if ":" in server_ip else socket.AF_INET
if role == "server":
    s = socket.socket(family); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 9000)); s.listen(16)
    print("listening", flush=True)
    c, _ = s.accept()
    def exactly(n):
        b = b""
        while len(b) < n:
            x = c.recv(n - len(b))
            if not x:
                break
            b += x
        return b
    h = exactly(4); body = exactly(int.from_bytes(h, "big")); c.sendall(h + body)
    assert c.recv(10) == b""
    c.close()
else:
    msg = bytes(i % 251 for i in range(size))
    s = socket.create_connection((server_ip, 9000))
    s.sendall(len(msg).to_bytes(4, "big") + msg)
    got = b""
    while len(got) < len(msg) + 4:
        x = s.recv(65536)
        if not x:
            break
        got += x
    assert got[4:] == msg
    s.close()
'''


def available() -> str | None:
    """None when the machine can run the oracle, else why not."""
    if os.geteuid() != 0:
        return "needs root"
    release = os.uname().release
    if int(release.split(".")[0]) < 6 and not os.environ.get("NETSIM_LINUX_ORACLE"):
        # the comparisons pin details (windows, ACK timing of the close) of 6.x kernels
        return f"compares with Linux 6.x, this kernel is {release} (NETSIM_LINUX_ORACLE=1 to try)"
    for tool in ("ip", "tcpdump"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    return namespaces_unavailable("netsim-probe")


def namespaces_unavailable(probe: str) -> str | None:
    """None when a namespace named ``probe`` can be made (and is removed again), else why not."""
    made = subprocess.run(["ip", "netns", "add", probe], check=False, capture_output=True, text=True)
    if made.returncode != 0:
        return f"cannot create network namespaces: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], check=False, capture_output=True)
    return None


def add_namespaces(names: Iterable[str]) -> None:
    """Make each namespace, its loopback up (the oracles' common first step)."""
    for name in names:
        subprocess.run(["ip", "netns", "add", name], check=True, capture_output=True, text=True)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True, capture_output=True, text=True)


def in_namespace(name: str, *command: str) -> list[str]:
    """``command`` run inside namespace ``name``."""
    return ["ip", "netns", "exec", name, *command]


def require(why: str | None, oracle: str) -> None:
    """Skip the test when the oracle cannot run here (``why``), or fail it when the environment
    says the oracle must run (NETSIM_REQUIRE_NETNS=1, as CI sets it)."""
    if why is None:
        return
    if os.environ.get("NETSIM_REQUIRE_NETNS"):
        pytest.fail(f"the {oracle} is required but unavailable: {why}")
    pytest.skip(f"the {oracle} is unavailable: {why}")


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, text=True)


#: the two ends' addresses, by IP version
ADDRESSES = {4: ("10.9.0.1", "10.9.0.2", 24), 6: ("fd00:9::1", "fd00:9::2", 64)}


def netsim_pair(version: int = 4, client: dict[str, Any] | None = None,
                server: dict[str, Any] | None = None) -> tuple[Any, Any, Any]:
    """netsim's twin of :func:`veth_pair`: hosts ``client`` and ``server`` (their host settings
    given) with :data:`ADDRESSES` on a 20 us, 10 Gbps link, far below every TCP timer as the
    veth's few microseconds are; returns (network, client, server)."""
    client_ip, server_ip, prefix = ADDRESSES[version]
    net = Network(1)
    a, b = net.add_host("client", **(client or {})), net.add_host("server", **(server or {}))
    for host, address in ((a, client_ip), (b, server_ip)):
        host.add_interface("eth0")
        host.add_address("eth0", f"{address}/{prefix}")
    net.connect(a["eth0"], b["eth0"], rate="10Gbps", delay="20us")
    return net, a, b


def _veth_pair(names: tuple[str, str], version: int, sysctls: Iterable[str] = ()) -> None:
    """Namespaces ``names`` (made here) joined by a veth pair, ``va`` in the first with the
    client's address and ``vb`` in the second with the server's; GSO off, netsim's default buffer
    sysctls, then ``sysctls`` in both."""
    client_ip, server_ip, prefix = ADDRESSES[version]
    for name in names:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)
    for name in names:
        _run("ip", "netns", "add", name)
    _run("ip", "link", "add", "va", "netns", names[0], "type", "veth", "peer", "name", "vb", "netns", names[1])
    for name, iface, address in ((names[0], "va", f"{client_ip}/{prefix}"), (names[1], "vb", f"{server_ip}/{prefix}")):
        _run("ip", "-n", name, "addr", "add", address, "dev", iface, *(("nodad",) if version == 6 else ()))
        _run("ip", "-n", name, "link", "set", "lo", "up")
        _run("ip", "-n", name, "link", "set", iface, "up", "mtu", "1500", "gso_max_segs", "1", "gso_max_size", "1500")
        for setting in ("net.ipv4.tcp_rmem=4096 131072 6291456", "net.ipv4.tcp_wmem=4096 16384 4194304", *sysctls):
            _run("ip", "netns", "exec", name, "sysctl", "-q", "-w", setting)


def _capture(name: str, iface: str, pcap: Path, peer_ip: str, version: int, *extra: str) -> subprocess.Popen[bytes]:
    """tcpdump on ``iface`` of namespace ``name`` into ``pcap``, capturing already when it returns."""
    # a 64 MB capture buffer: over a veth the whole exchange is one burst
    dump = subprocess.Popen(["ip", "netns", "exec", name, "tcpdump", "-i", iface, "-U", "-B", "65536", *extra,
                             "-w", str(pcap), "tcp port 9000 or udp port 9"], stderr=subprocess.DEVNULL)
    # tcpdump says "listening" a moment before it captures: probe with UDP datagrams (to the
    # discard port) until one shows up in the file, then start the exchange
    probe = (f"import socket; s = socket.socket(socket.AF_INET{'6' if version == 6 else ''}, "
             f"socket.SOCK_DGRAM); s.sendto(b'probe', ('{peer_ip}', 9))")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        _run("ip", "netns", "exec", name, sys.executable, "-c", probe)
        time.sleep(0.1)
        if pcap.exists() and pcap.stat().st_size > 24:
            return dump
    dump.terminate()
    raise RuntimeError("tcpdump captured nothing in the namespace")


def veth_pair(names: tuple[str, str], version: int = 4) -> None:
    """:func:`_veth_pair` with netsim's default buffer sysctls only (the loss oracle's)."""
    _veth_pair(names, version)


def start_capture(name: str, pcap: Path, version: int = 4) -> subprocess.Popen[bytes]:
    """tcpdump on ``va`` in namespace ``name`` (the client's side, made by :func:`veth_pair`)."""
    return _capture(name, "va", pcap, ADDRESSES[version][1], version)


def _stop(dump: subprocess.Popen[bytes]) -> None:
    time.sleep(1.0)  # let tcpdump write the last packets
    dump.terminate()
    dump.wait(timeout=10)


def framed_echo(pcap: Path, size: int = 65536, *, syncookies: int | None = None, version: int = 4) -> None:
    """Lab 1.5 through Linux: a client in one namespace sends a ``size``-byte length-framed
    message to an echo server in the other; ``pcap`` gets the client side's capture.
    ``syncookies`` sets the server namespace's ``net.ipv4.tcp_syncookies`` (which serves IPv6
    too); ``version`` 6 runs it over IPv6 (:data:`ADDRESSES`)."""
    _client_ip, server_ip, _prefix = ADDRESSES[version]
    script = pcap.parent / "linux_echo.py"
    script.write_text(ECHO)
    names = (f"netsim-a{os.getpid()}", f"netsim-b{os.getpid()}")  # unique: test runs may overlap
    try:
        _veth_pair(names, version)
        if syncookies is not None:
            _run("ip", "netns", "exec", names[1], "sysctl", "-q", "-w", f"net.ipv4.tcp_syncookies={syncookies}")
        server = subprocess.Popen(["ip", "netns", "exec", names[1], sys.executable, str(script), "server",
                                   str(size), server_ip], stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None
        server.stdout.readline()  # "listening"
        dump = _capture(names[0], "va", pcap, server_ip, version)
        _run("ip", "netns", "exec", names[0], sys.executable, str(script), "client", str(size), server_ip)
        server.wait(timeout=30)
        _stop(dump)
    finally:
        for name in names:
            subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


BULK = r'''
import socket, sys
role, size, server_ip, rcvbuf = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
if role == "server":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # inherited, locked
    s.bind(("0.0.0.0", 9000)); s.listen(16)
    print("listening", flush=True)
    c, _ = s.accept(); got = 0
    while True:  # read as fast as it comes
        x = c.recv(65536)
        if not x:
            break
        got += len(x)
    assert got == size, got
    c.close()
else:
    s = socket.socket()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"cubic")  # netsim's default (root may)
    s.connect((server_ip, 9000)); s.sendall(bytes(size)); s.close()
'''


def bulk_transfer(pcap: Path, size: int, *, rcvbuf: int = 0, moderate_rcvbuf: bool = True) -> None:
    """A bulk transfer through Linux: the client in one namespace sends ``size`` bytes (CUBIC, as
    netsim; the host's default may differ) to a server in the other that reads as fast as it can;
    ``pcap`` gets the server side's capture.  ``rcvbuf``: the server's SO_RCVBUF (0: none);
    ``moderate_rcvbuf``: the namespaces' ``net.ipv4.tcp_moderate_rcvbuf``."""
    client_ip, server_ip, _prefix = ADDRESSES[4]
    script = pcap.parent / "linux_bulk.py"
    script.write_text(BULK)
    names = (f"netsim-c{os.getpid()}", f"netsim-d{os.getpid()}")
    for name in names:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)
    try:
        _veth_pair(names, 4, (f"net.ipv4.tcp_moderate_rcvbuf={int(moderate_rcvbuf)}",))
        server = subprocess.Popen(["ip", "netns", "exec", names[1], sys.executable, str(script), "server",
                                   str(size), server_ip, str(rcvbuf)], stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None
        server.stdout.readline()  # "listening"
        dump = _capture(names[1], "vb", pcap, client_ip, 4, "-s", "128")
        _run("ip", "netns", "exec", names[0], sys.executable, str(script), "client", str(size), server_ip, "0")
        server.wait(timeout=60)
        assert server.returncode == 0
        _stop(dump)
    finally:
        for name in names:
            subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)
