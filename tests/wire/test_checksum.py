from __future__ import annotations

import struct

from hypothesis import assume, given
from hypothesis import strategies as st

from netsim.wire.checksum import (
    checksum_excluding,
    checksum_update,
    checksum_update_bytes,
    internet_checksum,
    sum16,
    sum16_from,
)


def _reference(data: bytes) -> int:
    """RFC 1071 §4.1, word by word with end-around carry."""
    if len(data) % 2:
        data += b"\x00"
    total = 0
    for (word,) in struct.iter_unpack("!H", data):
        total += word
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def test_rfc1071_example_sum() -> None:
    # RFC 1071 §3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2; the checksum is its complement
    assert internet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0xFFFF - 0xDDF2


def test_ipv4_header_known_checksum() -> None:
    header = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert internet_checksum(header) == 0xB861
    filled = header[:10] + b"\xb8\x61" + header[12:]
    assert internet_checksum(filled) == 0


def test_rfc1624_example_gives_zero_not_ffff() -> None:
    # RFC 1624 §4: HC = 0xDD2F, m = 0x5555 -> m' = 0x3285; eqn. 3 gives 0x0000 (eqn. 2 gave 0xFFFF)
    assert checksum_update(0xDD2F, 0x5555, 0x3285) == 0x0000


@given(st.binary(max_size=300))
def test_matches_word_by_word_reference(data: bytes) -> None:
    assert internet_checksum(data) == _reference(data)


def _reference_sum(data: bytes) -> int:
    """The one's-complement sum as a remainder modulo 0xFFFF, word by word."""
    return sum(word for (word,) in struct.iter_unpack("!H", data + bytes(len(data) % 2))) % 0xFFFF


# sizes past 256 and 8192 take sum16's other ways in the Python build; the compiled build's
# word loop must give the same remainders, from any start
@given(st.one_of(st.binary(max_size=300), st.binary(min_size=1400, max_size=1600),
                 st.binary(min_size=8100, max_size=8400)), st.integers(0, 9))
def test_sum16_matches_the_word_sums(data: bytes, start: int) -> None:
    assert sum16(data) == _reference_sum(data)
    assert sum16(memoryview(data)) == _reference_sum(data)
    assert sum16_from(data, start) == _reference_sum(data[start:])


@given(st.binary(max_size=300).map(lambda b: b + bytes(len(b) % 2)))
def test_data_with_its_checksum_sums_to_zero(data: bytes) -> None:
    checksum = internet_checksum(data)
    assert internet_checksum(data + checksum.to_bytes(2, "big")) == 0


@given(st.binary(min_size=2, max_size=200), st.data())
def test_checksum_excluding_ignores_the_field(data: bytes, draw: st.DataObject) -> None:
    offset = draw.draw(st.integers(0, (len(data) - 2) // 2)) * 2
    zeroed = data[:offset] + b"\x00\x00" + data[offset + 2 :]
    assert checksum_excluding(data, offset) == internet_checksum(zeroed)


@given(st.binary(min_size=20, max_size=60).map(lambda b: b[: len(b) // 2 * 2]), st.data())
def test_incremental_update_equals_recomputation(header: bytes, draw: st.DataObject) -> None:
    header = header[:10] + b"\x00\x00" + header[12:]
    checksum = internet_checksum(header)
    index = draw.draw(st.integers(0, len(header) // 2 - 1).filter(lambda i: i != 5)) * 2
    old = header[index : index + 2]
    new = draw.draw(st.binary(min_size=2, max_size=2))
    changed = header[:index] + new + header[index + 2 :]
    assume(any(changed))  # all-zero data has no non-negative-zero checksum; no real header is all zeros
    updated = checksum_update(checksum, int.from_bytes(old, "big"), int.from_bytes(new, "big"))
    # Both verify; they are equal except for one's-complement zero, which RFC 1624 §3 resolves to 0x0000
    assert internet_checksum(changed[:10] + updated.to_bytes(2, "big") + changed[12:]) == 0
    recomputed = internet_checksum(changed)
    assert updated == recomputed or {updated, recomputed} == {0, 0xFFFF}
    via_bytes = checksum_update_bytes(checksum, old, new)
    assert via_bytes == updated or {via_bytes, updated} == {0, 0xFFFF}


@given(st.binary(min_size=12, max_size=12), st.binary(min_size=4, max_size=4), st.binary(min_size=4, max_size=4))
def test_update_of_an_address_field(rest: bytes, old: bytes, new: bytes) -> None:
    assume(any(new + rest))
    checksum = internet_checksum(old + rest)
    updated = checksum_update_bytes(checksum, old, new)
    assert internet_checksum(new + rest + updated.to_bytes(2, "big")) == 0
