"""The NAT experiment through the real Linux kernel: two clients behind an nftables masquerade in
network namespaces, and what the server and ``conntrack -L`` see.

Namespaces (names suffixed with the pid, so overlapping test runs do not collide)::

    c1 192.168.1.10 --+
                      br0 192.168.1.1 [nat] 198.51.100.77 ---- srv 198.51.100.10
    c2 192.168.1.20 --+        oifname "o" masquerade

The experiment (:data:`STEPS`), the same one ``test_linux_nat.py`` runs through netsim:

1. UDP c1:5353 -> srv:53, echoed; the same from c2:5353 (a clash: the reply tuple is taken);
   then c1:5353 -> srv:54 (a new remote: the port can be kept again).  An echo request with
   identifier 4242 from each client (a clash again).  c1:6000 -> srv:53 twice, 2.5 s apart
   (the entry becomes a stream: ASSURED, 120 s).  c1:7000 -> srv:7, a closed port: the
   server's port unreachable comes back through the NAT (RFC 5508), and the entry stays
   UNREPLIED.
2. TCP c1:55001 -> srv:9000, 4 bytes echoed, held open; the same from c2:55001 (a clash),
   then closed by c2 (FIN both ways, so the NAT's entry is in TIME_WAIT).  A port forward
   (``dnat to 192.168.1.10:80`` for TCP 8080): srv:40000 -> nat:8080 reaches c1:80, which sees
   the server's own address; echoed and closed.
3. ``conntrack -L`` on the NAT, and the defaults of its ``nf_conntrack_*timeout*`` sysctls.
4. Unsolicited packets from the server (:data:`PROBE`) to the NAT's outside address: UDP from
   port 99 to 5353 (a port c1's mappings use) and to 7777 (unused), TCP to 55001 and 7777:
   answered, refused (ICMP port unreachable / RST) or silence; and TCP from c1 to the outside
   address (a hairpin, which masquerade alone does not translate).
5. ``conntrack -F`` (a NAT reboot), then c1's held connection sends again: is it echoed, and
   what entry does the NAT pick up mid-stream (``nf_conntrack_tcp_loose``)?

Needs root, ``ip``, ``nft`` and ``conntrack`` (Debian packages nftables and conntrack) and a
kernel with nf_nat; :func:`available` says whether this machine can.
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

SERVER = r'''
import json, selectors, socket, sys, time
sel = selectors.DefaultSelector()
for port in (53, 54):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", port))
    sel.register(u, selectors.EVENT_READ, ("udp", port))
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("0.0.0.0", 9000)); t.listen(8)
sel.register(t, selectors.EVENT_READ, ("listen", 9000))
print("ready", flush=True)
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    for key, _ in sel.select(timeout=0.5):
        kind, port = key.data
        if kind == "udp":
            data, peer = key.fileobj.recvfrom(100)
            print(json.dumps(["udp", port, peer[0], peer[1]]), flush=True)
            key.fileobj.sendto(data, peer)
        elif kind == "listen":
            conn, peer = key.fileobj.accept()
            print(json.dumps(["tcp", port, peer[0], peer[1]]), flush=True)
            sel.register(conn, selectors.EVENT_READ, ("conn", port))
        else:
            data = key.fileobj.recv(100)
            if data:
                key.fileobj.sendall(data)
            else:
                sel.unregister(key.fileobj); key.fileobj.close()
'''

UDP_CLIENT = r'''
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 5353)); s.settimeout(5)
for port in sys.argv[1:]:
    s.sendto(b"ping", ("198.51.100.10", int(port))); assert s.recvfrom(10)[0] == b"ping"
'''

TCP_CLIENT = r'''
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("0.0.0.0", 55001))
s.connect(("198.51.100.10", 9000)); s.sendall(b"ping"); assert s.recv(10) == b"ping"
print("echoed", flush=True)
if sys.argv[1] == "hold":
    sys.stdin.readline()  # the test has flushed the NAT's table (a reboot): talk again
    s.settimeout(5); s.sendall(b"again")
    try:
        print("echoed again" if s.recv(10) == b"again" else "wrong echo", flush=True)
    except (OSError, socket.timeout) as exc:
        print(type(exc).__name__, flush=True)
    sys.stdin.read()  # until the test closes our stdin
else:
    s.shutdown(socket.SHUT_WR); assert s.recv(10) == b""
s.close()
'''

FORWARDED = r'''
import json, socket
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("0.0.0.0", 80)); t.listen(1)
print("ready", flush=True)
t.settimeout(10); c, peer = t.accept()
while data := c.recv(100):
    c.sendall(data)
c.close()
print(json.dumps(list(peer)), flush=True)
'''

FORWARD_CLIENT = r'''
import socket
s = socket.socket(); s.bind(("0.0.0.0", 40000)); s.settimeout(5)
s.connect(("198.51.100.77", 8080)); s.sendall(b"ping"); assert s.recv(10) == b"ping"
s.shutdown(socket.SHUT_WR); assert s.recv(10) == b""
s.close()
'''

PING = r'''
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP); s.bind(("0.0.0.0", 4242)); s.settimeout(5)
s.sendto(bytes([8, 0, 0, 0, 0, 0, 0, 1]) + b"x" * 8, ("198.51.100.10", 0))
assert s.recvfrom(100)[0][0] == 0  # an echo reply
'''

STREAM = r'''
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 6000)); s.settimeout(5)
for _ in range(2):
    s.sendto(b"ping", ("198.51.100.10", 53)); assert s.recvfrom(10)[0] == b"ping"
    time.sleep(2.5)  # past nf_conntrack's 2 s: the second exchange makes the entry a stream
'''

CLOSED_PORT = r'''
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 7000)); u.settimeout(2)
u.connect(("198.51.100.10", 7)); u.send(b"anyone?")
try:
    u.recv(10); print("answered")
except ConnectionRefusedError:
    print("refused")  # the server's port unreachable, translated back (RFC 5508)
except socket.timeout:
    print("silence")
'''

HAIRPIN = r'''
import socket
t = socket.socket(); t.settimeout(1)
try:
    t.connect(("198.51.100.77", 7777)); print("connected")
except ConnectionRefusedError:
    print("refused")
except socket.timeout:
    print("silence")
'''

PROBE = r'''
import json, socket, sys
out = {}
for port in (5353, 7777):  # an outside port a mapping uses (from another remote port), and a free one
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 99)); u.settimeout(1)
    u.connect(("198.51.100.77", port)); u.send(b"hello")
    try:
        u.recv(10); out[f"udp {port}"] = "answered"
    except ConnectionRefusedError:
        out[f"udp {port}"] = "refused"
    except socket.timeout:
        out[f"udp {port}"] = "silence"
    u.close()
for port in (55001, 7777):
    t = socket.socket(); t.settimeout(1)
    try:
        t.connect(("198.51.100.77", port)); out[f"tcp {port}"] = "connected"
    except ConnectionRefusedError:
        out[f"tcp {port}"] = "refused"
    except socket.timeout:
        out[f"tcp {port}"] = "silence"
    t.close()
print(json.dumps(out))
'''

#: the sysctls compared with netsim's linux-masquerade timeouts
TIMEOUT_SYSCTLS = ("udp_timeout", "udp_timeout_stream", "icmp_timeout", "tcp_timeout_syn_sent", "tcp_timeout_syn_recv",
                   "tcp_timeout_established", "tcp_timeout_fin_wait", "tcp_timeout_close_wait",
                   "tcp_timeout_last_ack", "tcp_timeout_time_wait", "tcp_timeout_close")


def available() -> str | None:
    """None when the machine can run the experiment, else why not."""
    if os.geteuid() != 0:
        return "needs root"
    for tool in ("ip", "nft", "conntrack"):
        if shutil.which(tool) is None:
            return f"needs {tool} (Debian packages iproute2, nftables, conntrack)"
    if not os.path.exists("/proc/sys/net/netfilter"):
        return "the kernel has no netfilter"
    return namespaces_unavailable("netsim-natprobe")


def _ours(lines: list[str]) -> list[str]:
    """The TCP, UDP and ICMP lines of ``conntrack -L`` (not the bridge's IGMP and the like)."""
    return [line for line in lines if line.split()[0] in ("tcp", "udp", "icmp")]


def _run(*command: str, stdin: str | None = None) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True, input=stdin).stdout


