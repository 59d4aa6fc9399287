"""The tiny SVG plotter: round ticks that cover the data, paths that stay inside the plot, spikes
that survive thinning."""

from __future__ import annotations

import re

from hypothesis import assume, given
from hypothesis import strategies as st

from netsim.report.plots import BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH, line_chart, nice_ticks


@given(st.floats(-1e9, 1e9), st.floats(0, 1e9))
def test_ticks_cover_the_range(low: float, span: float) -> None:
    assume(span == 0 or span > 1e-6 * max(1.0, abs(low)))  # charts of counts and times, not of float noise
    high = low + span
    ticks = nice_ticks(low, high)
    assert 2 <= len(ticks) <= 12
    slack = 1e-6 * (ticks[1] - ticks[0])  # a sliver of a step, for floating point
    assert ticks[0] <= low + slack and ticks[-1] >= high - slack
    assert ticks == sorted(ticks)


def _path_points(svg: str) -> list[tuple[float, float]]:
    d = re.search(r'<path d="([^"]+)" class="series"', svg)
    assert d is not None
    points: list[tuple[float, float]] = []
    x = y = 0.0
    for command, value in re.findall(r"([MHV]) ?([-\d.]+(?: [-\d.]+)?)", d[1]):
        if command == "M":
            x, y = (float(v) for v in value.split())
        elif command == "H":
            x = float(value)
        else:
            y = float(value)
        points.append((x, y))
    return points


def test_the_line_stays_inside_the_plot() -> None:
    svg = line_chart("cwnd", [(0, 14480), (30_000_000, 28960), (40_000_000, 57920), (60_000_000, 28960)],
                     end=100_000_000)
    points = _path_points(svg)
    assert all(LEFT - 0.01 <= x <= WIDTH - RIGHT + 0.01 and TOP - 0.01 <= y <= HEIGHT - BOTTOM + 0.01
               for x, y in points)
    assert points[-1][0] == WIDTH - RIGHT  # held to the end of the run
    assert "60000" in svg and "simulated time (ms)" in svg


def test_a_spike_survives_thinning() -> None:
    samples = [(t * 1000, 1.0) for t in range(100_000)]
    samples[54_321] = (54_321_000, 50.0)
    svg = line_chart("queue", samples)
    assert svg.count(" V ") < 3000
    ys = [y for _x, y in _path_points(svg)]
    assert min(ys) == TOP  # the spike reaches the top tick (50)


def test_one_sample_and_no_samples() -> None:
    assert "<svg" in line_chart("one", [(5, 3)])
    assert "no samples" in line_chart("none", [])
