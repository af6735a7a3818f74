"""Small inline-SVG charts for the Responsible-AI report: bars, grouped bars, curves, a heat grid, a histogram.

Why hand-written SVG and not matplotlib: the report must be one script-free page that opens offline
and under the web UI's preview policy (``default-src 'none'``), stay small, and render fast, and it
holds 15 to 30 charts. matplotlib's SVG writes every glyph as a path and styles each element one by
one: a 20-bar importance chart is 41 KB and a ROC curve 13 KB, and each takes tens of milliseconds
(hundreds on a loaded machine) to draw; a whole report of them would weigh about a megabyte and take
seconds. These builders write the same charts in 4 to 5 KB, in under a millisecond each, as plain
``<svg>`` elements (text as text: selectable, searchable, sized by the page's CSS, printed sharp).

Every function returns one ``<svg>`` element as a string, with a ``<title>`` (its accessible name);
every label is XML-escaped (column names and values come from the user's data). Numbers are written
compactly (``fmt``), axes carry a few round ticks (``nice_ticks``). The report puts a table beside
each chart, so the numbers are readable without the picture.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d",
           "#ff9da6", "#bab0ac")
"""Tableau-10 colours, in order: series ``i`` gets ``PALETTE[i % 10]``."""

_FONT = 'font-family="system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif" font-size="11"'
_AXIS = "#888"
_GRID = "#e4e4e4"
_CHAR = 6.2  # the width of an average character at 11 px, for laying labels out
_MAX_LABEL = 32  # longer labels are cut with an ellipsis (the full text is in the tables)


@dataclass(frozen=True)
class Series:
    """One curve of a line chart: its points and the name shown in the legend."""

    label: str
    x: Sequence[float] | np.ndarray
    y: Sequence[float] | np.ndarray


def fmt(value: float) -> str:
    """A number in a few characters: ``0.853``, ``12``, ``1.2k``, ``3.4M``, ``1.5e-05``; ``–`` when not finite."""
    if value is None or not math.isfinite(value):
        return "–"
    magnitude = abs(value)
    if magnitude >= 1e9:
        return f"{value:.2e}"
    if magnitude >= 1e6:
        return f"{value / 1e6:.3g}M"
    if magnitude >= 1e4:
        return f"{value / 1e3:.3g}k"
    if value == int(value):
        return str(int(value))
    if magnitude < 1e-3:
        return f"{value:.2g}"
    return f"{value:.3g}"


def _n(value: float) -> str:
    """A coordinate: one decimal at most."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _label(text: object) -> str:
    """A label, shortened and escaped for SVG text."""
    text = str(text)
    if len(text) > _MAX_LABEL:
        text = text[: _MAX_LABEL - 1] + "…"
    return escape(text)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering ``[low, high]`` (steps of 1, 2 or 5 times a power of ten)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"nice_ticks needs finite bounds, got {low!r} and {high!r}")
    if high < low:
        low, high = high, low
    if high == low:
        return [low]
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [float(round(k * step, 12)) for k in range(first, last + 1)]


def _domain(values: Sequence[float], *, include_zero: bool = True) -> tuple[float, float]:
    """The data's range (with zero for bars), widened to whole tick steps."""
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if include_zero:
        finite.append(0.0)
    if not finite:
        return 0.0, 1.0
    low, high = min(finite), max(finite)
    if low == high:  # one value (all zero, for bars): a unit range around it
        low, high = (0.0, 1.0) if include_zero else (low - (abs(low) / 2 or 1.0), high + (abs(high) / 2 or 1.0))
    ticks = nice_ticks(low, high)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else abs(high - low)
    return round(math.floor(low / step + 1e-9) * step, 12), round(math.ceil(high / step - 1e-9) * step, 12)


def _open(width: float, height: float, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {_n(width)} {_n(height)}" '
            f'width="{_n(width)}" height="{_n(height)}" role="img" aria-label="{escape(title)}" {_FONT}>'
            f"<title>{escape(title)}</title>")


def _label_width(labels: Sequence[object]) -> float:
    longest = max((min(len(str(label)), _MAX_LABEL) for label in labels), default=4)
    return min(8 + longest * _CHAR, 220)


