"""The bridge's MAC table: learning per VLAN, ageing, limits; agreement with a dict model."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsim.proto.mac_table import MACTable
from netsim.units import S
from netsim.wire.mac import MACAddress

A = MACAddress.parse("02:00:00:00:00:0a")
B = MACAddress.parse("02:00:00:00:00:0b")


def test_lookup_learned_mac_returns_port() -> None:
    table = MACTable()
    assert table.learn(1, A, "p1", 0)
    assert table.lookup(1, A, 10 * S) == "p1"
    assert table.lookup(1, B, 10 * S) is None


def test_lookup_other_vlan_is_a_miss() -> None:
    table = MACTable()
    table.learn(1, A, "p1", 0)
    table.learn(2, A, "p2", 0)
    assert table.lookup(1, A, 0) == "p1"
    assert table.lookup(2, A, 0) == "p2"
    assert table.lookup(3, A, 0) is None


def test_lookup_after_ageing_time_is_a_miss() -> None:
    table = MACTable()
    table.learn(1, A, "p1", 0)
    assert table.lookup(1, A, 300 * S - 1) == "p1"
    assert table.lookup(1, A, 300 * S) is None


def test_learn_refresh_extends_life_and_moves_station() -> None:
    table = MACTable(ageing_time=10 * S)
    table.learn(1, A, "p1", 0)
    table.learn(1, A, "p2", 8 * S)
    assert table.lookup(1, A, 17 * S) == "p2"


def test_learn_group_address_refused() -> None:
    table = MACTable()
    assert not table.learn(1, MACAddress.BROADCAST, "p1", 0)
    assert not table.learn(1, MACAddress.parse("01:00:5e:00:00:01"), "p1", 0)
    assert table.entries(0) == []


def test_learn_full_table_refuses_new_station_until_one_ages() -> None:
    table = MACTable(ageing_time=10 * S, limit=1)
    assert table.learn(1, A, "p1", 0)
    assert not table.learn(1, B, "p2", 5 * S)
    assert table.refused == 1
    assert table.learn(1, A, "p1", 5 * S)  # a known station is still refreshed
    assert table.learn(1, B, "p2", 15 * S)
    assert table.lookup(1, A, 15 * S) is None and table.lookup(1, B, 15 * S) == "p2"


def test_expire_removes_aged_entries_counts_them() -> None:
    table = MACTable(ageing_time=10 * S)
    table.learn(1, A, "p1", 0)
    table.learn(1, B, "p1", 5 * S)
    assert table.expire(10 * S) == 1
    assert [e.mac for e in table.entries(10 * S)] == [B]


def test_flush_port_forgets_its_entries() -> None:
    table = MACTable()
    table.learn(1, A, "p1", 0)
    table.learn(1, B, "p2", 0)
    assert table.flush(port="p1") == 1
    assert table.lookup(1, A, 0) is None and table.lookup(1, B, 0) == "p2"


def test_entries_sorted_by_vlan_then_mac_with_expiry() -> None:
    table = MACTable(ageing_time=10 * S)
    table.learn(2, A, "p1", 0)
    table.learn(1, B, "p2", 1 * S)
    table.learn(1, A, "p3", 2 * S)
    entries = table.entries(3 * S)
    assert [(e.vlan, e.mac, e.port) for e in entries] == [(1, A, "p3"), (1, B, "p2"), (2, A, "p1")]
    assert entries[0].expires_at == 12 * S
    assert str(entries[0]) == "02:00:00:00:00:0a dev p3 vlan 1"


def test_config_negative_ageing_raises() -> None:
    with pytest.raises(ValueError, match="ageing_time"):
        MACTable(ageing_time=-1)


_macs = st.integers(0, 5).map(lambda n: MACAddress(bytes([2, 0, 0, 0, 0, n])))
_operations = st.lists(
    st.one_of(
        st.tuples(st.just("learn"), st.integers(1, 2), _macs, st.sampled_from(["p1", "p2", "p3"])),
        st.tuples(st.just("lookup"), st.integers(1, 2), _macs, st.just("")),
        st.tuples(st.just("expire"), st.just(0), _macs, st.just("")),
    ).flatmap(lambda op: st.tuples(st.just(op), st.integers(0, 7 * S))),
    max_size=60,
)


@given(_operations, st.sampled_from([None, 1, 3]))
def test_mac_table_random_operations_agree_with_dict_model(
    operations: list[tuple[tuple[str, int, MACAddress, str], int]], limit: int | None
) -> None:
    ageing = 10 * S
    table = MACTable(ageing_time=ageing, limit=limit)
    model: dict[tuple[int, MACAddress], tuple[str, int]] = {}
    now = 0
    for (op, vlan, mac, port), step in operations:
        now += step

        def alive(key: tuple[int, MACAddress], now: int = now) -> bool:
            return key in model and now < model[key][1] + ageing

        if op == "learn":
            key = (vlan, mac)
            full = limit is not None and sum(map(alive, list(model))) >= limit
            expected = alive(key) or not full
            assert table.learn(vlan, mac, port, now) == expected
            if expected:
                model[key] = (port, now)
        elif op == "lookup":
            key = (vlan, mac)
            assert table.lookup(vlan, mac, now) == (model[key][0] if alive(key) else None)
        else:
            table.expire(now)
        live = sorted((k[0], k[1], v[0]) for k, v in model.items() if alive(k))
        assert [(e.vlan, e.mac, e.port) for e in table.entries(now)] == live
