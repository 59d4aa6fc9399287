"""A listening socket's queues (RFC 9293 §3.10.7.2; RFC 4987; Linux's ``tcp_conn_request``).

Two queues, as Linux keeps them: the SYN queue of half-open connections (SYN-RECEIVED,
"request socks") and the accept queue of established connections the application has not yet
``accept()``-ed.  :meth:`ListenQueue.on_syn` makes Linux's decision for each SYN:

1. accept queue full (more than ``backlog`` waiting: Linux's ``sk_acceptq_is_full`` is ``>``,
   so backlog + 1 fit) -> drop the SYN (``ListenOverflows``), cookies or not;
2. ``tcp_syncookies = 2`` -> always answer with a cookie, keep no state;
3. SYN queue full (``backlog`` entries: the SYN queue is bounded by the listen backlog, as in
   Linux since 4.x) -> with ``tcp_syncookies = 1`` a cookie, with 0 a drop (``ListenDrops``);
4. without cookies, also drop once the SYN queue passes 3/4 of ``tcp_max_syn_backlog``;
5. otherwise a new SYN-RECEIVED entry.

``backlog`` is ``min(listen(backlog), net.core.somaxconn)``.  When the handshake's ACK finds
the accept queue full, Linux drops the ACK (the client believes it is connected; the server
keeps resending the SYN-ACK) or, with ``tcp_abort_on_overflow``, answers with an RST.
A returning cookie ACK is checked only within two minutes of the last overflow (mode 1), or
always (mode 2) — Linux's ``tcp_synq_no_recent_overflow``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from typing import Any

from netsim.proto.tcp.settings import TCPSettings

COOKIE_WINDOW = 120_000_000_000  # 2 minutes


class ListenQueue:
    """The SYN and accept queues of one listening socket, with Linux's counters."""

    __slots__ = ("backlog", "settings", "syn_queue", "accept_queue", "counters", "last_overflow")

    def __init__(self, backlog: int, settings: TCPSettings) -> None:
        self.settings = settings
        self.backlog = max(0, min(backlog, settings.somaxconn))
        self.syn_queue: dict[Hashable, Any] = {}
        self.accept_queue: deque[Any] = deque()
        self.counters: dict[str, int] = {}
        self.last_overflow: int | None = None

    def count(self, name: str, n: int = 1) -> None:
        self.counters[name] = self.counters.get(name, 0) + n

    @property
    def accept_full(self) -> bool:
        return len(self.accept_queue) > self.backlog

    def on_syn(self, now: int) -> str:
        """What to do with a new SYN: ``"drop-accept-full"``, ``"cookie"``, ``"drop-syn-full"``
        or ``"queue"``."""
        if self.accept_full:
            self.count("ListenOverflows")
            self.count("ListenDrops")
            return "drop-accept-full"
        mode = self.settings.syncookies
        full = len(self.syn_queue) >= self.backlog
        if mode == 2 or (full and mode == 1):
            if full:
                self.last_overflow = now
            self.count("SyncookiesSent")
            return "cookie"
        if full:
            self.last_overflow = now
            self.count("ListenDrops")
            self.count("TCPReqQFullDrop")
            return "drop-syn-full"
        limit = self.settings.max_syn_backlog
        if mode == 0 and limit - len(self.syn_queue) < limit >> 2:
            self.count("ListenDrops")
            self.count("TCPReqQFullDrop")
            return "drop-syn-full"
        return "queue"

    def cookies_acceptable(self, now: int) -> bool:
        """Whether a bare ACK may be a returning cookie worth checking."""
        mode = self.settings.syncookies
        if mode == 2:
            return True
        return mode == 1 and self.last_overflow is not None and now - self.last_overflow <= COOKIE_WINDOW

    def on_established(self, conn: Any, key: Hashable) -> str:
        """A SYN-RECEIVED entry completed its handshake: ``"accepted"`` (now in the accept
        queue), ``"drop"`` (accept queue full: ignore the ACK) or ``"reset"`` (full, and
        ``tcp_abort_on_overflow``)."""
        if self.accept_full:
            self.count("ListenOverflows")
            self.count("ListenDrops")
            return "reset" if self.settings.abort_on_overflow else "drop"
        self.syn_queue.pop(key, None)
        self.accept_queue.append(conn)
        return "accepted"
