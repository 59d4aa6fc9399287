"""RFC 6298 arithmetic, Linux's bounds, exponential backoff."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from netsim.proto.tcp.rtt import MS, RttEstimator, S


def test_initial_rto_is_one_second() -> None:
    assert RttEstimator().rto == 1 * S


def test_first_sample_sets_srtt_and_half_rttvar() -> None:
    estimator = RttEstimator()
    estimator.sample(100 * MS)
    assert (estimator.srtt, estimator.rttvar) == (100 * MS, 50 * MS)
    assert estimator.rto == 300 * MS  # 100 + max(4 * 50, 200)


def test_later_samples_smooth_as_rfc_6298_says() -> None:
    estimator = RttEstimator()
    estimator.sample(100 * MS)
    estimator.sample(200 * MS)
    assert estimator.rttvar == (3 * 50 * MS + 100 * MS) // 4  # 62.5 ms
    assert estimator.srtt == (7 * 100 * MS + 200 * MS) // 8  # 112.5 ms


def test_rto_never_below_linux_minimum_which_bounds_the_variance_term() -> None:
    estimator = RttEstimator()
    for _ in range(50):
        estimator.sample(1 * MS)
    assert estimator.rto == 201 * MS  # Linux: srtt + max(4 rttvar, TCP_RTO_MIN), "rto:201" in ss -i
    long_path = RttEstimator()
    for _ in range(50):
        long_path.sample(300 * MS)
    assert long_path.rto == 500 * MS  # not max(300 + 4 * ~0, 200): Linux keeps 200 ms of slack


def test_backoff_doubles_until_the_maximum_and_a_sample_resets_it() -> None:
    estimator = RttEstimator()
    timeouts = []
    for _ in range(10):
        timeouts.append(estimator.rto)
        estimator.on_timeout()
    assert timeouts[:8] == [1 * S, 2 * S, 4 * S, 8 * S, 16 * S, 32 * S, 64 * S, 120 * S]
    assert timeouts[8:] == [120 * S, 120 * S]
    estimator.sample(50 * MS)
    assert estimator.rto == 250 * MS and estimator.backoff == 0


@given(st.lists(st.integers(0, 10 * S), min_size=1, max_size=50))
def test_rto_stays_within_bounds(samples: list[int]) -> None:
    estimator = RttEstimator()
    for rtt in samples:
        estimator.sample(rtt)
        assert 200 * MS <= estimator.rto <= 120 * S
        assert estimator.srtt is not None and estimator.rto >= min(120 * S, estimator.srtt + 200 * MS)
        assert estimator.srtt is not None and 0 <= estimator.srtt <= 10 * S
