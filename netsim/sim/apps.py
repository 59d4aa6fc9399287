"""Applications that ship with netsim, as SimPy process functions: ping, traceroute, UDP echo.

Each takes a host (and settings), runs on the simulated clock through the socket API only, and
returns a result value; they are what the scenario runner starts, and examples of the API.
"""

from __future__ import annotations

import errno
import math
import socket
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import attrs

from netsim.units import MS, parse_duration
from netsim.wire.icmpv4 import ICMPv4Echo, ICMPv4Message
from netsim.wire.icmpv6 import ICMPv6Echo, ICMPv6Message

if TYPE_CHECKING:
    from netsim.sim.host import Host

Process = Generator[Any, Any, Any]


@attrs.frozen
class PingResult:
    """What ``ping`` prints at the end: sent, received, loss, and min/avg/max/mdev RTT (ns)."""

    destination: str
    sent: int
    received: int
    rtts: tuple[int, ...]
    errors: tuple[str, ...]
    lines: tuple[str, ...]

    @property
    def loss(self) -> float:
        return 0.0 if not self.sent else 1 - self.received / self.sent

    @property
    def rtt_min(self) -> int | None:
        return min(self.rtts) if self.rtts else None

    @property
    def rtt_avg(self) -> float | None:
        return sum(self.rtts) / len(self.rtts) if self.rtts else None

    @property
    def rtt_max(self) -> int | None:
        return max(self.rtts) if self.rtts else None

    @property
    def rtt_mdev(self) -> float | None:
        """iputils' mdev: sqrt(mean(rtt^2) - mean(rtt)^2)."""
        if not self.rtts:
            return None
        mean = sum(self.rtts) / len(self.rtts)
        return math.sqrt(max(0.0, sum(r * r for r in self.rtts) / len(self.rtts) - mean * mean))

    def summary(self) -> str:
        head = (f"{self.sent} packets transmitted, {self.received} received, "
                f"{round(self.loss * 100)}% packet loss")
        if not self.rtts:
            return head
        return head + (f"\nrtt min/avg/max/mdev = {self.rtt_min / MS:.3f}/{(self.rtt_avg or 0) / MS:.3f}/"  # type: ignore[operator]
                       f"{self.rtt_max / MS:.3f}/{(self.rtt_mdev or 0) / MS:.3f} ms")  # type: ignore[operator]


_ICMP_TEXT = {
    (3, 0): "Destination Net Unreachable", (3, 1): "Destination Host Unreachable",
    (3, 2): "Destination Protocol Unreachable", (3, 3): "Destination Port Unreachable",
    (3, 4): "Frag needed", (11, 0): "Time to live exceeded", (11, 1): "Frag reassembly time exceeded",
}
#: what iputils ping prints for an ICMPv6 error (its ``pr_icmph`` for AF_INET6)
_ICMPV6_TEXT = {
    (1, 0): "Destination unreachable: No route", (1, 1): "Destination unreachable: Administratively prohibited",
    (1, 2): "Destination unreachable: Beyond scope", (1, 3): "Destination unreachable: Address unreachable",
    (1, 4): "Destination unreachable: Port unreachable", (3, 0): "Time exceeded: Hop limit",
    (3, 1): "Time exceeded: Defragmentation failure",
}


def _is_ipv6(destination: str) -> bool:
    """Whether ``destination`` (an address, perhaps with a ``%zone``) is an IPv6 one."""
    return ":" in destination


def _icmp_text(report: Any, ipv6: bool, fallback: str) -> str:
    if report is None:
        return fallback
    if ipv6:
        if report.type == 2:
            return f"Packet too big: mtu={report.next_hop_mtu}"
        return _ICMPV6_TEXT.get((report.type, report.code), fallback)
    return _ICMP_TEXT.get((report.type, report.code), fallback)


