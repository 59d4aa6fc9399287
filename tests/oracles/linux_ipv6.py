"""IPv6 across a router through the real Linux kernel: what a client's sockets learn from the
router's ICMPv6 errors, the oracle for netsim's IPv6 forwarding (netsim/sim/ipv6.py).

Namespaces (names suffixed with the pid, so overlapping test runs do not collide)::

    cli 2001:db8:1::10 --- (ra) r1 (rb, MTU 1400) --- srv 2001:db8:2::20 (MTU 1500, TCP sink on :9000)
        default via 2001:db8:1::1                    default via 2001:db8:2::1

The client's experiment (:data:`CLIENT`, the same one ``test_linux_ipv6.py`` runs through
netsim), each a list of what the socket saw, errors read from the error queue (IPV6_RECVERR) as
``[errno name, type, code, info, offender]`` or the errno a call failed with:

- ``hop1``: a UDP probe with hop limit 1 (r1: Time Exceeded); ``hop2``: hop limit 2 (the
  server: Port Unreachable); ``unrouted``: a datagram to a prefix r1 has no route for;
  ``scope``: a datagram from the client's link-local address to the server; ``hop1_unrouted``
  (and ``v4_hop1_unrouted``): hop limit (TTL) 1 towards that prefix (which does r1 say first?);
- ``connected_*``: what a connected socket without IPV6_RECVERR gets on its next recv after the
  same errors (a closed port, hop limit 1, no route);
- ``too_big``: a 1500-byte datagram with IPV6_DONTFRAG towards the 1400-byte link: the error,
  IPV6_MTU after it, and what the next such send fails with; ``too_big_connected``: the same
  without IPV6_RECVERR on a connected socket (is Packet Too Big a hard error?);
- ``fragments``: a 4000-byte datagram (no IPV6_DONTFRAG) to a closed port once the path MTU is
  1400: each fragment the client sends as [IPv6 length, offset in 8-byte units, M], whether
  they share one identification, and the error the server's Port Unreachable about the
  reassembled datagram gives;
- ``burst``: how many of 100 back-to-back hop-limit-1 probes from a second address of the
  client get a Time Exceeded (the rate limit);
- ``pending_after_recverr``: the two sends after a hop-limit-1 probe on an unconnected socket
  with IPV6_RECVERR (does the error also become the socket's pending error?);
- the same for IPv4 (``v4_*``, over 10.1.0.10 --- 10.1.0.1 r1 10.2.0.1 --- 10.2.0.20): connected
  sockets without IP_RECVERR after a closed port, TTL 1 and no route; a connected UDP socket
  (IP_PMTUDISC_WANT, the default) sending 1500-byte datagrams towards the 1400-byte link: its
  next recv, IP_MTU, the next such send; and the pending error after IP_RECVERR;
- ``tcp_mss``: TCP_MAXSEG after sending 100 kB to the server (MSS 1440, timestamps: 1428, then
  1328 once Packet Too Big says 1400).

Needs root and ``ip`` (iproute2); :func:`available` says whether this machine can.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any

from tests.oracles.linux_netns import add_namespaces, in_namespace, namespaces_unavailable

SINK = r'''
import socket
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 9000)); s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
while c.recv(65536):
    pass
c.close()
'''

CLIENT = r'''
import errno, json, socket, struct, sys, time
SERVER, UNROUTED, LINK_LOCAL = "2001:db8:2::20", "2001:db8:99::1", sys.argv[1]
IPV6_RECVERR, IPV6_DONTFRAG, IPV6_MTU = 25, 62, 24

def name(code):
    return errno.errorcode.get(code, str(code))

def errors(sock):
    time.sleep(0.3)
    found = []
    while True:
        try:
            _data, anc, _flags, _addr = sock.recvmsg(2048, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return found
        for level, kind, data in anc:
            # struct sock_extended_err, then the offender's sockaddr_in6 (or sockaddr_in)
            ee_errno, _origin, ee_type, ee_code, _pad, ee_info, _data2 = struct.unpack("=IBBBBII", data[:16])
            if level == socket.IPPROTO_IPV6 and kind == IPV6_RECVERR:
                offender = socket.inet_ntop(socket.AF_INET6, data[16 + 8:16 + 24])
            elif level == socket.IPPROTO_IP and kind == 11:  # IP_RECVERR
                offender = socket.inet_ntop(socket.AF_INET, data[16 + 4:16 + 8])
            else:
                continue
            found.append([name(ee_errno), ee_type, ee_code, ee_info, offender])

def udp(recverr=True, hops=None):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    if recverr:
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
    if hops is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, hops)
    return s

def outcome(call, *args):
    try:
        call(*args)
    except socket.timeout:
        return "timeout"
    except OSError as exc:
        return name(exc.errno)
    return "ok"

out = {}
s = udp(hops=1); s.sendto(b"probe", (SERVER, 33434)); out["hop1"] = errors(s)
s = udp(hops=2); s.sendto(b"probe", (SERVER, 33435)); out["hop2"] = errors(s)
s = udp(); s.sendto(b"anyone", (UNROUTED, 9)); out["unrouted"] = errors(s)
s = udp(hops=1); s.sendto(b"probe", (UNROUTED, 9)); out["hop1_unrouted"] = errors(s)
v4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); v4.setsockopt(socket.IPPROTO_IP, 11, 1)  # IP_RECVERR
v4.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 1); v4.sendto(b"probe", ("10.99.0.1", 9))
out["v4_hop1_unrouted"] = errors(v4)
s = udp(); s.bind((LINK_LOCAL, 0, 0, socket.if_nametoindex("v"))); s.sendto(b"from fe80", (SERVER, 7))
out["scope"] = errors(s)
for key, target, hops in (("closed", SERVER, None), ("hop1", SERVER, 1), ("unrouted", UNROUTED, None)):
    s = udp(recverr=False, hops=hops); s.settimeout(1); s.connect((target, 9)); s.send(b"x")
    out["connected_" + key] = outcome(s.recv, 10)
s = udp(); s.setsockopt(socket.IPPROTO_IPV6, IPV6_DONTFRAG, 1); s.connect((SERVER, 9))
first = outcome(s.send, bytes(1452))
found = errors(s)
out["too_big"] = {"first": first, "errors": found, "mtu": s.getsockopt(socket.IPPROTO_IPV6, IPV6_MTU),
                  "again": outcome(s.send, bytes(1452)), "fits": outcome(s.send, bytes(1352))}
p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); p.bind(("v", 0))  # (ETH_P_ALL: what leaves too)
s = udp(); s.sendto(bytes(4000), (SERVER, 9)); found = errors(s); p.setblocking(False); frames = []
while True:
    try:
        frame, where = p.recvfrom(65535)
    except BlockingIOError:
        break
    if where[2] == socket.PACKET_OUTGOING and frame[12:14] == b"\x86\xdd" and frame[20] == 44:  # (a Fragment header)
        frames.append([len(frame) - 14, struct.unpack("!H", frame[56:58])[0] >> 3, frame[57] & 1, frame[58:62].hex()])
out["fragments"] = {"sizes": [f[:3] for f in frames], "one_id": len({f[3] for f in frames}) == 1, "errors": found}
s = udp(recverr=False); s.setsockopt(socket.IPPROTO_IPV6, IPV6_DONTFRAG, 1); s.settimeout(1)
s.connect(("2001:db8:2::21", 9))  # (another destination: its path MTU is not known yet)
s.send(bytes(1452)); out["too_big_connected"] = outcome(s.recv, 10)
s = udp(hops=1); s.bind(("2001:db8:1::11", 0))  # (a destination r1 has sent no error to yet)
for port in range(100):
    outcome(s.sendto, b"x", (SERVER, 40000 + port))  # (some fail: each error is pending in turn)
out["burst"] = len(errors(s))
s = udp(hops=1); s.sendto(b"x", (SERVER, 33434)); time.sleep(0.3)
out["pending_after_recverr"] = [outcome(s.sendto, b"x", (SERVER, 33435)), outcome(s.sendto, b"x", (SERVER, 33436))]
for key, target, ttl in (("closed", "10.2.0.20", 64), ("hop1", "10.2.0.20", 1), ("unrouted", "10.99.0.1", 64)):
    v4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); v4.settimeout(1)
    v4.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl); v4.connect((target, 9)); v4.send(b"x")
    out["v4_connected_" + key] = outcome(v4.recv, 10)
v4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); v4.settimeout(1); v4.connect(("10.2.0.21", 9))
v4.send(bytes(1472))
out["v4_too_big_connected"] = outcome(v4.recv, 10)
out["v4_mtu"] = v4.getsockopt(socket.IPPROTO_IP, 14)  # IP_MTU
out["v4_again"] = outcome(v4.send, bytes(1472))
v4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); v4.setsockopt(socket.IPPROTO_IP, 11, 1)  # IP_RECVERR
v4.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 1); v4.sendto(b"x", ("10.2.0.20", 33434)); time.sleep(0.3)
out["v4_pending_after_recverr"] = [outcome(v4.sendto, b"x", ("10.2.0.20", 33435)),
                                   outcome(v4.sendto, b"x", ("10.2.0.20", 33436))]
t = socket.create_connection((SERVER, 9000)); t.sendall(bytes(100_000)); time.sleep(0.3)
out["tcp_mss"] = t.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG); t.close()
print(json.dumps(out))
'''


def available() -> str | None:
    """None when the machine can run the experiment, else why not."""
    if os.geteuid() != 0:
        return "needs root"
    if shutil.which("ip") is None:
        return "needs ip (Debian package iproute2)"
    if not os.path.exists("/proc/sys/net/ipv6"):
        return "the kernel has no IPv6"
    return namespaces_unavailable("netsim-v6probe")


def _run(*command: str) -> str:
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command[:6])}... failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def run() -> dict[str, Any]:
    """Run the experiment; returns the client's findings (see the module docstring) and
    ``addresses``: r1's and the client's link-local addresses."""
    tag = str(os.getpid())
    ns = {name: f"nsv6-{name}{tag}" for name in ("cli", "r1", "srv")}

    def ex(name: str, *command: str) -> list[str]:
        return in_namespace(ns[name], *command)

    try:
        add_namespaces(ns.values())
        for name in ns:
            for scope in ("all", "default"):  # no duplicate address detection: addresses usable at once
                _run(*ex(name, "sysctl", "-q", "-w", f"net.ipv6.conf.{scope}.accept_dad=0"))
        _run(*ex("r1", "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"))
        _run("ip", "link", "add", "v", "netns", ns["cli"], "type", "veth", "peer", "name", "ra", "netns", ns["r1"])
        _run("ip", "link", "add", "rb", "netns", ns["r1"], "type", "veth", "peer", "name", "w", "netns", ns["srv"])
        _run("ip", "-n", ns["r1"], "link", "set", "rb", "mtu", "1400")
        for name, iface, address in (("cli", "v", "2001:db8:1::10/64"), ("cli", "v", "2001:db8:1::11/64"),
                                     ("r1", "ra", "2001:db8:1::1/64"), ("r1", "rb", "2001:db8:2::1/64"),
                                     ("srv", "w", "2001:db8:2::20/64")):
            _run("ip", "-n", ns[name], "-6", "addr", "add", address, "dev", iface, "nodad")
            _run("ip", "-n", ns[name], "link", "set", iface, "up")
        for name, iface, address in (("cli", "v", "10.1.0.10/24"), ("r1", "ra", "10.1.0.1/24"),
                                     ("r1", "rb", "10.2.0.1/24"), ("srv", "w", "10.2.0.20/24")):
            _run("ip", "-n", ns[name], "addr", "add", address, "dev", iface)
        _run(*ex("r1", "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"))
        _run("ip", "-n", ns["cli"], "route", "add", "default", "via", "10.1.0.1")
        _run("ip", "-n", ns["srv"], "route", "add", "default", "via", "10.2.0.1")
        _run("ip", "-n", ns["cli"], "-6", "route", "add", "default", "via", "2001:db8:1::1")
        _run("ip", "-n", ns["srv"], "-6", "route", "add", "default", "via", "2001:db8:2::1")
        addresses = {}
        for name, iface in (("cli", "v"), ("r1", "ra")):
            for _ in range(50):  # the link-local address comes with the link, after a moment
                shown = _run("ip", "-n", ns[name], "-6", "-o", "addr", "show", "dev", iface, "scope", "link")
                if shown.strip() and "tentative" not in shown:
                    break
                time.sleep(0.1)
            addresses[name] = shown.split()[3].split("/")[0]
        sink = subprocess.Popen(ex("srv", sys.executable, "-c", SINK), stdout=subprocess.PIPE, text=True)
        assert sink.stdout is not None
        assert sink.stdout.readline().strip() == "ready"
        found: dict[str, Any] = json.loads(_run(*ex("cli", sys.executable, "-c", CLIENT, addresses["cli"])))
        sink.wait(timeout=10)
        found["addresses"] = addresses
        return found
    finally:
        for name in ns.values():
            subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


if __name__ == "__main__":
    print(json.dumps(run(), indent=1))
