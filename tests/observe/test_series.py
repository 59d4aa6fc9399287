"""Time series on the simulated clock: cwnd of a transfer, SYN-RECV under a flood; sampling
leaves the run (its trace hash) unchanged."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from netsim.observe.series import Sampler, connection_metric, state_count
from netsim.sim.records import Impairments
from netsim.sim.tcp_apps import ServerStats, bulk_sink
from netsim.units import MS
from tests.sim.topologies import two_hosts


def _transfer(sample: bool) -> tuple[Any, Sampler | None]:
    net, h1, h2 = two_hosts(rate="20Mbps", delay="10ms", impairments=Impairments(loss=0.002))
    net.process(bulk_sink(h2, 5001, stats=ServerStats()))
    sampler = Sampler(net, 10 * MS) if sample else None

    def sender() -> Any:
        sock = h1.socket("tcp")
        if sampler is not None:
            sampler.add("cwnd", connection_metric(sock, "cwnd"))
            sampler.add("ssthresh", connection_metric(sock, "ssthresh"))
            sampler.add("estab", state_count(h2, "ESTAB"))
        yield sock.connect(("10.0.0.2", 5001))
        yield sock.sendall(bytes(2_000_000))
        sock.close()

    net.process(sender())
    net.run("20s")
    return net, sampler


def test_cwnd_grows_in_slow_start_and_falls_after_a_loss_and_sampling_changes_nothing() -> None:
    net, sampler = _transfer(sample=True)
    assert sampler is not None
    cwnd = [value for _t, value in sampler.series["cwnd"]]
    assert len(cwnd) > 50
    assert cwnd[0] <= 10 * 1448 and max(cwnd) > 4 * cwnd[0]  # slow start from 10 segments
    # a reduction (PRR spreads it over a round trip: against the peak so far, not the last sample)
    assert any(later < peak * 0.8 for peak, later in zip(itertools.accumulate(cwnd, max), cwnd, strict=True))
    assert max(value for _t, value in sampler.series["estab"]) == 1
    times = [t for t, _v in sampler.series["cwnd"]]
    assert all(b - a == 10 * MS for a, b in itertools.pairwise(times))
    unsampled, _ = _transfer(sample=False)
    assert unsampled.trace_hash() == net.trace_hash()


def test_probes_refuse_unknown_names() -> None:
    net, h1, _h2 = two_hosts()
    with pytest.raises(ValueError, match="unknown connection metric"):
        connection_metric(h1.socket("tcp"), "speed")
    with pytest.raises(ValueError, match="unknown TCP state"):
        state_count(h1, "SORT-OF-OPEN")
    with pytest.raises(ValueError, match="positive"):
        Sampler(net, 0)
