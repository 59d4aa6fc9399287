"""A host's TCP sockets as ``ss -tan`` shows them, with ss's state names and filter syntax.

Rows: State, Recv-Q, Send-Q, Local Address:Port, Peer Address:Port, and with ``timers`` the
``-o`` column (``timer:(on,200ms,0)``, ``timer:(keepalive,2.0min,0)``, ``timer:(timewait,59sec,0)``,
``timer:(persist,...)``).  As in ss, a listener's Recv-Q is its accept-queue length and its
Send-Q the backlog; a connection's are the unread and the unacknowledged bytes.

Filters (``ss(8)``): a state list (``established``, ``syn-recv``, ``time-wait`` ... and ss's
groups ``all``, ``connected``, ``synchronized``, ``bucket``, ``big``) and an expression such as
``( sport = :9000 )``, ``dport != :22``, ``src 10.0.0.1``, ``dst 10.0.0.2:9000``, joined with
``and``/``or``/``not`` and parentheses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING, Any

import attrs

from netsim.errors import NetsimError
from netsim.proto.tcp.states import TCPState

if TYPE_CHECKING:
    from netsim.sim.host import Host
    from netsim.sim.tcp import TCPSocket

S = TCPState
_STATE_WORDS: dict[str, frozenset[TCPState]] = {
    "established": frozenset({S.ESTABLISHED}), "syn-sent": frozenset({S.SYN_SENT}),
    "syn-recv": frozenset({S.SYN_RECEIVED}), "fin-wait-1": frozenset({S.FIN_WAIT_1}),
    "fin-wait-2": frozenset({S.FIN_WAIT_2}), "time-wait": frozenset({S.TIME_WAIT}),
    "closed": frozenset({S.CLOSED}), "close-wait": frozenset({S.CLOSE_WAIT}), "last-ack": frozenset({S.LAST_ACK}),
    "listening": frozenset({S.LISTEN}), "closing": frozenset({S.CLOSING}),
}
_ALL = frozenset(TCPState)
_STATE_WORDS["all"] = _ALL
_STATE_WORDS["connected"] = _ALL - {S.LISTEN, S.CLOSED}
_STATE_WORDS["synchronized"] = _ALL - {S.LISTEN, S.CLOSED, S.SYN_SENT}
_STATE_WORDS["bucket"] = frozenset({S.SYN_RECEIVED, S.TIME_WAIT})
_STATE_WORDS["big"] = _ALL - {S.SYN_RECEIVED, S.TIME_WAIT}


class SsFilterError(NetsimError, ValueError):
    """A filter ss would reject."""


@attrs.frozen
class SsRow:
    state: str
    recv_q: int
    send_q: int
    local: str
    peer: str
    timer: str = ""
    tcp_state: TCPState | None = None
    local_ip: IPv4Address | IPv6Address | None = None
    local_port: int = 0
    peer_ip: IPv4Address | IPv6Address | None = None
    peer_port: int = 0


def _format_duration(ns: int) -> str:
    """ss's timer format: ``200ms``, ``59sec``, ``2.0min``."""
    ms = max(0, ns) // 1_000_000
    if ms < 1000:
        return f"{ms}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{int(seconds)}sec"
    return f"{seconds / 60:.1f}min"


def _timer(sock: TCPSocket, now: int) -> str:
    conn = sock.conn
    if conn is None:
        return ""
    if conn.state is S.TIME_WAIT and conn.t_wait is not None:
        return f"timer:(timewait,{_format_duration(conn.t_wait - now)},0)"
    if conn.t_rtx is not None or conn.t_tlp is not None or conn.t_reo is not None:  # (ss: "on" for all three)
        due = min(t for t in (conn.t_rtx, conn.t_tlp, conn.t_reo) if t is not None)
        return f"timer:(on,{_format_duration(due - now)},{conn.rtt.backoff})"
    if conn.t_persist is not None:
        return f"timer:(persist,{_format_duration(conn.t_persist - now)},0)"
    if conn.t_keepalive is not None:
        return f"timer:(keepalive,{_format_duration(conn.t_keepalive - now)},0)"
    if conn.t_wait is not None:
        return f"timer:(timewait,{_format_duration(conn.t_wait - now)},0)"
    return ""


