"""Capture filters in the common subset of pcap-filter(7) syntax (what tcpdump accepts).

``compile_filter("tcp and src 10.0.0.5 and src port 54321 and dst port 9000")`` gives a
:class:`PacketFilter` whose ``matches(frame)`` runs a tree of small closures over a decoded
frame.  Semantics follow libpcap, checked against tcpdump itself in the tests:

- ``and`` and ``or`` have the same precedence and group left to right; ``not`` binds tighter.
- A bare value after ``and``/``or`` takes the qualifiers of the previous primitive
  (``host 10.0.0.1 or 10.0.0.2``, ``port 80 or 443``).
- ``host``/``net`` without a protocol match IPv4, IPv6 and ARP addresses; ``port`` matches TCP
  and UDP over IPv4 and IPv6, never a fragment other than the first; ``tcp``/``udp`` over IPv6
  look at the fixed header's next-header field, as libpcap does (no extension-header walk).
- ``vlan [ID]`` matches 802.1Q-tagged frames, and every primitive after it in the expression
  looks inside the tag; before it, primitives only match untagged frames (libpcap moves its
  offsets by four bytes at ``vlan``, and only there).

Supported primitives: ``[src|dst] host H``, ``[src|dst] net N[/len] | N mask M``,
``[src|dst] [tcp|udp] port P``, ``[src|dst] portrange A-B``, ``ether host|src|dst MAC``,
``ether broadcast|multicast``, ``ether proto N``, ``broadcast``, ``multicast``, ``ip|ip6
multicast``, ``vlan [ID]``, ``arp``, ``ip``, ``ip6``, ``icmp``, ``icmp6``, ``tcp``, ``udp``,
``ip proto N``, ``ip6 proto N``, ``len OP N``, ``greater N``, ``less N``, and
``tcp[tcpflags] & FLAGS [!= 0 | == FLAGS]`` with ``tcp-fin|syn|rst|push|ack|urg``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from ipaddress import IPv4Address, IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any

import attrs

from netsim.errors import NetsimError, WireError
from netsim.wire.arp import ARPPacket
from netsim.wire.ethernet import EthernetFrame
from netsim.wire.ipv4 import IPv4Packet
from netsim.wire.ipv6 import IPv6Packet
from netsim.wire.mac import MACAddress
from netsim.wire.tcp import TCPSegment
from netsim.wire.udp import UDPDatagram


class FilterError(NetsimError, ValueError):
    """A filter expression that does not parse; says where and what was expected."""


@attrs.frozen
class _View:
    """The fields a filter reads, decoded once per frame."""

    length: int
    dst_mac: bytes
    src_mac: bytes
    vid: int | None
    ethertype: int
    ip_version: int  # 4, 6 or 0
    src: Any
    dst: Any
    proto: int | None  # IPv4 protocol / IPv6 fixed-header next header
    fragment_proto: int | None  # IPv6: the next header after a Fragment header that comes first
    sport: int | None
    dport: int | None
    tcp_flags: int | None
    arp_sender: IPv4Address | None
    arp_target: IPv4Address | None


def _view(frame: EthernetFrame, length: int) -> _View:
    payload = frame.payload
    src: Any = None
    dst: Any = None
    proto = sport = dport = flags = fragment_proto = None
    sender: IPv4Address | None = None
    target: IPv4Address | None = None
    version = 0
    if isinstance(payload, IPv4Packet):
        version, src, dst, proto = 4, payload.src, payload.dst, payload.protocol
        inner: Any = payload.payload
        if payload.fragment_offset:
            inner = None
    elif isinstance(payload, IPv6Packet):
        version, src, dst = 6, payload.src, payload.dst
        proto = payload.extensions[0].TYPE if payload.extensions else payload.next_header
        if proto == 44:
            fragment_proto = payload.extensions[1].TYPE if len(payload.extensions) > 1 else payload.next_header
        inner = payload.payload if not payload.extensions else None
    elif isinstance(payload, ARPPacket):
        sender, target, inner = payload.sender_ip, payload.target_ip, None
    else:
        inner = None
    if isinstance(inner, TCPSegment | UDPDatagram):
        sport, dport = inner.src_port, inner.dst_port
        if isinstance(inner, TCPSegment) and version == 4:  # libpcap's tcp[] indexes IPv4 only
            flags = inner.flags & 0xFF
    return _View(length, frame.dst.packed, frame.src.packed, frame.vlan.vid if frame.vlan else None, frame.ethertype,
                 version, src, dst, proto, fragment_proto, sport, dport, flags, sender, target)


Predicate = Callable[[_View], bool]

_TOKEN = re.compile(r"\s*(?:(&&|\|\||!=|==|<=|>=|[()!<>=&|\[\]-])|([A-Za-z0-9_.:/\\-]+))")
_PROTO_NAMES = {"icmp": 1, "tcp": 6, "udp": 17, "icmp6": 58, "igmp": 2}
_TCP_FLAGS = {"tcp-fin": 0x01, "tcp-syn": 0x02, "tcp-rst": 0x04, "tcp-push": 0x08, "tcp-ack": 0x10,
              "tcp-urg": 0x20, "tcp-ece": 0x40, "tcp-cwr": 0x80}


@attrs.frozen
class PacketFilter:
    """A compiled capture filter. ``matches`` never raises."""

    expression: str
    _predicate: Predicate | None = attrs.field(alias="predicate", eq=False, repr=False)

    def matches(self, frame: EthernetFrame, length: int | None = None) -> bool:
        if self._predicate is None:
            return True
        try:
            return bool(self._predicate(_view(frame, len(frame.to_bytes()) if length is None else length)))
        except (WireError, ValueError, TypeError):
            return False

    def matches_bytes(self, data: bytes) -> bool:
        if self._predicate is None:
            return True
        try:
            frame = EthernetFrame.parse(data)
        except WireError:
            try:
                frame = EthernetFrame.parse(data, decode=False)
            except WireError:
                return False
        return bool(self._predicate(_view(frame, len(data))))


def compile_filter(expression: str) -> PacketFilter:
    """Compile a pcap-filter expression; raises :class:`FilterError` naming the position."""
    if not isinstance(expression, str):
        raise FilterError(f"a filter is a string, got {expression!r}")
    if not expression.strip():
        return PacketFilter(expression, None)
    return PacketFilter(expression, _Parser(expression).parse())


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[int, str]] = []
        position = 0
        while position < len(text):
            if text[position:].strip() == "":
                break
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                skipped = len(text) - len(text[position:].lstrip())
                raise FilterError(f"syntax error at {skipped}: unexpected character {text[skipped]!r}")
            token = match.group(1) or match.group(2)
            self.tokens.append((match.start(1) if match.group(1) else match.start(2), token))
            position = match.end()
        self.index = 0
        self.inside_vlan = False
        self.last: tuple[str | None, str | None, str | None] | None = None  # (proto, dir, type) of the last primitive

    # --- token helpers ---
    def peek(self) -> str | None:
        return self.tokens[self.index][1] if self.index < len(self.tokens) else None

    def take(self) -> str:
        if self.index >= len(self.tokens):
            raise FilterError(f"syntax error at {len(self.text)}: the expression ends too early")
        token = self.tokens[self.index][1]
        self.index += 1
        return token

    def error(self, expected: str) -> FilterError:
        if self.index < len(self.tokens):
            position, token = self.tokens[self.index]
            return FilterError(f"syntax error at {position}: expected {expected}, got {token!r}")
        return FilterError(f"syntax error at {len(self.text)}: expected {expected}, got the end of the expression")

    # --- grammar ---
    def parse(self) -> Predicate:
        predicate = self.expression()
        if self.peek() is not None:
            raise self.error("'and', 'or' or the end")
        return predicate

    def expression(self) -> Predicate:
        left = self.unary()
        while self.peek() in ("and", "&&", "or", "||"):
            operator = self.take()
            right = self.unary(after_operator=True)
            left = _and(left, right) if operator in ("and", "&&") else _or(left, right)
        return left

    def unary(self, after_operator: bool = False) -> Predicate:
        token = self.peek()
        if token in ("not", "!"):
            self.take()
            inner = self.unary(after_operator)
            return lambda v: not inner(v)
        if token == "(":
            self.take()
            inner = self.expression()
            if self.peek() != ")":
                raise self.error("')'")
            self.take()
            return inner
        if token is None:
            raise FilterError(f"syntax error at {len(self.text)}: the expression ends too early")
        if after_operator and self.last is not None and self._is_value(token):
            proto, direction, kind = self.last
            return self.qualified(proto, direction, kind)
        return self.primitive()

    @staticmethod
    def _is_value(token: str) -> bool:
        return bool(re.fullmatch(r"[0-9a-fA-F.:/]+", token)) and token not in ("ip", "ip6") and (
            any(c.isdigit() for c in token))

    def primitive(self) -> Predicate:
        token = self.peek()
        assert token is not None
        if token == "vlan":
            self.take()
            vid = self.number_if_present()
            self.inside_vlan = True
            self.last = None
            if vid is None:
                return lambda v: v.vid is not None
            return _field_equals("vid", vid)
        if token in ("len", "greater", "less"):
            return self.length()
        if token == "tcp" and self.index + 1 < len(self.tokens) and self.tokens[self.index + 1][1] == "[":
            return self.tcp_flags()
        proto = None
        if token in ("ether", "ip", "ip6", "arp", "tcp", "udp", "icmp", "icmp6"):
            proto = self.take()
            nxt = self.peek()
            if proto in ("ip", "ip6") and nxt == "proto":
                self.take()
                number = self.protocol_number()
                if proto == "ip":
                    return self.wrap(_ip_proto(4, number))
                return self.wrap(_ip_proto(6, number))
            if proto == "ether" and nxt == "proto":
                self.take()
                number = self.integer()
                return self.wrap(_field_equals("ethertype", number))
            if nxt in ("broadcast", "multicast"):
                return self.cast(proto, self.take())
            if nxt not in ("src", "dst", "host", "net", "port", "portrange"):
                self.last = None
                return self.protocol(proto)
        if token in ("broadcast", "multicast"):
            return self.cast(None, self.take())
        direction = None
        if self.peek() in ("src", "dst"):
            direction = self.take()
            following = self.tokens[self.index + 1][1] if self.index + 1 < len(self.tokens) else None
            if self.peek() in ("or", "and") and following in ("src", "dst"):
                joiner = self.take()
                self.take()
                direction = "src or dst" if joiner == "or" else "src and dst"
        kind = None
        if self.peek() in ("host", "net", "port", "portrange"):
            kind = self.take()
        if kind is None and direction is None and proto is None:
            raise self.error("a primitive (host, net, port, tcp, udp, icmp, arp, ip, ip6, vlan ...)")
        return self.qualified(proto, direction, kind)

    def qualified(self, proto: str | None, direction: str | None, kind: str | None) -> Predicate:
        self.last = (proto, direction, kind)
        value = self.take_value(kind or "host")
        kind = kind or "host"
        if proto == "ether":
            if kind != "host":
                raise FilterError(f"'ether {kind}' is not valid: use 'ether host', 'ether src' or 'ether dst'")
            try:
                mac = MACAddress.parse(value).packed
            except ValueError:
                raise self.error_at(value, "a MAC address like 02:42:ac:11:00:02") from None
            return self.wrap(_direction(direction, lambda v: v.src_mac == mac, lambda v: v.dst_mac == mac), ether=True)
        if kind in ("port", "portrange"):
            low, high = self.ports(value, kind)
            protocols = {None: (6, 17), "tcp": (6,), "udp": (17,)}.get(proto)
            if protocols is None:
                raise FilterError(f"'{proto} {kind}' is not valid: ports belong to tcp or udp")
            src_ok = lambda v: v.proto in protocols and v.sport is not None and low <= v.sport <= high
            dst_ok = lambda v: v.proto in protocols and v.dport is not None and low <= v.dport <= high
            return self.wrap(_direction(direction, src_ok, dst_ok))
        if kind == "host":
            try:
                address = ip_address(value)
            except ValueError:
                raise self.error_at(value, "an IPv4 or IPv6 address") from None
            src_ok, dst_ok = _address_tests(proto, lambda a: a == address)
            return self.wrap(_direction(direction, src_ok, dst_ok))
        network = self.network(value)
        src_ok, dst_ok = _address_tests(proto, lambda a: a.version == network.version and a in network)
        return self.wrap(_direction(direction, src_ok, dst_ok))

    def wrap(self, predicate: Predicate, ether: bool = False) -> Predicate:
        """Before any ``vlan`` in the expression only untagged frames match an IP-level primitive."""
        if ether:
            return predicate
        if self.inside_vlan:
            return lambda v: v.vid is not None and predicate(v)
        return lambda v: v.vid is None and predicate(v)

    def protocol(self, proto: str) -> Predicate:
        if proto == "ether":
            raise self.error("'host', 'src', 'dst', 'proto', 'broadcast' or 'multicast' after 'ether'")
        tests: dict[str, Predicate] = {
            "ip": lambda v: v.ethertype == 0x0800,
            "ip6": lambda v: v.ethertype == 0x86DD,
            "arp": lambda v: v.ethertype == 0x0806,
            # libpcap also accepts the protocol right after an IPv6 Fragment header
            "tcp": lambda v: v.ip_version in (4, 6) and 6 in (v.proto, v.fragment_proto),
            "udp": lambda v: v.ip_version in (4, 6) and 17 in (v.proto, v.fragment_proto),
            "icmp": lambda v: v.ip_version == 4 and v.proto == 1,
            "icmp6": lambda v: v.ip_version == 6 and 58 in (v.proto, v.fragment_proto),
        }
        return self.wrap(tests[proto])

    def cast(self, proto: str | None, which: str) -> Predicate:
        if proto in (None, "ether"):
            if which == "broadcast":
                return lambda v: v.dst_mac == b"\xff" * 6
            return lambda v: bool(v.dst_mac[0] & 1)
        if proto == "ip" and which == "multicast":
            return self.wrap(lambda v: v.ip_version == 4 and v.dst.is_multicast)
        if proto == "ip6" and which == "multicast":
            return self.wrap(lambda v: v.ip_version == 6 and v.dst.is_multicast)
        if proto == "ip" and which == "broadcast":
            return self.wrap(lambda v: v.ip_version == 4 and v.dst == IPv4Address("255.255.255.255"))
        raise FilterError(f"'{proto} {which}' is not supported")

    def length(self) -> Predicate:
        keyword = self.take()
        if keyword == "greater":
            n = self.integer()
            return lambda v: v.length >= n
        if keyword == "less":
            n = self.integer()
            return lambda v: v.length <= n
        operator = self.take()
        n = self.integer()
        tests = {"<=": lambda v: v.length <= n, ">=": lambda v: v.length >= n, "<": lambda v: v.length < n,
                 ">": lambda v: v.length > n, "=": lambda v: v.length == n, "==": lambda v: v.length == n,
                 "!=": lambda v: v.length != n}
        if operator not in tests:
            raise FilterError(f"syntax error: expected a comparison (<, <=, >, >=, =, !=) after 'len', "
                              f"got {operator!r}")
        return tests[operator]

    def tcp_flags(self) -> Predicate:
        self.take()  # tcp
        for expected in ("[", "tcpflags", "]", "&"):
            if self.peek() != expected:
                raise self.error(repr(expected))
            self.take()
        mask = self.flag_set()
        operator = self.take()
        if operator not in ("!=", "==", "="):
            raise FilterError(f"syntax error: expected '!=' or '==' after the flag mask, got {operator!r}")
        value = self.flag_set() if self.peek() not in ("0",) else (self.take() and 0)
        wanted = value if isinstance(value, int) else 0
        if operator == "!=":
            test: Predicate = lambda v: v.tcp_flags is not None and (v.tcp_flags & mask) != wanted
        else:
            test = lambda v: v.tcp_flags is not None and (v.tcp_flags & mask) == wanted
        return self.wrap(lambda v: v.ip_version == 4 and v.proto == 6 and test(v))

    def flag_set(self) -> int:
        if self.peek() == "(":
            self.take()
            value = 0
            while True:
                value |= self.flag()
                if self.peek() == "|":
                    self.take()
                    continue
                if self.peek() != ")":
                    raise self.error("'|' or ')'")
                self.take()
                return value
        return self.flag()

    def flag(self) -> int:
        token = self.take()
        if token in _TCP_FLAGS:
            return _TCP_FLAGS[token]
        if token.isdigit():
            return int(token)
        raise FilterError(f"syntax error: expected a TCP flag (tcp-syn, tcp-ack ...), got {token!r}")

    # --- values ---
    def take_value(self, kind: str) -> str:
        token = self.peek()
        if token is None or token in ("and", "or", "not", "(", ")", "&&", "||", "!"):
            raise self.error({"port": "a port number", "portrange": "a port range like 1000-2000",
                              "net": "a network like 10.0.0.0/8", "host": "an address"}.get(kind, "a value"))
        self.take()
        if kind == "portrange" and self.peek() == "-":
            self.take()
            token += "-" + self.take()
        if kind == "net" and self.peek() == "mask":
            self.take()
            token += "/" + self.take()
        return token

    def error_at(self, value: str, expected: str) -> FilterError:
        position = next((p for p, t in self.tokens if t == value), 0)
        return FilterError(f"syntax error at {position}: expected {expected}, got {value!r}")

    def ports(self, value: str, kind: str) -> tuple[int, int]:
        parts = value.split("-") if kind == "portrange" else [value]
        try:
            numbers = [_PORT_NAMES.get(p) or int(p, 0) for p in parts]
        except ValueError:
            raise self.error_at(value, "a port number" if kind == "port" else "a port range like 1000-2000") from None
        if len(numbers) not in (1, 2) or not all(0 <= n <= 65535 for n in numbers) or (
                kind == "portrange" and len(numbers) != 2):
            raise self.error_at(value, "a port number in 0..65535" if kind == "port" else "a port range like 1000-2000")
        return (numbers[0], numbers[-1]) if numbers[0] <= numbers[-1] else (numbers[-1], numbers[0])

    def network(self, value: str) -> IPv4Network | IPv6Network:
        try:
            if "/" in value and "." in value.split("/")[1]:
                address, mask = value.split("/")
                return IPv4Network(f"{address}/{mask}", strict=False)
            if "/" not in value and ":" not in value:
                dotted = value.split(".")  # tcpdump's "net 10" / "net 10.1" means /8, /16
                if len(dotted) < 4 and all(part.isdigit() for part in dotted):
                    return IPv4Network(".".join(dotted + ["0"] * (4 - len(dotted))) + f"/{8 * len(dotted)}")
            return ip_network(value, strict=True)
        except ValueError:
            raise self.error_at(value, "a network like 10.0.0.0/8 (with no host bits set)") from None

    def integer(self) -> int:
        token = self.take()
        try:
            return int(token, 0)
        except ValueError:
            raise FilterError(f"syntax error: expected a number, got {token!r}") from None

    def number_if_present(self) -> int | None:
        token = self.peek()
        if token is not None and token.isdigit():
            self.take()
            return int(token)
        return None

    def protocol_number(self) -> int:
        token = self.take().lstrip("\\")
        if token in _PROTO_NAMES:
            return _PROTO_NAMES[token]
        try:
            return int(token, 0)
        except ValueError:
            raise FilterError(f"syntax error: expected a protocol number or name, got {token!r}") from None


_PORT_NAMES = {"http": 80, "https": 443, "ssh": 22, "domain": 53, "telnet": 23, "ftp": 21, "smtp": 25}


def _address_tests(proto: str | None, test: Callable[[Any], bool]) -> tuple[Predicate, Predicate]:
    if proto in (None, "ip", "ip6"):
        version = {None: None, "ip": 4, "ip6": 6}[proto]

        def src_ok(v: _View) -> bool:
            if v.ip_version and (version is None or v.ip_version == version):
                return test(v.src)
            return version in (None, 4) and proto is None and v.arp_sender is not None and test(v.arp_sender)

        def dst_ok(v: _View) -> bool:
            if v.ip_version and (version is None or v.ip_version == version):
                return test(v.dst)
            return version in (None, 4) and proto is None and v.arp_target is not None and test(v.arp_target)

        return src_ok, dst_ok
    if proto == "arp":
        return (lambda v: v.arp_sender is not None and test(v.arp_sender),
                lambda v: v.arp_target is not None and test(v.arp_target))
    if proto in ("tcp", "udp", "icmp", "icmp6"):
        raise FilterError(f"'{proto} host' is not valid: use 'host' or 'ip host' (and '{proto}')")
    raise FilterError(f"unsupported qualifier {proto!r}")


def _field_equals(name: str, value: int) -> Predicate:
    return lambda v: bool(getattr(v, name) == value)


def _ip_proto(version: int, number: int) -> Predicate:
    if version == 4:
        return lambda v: v.ip_version == 4 and v.proto == number
    return lambda v: v.ip_version == 6 and number in (v.proto, v.fragment_proto)


def _and(left: Predicate, right: Predicate) -> Predicate:
    return lambda v: left(v) and right(v)


def _or(left: Predicate, right: Predicate) -> Predicate:
    return lambda v: left(v) or right(v)


def _direction(direction: str | None, src_ok: Predicate, dst_ok: Predicate) -> Predicate:
    if direction == "src":
        return src_ok
    if direction == "dst":
        return dst_ok
    if direction == "src and dst":
        return lambda v: src_ok(v) and dst_ok(v)
    return lambda v: src_ok(v) or dst_ok(v)