def ping(host: Host, destination: str, *, count: int = 4, interval: str | int = "1s", size: int = 56,
         timeout: str | int = "1s") -> Process:
    """``ping -c COUNT -i INTERVAL -s SIZE -W TIMEOUT DESTINATION`` over a ping socket (an
    ICMPv6 one for an IPv6 destination, as ``ping -6``)."""
    env = host.network.env
    ipv6 = _is_ipv6(destination)
    sock = host.socket("icmp6" if ipv6 else "icmp")
    sock.settimeout(timeout)
    sock.enable_error_queue()  # as iputils ping does (IP_RECVERR), to print "From ... Unreachable"
    pause = parse_duration(interval)
    payload = bytes(range(256)) * (size // 256 + 1)
    rtts: list[int] = []
    errors: list[str] = []
    lines: list[str] = []
    sent = 0
    try:
        for sequence in range(1, count + 1):
            started = env.now
            # (over IPv6 the kernel computes the checksum, which needs the addresses: 0 here)
            request = (ICMPv6Echo(128, 0, sequence, payload[:size], checksum=0) if ipv6
                       else ICMPv4Echo(8, 0, sequence, payload[:size])).to_bytes()
            try:
                yield sock.sendto(request, (destination, 0))
            except OSError as exc:
                errors.append(errno.errorcode.get(exc.errno or 0, str(exc)))
                lines.append(f"ping: sendto: {exc.strerror}")
            else:
                sent += 1
                while True:
                    try:
                        data, address = yield sock.recvfrom(65535)
                        sender = address[0]
                    except TimeoutError:
                        lines.append(f"no answer yet for icmp_seq={sequence}")
                        break
                    except OSError as exc:
                        errors.append(errno.errorcode.get(exc.errno or 0, str(exc)))
                        report = sock.error_queue.popleft() if sock.error_queue else None
                        offender = report.offender if report is not None else destination
                        text = _icmp_text(report, ipv6, exc.strerror or "")
                        lines.append(f"From {offender} icmp_seq={sequence} {text}")
                        break
                    reply = ICMPv6Message.parse(data) if ipv6 else ICMPv4Message.parse(data)
                    if isinstance(reply, ICMPv4Echo | ICMPv6Echo) and reply.sequence == sequence:
                        rtt = int(env.now - started)
                        rtts.append(rtt)
                        lines.append(f"{len(data)} bytes from {sender}: icmp_seq={sequence} ttl={sock.last_ttl} "
                                     f"time={rtt / MS:.3f} ms")
                        break
            if sequence < count:
                wait = started + pause - env.now
                if wait > 0:
                    yield env.timeout(wait)
    finally:
        sock.close()  # (also when the app is stopped: an Interrupt at a yield)
    return PingResult(destination, sent, len(rtts), tuple(rtts), tuple(errors), tuple(lines))


@attrs.frozen
class TracerouteHop:
    ttl: int
    responders: tuple[str | None, ...]  # one per probe; None for "*"
    rtts: tuple[int | None, ...]
    reached: bool


@attrs.frozen
class TracerouteResult:
    destination: str
    hops: tuple[TracerouteHop, ...]

    @property
    def reached(self) -> bool:
        return bool(self.hops) and self.hops[-1].reached

    def lines(self) -> list[str]:
        out = []
        for hop in self.hops:
            cells = []
            for responder, rtt in zip(hop.responders, hop.rtts, strict=True):
                cells.append("*" if responder is None else f"{responder}  {rtt / MS:.3f} ms")  # type: ignore[operator]
            out.append(f"{hop.ttl:2d}  " + "  ".join(cells))
        return out


def traceroute(host: Host, destination: str, *, max_hops: int = 30, probes: int = 3, port: int = 33434,
               timeout: str | int = "5s") -> Process:
    """Classic UDP traceroute (Van Jacobson): probes to rising ports with rising TTL; routers
    answer time exceeded, the destination port unreachable (RFC 1393's ancestor, RFC 792).
    Over IPv6 (``traceroute -6``) the hop limit rises, and the answers are ICMPv6 Time Exceeded
    and Destination Unreachable (RFC 4443 §3.3, §3.1)."""
    env = host.network.env
    ipv6 = _is_ipv6(destination)
    unreachable = 1 if ipv6 else 3  # the type that says the probe reached the destination
    hops: list[TracerouteHop] = []
    probe_port = port
    for ttl in range(1, max_hops + 1):
        responders: list[str | None] = []
        rtts: list[int | None] = []
        reached = False
        for _ in range(probes):
            sock = host.socket("udp6" if ipv6 else "udp")
            if ipv6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
            else:
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
            sock.enable_error_queue()
            sock.settimeout(timeout)
            started = env.now
            try:
                yield sock.sendto(bytes(32), (destination, probe_port))
                probe_port += 1
                report = yield sock.recv_error()
            except TimeoutError:
                responders.append(None)
                rtts.append(None)
            else:
                responders.append(report.offender)
                rtts.append(int(env.now - started))
                if report.type == unreachable:
                    reached = True
            finally:
                sock.close()  # (also when the app is stopped)
        hops.append(TracerouteHop(ttl, tuple(responders), tuple(rtts), reached))
        if reached:
            break
    return TracerouteResult(destination, tuple(hops))


def udp_echo_server(host: Host, port: int, *, address: str = "0.0.0.0") -> Process:
    """Echo every datagram back to its sender, until the socket is closed."""
    sock = host.socket("udp")
    sock.bind((address, port))
    while True:
        try:
            data, sender = yield sock.recvfrom(65535)
        except OSError:
            return None
        yield sock.sendto(data, sender)
