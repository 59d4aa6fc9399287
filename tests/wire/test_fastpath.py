"""The one-pass Ethernet/IPv4/TCP path gives exactly what the layered codecs give, or declines."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from netsim.errors import WireError
from netsim.wire import EthernetFrame, IPv4Packet, TCPSegment
from netsim.wire.ethernet import _encode, _make_frame, _parse
from netsim.wire.fastpath import decode_ipv4_tcp, encode_ipv4_tcp
from tests import strategies as S

_eligible = st.builds(
    lambda frame, packet, segment: EthernetFrame(
        dst=frame.dst, src=frame.src, ethertype=0x0800,
        payload=IPv4Packet(src=packet.src, dst=packet.dst, protocol=6, payload=segment, ttl=packet.ttl,
                           identification=packet.identification, flags=packet.flags & 0b110, dscp=packet.dscp,
                           ecn=packet.ecn),
    ),
    S.clean_ethernet_frames(), S.ipv4_packets(decoded=False), S.tcp_segments.map(lambda seg: seg.__class__(
        src_port=seg.src_port, dst_port=seg.dst_port, seq=seg.seq, ack=seg.ack, flags=seg.flags, window=seg.window,
        urgent=seg.urgent, options=seg.options, payload=seg.payload, reserved=seg.reserved)),
)

_any_tcp = st.builds(
    lambda frame, packet, segment: EthernetFrame(
        dst=frame.dst, src=frame.src, ethertype=0x0800,
        payload=IPv4Packet(src=packet.src, dst=packet.dst, protocol=6, payload=segment, ttl=packet.ttl,
                           identification=packet.identification, flags=packet.flags & 0b110, dscp=packet.dscp,
                           ecn=packet.ecn, options=packet.options, checksum=packet.checksum),
        vlan=frame.vlan, trailer=frame.trailer,
    ),
    S.clean_ethernet_frames(), S.ipv4_packets(decoded=False), S.tcp_segments,
)
tcp_frames = st.one_of(_eligible, _any_tcp)


@settings(max_examples=500)
@given(frame=st.one_of(tcp_frames, S.any_ethernet_frames))
def test_fast_encode_equals_the_general_encoder_or_declines(frame: EthernetFrame) -> None:
    fast = encode_ipv4_tcp(frame)
    general = _encode(frame)
    assert fast is None or fast == general
    assert frame.to_bytes() == general


@settings(max_examples=500)
@given(frame=st.one_of(tcp_frames, S.any_ethernet_frames), data=st.data())
def test_fast_decode_equals_the_general_decoder_or_declines(frame: EthernetFrame, data: st.DataObject) -> None:
    wire = frame.to_bytes()
    if data.draw(st.booleans()) and wire:  # and the same with one byte changed
        index = data.draw(st.integers(0, len(wire) - 1))
        wire = wire[:index] + bytes([wire[index] ^ data.draw(st.integers(1, 255))]) + wire[index + 1 :]
    try:
        general = _parse(wire, True, True)
    except WireError:
        general = None
    try:
        fast = decode_ipv4_tcp(wire, _make_frame)
    except WireError:
        assert general is None  # the fast path raises only what the general one raises too
        return
    assert fast is None or fast == general


def test_the_fast_path_takes_the_common_frame() -> None:
    from netsim.wire.samples import ipv4_frames

    data_frame = ipv4_frames()[4]  # a PSH/ACK with timestamps
    assert isinstance(data_frame.payload, IPv4Packet) and isinstance(data_frame.payload.payload, TCPSegment)
    wire = encode_ipv4_tcp(data_frame)
    assert wire is not None and decode_ipv4_tcp(wire, _make_frame) == data_frame