def _x_axis(ticks: Sequence[float], scale, top: float, bottom: float, label: str = "") -> list[str]:
    """Vertical grid lines at the ticks, the tick values under the plot, the axis name below them."""
    parts = []
    for tick in ticks:
        x = _n(scale(tick))
        parts.append(f'<line x1="{x}" x2="{x}" y1="{_n(top)}" y2="{_n(bottom)}" stroke="{_GRID}"/>'
                     f'<text x="{x}" y="{_n(bottom + 13)}" text-anchor="middle" fill="#555">{fmt(tick)}</text>')
    if label:
        left, right = scale(ticks[0]), scale(ticks[-1])
        parts.append(f'<text x="{_n((left + right) / 2)}" y="{_n(bottom + 27)}" text-anchor="middle">'
                     f"{escape(label)}</text>")
    return parts


def _y_tick(left: float, y: float, tick: float) -> str:
    return f'<text x="{_n(left - 4)}" y="{_n(y + 4)}" text-anchor="end" fill="#555">{fmt(tick)}</text>'


def _legend(names: Sequence[str], x: float, y: float) -> list[str]:
    parts, offset = [], x
    for i, name in enumerate(names):
        color = PALETTE[i % len(PALETTE)]
        parts.append(f'<rect x="{_n(offset)}" y="{_n(y - 8)}" width="10" height="10" fill="{color}"/>'
                     f'<text x="{_n(offset + 14)}" y="{_n(y + 1)}">{_label(name)}</text>')
        offset += 24 + min(len(str(name)), _MAX_LABEL) * _CHAR
    return parts


def bar_chart(labels: Sequence[object], values: Sequence[float], *, title: str, value_label: str = "",
              reference: float | None = None, reference_label: str = "", color: str = PALETTE[0],
              width: int = 560) -> str:
    """Horizontal bars, one per label, with their values; an optional dashed reference line (an overall rate)."""
    if len(labels) != len(values):
        raise ValueError(f"bar_chart got {len(labels)} labels for {len(values)} values")
    values = [float(v) for v in values]
    left = _label_width(labels)
    row, top = 20.0, 8.0 + (14 if reference is not None and reference_label else 0)
    plot_bottom = top + row * max(len(values), 1)
    height = plot_bottom + (34 if value_label else 20)
    domain = _domain([*values, reference if reference is not None else 0.0])
    right = width - 44
    scale = _scale(domain, left, right)
    parts = [_open(width, height, title)]
    parts += _x_axis(nice_ticks(*domain), scale, top, plot_bottom, value_label)
    zero = scale(0.0)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row
        parts.append(f'<text x="{_n(left - 6)}" y="{_n(y + 14)}" text-anchor="end">{_label(label)}</text>')
        if not math.isfinite(value):
            parts.append(f'<text x="{_n(zero + 4)}" y="{_n(y + 14)}" fill="#555">n/a</text>')
            continue
        end = scale(value)
        parts.append(f'<rect x="{_n(min(zero, end))}" y="{_n(y + 3)}" width="{_n(max(abs(end - zero), 0.5))}" '
                     f'height="{_n(row - 6)}" fill="{color}"/>'
                     f'<text x="{_n(max(zero, end) + 4)}" y="{_n(y + 14)}">{fmt(value)}</text>')
    if reference is not None and math.isfinite(reference):
        x = _n(scale(reference))
        parts.append(f'<line x1="{x}" x2="{x}" y1="{_n(top - 2)}" y2="{_n(plot_bottom)}" stroke="#333" '
                     f'stroke-dasharray="4 3"/>')
        if reference_label:
            parts.append(f'<text x="{x}" y="{_n(top - 5)}" text-anchor="middle" fill="#333">'
                         f"{escape(reference_label)} {fmt(reference)}</text>")
    parts.append(f'<line x1="{_n(zero)}" x2="{_n(zero)}" y1="{_n(top)}" y2="{_n(plot_bottom)}" stroke="{_AXIS}"/>')
    parts.append("</svg>")
    return "".join(parts)