def _host_text(ip: IPv4Address | IPv6Address, six: bool) -> str:
    """ss's address column: IPv6 in brackets, an IPv4 peer of a dual-stack socket as
    ``[::ffff:a.b.c.d]``."""
    if ip.version == 6:
        return f"[{ip}]"
    return f"[::ffff:{ip}]" if six else str(ip)


def row_for(sock: TCPSocket, now: int) -> SsRow | None:
    state = sock.state
    if state is None:
        return None  # a socket neither bound nor connected is not in ss's table
    if sock.queue is not None:
        recv_q, send_q = len(sock.queue.accept_queue), sock.queue.backlog
    elif sock.conn is not None and state not in (S.SYN_RECEIVED, S.TIME_WAIT):
        recv_q, send_q = sock.conn.recv_q, sock.conn.send_q
    else:
        recv_q = send_q = 0
    local_ip = sock.local_ip
    peer = sock.remote
    six = getattr(sock, "family", 4) == 6
    wildcard = "[::]" if six else "0.0.0.0"
    zone = ""
    ip6 = getattr(sock.host, "ip6", None)
    if local_ip is not None and local_ip.version == 6 and local_ip.is_link_local and ip6 is not None:
        iface = ip6.local.get(local_ip)
        zone = f"%{iface.name}" if iface is not None else ""  # ss prints the scope: [fe80::1]%eth0:22
    return SsRow(
        state=state.ss_name, recv_q=recv_q, send_q=send_q,
        local=f"{_host_text(local_ip, six) + zone if local_ip else wildcard}:{sock.local_port or '*'}",
        peer=f"{_host_text(peer[0], six) + zone}:{peer[1]}" if peer else f"{wildcard}:*",
        timer=_timer(sock, now), tcp_state=state, local_ip=local_ip, local_port=sock.local_port or 0,
        peer_ip=peer[0] if peer else None, peer_port=peer[1] if peer else 0,
    )


def ss(host: Host, states: str | Iterable[str] | None = None, expression: str | None = None) -> list[SsRow]:
    """The rows ``ss -tan [state S ...] [EXPRESSION]`` would print for ``host`` now.

    Without ``states`` ss shows every state but LISTEN and CLOSED unless ``-a``; here the default
    is ``all`` (as ``-a``), since a simulation wants to see listeners too.
    """
    wanted = _parse_states(states)
    predicate = compile_ss_filter(expression) if expression else None
    now = host.network.now
    rows = []
    for sock in host.tcp.sockets():
        row = row_for(sock, now)
        if row is None or row.tcp_state not in wanted:
            continue
        if predicate is not None and not predicate(row):
            continue
        rows.append(row)
    return rows


def _parse_states(states: str | Iterable[str] | None) -> frozenset[TCPState]:
    if states is None:
        return _ALL
    words = states.replace(",", " ").split() if isinstance(states, str) else list(states)
    chosen: set[TCPState] = set()
    for word in words:
        group = _STATE_WORDS.get(word.lower())
        if group is None:
            raise SsFilterError(f"wrong state name {word!r}; ss knows {', '.join(sorted(_STATE_WORDS))}")
        chosen |= group
    return frozenset(chosen)


def format_ss(rows: Iterable[SsRow], *, timers: bool = False) -> str:
    """The table as ss prints it (columns padded to fit)."""
    header = ["State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port"]
    body = [[r.state, str(r.recv_q), str(r.send_q), r.local, r.peer] + ([r.timer] if timers else []) for r in rows]
    if timers:
        header.append("Timer")
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    lines = []
    for line in [header, *body]:
        cells = [cell.rjust(widths[i]) if i in (1, 2) else cell.ljust(widths[i]) for i, cell in enumerate(line)]
        lines.append(" ".join(cells).rstrip())
    return "\n".join(lines)


