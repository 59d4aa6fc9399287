"""tcpdump filter expressions (the common subset of pcap-filter(7)), compiled to a predicate.

``compile_filter("tcp and src 10.0.0.5 and dst port 9000")`` parses once and returns a
:class:`PacketFilter` whose ``matches(frame)`` runs a tree of small closures over the decoded
:class:`~netsim.wire.EthernetFrame`: no bytes are re-read for the common primitives, and matching
never raises.  The aim is that a filter selects exactly the frames tcpdump would select from the
same capture (``tcpdump -r FILE 'EXPR'``, libpcap 1.10); ``tests/observe/test_filter_tcpdump.py``
holds it to that with tcpdump itself as the oracle.

Grammar (pcap-filter(7); ``[]`` optional, ``|`` alternatives)::

    expr      := term (('and' | '&&' | 'or' | '||') term)*      # and/or: equal precedence, left to right
    term      := ('not' | '!') term | '(' expr ')' | primitive | id
    primitive := [proto] [dir] [type] id                          # at least one qualifier
               | [proto] 'proto' protocol                          # proto: ether, ip, ip6 or none
               | proto                                             # ip ip6 arp rarp tcp udp icmp icmp6 sctp
               | ['ether' | 'ip' | 'ip6'] ('broadcast' | 'multicast')
               | 'vlan' [vid] | 'less' N | 'greater' N
               | arith relop arith                                 # len, tcp[tcpflags], icmp[icmptype] ...
    proto     := 'ether' | 'link' | 'ip' | 'ip6' | 'arp' | 'rarp' | 'tcp' | 'udp' | 'sctp'
    dir       := 'src' | 'dst' | 'src or dst' | 'src and dst' (and the same with src/dst swapped)
    type      := 'host' | 'net' | 'port' | 'portrange'            # none: host
    id        := address | address '/' len | address 'mask' address | number | A-B | MAC | 'not' id

A bare ``id`` (``host 10.0.0.1 or 10.0.0.2``, ``tcp dst port 80 or 443``) takes the qualifiers of
the primitive before it, as pcap-filter(7) says ("If an identifier is given without a keyword,
the most recent keyword is assumed"); after a parenthesised group it takes those in force before
the group, and after a protocol name, ``vlan`` or a comparison there are none (a syntax error).

libpcap behaviours kept on purpose, because users compare our captures with tcpdump's:

* ``host``/``net`` with an IPv4 address look at IPv4 source/destination and at the ARP (and
  RARP) sender/target addresses; with an IPv6 address at IPv6 only.  Neither follows headers.
* ``port`` means TCP, UDP or SCTP, IPv4 or IPv6.  In IPv4 only a datagram with fragment offset 0
  matches (the first fragment does, its ports are there).  In IPv6 the port is read right after
  the fixed header and only if the base header's Next Header is TCP/UDP/SCTP: a packet with any
  extension header never matches ``port``.
* ``tcp``, ``udp``, ``sctp``, ``icmp6`` (``ip6 proto N``) look at the base header's Next Header and,
  if that is a Fragment header (44), at the fragment header's Next Header; nothing further.
  ``tcp``/``udp``/``icmp`` (``ip proto N``) match IPv4 fragments of any offset.
* ``tcp[...]``, ``udp[...]``, ``icmp[...]`` read IPv4 only (pcap-filter(7): "tcp, udp and other
  upper-layer protocol types only apply to IPv4, not IPv6"); ``icmp6[...]`` reads IPv6.
* ``vlan`` shifts every later primitive by the 4-byte tag, *lexically*: pcap-filter(7) says "the
  first vlan keyword encountered in an expression changes the decoding offsets for the remainder
  of the expression".  So ``vlan 10 and tcp`` is TCP inside VLAN 10, a plain ``tcp`` never
  matches a tagged frame (its type field is 0x8100), and in ``vlan or tcp`` the ``tcp`` reads an
  untagged frame as if it were tagged.  ``vlan`` accepts the TPIDs 0x8100, 0x88a8 and 0x9100.
  MAC addresses and ``len`` do not move.
* A read past the end of the frame rejects the whole frame, as a BPF program does (a ``not``
  around it does not turn it into a match).
* ``len``, ``less`` and ``greater`` use the frame's length on the wire.
* libpcap validates no header, so :meth:`PacketFilter.matches_bytes` matches a frame netsim
  cannot decode on its raw bytes at libpcap's offsets (``ip`` still matches an IPv4 frame with a
  broken header; ``port`` reads where the ports would be).

Not supported (a :class:`FilterError` says so): host, network, port and protocol *names* that
need a resolver (``host gateway1``, ``port http``; netsim resolves nothing, so numbers only;
IP protocol names are a small built-in table and must be escaped as in tcpdump: ``ip proto \\tcp``),
``gateway``, ``protochain``, MPLS/PPPoE/Geneve, 802.11, and general packet arithmetic: a
comparison reads ``len`` or one of a few named header fields (``tcp[tcpflags]``, ``tcp[0:2]``,
``udp[2:2]``, ``icmp[icmptype]``, ``icmp6[icmp6type]`` ...), combined with ``&`` and ``|``.  Unlike
tcpdump, a filter that can never match ("expression rejects all packets") is not an error.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address
from typing import Final, cast

import attrs

from netsim.errors import NetsimError, WireError
from netsim.wire.arp import ARPPacket
from netsim.wire.ethernet import EthernetFrame
from netsim.wire.icmpv4 import ICMPV4_TYPES
from netsim.wire.icmpv6 import ICMPV6_TYPES
from netsim.wire.ipv4 import IPv4Packet
from netsim.wire.ipv6 import IPv6Packet
from netsim.wire.mac import MACAddress
from netsim.wire.tcp import TCPSegment
from netsim.wire.udp import UDPDatagram

__all__ = ["FilterError", "PacketFilter", "compile_filter"]


class FilterError(NetsimError, ValueError):
    """A filter expression that does not compile.

    ``position`` is the 0-based offset of the offending token in ``expression`` (its length at the
    end of the text), ``token`` that token's text; ``str(err)`` reads
    ``"syntax error at 13: expected a port number after 'port', got 'foo'"``.
    """

    def __init__(self, expression: str, position: int, token: str, message: str, *, kind: str = "syntax error") -> None:
        super().__init__(f"{kind} at {position}: {message}")
        self.expression = expression
        self.position = position
        self.token = token
        self.message = message


class _Reject(Exception):
    """A read past the end of the frame: a BPF program returns 0 on the spot, so does the filter."""


class _Runt:
    """A frame shorter than an Ethernet header, standing in for an :class:`EthernetFrame`.

    libpcap still runs the filter on it: ``len`` and the MAC addresses it has can be read, and
    any read of the type field or beyond rejects the frame.
    """

    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        self._data = data

    def _need(self, size: int) -> bytes:
        if len(self._data) < size:
            raise _Reject
        return self._data

    @property
    def dst(self) -> MACAddress:
        return MACAddress(self._need(6)[:6])

    @property
    def src(self) -> MACAddress:
        return MACAddress(self._need(12)[6:12])

    @property
    def vlan(self) -> None:
        raise _Reject

    @property
    def ethertype(self) -> int:
        raise _Reject

    @property
    def payload(self) -> bytes:
        raise _Reject

    @property
    def trailer(self) -> bytes:
        raise _Reject

    def to_bytes(self) -> bytes:
        return self._data


#: A compiled (sub)expression: the frame, and its bytes when the caller has them (for ``len`` and
#: for the rare shifted reads after ``vlan``), to a verdict.
Predicate = Callable[[EthernetFrame, "bytes | None"], bool]
#: A value in a comparison (``len``, ``tcp[tcpflags]``): None when its protocol guard fails.
_Value = Callable[[EthernetFrame, "bytes | None"], "int | None"]

_IPV4, _ARP, _RARP, _VLAN, _IPV6 = 0x0800, 0x0806, 0x8035, 0x8100, 0x86DD
#: libpcap's ``vlan`` accepts the 802.1Q TPID and the two used for the outer tag of QinQ.
_TPIDS: Final = frozenset({0x8100, 0x88A8, 0x9100})
_FRAGMENT_HEADER = 44
_PORT_PROTOCOLS: Final = {"": frozenset({6, 17, 132}), "tcp": frozenset({6}), "udp": frozenset({17}),
                          "sctp": frozenset({132})}
_ALL32 = 0xFFFFFFFF
_ALL128 = (1 << 128) - 1


@attrs.frozen
class PacketFilter:
    """A compiled filter: ``expression`` as written and a predicate over Ethernet frames.

    Equal filters are those with the same expression text.
    """

    expression: str
    _predicate: Predicate | None = attrs.field(eq=False, repr=False, alias="predicate")

    def matches(self, frame: EthernetFrame) -> bool:
        """True if tcpdump with this filter would keep ``frame``; never raises."""
        predicate = self._predicate
        if predicate is None:
            return True
        try:
            return predicate(frame, None)
        except _Reject:
            return False

    def matches_bytes(self, data: bytes) -> bool:
        """``matches`` on a frame as bytes (a capture tap's); never raises.

        A frame whose headers do not decode is matched on its raw bytes, as libpcap would; one
        shorter than an Ethernet header matches only the empty filter.
        """
        predicate = self._predicate
        if predicate is None:
            return True
        try:
            frame = EthernetFrame.parse(data)
        except WireError:
            # libpcap reads fixed offsets and never validates a header: keep what is there as
            # bytes and let the primitives read them the same way (``ip`` still matches a frame
            # whose IPv4 header is broken; ``port`` reads where the ports would be).
            try:
                frame = EthernetFrame.parse(data, decode=False)
            except WireError:
                frame = cast(EthernetFrame, _Runt(data))
        try:
            return predicate(frame, data)
        except _Reject:
            return False

    def __call__(self, frame: EthernetFrame) -> bool:
        return self.matches(frame)


def compile_filter(expression: str) -> PacketFilter:
    """Compile a tcpdump filter expression (pcap-filter(7)); an empty one matches every frame.

    Raises:
        FilterError: the expression does not parse, or names something this subset lacks or a
            value out of range; the message gives the position and the token.
    """
    if not isinstance(expression, str):
        raise TypeError(f"a filter expression is a str, got {type(expression).__name__}")
    tokens = _lex(expression)
    if len(tokens) == 1:  # only the end marker
        return PacketFilter(expression, None)
    return PacketFilter(expression, _Parser(expression, tokens).parse())


# --- the lexer -------------------------------------------------------------------------------


@attrs.frozen
class _Token:
    kind: str  # "word", "escaped" (a \name), "bracket" (the text between [ and ]), an operator, or "end"
    text: str
    position: int


_OPERATORS = ("&&", "||", "!=", "==", "<=", ">=", "<<", ">>", "!", "=", "<", ">", "(", ")", "&", "|", "/",
              "+", "*", "%", "^")
_WORD = re.compile(r"[A-Za-z0-9_.:\-]+")


def _lex(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    index, size = 0, len(text)
    while index < size:
        char = text[index]
        if char.isspace():
            index += 1
            continue
        if char == "[":
            close = text.find("]", index + 1)
            if close < 0:
                raise FilterError(text, index, "[", "'[' without a matching ']'")
            tokens.append(_Token("bracket", text[index + 1 : close].strip(), index))
            index = close + 1
            continue
        if char == "\\":
            match = _WORD.match(text, index + 1)
            if match is None:
                raise FilterError(text, index, "\\", "a backslash must be followed by a name, as in 'ip proto \\tcp'")
            tokens.append(_Token("escaped", match.group(), index))
            index = match.end()
            continue
        match = _WORD.match(text, index)
        if match is not None:
            tokens.append(_Token("word", match.group(), index))
            index = match.end()
            continue
        for operator in _OPERATORS:
            if text.startswith(operator, index):
                tokens.append(_Token(operator, operator, index))
                index += len(operator)
                break
        else:
            raise FilterError(text, index, char, f"unexpected character {char!r}")
    tokens.append(_Token("end", "", size))
    return tokens


# --- the parser --------------------------------------------------------------------------------

_PROTO_QUALIFIERS: Final = {"ether": "ether", "link": "ether", "ip": "ip", "ip6": "ip6", "arp": "arp",
                            "rarp": "rarp", "tcp": "tcp", "udp": "udp", "sctp": "sctp", "icmp": "icmp",
                            "icmp6": "icmp6"}
_DIRECTIONS: Final = frozenset({"src", "dst"})
_TYPES: Final = frozenset({"host", "net", "port", "portrange"})
_KEYWORDS: Final = frozenset(
    set(_PROTO_QUALIFIERS) | _DIRECTIONS | _TYPES
    | {"and", "or", "not", "proto", "broadcast", "multicast", "vlan", "len", "less", "greater", "mask"}
)
#: pcap-filter(7) keywords outside the subset: named so the error says "not supported", not "syntax".
_UNSUPPORTED: Final = frozenset({
    "gateway", "protochain", "mpls", "pppoed", "pppoes", "geneve", "inbound", "outbound", "ifindex", "fddi",
    "tr", "wlan", "igmp", "igrp", "pim", "vrrp", "carp", "ah", "esp", "atalk", "aarp", "decnet", "lat", "sca",
    "moprc", "mopdl", "iso", "esis", "isis", "clnp", "stp", "ipx", "netbeui", "llc", "type", "subtype", "dir",
    "ra", "ta", "addr1", "addr2", "addr3", "addr4", "vpi", "vci", "lane", "oam", "oamf4", "oamf4s", "oamf4e",
    "metac", "bcc", "sc", "ilmic", "connectmsg", "metaconnect", "radio", "slip", "ppp", "l1", "l2", "iih",
    "lsp", "snp", "csnp", "psnp", "on", "ifname", "rnr", "rulenum", "reason", "rset", "srnr", "subrulenum",
    "action", "hdpr", "ip6protochain",
})
#: Protocol names for ``ip proto``/``ip6 proto`` (getprotobyname(3) on Debian spells ICMPv6 this way).
_IP_PROTOCOLS: Final = {"icmp": 1, "igmp": 2, "ipencap": 4, "tcp": 6, "udp": 17, "ipv6": 41, "ipv6-route": 43,
                        "ipv6-frag": 44, "gre": 47, "esp": 50, "ah": 51, "ipv6-icmp": 58, "ipv6-nonxt": 59,
                        "ipv6-opts": 60, "ospf": 89, "pim": 103, "vrrp": 112, "sctp": 132}
_ETHER_PROTOCOLS: Final = {"ip": 0x0800, "ip6": 0x86DD, "arp": 0x0806, "rarp": 0x8035}
_TCP_FLAGS: Final = {"tcp-fin": 0x01, "tcp-syn": 0x02, "tcp-rst": 0x04, "tcp-push": 0x08, "tcp-ack": 0x10,
                     "tcp-urg": 0x20, "tcp-ece": 0x40, "tcp-cwr": 0x80}
_ICMP_TYPES: Final = {
    "icmp-echoreply": 0, "icmp-unreach": 3, "icmp-sourcequench": 4, "icmp-redirect": 5, "icmp-echo": 8,
    "icmp-routeradvert": 9, "icmp-routersolicit": 10, "icmp-timxceed": 11, "icmp-paramprob": 12,
    "icmp-tstamp": 13, "icmp-tstampreply": 14, "icmp-ireq": 15, "icmp-ireqreply": 16, "icmp-maskreq": 17,
    "icmp-maskreply": 18,
}
_ICMP6_TYPES: Final = {
    "icmp6-destinationunreach": 1, "icmp6-packettoobig": 2, "icmp6-timeexceeded": 3,
    "icmp6-parameterproblem": 4, "icmp6-echo": 128, "icmp6-echoreply": 129,
    "icmp6-multicastlistenerquery": 130, "icmp6-multicastlistenerreportv1": 131,
    "icmp6-multicastlistenerdone": 132, "icmp6-routersolicit": 133, "icmp6-routeradvert": 134,
    "icmp6-neighborsolicit": 135, "icmp6-neighboradvert": 136, "icmp6-redirect": 137,
    "icmp6-routerrenum": 138, "icmp6-nodeinformationquery": 139, "icmp6-nodeinformationresponse": 140,
    "icmp6-ineighbordiscoverysolicit": 141, "icmp6-ineighbordiscoveryadvert": 142,
    "icmp6-multicastlistenerreportv2": 143, "icmp6-homeagentdiscoveryrequest": 144,
    "icmp6-homeagentdiscoveryreply": 145, "icmp6-mobileprefixsolicit": 146, "icmp6-mobileprefixadvert": 147,
    "icmp6-certpathsolicit": 148, "icmp6-certpathadvert": 149, "icmp6-multicastrouteradvert": 151,
    "icmp6-multicastroutersolicit": 152, "icmp6-multicastrouterterm": 153,
}
_CONSTANTS: Final = {**_TCP_FLAGS, **_ICMP_TYPES, **_ICMP6_TYPES}
_FIELD_NAMES: Final = {"tcpflags": ("tcp", 13), "icmptype": ("icmp", 0), "icmpcode": ("icmp", 1),
                       "icmp6type": ("icmp6", 0), "icmp6code": ("icmp6", 1)}
_ARITHMETIC: Final = frozenset({"+", "*", "/", "%", "^", "<<", ">>"})
_RELOPS: Final = frozenset({"=", "==", "!=", "<", "<=", ">", ">="})
_BOOLEAN_OPERATORS: Final = {"and": "and", "&&": "and", "or": "or", "||": "or"}


@attrs.frozen
class _Qualifiers:
    """The qualifiers of a primitive (pcap-filter(7)): proto, dir and type; "" when not given."""

    proto: str
    dir: str  # "", "src", "dst", "src or dst", "src and dst"
    type: str  # "", "host", "net", "port", "portrange", "proto"
    words: str  # as written, for messages

    @property
    def direction(self) -> str:
        return {"": "either", "src or dst": "either", "dst or src": "either", "src and dst": "both",
                "dst and src": "both"}.get(self.dir, self.dir)


class _Parser:
    """Recursive descent over the tokens; builds closures as it goes.

    ``carried`` is what a bare id means (the qualifiers of the last primitive, or None), and
    ``depth`` how many ``vlan`` keywords came before the current token: each one shifts the
    primitives after it by one tag.
    """

    def __init__(self, expression: str, tokens: list[_Token]) -> None:
        self.expression = expression
        self.tokens = tokens
        self.index = 0
        self.depth = 0
        self.carried: _Qualifiers | None = None
        self.carrying = False  # parsing a bare id under carried-over qualifiers

    # -- token helpers ---------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def error(self, token: _Token, message: str, kind: str = "syntax error") -> FilterError:
        if token.kind == "end":
            message = f"the expression ends too early: {message}"
        return FilterError(self.expression, token.position, token.text or "end of expression", message, kind=kind)

    def invalid(self, token: _Token, message: str) -> FilterError:
        return self.error(token, message, kind="invalid filter")

    @staticmethod
    def shown(token: _Token) -> str:
        if token.kind == "end":
            return "the end of the expression"
        if token.kind == "bracket":
            return f"'[{token.text}]'"
        return f"'\\{token.text}'" if token.kind == "escaped" else f"'{token.text}'"

    def word(self, token: _Token) -> str | None:
        """The keyword a token is, lower-cased, or None (escaped names and ids are not keywords)."""
        if token.kind != "word":
            return None
        lowered = token.text.lower()
        return lowered if lowered in _KEYWORDS or lowered in _UNSUPPORTED else None

    def boolean(self, token: _Token) -> str | None:
        if token.kind in ("&&", "||"):
            return _BOOLEAN_OPERATORS[token.kind]
        word = self.word(token)
        return word if word in ("and", "or") else None

    # -- expressions -----------------------------------------------------------------------

    def parse(self) -> Predicate:
        predicate = self.expr()
        token = self.peek()
        if token.kind != "end":
            if token.kind == ")":
                raise self.error(token, "')' without a matching '('")
            raise self.error(token, f"expected 'and', 'or' or the end of the expression, got {self.shown(token)}")
        return predicate

    def expr(self) -> Predicate:
        """pcap-filter(7): "Alternation and concatenation have equal precedence and associate left
        to right", so ``a or b and c`` is ``(a or b) and c``, unlike C."""
        left = self.term()
        while (operator := self.boolean(self.peek())) is not None:
            self.advance()
            right = self.term()
            left = _and(left, right) if operator == "and" else _or(left, right)
        return left

    def term(self) -> Predicate:
        token = self.peek()
        if token.kind == "!" or self.word(token) == "not":
            self.advance()
            return _not(self.term())
        return self.primary()

    def primary(self) -> Predicate:
        token = self.peek()
        if token.kind == "(":
            self.advance()
            before = self.carried
            inner = self.expr()
            closing = self.advance()
            if closing.kind != ")":
                raise self.error(closing, f"expected ')' to close the '(' at {token.position}, "
                                          f"got {self.shown(closing)}")
            self.carried = before
            return inner
        word = self.word(token)
        if word is None:
            if token.kind in ("word", "escaped"):
                return self.bare_id(token)
            raise self.error(token, f"expected a primitive such as 'host 10.0.0.1' or 'tcp', got {self.shown(token)}")
        if word in _UNSUPPORTED:
            raise self.invalid(token, f"'{token.text}' is not supported by netsim's filters")
        if word in ("and", "or"):
            raise self.error(token, f"expected a primitive before '{token.text}'")
        if word == "mask":
            raise self.error(token, "'mask' follows a network address, as in 'net 10.0.0.0 mask 255.0.0.0'")
        if word == "vlan":
            return self.vlan()
        if word in ("less", "greater"):
            self.advance()
            number = self.number(self.advance(), f"a length after '{token.text}'", _ALL32)
            self.carried = None
            if word == "less":
                return _length(lambda size: size <= number)
            return _length(lambda size: size >= number)
        if word == "len" or (word in ("tcp", "udp", "icmp", "icmp6", "ip", "ip6", "ether", "arp")
                             and self.peek(1).kind == "bracket"):
            return self.relation()
        return self.qualified()

    def bare_id(self, token: _Token) -> Predicate:
        carried = self.carried
        if carried is None:
            if token.kind == "word" and (token.text[:1].isdigit() or ":" in token.text):
                raise self.error(
                    token,
                    f"expected a primitive such as 'host {token.text}', got {self.shown(token)} (a bare address or "
                    "number repeats the qualifiers of the primitive before it, and there is none here)",
                )
            raise self.error(token, f"expected a primitive such as 'host 10.0.0.1', 'port 80' or 'tcp', got "
                                    f"{self.shown(token)}, which is not a keyword")
        self.advance()
        self.carrying = True
        try:
            return self.identifier(carried, token)
        finally:
            self.carrying = False

    # -- primitives with qualifiers ----------------------------------------------------------

    def qualified(self) -> Predicate:
        first = self.peek()
        proto = ""
        words: list[str] = []
        word = self.word(first)
        if word in _PROTO_QUALIFIERS:
            proto = _PROTO_QUALIFIERS[word or ""]
            words.append(first.text)
            self.advance()
            word = self.word(self.peek())
            if word not in _DIRECTIONS and word not in _TYPES and word not in ("proto", "broadcast", "multicast"):
                self.carried = None
                return self.protocol_abbreviation(first, proto)
        if word in ("broadcast", "multicast"):
            self.carried = None
            return self.cast(self.advance(), proto)
        if word == "proto":
            keyword = self.advance()
            qualifiers = _Qualifiers(proto, "", "proto", " ".join([*words, keyword.text]))
            self.carried = qualifiers
            return self.identifier(qualifiers, self.advance())
        direction = ""
        if word in _DIRECTIONS:
            direction = word or ""
            words.append(self.advance().text)
            joiner, other = self.boolean(self.peek()), self.word(self.peek(1))
            if joiner is not None and other in _DIRECTIONS and other != direction:
                self.advance()
                words.append(f"{joiner} {self.advance().text}")
                direction = f"{direction} {joiner} {other}"
            word = self.word(self.peek())
        kind = ""
        if word in _TYPES:
            kind = word or ""
            words.append(self.advance().text)
        qualifiers = _Qualifiers(proto, direction, kind, " ".join(words))
        self.carried = qualifiers
        return self.identifier(qualifiers, self.advance())

    def after(self, qualifiers: _Qualifiers) -> str:
        """Where an id stands, for messages: right after its qualifiers, or carried over to it."""
        if self.carrying:
            return f"for '{qualifiers.words}' (carried over from the primitive before)"
        return f"after '{qualifiers.words}'"

    @staticmethod
    def expected(qualifiers: _Qualifiers) -> str:
        if qualifiers.type == "port":
            return "a port number"
        if qualifiers.type == "portrange":
            return "a port range such as 6000-6008"
        if qualifiers.type == "proto":
            return "a protocol number"
        if qualifiers.proto == "ether":
            return "a MAC address"
        if qualifiers.type == "net":
            return "a network such as 10.0.0.0/8"
        return "an IPv4 or IPv6 address"

    def protocol_abbreviation(self, token: _Token, proto: str) -> Predicate:
        """``ip``, ``arp``, ``tcp`` ... alone: pcap-filter(7)'s abbreviations for ``ether proto \\ip``,
        ``ip proto 6 or ip6 proto 6`` and so on."""
        if proto == "ether":
            raise self.error(token, f"'{token.text}' alone matches nothing: say 'ether host', 'ether src', "
                                    "'ether dst', 'ether proto', 'ether broadcast' or 'ether multicast'")
        if proto in ("ip", "ip6", "arp", "rarp"):
            return self.shifted(_ethertype({"ip": _IPV4, "ip6": _IPV6, "arp": _ARP, "rarp": _RARP}[proto]))
        if proto == "icmp":
            return self.shifted(_ip_proto(1))
        if proto == "icmp6":
            return self.shifted(_ip6_proto(58))
        number = {"tcp": 6, "udp": 17, "sctp": 132}[proto]
        return self.shifted(_or(_ip_proto(number), _ip6_proto(number)))

    def cast(self, token: _Token, proto: str) -> Predicate:
        """``broadcast``/``multicast``: the Ethernet destination's group bit (``ether`` is the
        default), or the IPv4/IPv6 destination; ``ip broadcast`` without a known netmask (a
        capture file has none) means 0.0.0.0 or 255.255.255.255, as libpcap does."""
        what = token.text.lower()
        if proto in ("", "ether"):
            return _ether_broadcast() if what == "broadcast" else _ether_multicast()
        if proto == "ip":
            return self.shifted(_ip_broadcast() if what == "broadcast" else _ip_multicast())
        if proto == "ip6" and what == "multicast":
            return self.shifted(_ip6_multicast())
        raise self.invalid(token, f"'{proto} {what}' is not a filter: '{what}' takes 'ether', 'ip'"
                                  f"{' or ip6' if what == 'multicast' else ''}")

    def vlan(self) -> Predicate:
        """``vlan [vid]``: pcap-filter(7) says the first vlan keyword "changes the decoding offsets
        for the remainder of the expression"; each one adds a tag's 4 bytes."""
        self.advance()
        vid: int | None = None
        token = self.peek()
        if token.kind == "word" and self.word(token) is None:
            self.advance()
            vid = self.number(token, "a VLAN id after 'vlan'", 4095, what="VLAN id")
        predicate = self.shifted(_vlan(vid))
        self.depth += 1
        self.carried = None
        return predicate

    def shifted(self, predicate: Predicate) -> Predicate:
        """Read the frame past ``depth`` VLAN tags, as libpcap's offsets do after ``vlan``."""
        return predicate if self.depth == 0 else _at_depth(predicate, self.depth)

    # -- ids ---------------------------------------------------------------------------------

    def identifier(self, qualifiers: _Qualifiers, token: _Token) -> Predicate:
        """A primitive's id in the context of its qualifiers (written or carried over)."""
        if token.kind == "!" or (token.kind == "word" and token.text.lower() == "not"):
            return _not(self.identifier(qualifiers, self.advance()))
        if token.kind == "(":
            # pcap-filter(7)'s "host a and (b or c)": a group of ids under the same qualifiers
            return self.id_group(qualifiers, token)
        kind = qualifiers.type
        if token.kind not in ("word", "escaped") or (token.kind == "word" and self.word(token) is not None):
            hint = ""
            if kind == "proto" and token.kind == "word":
                hint = f" ('{token.text}' is a keyword: escape it as '\\{token.text}', as tcpdump wants)"
            raise self.error(token, f"expected {self.expected(qualifiers)} {self.after(qualifiers)}, got "
                                    f"{self.shown(token)}{hint}")
        if kind == "proto":
            return self.protocol_id(qualifiers, token)
        if qualifiers.proto in ("tcp", "udp", "sctp", "icmp", "icmp6") and kind not in ("port", "portrange"):
            raise self.invalid(token, f"'{qualifiers.proto}' cannot qualify a host or network (only a port)")
        if kind in ("port", "portrange"):
            return self.port(qualifiers, token)
        if qualifiers.proto == "ether":
            return self.ether_id(qualifiers, token)
        return self.address(qualifiers, token)

    def id_group(self, qualifiers: _Qualifiers, opening: _Token) -> Predicate:
        left = self.identifier(qualifiers, self.advance())
        while (operator := self.boolean(self.peek())) is not None:
            self.advance()
            right = self.identifier(qualifiers, self.advance())
            left = _and(left, right) if operator == "and" else _or(left, right)
        closing = self.advance()
        if closing.kind != ")":
            raise self.error(closing, f"expected ')' to close the '(' at {opening.position}, got {self.shown(closing)}")
        return left

    def number(self, token: _Token, expected: str, maximum: int, *, what: str = "number") -> int:
        """An integer in C syntax (decimal, 0x hex, 0 octal), as libpcap's lexer reads them."""
        text = token.text.lower()
        value: int | None = None
        if token.kind == "word":
            if re.fullmatch(r"0x[0-9a-f]+", text):
                value = int(text, 16)
            elif re.fullmatch(r"0[0-7]*", text):
                value = int(text, 8)
            elif re.fullmatch(r"[1-9][0-9]*", text):
                value = int(text)
            elif re.fullmatch(r"0[0-9]+", text):
                raise self.invalid(token, f"number {token.text} starts with 0, so it is octal, but has a digit 8 or 9")
        if value is None:
            raise self.error(token, f"expected {expected}, got {self.shown(token)}")
        if value > maximum:
            raise self.invalid(token, f"{what} {token.text} is out of range 0..{maximum}")
        return value

    def protocol_id(self, qualifiers: _Qualifiers, token: _Token) -> Predicate:
        proto = qualifiers.proto
        if proto not in ("", "ip", "ip6", "ether"):
            raise self.invalid(token, f"'{proto} proto' is not a filter: 'proto' takes 'ether', 'ip', 'ip6' or nothing")
        if qualifiers.dir:
            raise self.invalid(token, f"'{qualifiers.dir}' cannot qualify 'proto'")
        name = token.text.lower()
        if proto == "ether":
            if token.kind == "escaped" or name in _ETHER_PROTOCOLS:
                if name not in _ETHER_PROTOCOLS:
                    raise self.invalid(token, f"unknown ether proto '{token.text}' (netsim knows "
                                              f"{', '.join(sorted(_ETHER_PROTOCOLS))} and numbers)")
                return self.shifted(_ethertype(_ETHER_PROTOCOLS[name]))
            value = self.number(token, "an EtherType number or name after 'ether proto'", 0xFFFF, what="EtherType")
            if value in (0x809B, 0x80F3, 0x8137, 0xE0):
                raise self.invalid(token, f"ether proto {token.text} (AppleTalk/IPX) needs LLC/SNAP matching, "
                                          "which netsim's filters do not do")
            return self.shifted(_ether_proto(value))
        if token.kind == "escaped" or not token.text[:1].isdigit():
            if name not in _IP_PROTOCOLS:
                raise self.invalid(token, f"unknown IP protocol '{token.text}' (netsim knows "
                                          f"{', '.join(sorted(_IP_PROTOCOLS))} and numbers)")
            value = _IP_PROTOCOLS[name]
        else:
            value = self.number(token, "a protocol number", 255, what="protocol")
        if proto == "ip":
            return self.shifted(_ip_proto(value))
        if proto == "ip6":
            return self.shifted(_ip6_proto(value))
        return self.shifted(_or(_ip_proto(value), _ip6_proto(value)))

    def port(self, qualifiers: _Qualifiers, token: _Token) -> Predicate:
        if qualifiers.proto not in _PORT_PROTOCOLS:
            raise self.invalid(token, f"'{qualifiers.proto}' cannot qualify '{qualifiers.type}' "
                                      "(only tcp, udp or sctp)")
        if token.kind == "word" and qualifiers.type == "portrange" and "-" in token.text:
            first, _, last = token.text.partition("-")
            low = self.port_number(_Token("word", first, token.position), qualifiers)
            high = self.port_number(_Token("word", last, token.position + len(first) + 1), qualifiers)
            low, high = min(low, high), max(low, high)
        else:
            low = high = self.port_number(token, qualifiers)
        return self.shifted(_port(qualifiers.direction, low, high, _PORT_PROTOCOLS[qualifiers.proto]))

    def port_number(self, token: _Token, qualifiers: _Qualifiers) -> int:
        if token.kind == "word" and token.text[:1].isalpha():
            raise self.error(token, f"expected {self.expected(qualifiers)} {self.after(qualifiers)}, got "
                                    f"{self.shown(token)} (port names are not looked up: give the number)")
        return self.number(token, f"{self.expected(qualifiers)} {self.after(qualifiers)}", 0xFFFF, what="port")

    def ether_id(self, qualifiers: _Qualifiers, token: _Token) -> Predicate:
        if qualifiers.type not in ("", "host"):
            raise self.invalid(token, f"'ether {qualifiers.type}' is not a filter (say 'ether host', 'ether src' "
                                      "or 'ether dst')")
        mac = _parse_mac(token.text) if token.kind == "word" else None
        if mac is None:
            raise self.error(token, f"expected a MAC address such as 02:42:ac:11:00:02 {self.after(qualifiers)}, "
                                    f"got {self.shown(token)}")
        return _ether_address(qualifiers.direction, mac)

    def address(self, qualifiers: _Qualifiers, token: _Token) -> Predicate:
        """``host``/``net``/``src``/``dst`` with an IPv4 or IPv6 address (``ipaddress`` parses them)."""
        text = token.text
        is_net = qualifiers.type == "net"
        if token.kind == "word" and _parse_mac(text) is not None and not _looks_like_ip(text):
            raise self.invalid(token, f"a MAC address needs 'ether': say 'ether host {text}'")
        length: int | None = None
        mask_token: _Token | None = None
        if self.peek().kind == "/":
            self.advance()
            length_token = self.advance()
            length = self.number(length_token, "a prefix length after '/'", 128, what="prefix length")
            if not is_net:
                raise self.invalid(length_token, f"'{text}/{length_token.text}' is a network: say 'net "
                                                 f"{text}/{length_token.text}'")
        elif self.word(self.peek()) == "mask":
            self.advance()
            mask_token = self.advance()
            if not is_net:
                raise self.invalid(mask_token, "'mask' is for networks: say 'net ADDRESS mask MASK'")
        network: ipaddress.IPv4Network | ipaddress.IPv6Network
        if ":" in text:
            if mask_token is not None:
                raise self.invalid(mask_token, "'mask' is for IPv4 networks; write an IPv6 network as ADDRESS/LENGTH")
            try:
                value = IPv6Address(text)
            except ValueError:
                raise self.error(token, f"expected {self.expected(qualifiers)} {self.after(qualifiers)}, got "
                                        f"{self.shown(token)}") from None
            network = self.network(token, value, 128 if length is None else length, 128)
        else:
            value4 = self.ipv4(token, qualifiers, partial=is_net)
            if isinstance(value4, tuple):  # net 10, net 172.16, net 10.1/16
                value4, implied = value4
                if length is None and mask_token is None:
                    length = implied
            if mask_token is not None:
                netmask = self.ipv4(mask_token, qualifiers, partial=False)
                assert isinstance(netmask, IPv4Address)
                if int(value4) & ~int(netmask) & _ALL32:
                    raise self.invalid(token, f"non-network bits set in '{text} mask {mask_token.text}'")
                return self.ipv4_predicate(qualifiers, token, int(value4), int(netmask))
            else:
                network = self.network(token, value4, 32 if length is None else length, 32)
        if isinstance(network, ipaddress.IPv4Network):
            return self.ipv4_predicate(qualifiers, token, int(network.network_address), int(network.netmask))
        if qualifiers.proto not in ("", "ip6"):
            raise self.invalid(token, f"'{qualifiers.proto}' cannot qualify an IPv6 address (only ip6)")
        return self.shifted(_ipv6_address(qualifiers.direction, int(network.network_address), int(network.netmask)))

    def ipv4(self, token: _Token, qualifiers: _Qualifiers, *, partial: bool) -> IPv4Address | tuple[IPv4Address, int]:
        """A dotted quad; with ``partial`` (``net 10``, ``net 172.16``) also 1 to 3 parts, which
        pcap-filter(7) gives the netmask of their length."""
        text = token.text
        parts = text.split(".")
        if token.kind == "word" and all(part.isdigit() for part in parts) and 1 <= len(parts) <= 4:
            if any(len(part) > 1 and part[0] == "0" for part in parts):
                raise self.invalid(token, f"'{text}' has a part with a leading zero, which libpcap reads as octal: "
                                          "write it without")
            if any(int(part) > 255 for part in parts):
                raise self.error(token, f"expected {self.expected(qualifiers)} {self.after(qualifiers)}, got "
                                        f"{self.shown(token)} (a part is above 255)")
            if len(parts) == 4:
                return IPv4Address(text)
            if partial:
                padded = parts + ["0"] * (4 - len(parts))
                return IPv4Address(".".join(padded)), 8 * len(parts)
            raise self.invalid(token, f"'{text}' is not a whole IPv4 address (a partial one is a network: "
                                      f"say 'net {text}')")
        raise self.error(token, f"expected {self.expected(qualifiers)} {self.after(qualifiers)}, got "
                                f"{self.shown(token)}" + (" (host names are not looked up: give the address)"
                                                          if text[:1].isalpha() else ""))

    def network(self, token: _Token, address: IPv4Address | IPv6Address, prefix: int, bits: int
                ) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        if prefix > bits:
            raise self.invalid(token, f"prefix length {prefix} is longer than an IPv{4 if bits == 32 else 6} address")
        try:
            return ipaddress.ip_network(f"{address}/{prefix}")
        except ValueError:
            raise self.invalid(token, f"non-network bits set in '{address}/{prefix}'") from None

    def ipv4_predicate(self, qualifiers: _Qualifiers, token: _Token, value: int, mask: int) -> Predicate:
        proto = qualifiers.proto
        if proto not in ("", "ip", "arp", "rarp"):
            raise self.invalid(token, f"'{proto}' cannot qualify an IPv4 address (only ip, arp or rarp)")
        families = ("ip", "arp", "rarp") if not proto else (proto,)
        return self.shifted(_ipv4_address(qualifiers.direction, value, mask, families))

    # -- comparisons -------------------------------------------------------------------------

    def relation(self) -> Predicate:
        """``arith relop arith`` (pcap-filter(7)), for ``len`` and a few named header fields."""
        left = self.arith()
        operator = self.advance()
        if operator.kind not in _RELOPS:
            raise self.error(operator, f"expected a comparison (=, ==, !=, <, <=, >, >=), got {self.shown(operator)}")
        right = self.arith()
        self.carried = None
        return _compare(left, operator.kind, right)

    def arith(self) -> _Value:
        value = self.arith_and()
        while self.peek().kind == "|":
            self.advance()
            value = _combine(value, self.arith_and(), lambda a, b: a | b)
        return value

    def arith_and(self) -> _Value:
        value = self.operand()
        while self.peek().kind == "&":
            self.advance()
            value = _combine(value, self.operand(), lambda a, b: a & b)
        token = self.peek()
        if token.kind in _ARITHMETIC or (token.kind == "word" and token.text.startswith("-")):
            operator = token.kind if token.kind in _ARITHMETIC else "-"
            raise self.invalid(token, f"arithmetic with '{operator}' is not supported (only & and |)")
        return value

    def operand(self) -> _Value:
        token = self.advance()
        if token.kind == "(":
            value = self.arith()
            closing = self.advance()
            if closing.kind != ")":
                raise self.error(closing, f"expected ')' to close the '(' at {token.position}, "
                                          f"got {self.shown(closing)}")
            return value
        if token.kind in _ARITHMETIC:
            raise self.invalid(token, f"arithmetic with '{token.kind}' is not supported (only & and |)")
        word = self.word(token)
        if word == "len":
            return _wire_length
        if word in ("tcp", "udp", "icmp", "icmp6", "ip", "ip6", "ether", "arp") and self.peek().kind == "bracket":
            return self.access(token, word or "", self.advance())
        if token.kind == "word" and word is None:
            constant = _CONSTANTS.get(token.text.lower())
            if constant is not None:
                return _constant(constant)
            number = self.number(token, "a number, a named constant such as tcp-syn, 'len' or a field such as "
                                        "tcp[tcpflags]", _ALL32)
            return _constant(number)
        raise self.error(token, f"expected a number, a named constant, 'len' or a field such as tcp[tcpflags], "
                                f"got {self.shown(token)}")

    def access(self, token: _Token, proto: str, bracket: _Token) -> _Value:
        offset_text, _, size_text = bracket.text.partition(":")
        offset_text, size_text = offset_text.strip(), size_text.strip() or "1"
        named = _FIELD_NAMES.get(offset_text.lower())
        if named is not None:
            owner, offset = named
            if owner != proto:
                raise self.invalid(bracket, f"'{offset_text}' is a field of {owner}, not of {proto}")
        else:
            offset = self.number(_Token("word", offset_text, bracket.position + 1), "a byte offset", 0xFFFF)
        size = self.number(_Token("word", size_text, bracket.position + 1), "a size of 1, 2 or 4", 4)
        field = _FIELDS.get((proto, offset, size))
        if field is None:
            known = ", ".join(f"{p}[{o}:{s}]" for p, o, s in _FIELDS)
            raise self.invalid(bracket, f"{proto}[{bracket.text}] is not a field netsim's filters read (they read "
                                        f"{known}; tcpflags = 13, icmptype = 0, icmpcode = 1)")
        return self.shifted_value(_field(proto, offset, size, field))

    def shifted_value(self, value: _Value) -> _Value:
        if self.depth == 0:
            return value
        depth = self.depth

        def shifted(frame: EthernetFrame, raw: bytes | None) -> int | None:
            return value(_view(frame, raw, depth), None)

        return shifted


def _looks_like_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _parse_mac(text: str) -> bytes | None:
    """The MAC spellings pcap-filter(7) lists: six groups of 1-2 hex digits split by ':', '-' or
    '.', three groups of 4 by '.', or 12 hex digits."""
    groups = re.split(r"[:.\-]", text)
    if len(groups) == 6 and all(re.fullmatch(r"[0-9A-Fa-f]{1,2}", g) for g in groups):
        return bytes(int(g, 16) for g in groups)
    if len(groups) == 3 and all(re.fullmatch(r"[0-9A-Fa-f]{4}", g) for g in groups) and "." in text:
        return bytes.fromhex("".join(groups))
    if re.fullmatch(r"[0-9A-Fa-f]{12}", text):
        return bytes.fromhex(text)
    return None


# --- predicates: combinators ------------------------------------------------------------------


def _and(left: Predicate, right: Predicate) -> Predicate:
    def both(frame: EthernetFrame, raw: bytes | None) -> bool:
        return left(frame, raw) and right(frame, raw)

    return both


def _or(left: Predicate, right: Predicate) -> Predicate:
    def either(frame: EthernetFrame, raw: bytes | None) -> bool:
        return left(frame, raw) or right(frame, raw)

    return either


def _not(inner: Predicate) -> Predicate:
    def negated(frame: EthernetFrame, raw: bytes | None) -> bool:
        return not inner(frame, raw)

    return negated


# --- frames as libpcap's offsets see them ---------------------------------------------------


def _view(frame: EthernetFrame, raw: bytes | None, depth: int) -> EthernetFrame:
    """The frame as the primitives after ``depth`` ``vlan`` keywords read it: the bytes from
    offset 12 + 4 * depth on, as if they followed the MAC addresses directly.

    For a tagged frame at depth 1 that is its inner frame.  For anything else (an untagged frame,
    a second tag) libpcap reads whatever bytes lie there, so the shifted bytes are decoded again,
    as raw bytes if they do not decode; a frame too short for the type field is rejected.
    """
    if depth == 1 and frame.vlan is not None and frame.ethertype not in _TPIDS:
        return EthernetFrame(frame.dst, frame.src, frame.ethertype, frame.payload, None, frame.trailer)
    data = raw if raw is not None else frame.to_bytes()
    cut = 12 + 4 * depth
    if len(data) < cut + 2:
        raise _Reject
    shifted = data[:12] + data[cut:]
    try:
        return EthernetFrame.parse(shifted)
    except WireError:
        pass
    try:
        return EthernetFrame.parse(shifted, decode=False)
    except WireError:
        raise _Reject from None


def _at_depth(predicate: Predicate, depth: int) -> Predicate:
    def shifted(frame: EthernetFrame, raw: bytes | None) -> bool:
        return predicate(_view(frame, raw, depth), None)

    return shifted


def _u8(data: bytes, offset: int) -> int:
    if len(data) <= offset:
        raise _Reject
    return data[offset]


def _u16(data: bytes, offset: int) -> int:
    if len(data) < offset + 2:
        raise _Reject
    return (data[offset] << 8) | data[offset + 1]


def _uint(data: bytes, offset: int, size: int) -> int:
    if len(data) < offset + size:
        raise _Reject
    return int.from_bytes(data[offset : offset + size], "big")


def _raw(frame: EthernetFrame) -> bytes:
    """The bytes after the Ethernet header when the payload is not decoded (plus any trailer,
    which libpcap reads as if it were more payload)."""
    payload = frame.payload
    return payload + frame.trailer if type(payload) is bytes else b""


# --- predicates: link layer ---------------------------------------------------------------------


def _ethertype(value: int) -> Predicate:
    """``ip``, ``ip6``, ``arp``, ``rarp``: the type field right after the addresses (so a tagged
    frame, whose type there is 0x8100, is none of them)."""

    def check(frame: EthernetFrame, raw: bytes | None) -> bool:
        return frame.vlan is None and frame.ethertype == value

    return check


def _ether_proto(value: int) -> Predicate:
    """``ether proto N``: above 1500 an EtherType (0x8100 included); at most 1500 the field is an
    802.3 length and N the LLC DSAP (for 0x06, 0xf0 and 0xfe libpcap wants DSAP and SSAP both)."""
    if value > 1500:
        return lambda frame, raw: (_VLAN if frame.vlan is not None else frame.ethertype) == value
    pair = value in (0x06, 0xF0, 0xFE)

    def llc(frame: EthernetFrame, raw: bytes | None) -> bool:
        if frame.vlan is not None or frame.ethertype > 1500:
            return False
        data = _raw(frame)
        if pair:
            return _u16(data, 0) == value * 0x101
        return _u8(data, 0) == value

    return llc


def _ether_address(direction: str, mac: bytes) -> Predicate:
    """``ether src/dst/host``: the MAC addresses, which no VLAN tag moves."""
    if direction == "src":
        return lambda frame, raw: frame.src.packed == mac
    if direction == "dst":
        return lambda frame, raw: frame.dst.packed == mac
    if direction == "both":
        return lambda frame, raw: frame.src.packed == mac and frame.dst.packed == mac
    return lambda frame, raw: mac in (frame.src.packed, frame.dst.packed)


def _ether_broadcast() -> Predicate:
    return lambda frame, raw: frame.dst.packed == b"\xff\xff\xff\xff\xff\xff"


def _ether_multicast() -> Predicate:
    """pcap-filter(7): "shorthand for `ether[0] & 1 != 0'" (broadcast included)."""
    return lambda frame, raw: bool(frame.dst.packed[0] & 1)


def _vlan(vid: int | None) -> Predicate:
    def check(frame: EthernetFrame, raw: bytes | None) -> bool:
        tag = frame.vlan
        if tag is not None:
            return vid is None or tag.vid == vid
        if frame.ethertype not in _TPIDS:
            return False
        return vid is None or _u16(_raw(frame), 0) & 0xFFF == vid

    return check


def _length(test: Callable[[int], bool]) -> Predicate:
    def check(frame: EthernetFrame, raw: bytes | None) -> bool:
        return test(_wire_size(frame, raw))

    return check


def _wire_size(frame: EthernetFrame, raw: bytes | None) -> int:
    return len(raw) if raw is not None else len(frame.to_bytes())


def _wire_length(frame: EthernetFrame, raw: bytes | None) -> int | None:
    return _wire_size(frame, raw)


# --- predicates: IPv4, IPv6, ARP -------------------------------------------------------------


def _addresses_match(direction: str, source: Callable[[], int], destination: Callable[[], int],
                     value: int, mask: int) -> bool:
    """Source then destination, each read only when needed, as libpcap's code reads them."""
    if direction == "src":
        return source() & mask == value
    if direction == "dst":
        return destination() & mask == value
    if direction == "both":
        return source() & mask == value and destination() & mask == value
    return source() & mask == value or destination() & mask == value


def _ipv4_address(direction: str, value: int, mask: int, families: tuple[str, ...]) -> Predicate:
    """``host``/``net``/``src``/``dst`` for IPv4: the IPv4 header's addresses, and ARP's (RARP's)
    sender and target protocol addresses (pcap-filter(7): ``src foo`` means ``(ip or arp or rarp)
    src foo``)."""
    want_ip, want_arp, want_rarp = "ip" in families, "arp" in families, "rarp" in families
    src_only, dst_only, either = direction == "src", direction == "dst", direction == "either"

    def check(frame: EthernetFrame, raw: bytes | None) -> bool:
        if frame.vlan is not None:
            return False
        kind = frame.ethertype
        payload = frame.payload
        if kind == _IPV4 and want_ip:
            if type(payload) is IPv4Packet:
                source, destination = int(payload.src), int(payload.dst)
            else:
                data = _raw(frame)
                return _addresses_match(direction, lambda: _uint(data, 12, 4), lambda: _uint(data, 16, 4),
                                        value, mask)
        elif (kind == _ARP and want_arp) or (kind == _RARP and want_rarp):
            if type(payload) is ARPPacket:
                source, destination = int(payload.sender_ip), int(payload.target_ip)
            else:
                data = _raw(frame)
                return _addresses_match(direction, lambda: _uint(data, 14, 4), lambda: _uint(data, 24, 4),
                                        value, mask)
        else:
            return False
        if src_only:
            return source & mask == value
        if dst_only:
            return destination & mask == value
        if either:
            return source & mask == value or destination & mask == value
        return source & mask == value and destination & mask == value

    return check


def _ipv6_address(direction: str, value: int, mask: int) -> Predicate:
    either, src_only, dst_only = direction == "either", direction == "src", direction == "dst"
    def check(frame: EthernetFrame, raw: bytes | None) -> bool:
        if frame.vlan is not None or frame.ethertype != _IPV6:
            return False
        payload = frame.payload
        if type(payload) is IPv6Packet:
            if either:
                return int(payload.src) & mask == value or int(payload.dst) & mask == value
            if src_only:
                return int(payload.src) & mask == value
            if dst_only:
                return int(payload.dst) & mask == value
            return int(payload.src) & mask == value and int(payload.dst) & mask == value
        data = _raw(frame)
        return _addresses_match(direction, lambda: _uint(data, 8, 16), lambda: _uint(data, 24, 16), value, mask)

    return check


def _ip_proto(number: int) -> Predicate:
    """``ip proto N`` (and ``icmp``, the IPv4 half of ``tcp``/``udp``): the Protocol field, in
    fragments too."""

    def check(frame: EthernetFrame, raw: bytes | None) -> bool:
        if frame.vlan is not None or frame.ethertype != _IPV4:
            return False
        payload = frame.payload
        if type(payload) is IPv4Packet:
            return payload.protocol == number
        return _u8(_raw(frame), 9) == number

    return check


def _ip6_first_headers(packet: IPv6Packet) -> tuple[int, int | None]:
    """The base header's Next Header and, if that is a Fragment header, the fragment's."""
    extensions = packet.extensions
    if not extensions:
        return packet.next_header, None
    first = extensions[0].TYPE
    if first != _FRAGMENT_HEADER:
        return first, None
    return first, extensions[1].TYPE if len(extensions) > 1 else packet.next_header


def _ip6_proto(number: int) -> Predicate:
    """``ip6 proto N`` (``icmp6``, the IPv6 half of ``tcp``/``udp``): libpcap compares the base
    header's Next Header and, when that is 44, the Fragment header's; it follows no other
    extension header (pcap-filter(7): "this primitive does not chase the protocol header chain")."""

    def check(frame: EthernetFrame, raw: bytes | None) -> bool:
        if frame.vlan is not None or frame.ethertype != _IPV6:
            return False
        payload = frame.payload
        if type(payload) is IPv6Packet:
            first, second = _ip6_first_headers(payload)
        else:
            data = _raw(frame)
            first = _u8(data, 6)
            second = _u8(data, 40) if first == _FRAGMENT_HEADER and number != _FRAGMENT_HEADER else None
        return first == number or (first == _FRAGMENT_HEADER and second == number)

    return check


def _ip_multicast() -> Predicate:
    """libpcap's ``ip multicast`` is ``ip[16] >= 224``: class E and 255.255.255.255 included."""

    def check(frame: EthernetFrame, raw: bytes | None) -> bool:
        if frame.vlan is not None or frame.ethertype != _IPV4:
            return False
        payload = frame.payload
        if type(payload) is IPv4Packet:
            return int(payload.dst) >> 24 >= 224
        return _u8(_raw(frame), 16) >= 224

    return check


def _ip6_multicast() -> Predicate:
    def check(frame: EthernetFrame, raw: bytes | None) -> bool:
        if frame.vlan is not None or frame.ethertype != _IPV6:
            return False
        payload = frame.payload
        if type(payload) is IPv6Packet:
            return int(payload.dst) >> 120 == 0xFF
        return _u8(_raw(frame), 24) == 0xFF

    return check


def _ip_broadcast() -> Predicate:
    def check(frame: EthernetFrame, raw: bytes | None) -> bool:
        if frame.vlan is not None or frame.ethertype != _IPV4:
            return False
        payload = frame.payload
        destination = int(payload.dst) if type(payload) is IPv4Packet else _uint(_raw(frame), 16, 4)
        return destination in (0, _ALL32)

    return check


# --- predicates: ports ------------------------------------------------------------------------


def _ports_match(direction: str, source: Callable[[], int], destination: Callable[[], int],
                 low: int, high: int) -> bool:
    if direction == "src":
        return low <= source() <= high
    if direction == "dst":
        return low <= destination() <= high
    if direction == "both":
        return low <= source() <= high and low <= destination() <= high
    return low <= source() <= high or low <= destination() <= high


def _transport(frame: EthernetFrame, protocols: frozenset[int]) -> TCPSegment | UDPDatagram | bytes | None:
    """What libpcap reads a port or a transport field from: the decoded TCP/UDP header, or the
    bytes where it would be (a first fragment, SCTP), or None if the protocol check fails.

    IPv4: Protocol in ``protocols`` and fragment offset 0.  IPv6: the base header's Next Header
    in ``protocols`` (so no extension header may come first).
    """
    if frame.vlan is not None:
        return None
    kind = frame.ethertype
    payload = frame.payload
    if kind == _IPV4:
        if type(payload) is IPv4Packet:
            if payload.protocol not in protocols or payload.fragment_offset:
                return None
            inner = payload.payload
            if type(inner) is bytes:
                return inner + frame.trailer
            if type(inner) is TCPSegment or type(inner) is UDPDatagram:
                return inner
            return None
        data = _raw(frame)
        if _u8(data, 9) not in protocols or _u16(data, 6) & 0x1FFF:
            return None
        return data[(_u8(data, 0) & 0xF) * 4 :]  # IHL, however odd: libpcap reads it as it is
    if kind == _IPV6:
        if type(payload) is IPv6Packet:
            if payload.extensions or payload.next_header not in protocols:
                return None
            inner6 = payload.payload
            if type(inner6) is bytes:
                return inner6 + frame.trailer
            if type(inner6) is TCPSegment or type(inner6) is UDPDatagram:
                return inner6
            return None
        data = _raw(frame)
        if _u8(data, 6) not in protocols:
            return None
        return data[40:]
    return None


def _port(direction: str, low: int, high: int, protocols: frozenset[int]) -> Predicate:
    """``[tcp|udp|sctp] [src|dst] port N`` and ``portrange A-B`` (pcap-filter(7))."""
    either, src_only, dst_only = direction == "either", direction == "src", direction == "dst"

    def check(frame: EthernetFrame, raw: bytes | None) -> bool:
        header = _transport(frame, protocols)
        if header is None:
            return False
        if type(header) is bytes:
            data = header
            return _ports_match(direction, lambda: _u16(data, 0), lambda: _u16(data, 2), low, high)
        source, destination = header.src_port, header.dst_port  # type: ignore[union-attr]
        if either:
            return low <= source <= high or low <= destination <= high
        if src_only:
            return low <= source <= high
        if dst_only:
            return low <= destination <= high
        return low <= source <= high and low <= destination <= high

    return check


# --- comparisons ------------------------------------------------------------------------------

#: (protocol, offset, size) -> the value read from a decoded header.
_FIELDS: Final[dict[tuple[str, int, int], Callable[[object], int]]] = {
    ("tcp", 0, 2): lambda h: h.src_port,  # type: ignore[attr-defined]
    ("tcp", 2, 2): lambda h: h.dst_port,  # type: ignore[attr-defined]
    ("tcp", 4, 4): lambda h: h.seq,  # type: ignore[attr-defined]
    ("tcp", 8, 4): lambda h: h.ack,  # type: ignore[attr-defined]
    ("tcp", 13, 1): lambda h: h.flags & 0xFF,  # type: ignore[attr-defined]
    ("tcp", 14, 2): lambda h: h.window,  # type: ignore[attr-defined]
    ("tcp", 18, 2): lambda h: h.urgent,  # type: ignore[attr-defined]
    ("udp", 0, 2): lambda h: h.src_port,  # type: ignore[attr-defined]
    ("udp", 2, 2): lambda h: h.dst_port,  # type: ignore[attr-defined]
    ("udp", 4, 2): lambda h: 8 + len(h.payload),  # type: ignore[attr-defined]
    ("icmp", 0, 1): lambda h: h.type,  # type: ignore[attr-defined]
    ("icmp", 1, 1): lambda h: h.code,  # type: ignore[attr-defined]
    ("icmp6", 0, 1): lambda h: h.type,  # type: ignore[attr-defined]
    ("icmp6", 1, 1): lambda h: h.code,  # type: ignore[attr-defined]
}
_DECODED: Final = {"tcp": (TCPSegment,), "udp": (UDPDatagram,), "icmp": ICMPV4_TYPES, "icmp6": ICMPV6_TYPES}
_NUMBERS: Final = {"tcp": 6, "udp": 17, "icmp": 1, "icmp6": 58}


def _field(proto: str, offset: int, size: int, read: Callable[[object], int]) -> _Value:
    """``tcp[13]``, ``icmp[icmptype]`` ...: libpcap guards the read with "IPv4, this protocol,
    fragment offset 0" (pcap-filter(7): tcp[] and friends read IPv4 only); ``icmp6[]`` with "IPv6
    whose base header's Next Header is 58".  None when the guard fails."""
    decoded = _DECODED[proto]
    number = _NUMBERS[proto]

    def value(frame: EthernetFrame, raw: bytes | None) -> int | None:
        if frame.vlan is not None:
            return None
        kind, payload = frame.ethertype, frame.payload
        if proto == "icmp6":
            if kind != _IPV6:
                return None
            if type(payload) is IPv6Packet:
                if payload.extensions or payload.next_header != 58:
                    return None
                inner: object = payload.payload
                if type(inner) in decoded:
                    return read(inner)
                return _uint(inner + frame.trailer if type(inner) is bytes else b"", offset, size)
            data = _raw(frame)
            return _uint(data, 40 + offset, size) if _u8(data, 6) == 58 else None
        if kind != _IPV4:
            return None
        if type(payload) is IPv4Packet:
            if payload.protocol != number or payload.fragment_offset:
                return None
            inner = payload.payload
            if type(inner) in decoded:
                return read(inner)
            return _uint(inner + frame.trailer if type(inner) is bytes else b"", offset, size)
        data = _raw(frame)
        if _u8(data, 9) != number or _u16(data, 6) & 0x1FFF:
            return None
        return _uint(data, (_u8(data, 0) & 0xF) * 4 + offset, size)

    return value


def _constant(number: int) -> _Value:
    return lambda frame, raw: number


def _combine(left: _Value, right: _Value, operation: Callable[[int, int], int]) -> _Value:
    def value(frame: EthernetFrame, raw: bytes | None) -> int | None:
        a = left(frame, raw)
        if a is None:
            return None
        b = right(frame, raw)
        return None if b is None else operation(a, b)

    return value


_COMPARISONS: Final[dict[str, Callable[[int, int], bool]]] = {
    "=": lambda a, b: a == b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def _compare(left: _Value, operator: str, right: _Value) -> Predicate:
    """A comparison is false where a field in it does not exist (the read's guard is and-ed in)."""
    test = _COMPARISONS[operator]

    def check(frame: EthernetFrame, raw: bytes | None) -> bool:
        a = left(frame, raw)
        if a is None:
            return False
        b = right(frame, raw)
        return b is not None and test(a, b)

    return check