def grouped_bar_chart(groups: Sequence[object], series: Mapping[str, Sequence[float]], *, title: str,
                      value_label: str = "", width: int = 560) -> str:
    """Horizontal bars grouped by ``groups``: in each group, one bar per series (a metric), with a legend."""
    if not series:
        raise ValueError("grouped_bar_chart needs at least one series")
    for name, values in series.items():
        if len(values) != len(groups):
            raise ValueError(f"grouped_bar_chart: series {name!r} has {len(values)} values for {len(groups)} groups")
    names = list(series)
    bar, gap = 14.0, 8.0
    band = bar * len(names) + gap
    left, top = _label_width(groups), 22.0
    plot_bottom = top + band * max(len(groups), 1)
    height = plot_bottom + (34 if value_label else 20)
    domain = _domain([float(v) for values in series.values() for v in values])
    scale = _scale(domain, left, width - 44)
    parts = [_open(width, height, title), *_legend(names, left, 12)]
    parts += _x_axis(nice_ticks(*domain), scale, top, plot_bottom, value_label)
    zero = scale(0.0)
    for g, group in enumerate(groups):
        y0 = top + g * band + gap / 2
        parts.append(f'<text x="{_n(left - 6)}" y="{_n(y0 + band / 2)}" text-anchor="end">{_label(group)}</text>')
        for s, name in enumerate(names):
            value = float(series[name][g])
            if not math.isfinite(value):
                continue
            end, y = scale(value), y0 + s * bar
            parts.append(f'<rect x="{_n(min(zero, end))}" y="{_n(y + 1)}" width="{_n(max(abs(end - zero), 0.5))}" '
                         f'height="{_n(bar - 2)}" fill="{PALETTE[s % len(PALETTE)]}"/>'
                         f'<text x="{_n(max(zero, end) + 4)}" y="{_n(y + bar - 3)}" font-size="10">{fmt(value)}</text>')
    parts.append(f'<line x1="{_n(zero)}" x2="{_n(zero)}" y1="{_n(top)}" y2="{_n(plot_bottom)}" stroke="{_AXIS}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _scale(domain: tuple[float, float], start: float, end: float):
    low, high = domain
    span = (high - low) or 1.0
    return lambda value: start + (value - low) / span * (end - start)


def _path(xs: np.ndarray, ys: np.ndarray, sx, sy, *, step: bool) -> str:
    keep = np.isfinite(xs) & np.isfinite(ys)
    px, py = sx(xs[keep]), sy(ys[keep])
    if len(px) == 0:
        return ""
    if step:  # a step after each point, as a precision-recall curve is drawn
        px, py = np.repeat(px, 2)[1:], np.repeat(py, 2)[:-1]
    points = " ".join(f"{_n(x)},{_n(y)}" for x, y in zip(px.tolist(), py.tolist(), strict=True))
    return f"M{points}"


def line_chart(series: Sequence[Series], *, title: str, x_label: str, y_label: str, diagonal: bool = False,
               markers: bool = False, step: bool = False, x_domain: tuple[float, float] | None = None,
               y_domain: tuple[float, float] | None = None, legend: bool | None = None, width: int = 420,
               height: int = 320) -> str:
    """Curves on shared axes (ROC, precision-recall, calibration), with a legend (by default when there are several).

    ``diagonal`` draws the dashed line y = x (chance for ROC, perfect calibration); ``markers`` puts a
    dot on each point; ``step`` draws each curve as steps. Domains default to the data's range.
    """
    if not series:
        raise ValueError("line_chart needs at least one series")
    arrays = [(s.label, np.asarray(s.x, dtype=float), np.asarray(s.y, dtype=float)) for s in series]
    for label, xs, ys in arrays:
        if xs.shape != ys.shape or xs.ndim != 1:
            raise ValueError(f"line_chart: series {label!r} has x of shape {xs.shape} and y of shape {ys.shape}")
    x_domain = x_domain or _domain(np.concatenate([a[1] for a in arrays]).tolist(), include_zero=False)
    y_domain = y_domain or _domain(np.concatenate([a[2] for a in arrays]).tolist(), include_zero=False)
    legend_rows = len(arrays) if (len(arrays) > 1 if legend is None else legend) else 0
    left, right, top = 46.0, width - 12.0, 10.0
    bottom = height - 36.0 - 14 * legend_rows
    sx, sy = _scale(x_domain, left, right), _scale(y_domain, bottom, top)
    parts = [_open(width, height, title)]
    parts += _x_axis(nice_ticks(*x_domain), sx, top, bottom, x_label)
    for tick in nice_ticks(*y_domain):
        y = _n(sy(tick))
        parts.append(f'<line x1="{_n(left)}" x2="{_n(right)}" y1="{y}" y2="{y}" stroke="{_GRID}"/>'
                     + _y_tick(left, sy(tick), tick))
    parts.append(f'<text transform="translate(11 {_n((top + bottom) / 2)}) rotate(-90)" text-anchor="middle">'
                 f"{escape(y_label)}</text>"
                 f'<rect x="{_n(left)}" y="{_n(top)}" width="{_n(right - left)}" height="{_n(bottom - top)}" '
                 f'fill="none" stroke="{_AXIS}"/>')
    if diagonal:
        low, high = max(x_domain[0], y_domain[0]), min(x_domain[1], y_domain[1])
        parts.append(f'<line x1="{_n(sx(low))}" y1="{_n(sy(low))}" x2="{_n(sx(high))}" y2="{_n(sy(high))}" '
                     f'stroke="#999" stroke-dasharray="5 4"/>')
    for i, (label, xs, ys) in enumerate(arrays):
        color = PALETTE[i % len(PALETTE)]
        path = _path(xs, ys, sx, sy, step=step)
        if path:
            parts.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        if markers:
            keep = np.isfinite(xs) & np.isfinite(ys)
            parts += [f'<circle cx="{_n(x)}" cy="{_n(y)}" r="3" fill="{color}"/>'
                      for x, y in zip(sx(xs[keep]).tolist(), sy(ys[keep]).tolist(), strict=True)]
        if legend_rows:
            y = bottom + 44 + 14 * i
            parts.append(f'<rect x="{_n(left)}" y="{_n(y - 8)}" width="10" height="3" fill="{color}"/>'
                         f'<text x="{_n(left + 14)}" y="{_n(y - 4)}">{_label(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _blue(share: float) -> str:
    """A colour from near-white (0) to dark blue (1)."""
    share = min(max(share, 0.0), 1.0) if math.isfinite(share) else 0.0
    low, high = (247, 251, 255), (8, 48, 107)
    return "#" + "".join(f"{round(a + (b - a) * share):02x}" for a, b in zip(low, high, strict=True))


def heatmap(matrix: np.ndarray | Sequence[Sequence[float]], row_labels: Sequence[object],
            col_labels: Sequence[object], *, title: str, x_label: str, y_label: str) -> str:
    """A grid of counts (a confusion matrix): each cell shaded by its share of its row, with count and share."""
    values = np.asarray(matrix, dtype=float)
    if values.ndim != 2 or values.shape != (len(row_labels), len(col_labels)):
        raise ValueError(f"heatmap: a matrix of shape {values.shape} for {len(row_labels)} row and "
                         f"{len(col_labels)} column labels")
    rows, cols = values.shape
    totals = values.sum(axis=1, keepdims=True)
    shares = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    cell = max(22.0, min(64.0, 440.0 / max(rows, cols, 1)))
    left = _label_width(row_labels) + 16
    top = 10.0
    longest = max((min(len(str(c)), _MAX_LABEL) for c in col_labels), default=1)
    label_room = (min(longest * _CHAR * 0.6, 120) if longest * _CHAR > cell - 4 else 8) + 34
    width, height = left + cell * cols + 10, top + cell * rows + label_room
    parts = [_open(width, height, title)]
    small = cell < 44
    for r in range(rows):
        y = top + r * cell
        parts.append(f'<text x="{_n(left - 6)}" y="{_n(y + cell / 2 + 4)}" text-anchor="end">'
                     f"{_label(row_labels[r])}</text>")
        for c in range(cols):
            x, share = left + c * cell, float(shares[r, c])
            ink = "#fff" if share > 0.55 else "#222"
            parts.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(cell)}" height="{_n(cell)}" '
                         f'fill="{_blue(share)}" stroke="#fff"/>'
                         f'<text x="{_n(x + cell / 2)}" y="{_n(y + cell / 2 + (4 if small else 0))}" '
                         f'text-anchor="middle" fill="{ink}">{fmt(float(values[r, c]))}</text>')
            if not small:
                parts.append(f'<text x="{_n(x + cell / 2)}" y="{_n(y + cell / 2 + 13)}" text-anchor="middle" '
                             f'fill="{ink}" font-size="9">{share:.0%}</text>')
    grid_bottom = top + rows * cell
    slanted = any(min(len(str(c)), _MAX_LABEL) * _CHAR > cell - 4 for c in col_labels)
    for c in range(cols):
        x = left + c * cell + cell / 2
        place = (f'transform="translate({_n(x)} {_n(grid_bottom + 12)}) rotate(-30)" text-anchor="end"' if slanted
                 else f'x="{_n(x)}" y="{_n(grid_bottom + 14)}" text-anchor="middle"')
        parts.append(f"<text {place}>{_label(col_labels[c])}</text>")
    parts.append(f'<text x="{_n(left + cell * cols / 2)}" y="{_n(height - 4)}" text-anchor="middle">'
                 f"{escape(x_label)}</text>"
                 f'<text transform="translate(11 {_n(top + rows * cell / 2)}) rotate(-90)" text-anchor="middle">'
                 f"{escape(y_label)}</text></svg>")
    return "".join(parts)


