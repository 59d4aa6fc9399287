"""Line charts over simulated time, as inline SVG, with no plotting library.

A series is a list of ``(t_ns, value)`` samples of something that holds its value until the
next sample (a queue occupancy, a congestion window), so it is drawn as steps.  Series with
more points than the chart has pixels keep, per pixel column, the first, lowest, highest and
last value, so spikes survive the thinning.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from netsim.report.svg import esc, line, num, svg_open, text

WIDTH = 720
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 28, 40


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values from at or below ``low`` to at or above ``high``, 1, 2 or 5 times a power
    of ten apart, about ``count`` intervals."""
    if high <= low:
        high = low + 1
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [float(f"{k * step:.12g}") for k in range(first, last + 1)]


def _time_unit(span_ns: int) -> tuple[str, int]:
    for unit, scale in (("s", 10**9), ("ms", 10**6), ("\u00b5s", 10**3)):
        if span_ns >= 2 * scale:
            return unit, scale
    return "ns", 1


def _format_value(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


def _thin(points: list[tuple[int, float]], t0: int, t1: int, columns: int) -> list[tuple[int, float]]:
    if len(points) <= 4 * columns:
        return points
    buckets: dict[int, list[tuple[int, float]]] = {}
    span = max(t1 - t0, 1)
    for point in points:
        buckets.setdefault((point[0] - t0) * columns // span, []).append(point)
    kept: list[tuple[int, float]] = []
    for key in sorted(buckets):
        bucket = buckets[key]
        chosen = {0, len(bucket) - 1}
        chosen.add(min(range(len(bucket)), key=lambda i: (bucket[i][1], i)))
        chosen.add(max(range(len(bucket)), key=lambda i: (bucket[i][1], -i)))
        kept.extend(bucket[i] for i in sorted(chosen))
    return kept


def line_chart(name: str, samples: Sequence[tuple[int, float]], *, end: int | None = None) -> str:
    """One series as an inline ``<svg>`` step chart; ``end`` extends the last value to that time."""
    points = sorted((int(t), float(v)) for t, v in samples)
    if not points:
        return f'<p class="muted">{esc(name)}: no samples</p>'
    t0 = points[0][0]
    t1 = max(points[-1][0], end if end is not None else points[-1][0])
    if t1 == t0:
        t1 = t0 + 1
    values = [v for _, v in points]
    low = min(0.0, *values)
    high = max(values)
    y_ticks = nice_ticks(low, high if high > low else low + 1)
    y_low, y_high = y_ticks[0], y_ticks[-1]
    if y_high <= y_low:
        y_high = y_low + 1
    unit, scale = _time_unit(t1 - t0)
    x_ticks = nice_ticks(t0 / scale, t1 / scale)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def px(t: float) -> float:
        return LEFT + (t - t0) / (t1 - t0) * plot_w

    def py(v: float) -> float:
        return TOP + plot_h - (v - y_low) / (y_high - y_low) * plot_h

    out = [svg_open(WIDTH, HEIGHT, label=f"chart of {name}", cls="chart")]
    out.append(text(LEFT, 18, name, cls="chart-title"))
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" class="plot-area"/>')
    for tick in y_ticks:
        y = py(tick)
        out.append(line(LEFT, y, LEFT + plot_w, y, cls="grid"))
        out.append(text(LEFT - 6, y + 4, _format_value(tick), cls="tick", anchor="end"))
    for tick in x_ticks:
        x = px(tick * scale)
        if LEFT - 0.5 <= x <= LEFT + plot_w + 0.5:
            out.append(line(x, TOP, x, TOP + plot_h, cls="grid"))
            out.append(text(x, TOP + plot_h + 16, _format_value(tick), cls="tick", anchor="middle"))
    out.append(text(LEFT + plot_w / 2, HEIGHT - 6, f"simulated time ({unit})", cls="axis-label", anchor="middle"))
    thinned = _thin(points, t0, t1, plot_w)
    path = [f"M {num(px(thinned[0][0]))} {num(py(thinned[0][1]))}"]
    for (_, previous), (t, v) in itertools.pairwise(thinned):
        if v != previous:
            path.append(f"H {num(px(t))} V {num(py(v))}")
    path.append(f"H {num(px(t1))}")
    out.append(f'<path d="{" ".join(path)}" class="series" fill="none"/>')
    last_t, last_v = points[-1]
    out.append(f"<title>{esc(name)}: {len(points)} samples, last {_format_value(last_v)} at t={last_t} ns</title>")
    out.append("</svg>")
    return "\n".join(out)
