"""A host's TCP under hostile segments: whatever arrives — any flags, sequence and
acknowledgment numbers, windows, options, aimed at a listener (with SYN cookies on) or at a live
connection — nothing raises, the connection table stays consistent, and the real client's
data still gets through intact."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.proto.tcp.settings import TCPSettings
from netsim.sim.network import Network
from netsim.sim.tcp_apps import tcp_client, tcp_echo_server
from netsim.wire.tcp import TCPSegment
from netsim.wire.tcp_options import (
    TCPOptionMSS,
    TCPOptionSACK,
    TCPOptionSACKPermitted,
    TCPOptionTimestamps,
    TCPOptionWindowScale,
    pad_options,
)

u32 = st.integers(0, 2**32 - 1)
options = st.lists(st.one_of(
    st.builds(TCPOptionMSS, st.integers(0, 65535)),
    st.builds(TCPOptionWindowScale, st.integers(0, 255)),
    st.just(TCPOptionSACKPermitted()),
    st.builds(TCPOptionTimestamps, u32, u32),
    st.builds(TCPOptionSACK, st.lists(st.tuples(u32, u32), min_size=1, max_size=2).map(tuple)),
), max_size=2).map(lambda opts: pad_options(opts) if len(b"".join(o.to_bytes() for o in opts)) <= 36 else ())

segments = st.builds(
    dict,
    dport=st.sampled_from([9000, 9001, 40000]),
    sport=st.sampled_from([1234, 5555, 40000]),
    spoofed=st.booleans(),  # from the real client's address: aimed at its live connection
    seq=u32, ack=u32, flags=st.integers(0, 0x1FF), window=st.integers(0, 65535),
    payload=st.binary(max_size=64), options=options, at=st.integers(0, 300),
)


def _hostile_run(attack: list[dict[str, Any]], syncookies: int) -> tuple[Any, Any, Any]:
    net = Network(5)
    client, attacker = net.add_host("client"), net.add_host("attacker")
    server = net.add_host("server", tcp=TCPSettings(syncookies=syncookies, somaxconn=2))
    switch = net.add_switch("sw", ports=3)
    for index, (host, address) in enumerate(((client, "10.0.0.1/24"), (attacker, "10.0.0.66/24"),
                                             (server, "10.0.0.2/24")), start=1):
        host.add_interface("eth0")
        host.add_address("eth0", address)
        net.connect(host["eth0"], switch[f"p{index}"], delay="1ms")
    net.process(tcp_echo_server(server, 9000, backlog=2))
    result = net.process(tcp_client(client, ("10.0.0.2", 9000), size=20_000, bind=("10.0.0.1", 40000)))

    def attack_process() -> Any:
        for item in sorted(attack, key=lambda a: a["at"]):
            wait = item["at"] * 1_000_000 - net.now
            if wait > 0:
                yield net.env.timeout(wait)
            seg = TCPSegment(src_port=item["sport"], dst_port=item["dport"], seq=item["seq"], ack=item["ack"],
                             flags=item["flags"], window=item["window"], options=item["options"],
                             payload=item["payload"])
            source = client["eth0"].ipv4[0].ip if item["spoofed"] else attacker["eth0"].ipv4[0].ip
            attacker.send_ip(source, server["eth0"].ipv4[0].ip, 6, seg, df=True)

    net.process(attack_process())
    net.run("60s")
    return net, server, result


@settings(max_examples=200)
@given(attack=st.lists(segments, max_size=30), syncookies=st.sampled_from([0, 1, 2]))
def test_hostile_segments_never_break_the_host_or_the_real_connection(attack: list[dict[str, Any]],
                                                                       syncookies: int) -> None:
    _net, server, result = _hostile_run(attack, syncookies)
    for key, sock in server.tcp.connections.items():
        assert sock.four_tuple == key
    # the attacker cannot guess the client's sequence numbers (32 random bits), so the real
    # exchange completes, and its bytes are exactly what was sent
    assert result.value.error is None and result.value.echo_ok is True
