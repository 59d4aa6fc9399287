"""A host's descriptor table hands out the lowest free number from 3 up, as open(2) does."""

from __future__ import annotations

import errno

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netsim.sim.sockets import FileDescriptors


@given(st.integers(4, 40), st.lists(st.one_of(st.just(-1), st.integers(0, 45)), max_size=120))
def test_the_lowest_free_number_as_a_scan_of_the_table_finds_it(limit: int, ops: list[int]) -> None:
    # -1 opens a descriptor; n closes n (open or not); the limit may be lowered midway
    fds, table = FileDescriptors(limit), FileDescriptors(limit)
    for step, op in enumerate(ops):
        if step == len(ops) // 2:
            fds.limit = table.limit = max(3, limit - 5)
        if op >= 0:
            fds.release(op)
            table.table.pop(op, None)
            continue
        lowest = next((fd for fd in range(3, table.limit) if fd not in table.table), None)
        if lowest is None:
            with pytest.raises(OSError) as raised:
                fds.allocate(object())
            assert raised.value.errno == errno.EMFILE
        else:
            owner = object()
            assert fds.allocate(owner) == lowest
            table.table[lowest] = owner
        assert fds.table.keys() == table.table.keys()