def run() -> dict[str, Any]:
    """Run the experiment; returns ``peers`` (what the server saw, in order: [protocol, port,
    address, source port]), ``conntrack`` (the NAT's TCP and UDP lines), ``timeouts`` (sysctl
    name -> seconds), ``probes`` ("udp 5353" ... -> "answered", "refused" or "silence"),
    ``forwarded_peer`` (the address c1's forwarded server saw), ``closed_port`` (what c1's
    datagram to a closed port got),
    ``after_flush`` (what c1's held connection got after the flush) and ``picked_up`` (the
    table then)."""
    tag = str(os.getpid())
    ns = {name: f"nsn-{name}{tag}" for name in ("c1", "c2", "nat", "srv")}

    def ex(name: str, *command: str) -> list[str]:
        return in_namespace(ns[name], *command)

    try:
        add_namespaces(ns.values())
        _run("ip", "-n", ns["nat"], "link", "add", "br0", "type", "bridge")
        _run("ip", "-n", ns["nat"], "addr", "add", "192.168.1.1/24", "dev", "br0")
        _run("ip", "-n", ns["nat"], "link", "set", "br0", "up")
        for client, address in (("c1", "192.168.1.10/24"), ("c2", "192.168.1.20/24")):
            _run("ip", "link", "add", "v", "netns", ns[client], "type", "veth", "peer", "name", f"p{client}",
                 "netns", ns["nat"])
            _run("ip", "-n", ns["nat"], "link", "set", f"p{client}", "master", "br0", "up")
            _run("ip", "-n", ns[client], "addr", "add", address, "dev", "v")
            _run("ip", "-n", ns[client], "link", "set", "v", "up")
            _run("ip", "-n", ns[client], "route", "add", "default", "via", "192.168.1.1")
        _run("ip", "link", "add", "o", "netns", ns["nat"], "type", "veth", "peer", "name", "s", "netns", ns["srv"])
        _run("ip", "-n", ns["nat"], "addr", "add", "198.51.100.77/24", "dev", "o")
        _run("ip", "-n", ns["nat"], "link", "set", "o", "up")
        _run("ip", "-n", ns["srv"], "addr", "add", "198.51.100.10/24", "dev", "s")
        _run("ip", "-n", ns["srv"], "link", "set", "s", "up")
        _run(*ex("nat", "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"))
        _run(*ex("nat", "nft", "-f", "-"),
             stdin='table ip nat {\n chain post {\n  type nat hook postrouting priority srcnat;\n'
                   '  oifname "o" masquerade\n }\n chain pre {\n  type nat hook prerouting priority dstnat;\n'
                   '  iifname "o" tcp dport 8080 dnat to 192.168.1.10:80\n }\n}\n')
        timeouts = {name: int(_run(*ex("nat", "cat", f"/proc/sys/net/netfilter/nf_conntrack_{name}")))
                    for name in TIMEOUT_SYSCTLS}
        server = subprocess.Popen(ex("srv", sys.executable, "-c", SERVER), stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None
        assert server.stdout.readline().strip() == "ready"
        _run(*ex("c1", sys.executable, "-c", UDP_CLIENT, "53"))
        _run(*ex("c2", sys.executable, "-c", UDP_CLIENT, "53"))
        _run(*ex("c1", sys.executable, "-c", UDP_CLIENT, "54"))
        for client in ("c1", "c2"):
            _run(*ex(client, "sysctl", "-q", "-w", "net.ipv4.ping_group_range=0 2147483647"))
            _run(*ex(client, sys.executable, "-c", PING))
        _run(*ex("c1", sys.executable, "-c", STREAM))
        closed_port = _run(*ex("c1", sys.executable, "-c", CLOSED_PORT)).strip()
        holder = subprocess.Popen(ex("c1", sys.executable, "-c", TCP_CLIENT, "hold"), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "echoed"
        _run(*ex("c2", sys.executable, "-c", TCP_CLIENT, "close"))
        inside = subprocess.Popen(ex("c1", sys.executable, "-c", FORWARDED), stdout=subprocess.PIPE, text=True)
        assert inside.stdout is not None
        assert inside.stdout.readline().strip() == "ready"
        _run(*ex("srv", sys.executable, "-c", FORWARD_CLIENT))
        forwarded_peer = json.loads(inside.communicate(timeout=10)[0])
        time.sleep(0.2)  # the last ACKs of both closes through the NAT
        lines = _run(*ex("nat", "conntrack", "-L")).splitlines()
        probes = json.loads(_run(*ex("srv", sys.executable, "-c", PROBE)))
        probes["hairpin tcp 7777"] = _run(*ex("c1", sys.executable, "-c", HAIRPIN)).strip()
        _run(*ex("nat", "conntrack", "-F"))  # a NAT reboot, then the held connection talks again
        holder.stdin.write("\n")
        holder.stdin.flush()
        after_flush = holder.stdout.readline().strip()
        time.sleep(0.2)
        picked_up = _run(*ex("nat", "conntrack", "-L")).splitlines()
        holder.stdin.close()
        holder.wait(timeout=10)
        server.terminate()
        out, _ = server.communicate(timeout=10)
        peers = [json.loads(line) for line in out.splitlines() if line.startswith("[")]
        return {"peers": peers, "conntrack": _ours(lines), "timeouts": timeouts, "probes": probes,
                "forwarded_peer": forwarded_peer, "closed_port": closed_port,
                "after_flush": after_flush, "picked_up": _ours(picked_up)}
    finally:
        for name in ns.values():
            subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)