# --- the filter expression ---------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(\(|\)|!=|==|<=|>=|=|<|>|[^\s()]+)")
_OPS: dict[str, Callable[[int, int], bool]] = {
    "=": lambda a, b: a == b, "==": lambda a, b: a == b, "eq": lambda a, b: a == b,
    "!=": lambda a, b: a != b, "ne": lambda a, b: a != b, "neq": lambda a, b: a != b,
    "<": lambda a, b: a < b, "lt": lambda a, b: a < b, ">": lambda a, b: a > b, "gt": lambda a, b: a > b,
    "<=": lambda a, b: a <= b, "le": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "ge": lambda a, b: a >= b,
}
Predicate = Callable[[SsRow], bool]


def compile_ss_filter(expression: str) -> Predicate:
    """An ss filter expression as a predicate over rows; :class:`SsFilterError` when malformed."""
    tokens = _TOKEN.findall(expression)
    if "".join(tokens).replace(" ", "") != re.sub(r"\s+", "", expression):
        raise SsFilterError(f"cannot read the filter {expression!r}")
    parser = _Parser(tokens, expression)
    predicate = parser.parse_or()
    if parser.position != len(tokens):
        raise SsFilterError(f"unexpected {tokens[parser.position]!r} in the filter {expression!r}")
    return predicate


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda row: a(row) or b(row)


def _both(a: Predicate, b: Predicate) -> Predicate:
    return lambda row: a(row) and b(row)


class _Parser:
    def __init__(self, tokens: list[str], text: str) -> None:
        self.tokens, self.text, self.position = tokens, text, 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise SsFilterError(f"the filter {self.text!r} ends too early")
        self.position += 1
        return token

    def parse_or(self) -> Predicate:
        left = self.parse_and()
        while self.peek() in ("or", "||", "|"):
            self.take()
            right = self.parse_and()
            left = _either(left, right)
        return left

    def parse_and(self) -> Predicate:
        left = self.parse_not()
        while self.peek() not in (None, ")", "or", "||", "|"):
            if self.peek() in ("and", "&&", "&"):
                self.take()
            right = self.parse_not()
            left = _both(left, right)
        return left

    def parse_not(self) -> Predicate:
        if self.peek() in ("not", "!"):
            self.take()
            inner = self.parse_not()
            return lambda row: not inner(row)
        if self.peek() == "(":
            self.take()
            inner = self.parse_or()
            if self.take() != ")":
                raise SsFilterError(f"missing ')' in the filter {self.text!r}")
            return inner
        return self.parse_term()

    def parse_term(self) -> Predicate:
        word = self.take().lower()
        if word in ("sport", "dport"):
            op = self.take()
            if op not in _OPS:
                # ss also accepts "sport :9000" meaning equality
                port_text, op = op, "="
            else:
                port_text = self.take()
            port = _port(port_text, self.text)
            compare = _OPS[op]
            if word == "sport":
                return lambda row: compare(row.local_port, port)
            return lambda row: compare(row.peer_port, port)
        if word in ("src", "dst"):
            ip, port_or_none = _endpoint(self.take(), self.text)
            if word == "src":
                return lambda row: (ip is None or row.local_ip == ip) and (
                    port_or_none is None or row.local_port == port_or_none)
            return lambda row: (ip is None or row.peer_ip == ip) and (
                port_or_none is None or row.peer_port == port_or_none)
        raise SsFilterError(f"unknown filter word {word!r} in {self.text!r} (sport, dport, src, dst, and, or, not)")


def _port(text: str, whole: str) -> int:
    digits = text[1:] if text.startswith(":") else text
    if not digits.isdigit() or not 0 <= int(digits) <= 65535:
        raise SsFilterError(f"{text!r} is not a port in the filter {whole!r} (write :9000)")
    return int(digits)


def _endpoint(text: str, whole: str) -> tuple[IPv4Address | None, int | None]:
    host, _, port = text.partition(":") if text.count(":") == 1 else (text, "", "")
    ip: IPv4Address | None = None
    if host not in ("", "*"):
        try:
            ip = IPv4Address(host)
        except ValueError:
            raise SsFilterError(f"{host!r} is not an IPv4 address in the filter {whole!r}") from None
    return ip, (None if port in ("", "*") else _port(port, whole))


def snapshot(host: Host, **kwargs: Any) -> str:
    """``ss -tano`` as text, for reports."""
    return format_ss(ss(host, **kwargs), timers=True)
