"""SYN cookies (make/check, staleness, binding to the 4-tuple and the ISN, the timestamp option
encoding) and the listen queues' Linux decisions for every tcp_syncookies mode."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsim.proto.tcp.connection import ACK, TCPConnection
from netsim.proto.tcp.cookies import MSS_TABLE, SynCookies, decode_timestamp_options, encode_timestamp_options
from netsim.proto.tcp.listen import ListenQueue
from netsim.proto.tcp.settings import S, TCPSettings
from netsim.proto.tcp.states import TCPState
from netsim.wire.tcp import TCPSegment

MINUTE = 60 * S
C, SRV = IPv4Address("192.0.2.10"), IPv4Address("198.51.100.1")
COOKIES = SynCookies(b"secret-one-16byt", b"secret-two-16byt")

u32 = st.integers(0, 2**32 - 1)
ports = st.integers(1, 65535)
times = st.integers(0, 10**6 * S)


@pytest.mark.parametrize("mss", MSS_TABLE)
def test_round_trip_for_every_mss_table_entry(mss: int) -> None:
    for client_isn in (0, 1, 2**31, 2**32 - 1):
        cookie, encoded = COOKIES.make(C, SRV, 40000, 80, client_isn, mss, 5 * S)
        assert encoded == mss
        assert COOKIES.check(C, SRV, 40000, 80, client_isn, cookie, 5 * S) == mss


@given(saddr=u32, sport=ports, dport=ports, isn=u32, mss=st.integers(0, 65535), now=times,
       later=st.integers(0, 2 * MINUTE))
def test_round_trip_property(saddr: int, sport: int, dport: int, isn: int, mss: int, now: int, later: int) -> None:
    src = IPv4Address(saddr)
    cookie, encoded = COOKIES.make(src, SRV, sport, dport, isn, mss, now)
    assert encoded in MSS_TABLE and (encoded <= mss or encoded == MSS_TABLE[0])
    assert encoded == max([m for m in MSS_TABLE if m <= mss], default=MSS_TABLE[0])
    # valid for as long as the minute counter is at most 2 behind
    check_at = now + later
    if (check_at // MINUTE) - (now // MINUTE) <= 2:
        assert COOKIES.check(src, SRV, sport, dport, isn, cookie, check_at) == encoded


def test_mss_index_picks_the_largest_entry_not_above() -> None:
    assert [SynCookies.mss_index(m) for m in (100, 536, 1299, 1300, 1439, 1440, 1459, 1460, 9000)] == [
        0, 0, 0, 1, 1, 2, 2, 3, 3]


def test_stale_cookies_are_rejected() -> None:
    now = 10 * MINUTE + 5 * S
    cookie, mss = COOKIES.make(C, SRV, 40000, 80, 12345, 1460, now)
    for minutes in (0, 1, 2):
        assert COOKIES.check(C, SRV, 40000, 80, 12345, cookie, now + minutes * MINUTE) == mss
    assert COOKIES.check(C, SRV, 40000, 80, 12345, cookie, now + 3 * MINUTE) is None
    assert COOKIES.check(C, SRV, 40000, 80, 12345, cookie, now + 100 * MINUTE) is None


@given(isn=u32, now=times, which=st.sampled_from(["saddr", "daddr", "sport", "dport", "isn", "cookie"]),
       delta=st.integers(1, 2**32 - 1))
def test_cookies_are_bound_to_the_4_tuple_and_the_isn(isn: int, now: int, which: str, delta: int) -> None:
    cookie, _ = COOKIES.make(C, SRV, 40000, 80, isn, 1460, now)
    args = {"saddr": C, "daddr": SRV, "sport": 40000, "dport": 80, "client_isn": isn, "cookie": cookie}
    if which == "saddr":
        args["saddr"] = IPv4Address((int(C) + delta) & 0xFFFFFFFF)
    elif which == "daddr":
        args["daddr"] = IPv4Address((int(SRV) + delta) & 0xFFFFFFFF)
    elif which == "sport":
        args["sport"] = (40000 + delta) % 65536 or 1
    elif which == "dport":
        args["dport"] = (80 + delta) % 65536 or 81
    elif which == "isn":
        args["client_isn"] = (isn + delta) & 0xFFFFFFFF
    else:
        args["cookie"] = (cookie + delta) & 0xFFFFFFFF
    if args["sport"] == 40000 and args["dport"] == 80 and args["saddr"] == C and args["daddr"] == SRV \
            and args["client_isn"] == isn and args["cookie"] == cookie:
        return
    result = COOKIES.check(args["saddr"], args["daddr"], args["sport"], args["dport"],  # type: ignore[arg-type]
                           args["client_isn"], args["cookie"], now)  # type: ignore[arg-type]
    signed = delta if delta < 2**31 else delta - 2**32
    if which in ("isn", "cookie") and abs(signed) < len(MSS_TABLE):
        # Linux's encoding adds the MSS index to the hash, so an ISN (or cookie) off by less than
        # the table's size can land on a neighbouring index: a different MSS, never the same one
        assert result is None or result != 1460
    else:
        assert result is None


def test_wrong_secret_and_ipv6() -> None:
    a6, b6 = IPv6Address("2001:db8::1"), IPv6Address("2001:db8::2")
    cookie, mss = COOKIES.make(a6, b6, 1234, 443, 99, 1440, 0)
    assert COOKIES.check(a6, b6, 1234, 443, 99, cookie, 30 * S) == mss == 1440
    other = SynCookies(b"another-secret-1", b"another-secret-2")
    assert other.check(a6, b6, 1234, 443, 99, cookie, 30 * S) is None


@given(tsval=u32, wscale=st.one_of(st.none(), st.integers(0, 14)), sack=st.booleans())
def test_timestamp_option_encoding_round_trip(tsval: int, wscale: int | None, sack: bool) -> None:
    encoded = encode_timestamp_options(tsval, wscale, sack)
    assert decode_timestamp_options(encoded) == (wscale, sack)
    assert encoded <= tsval or tsval < 0x40  # never ahead of the clock (it only wraps below 64)
    assert tsval - encoded < 0x40 or tsval < 0x40


def test_from_cookie_builds_an_established_connection() -> None:
    settings = TCPSettings()
    client_isn, server_isn = 777, 424242
    ack = TCPSegment(src_port=40000, dst_port=80, seq=client_isn + 1, ack=server_isn + 1, flags=ACK, window=502)
    conn = TCPConnection.from_cookie(ack, 1440, 7, True, (1000, 2000), now=0, settings=settings)
    assert conn.state is TCPState.ESTABLISHED and conn.iss == server_isn and conn.irs == client_isn
    assert conn.snd_una == conn.snd_nxt == server_isn + 1 and conn.rcv_nxt == client_isn + 1
    assert conn.mss == 1440 - 12 and conn.sack_ok and conn.ts_ok and conn.snd_wscale == 7
    assert conn.snd_wnd == 502 << 7
    conn.send(b"hello", 1)
    [seg] = conn.take_outbox()
    assert seg.seq == server_isn + 1 and seg.payload == b"hello"


# --- the listen queues ---------------------------------------------------------------------------


def queue(backlog: int, **settings: int) -> ListenQueue:
    return ListenQueue(backlog, TCPSettings(**settings))  # type: ignore[arg-type]


def fill(q: ListenQueue, syn: int = 0, accepted: int = 0) -> None:
    for i in range(syn):
        q.syn_queue[("syn", i)] = object()
    for _ in range(accepted):
        q.accept_queue.append(object())


def test_somaxconn_clamps_the_backlog() -> None:
    assert queue(100000).backlog == 4096
    assert queue(10, somaxconn=5).backlog == 5
    assert queue(10).backlog == 10
    assert queue(-3).backlog == 0


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_accept_queue_holds_backlog_plus_one(mode: int) -> None:
    q = queue(4, syncookies=mode)
    for i in range(5):  # backlog + 1 established connections fit, as Linux's '>' test
        assert not q.accept_full
        q.syn_queue[i] = object()
        assert q.on_established(f"conn{i}", i) == "accepted"
    assert len(q.accept_queue) == 5 and q.accept_full
    assert q.on_syn(0) == "drop-accept-full"  # with cookies or not
    assert q.counters["ListenOverflows"] == 1 and q.counters["ListenDrops"] == 1
    q.syn_queue["late"] = object()
    assert q.on_established("late", "late") == "drop"
    assert "late" in q.syn_queue  # still half-open: the client's next ACK may get in
    q.accept_queue.popleft()
    assert q.on_established("late", "late") == "accepted"


def test_abort_on_overflow_resets() -> None:
    q = ListenQueue(0, TCPSettings(abort_on_overflow=True))
    q.accept_queue.append(object())
    assert q.on_established("x", "x") == "reset"


@pytest.mark.parametrize(("mode", "syn_full", "expected"), [
    (0, False, "queue"), (0, True, "drop-syn-full"),
    (1, False, "queue"), (1, True, "cookie"),
    (2, False, "cookie"), (2, True, "cookie"),
])
def test_syn_decisions_for_each_syncookies_mode(mode: int, syn_full: bool, expected: str) -> None:
    q = queue(8, syncookies=mode)
    fill(q, syn=8 if syn_full else 3)
    assert q.on_syn(77 * S) == expected
    if expected == "cookie":
        assert q.counters["SyncookiesSent"] == 1
        assert q.cookies_acceptable(77 * S)
        assert (q.last_overflow == 77 * S) == syn_full
    if expected == "drop-syn-full":
        assert q.counters["ListenDrops"] == 1 and q.counters["TCPReqQFullDrop"] == 1
    if expected == "queue":
        assert q.counters == {}


def test_cookie_acks_are_checked_only_within_two_minutes_of_an_overflow() -> None:
    q = queue(2, syncookies=1)
    assert not q.cookies_acceptable(0)
    fill(q, syn=2)
    assert q.on_syn(10 * S) == "cookie"
    assert q.cookies_acceptable(10 * S + 2 * MINUTE)
    assert not q.cookies_acceptable(10 * S + 2 * MINUTE + 1)
    assert queue(2, syncookies=2).cookies_acceptable(0)
    assert not queue(2, syncookies=0).cookies_acceptable(0)


def test_three_quarters_of_max_syn_backlog_with_cookies_off() -> None:
    q = queue(4096, syncookies=0, max_syn_backlog=100)
    fill(q, syn=75)
    assert q.on_syn(0) == "queue"  # 100 - 75 = 25, not below 100 >> 2
    q.syn_queue["one more"] = object()
    assert q.on_syn(0) == "drop-syn-full"  # 24 left < 25: Linux's tcp_conn_request rule
    # with cookies on the rule does not apply: the SYN queue fills to the backlog
    q1 = queue(4096, syncookies=1, max_syn_backlog=100)
    fill(q1, syn=90)
    assert q1.on_syn(0) == "queue"


@given(backlog=st.integers(0, 50), syn=st.integers(0, 60), accepted=st.integers(0, 60), mode=st.sampled_from([0, 1, 2]),
       max_syn=st.integers(1, 200))
def test_decision_table_property(backlog: int, syn: int, accepted: int, mode: int, max_syn: int) -> None:
    q = queue(backlog, syncookies=mode, max_syn_backlog=max_syn)
    fill(q, syn=syn, accepted=accepted)
    decision = q.on_syn(0)
    if accepted > backlog:
        assert decision == "drop-accept-full"
    elif mode == 2:
        assert decision == "cookie"
    elif syn >= backlog:
        assert decision == ("cookie" if mode == 1 else "drop-syn-full")
    elif mode == 0 and max_syn - syn < max_syn >> 2:
        assert decision == "drop-syn-full"
    else:
        assert decision == "queue"