def histogram(edges: Sequence[float] | np.ndarray, counts: Sequence[float] | np.ndarray, *, title: str,
              x_label: str, y_label: str = "count", width: int = 560, height: int = 220) -> str:
    """Adjacent vertical bars, bar ``i`` spanning ``edges[i]`` to ``edges[i + 1]``."""
    edges, counts = np.asarray(edges, dtype=float), np.asarray(counts, dtype=float)
    if edges.ndim != 1 or len(edges) != len(counts) + 1 or len(counts) == 0:
        raise ValueError(f"histogram needs len(edges) == len(counts) + 1 >= 2, got {len(edges)} edges and "
                         f"{len(counts)} counts")
    left, right, top, bottom = 46.0, width - 12.0, 10.0, height - 36.0
    x_domain = (float(edges[0]), float(edges[-1]))
    if x_domain[0] == x_domain[1]:
        x_domain = (x_domain[0] - 0.5, x_domain[1] + 0.5)
    y_domain = _domain(counts.tolist())
    sx, sy = _scale(x_domain, left, right), _scale(y_domain, bottom, top)
    parts = [_open(width, height, title)]
    parts += _x_axis(nice_ticks(*x_domain), sx, top, bottom, x_label)
    for tick in nice_ticks(*y_domain, count=4):
        parts.append(_y_tick(left, sy(tick), tick))
    parts.append(f'<text transform="translate(11 {_n((top + bottom) / 2)}) rotate(-90)" text-anchor="middle">'
                 f"{escape(y_label)}</text>")
    x0, x1, y = sx(edges[:-1]), sx(edges[1:]), sy(counts)
    for a, b, h in zip(x0.tolist(), x1.tolist(), y.tolist(), strict=True):
        if bottom - h > 0:
            parts.append(f'<rect x="{_n(a)}" y="{_n(h)}" width="{_n(max(b - a - 1, 0.5))}" height="{_n(bottom - h)}" '
                         f'fill="{PALETTE[0]}"/>')
    parts.append(f'<line x1="{_n(left)}" x2="{_n(right)}" y1="{_n(bottom)}" y2="{_n(bottom)}" stroke="{_AXIS}"/></svg>')
    return "".join(parts)


def downsample(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray,
               max_points: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points of a curve, evenly spaced along its length (first and last kept).

    Spacing by arc length (on axes scaled to unit range) keeps the shape of a ROC curve whose points
    crowd in one corner, where taking every k-th point would flatten its bends.
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise ValueError(f"downsample: x of shape {xs.shape} and y of shape {ys.shape}")
    if max_points < 2:
        raise ValueError(f"downsample keeps at least 2 points, got max_points={max_points}")
    if len(xs) <= max_points:
        return xs, ys
    span_x, span_y = _span(xs), _span(ys)
    steps = np.hypot(np.diff(xs) / span_x, np.diff(ys) / span_y)
    length = np.concatenate([[0.0], np.cumsum(np.nan_to_num(steps))])
    if length[-1] == 0:
        index = np.linspace(0, len(xs) - 1, max_points).round().astype(int)
    else:
        index = np.searchsorted(length, np.linspace(0.0, length[-1], max_points))
        index = np.clip(index, 0, len(xs) - 1)
        index[0], index[-1] = 0, len(xs) - 1
    index = np.unique(index)
    return xs[index], ys[index]


def _span(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(np.ptp(finite)) or 1.0 if len(finite) else 1.0
