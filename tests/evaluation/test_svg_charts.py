"""The report's inline-SVG charts: well-formed, escaped, to scale, small; bad input refused."""

from __future__ import annotations

import math
import re
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from mlcask.evaluation import svg_charts
from mlcask.evaluation.svg_charts import (
    Series,
    bar_chart,
    downsample,
    fmt,
    grouped_bar_chart,
    heatmap,
    histogram,
    line_chart,
    nice_ticks,
)

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = 'a "b" </svg><script>alert(1)</script>'


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # well-formed XML, one <svg> element
    assert root.tag == f"{NS}svg"
    assert root.get("role") == "img"
    assert root[0].tag == f"{NS}title"
    return root


def rects(root: ET.Element) -> list[ET.Element]:
    return root.findall(f".//{NS}rect")


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{NS}text")]


@pytest.mark.parametrize(("value", "text"), [
    (0.85341, "0.853"), (12.0, "12"), (-3.0, "-3"), (12345.0, "12.3k"), (2_500_000.0, "2.5M"), (1.5e-05, "1.5e-05"),
    (3.2e10, "3.20e+10"), (0.0, "0"), (float("nan"), "–"), (float("inf"), "–"), (None, "–")])
def test_fmt_is_compact(value, text):
    assert fmt(value) == text


def test_nice_ticks_are_round_and_cover_the_range():
    assert nice_ticks(0, 1) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 1, count=2) == [0.0, 0.5, 1.0]
    assert nice_ticks(-0.37, 2.91) == [0.0, 1.0, 2.0]
    assert nice_ticks(-47, 12) == [-40.0, -20.0, 0.0]
    assert 3 <= len(nice_ticks(13, 987)) <= 8
    assert nice_ticks(5, 5) == [5]
    assert nice_ticks(1, 0) == nice_ticks(0, 1)
    with pytest.raises(ValueError, match="finite bounds"):
        nice_ticks(0, float("nan"))


def test_bar_chart_draws_each_value_to_scale_with_labels_and_a_reference():
    root = parse(bar_chart(["a", "b", "c"], [0.2, 0.4, 0.8], title="Error rate", reference=0.5,
                           reference_label="overall", value_label="rate"))
    assert root[0].text == "Error rate" and root.get("aria-label") == "Error rate"
    widths = [float(r.get("width")) for r in rects(root)]
    assert len(widths) == 3
    assert widths[1] / widths[0] == pytest.approx(2, rel=0.02) and widths[2] / widths[0] == pytest.approx(4, rel=0.02)
    shown = texts(root)
    assert {"a", "b", "c", "0.2", "0.4", "0.8", "rate"} <= set(shown)
    assert "overall 0.5" in shown
    dashed = [line for line in root.iter(f"{NS}line") if line.get("stroke-dasharray")]
    assert len(dashed) == 1


def test_bar_chart_negative_and_missing_values():
    root = parse(bar_chart(["up", "down", "none"], [1.0, -0.5, float("nan")], title="t"))
    bars = rects(root)
    assert len(bars) == 2  # no bar for NaN, "n/a" written instead
    assert "n/a" in texts(root)
    up, down = bars
    assert float(down.get("x")) + float(down.get("width")) == pytest.approx(float(up.get("x")), abs=0.2)  # from zero


def test_bar_chart_refuses_mismatched_input():
    with pytest.raises(ValueError, match="2 labels for 3 values"):
        bar_chart(["a", "b"], [1, 2, 3], title="t")


def test_labels_and_titles_are_escaped():
    for svg in (bar_chart([HOSTILE], [1.0], title=HOSTILE, value_label=HOSTILE, reference=0.5, reference_label=HOSTILE),
                grouped_bar_chart([HOSTILE], {HOSTILE: [1.0]}, title=HOSTILE),
                line_chart([Series(HOSTILE, [0, 1], [0, 1])], title=HOSTILE, x_label=HOSTILE, y_label=HOSTILE,
                           legend=True),
                heatmap([[1]], [HOSTILE], [HOSTILE], title=HOSTILE, x_label=HOSTILE, y_label=HOSTILE),
                histogram([0, 1], [3], title=HOSTILE, x_label=HOSTILE, y_label=HOSTILE)):
        assert "<script" not in svg and "</svg><" not in svg[:-6]
        root = parse(svg)
        assert root[0].text == HOSTILE and root.get("aria-label") == HOSTILE
        assert root.findall(f".//{NS}script") == [] and svg.count("<svg") == 1 and svg.endswith("</svg>")
        # the label is there as text (whole, or cut with an ellipsis)
        assert any(len(t) > 20 and HOSTILE.startswith(t.removesuffix("…")) for t in texts(root))


def test_long_labels_are_shortened():
    root = parse(bar_chart(["x" * 80], [1.0], title="t"))
    label = next(t for t in texts(root) if t.startswith("x"))
    assert label.endswith("…") and len(label) <= 32


def test_grouped_bar_chart_has_one_bar_per_group_and_series_and_a_legend():
    root = parse(grouped_bar_chart(["F", "M", "X"], {"accuracy": [0.8, 0.9, 0.6], "recall": [0.5, 0.7, float("nan")]},
                                   title="per group"))
    bars = [r for r in rects(root) if float(r.get("height")) > 10]  # legend swatches are 10 high
    assert len(bars) == 5
    fills = {r.get("fill") for r in bars}
    assert fills == {svg_charts.PALETTE[0], svg_charts.PALETTE[1]}
    assert {"F", "M", "X", "accuracy", "recall"} <= set(texts(root))
    with pytest.raises(ValueError, match="series 'recall' has 1 values for 3 groups"):
        grouped_bar_chart(["F", "M", "X"], {"accuracy": [1, 2, 3], "recall": [1]}, title="t")
    with pytest.raises(ValueError, match="at least one series"):
        grouped_bar_chart(["F"], {}, title="t")


def path_points(root: ET.Element) -> list[list[tuple[float, float]]]:
    out = []
    for path in root.iter(f"{NS}path"):
        pairs = path.get("d")[1:].split()
        out.append([tuple(map(float, p.split(","))) for p in pairs])
    return out


def test_line_chart_maps_points_to_the_plot_with_diagonal_and_legend():
    root = parse(line_chart([Series("roc", [0, 0.5, 1], [0, 0.8, 1]), Series("other", [0, 1], [0, 1])],
                            title="ROC", x_label="FPR", y_label="TPR", diagonal=True, x_domain=(0, 1), y_domain=(0, 1)))
    curves = path_points(root)
    assert len(curves) == 2 and len(curves[0]) == 3
    (x0, y0), (x1, y1), (x2, y2) = curves[0]
    assert x0 < x1 < x2 and y0 > y1 > y2  # y grows upward
    assert (x1 - x0) == pytest.approx(x2 - x1, abs=0.2)
    assert (y0 - y1) / (y0 - y2) == pytest.approx(0.8, abs=0.01)
    assert any(line.get("stroke-dasharray") for line in root.iter(f"{NS}line"))
    assert {"roc", "other", "FPR", "TPR"} <= set(texts(root))


def test_line_chart_steps_markers_and_missing_points():
    root = parse(line_chart([Series("pr", [0, 0.5, float("nan"), 1], [1, 0.9, 0.5, 0.4])], title="PR", x_label="r",
                            y_label="p", step=True, markers=True))
    (points,) = path_points(root)
    assert len(points) == 5  # 3 finite points as steps: 2 * 3 - 1
    assert len(root.findall(f".//{NS}circle")) == 3
    assert "pr" not in texts(root)  # one series: no legend by default
    with pytest.raises(ValueError, match="shape"):
        line_chart([Series("bad", [0, 1], [0])], title="t", x_label="x", y_label="y")
    with pytest.raises(ValueError, match="at least one series"):
        line_chart([], title="t", x_label="x", y_label="y")


def test_heatmap_shades_by_row_share_and_writes_counts():
    root = parse(heatmap([[90, 10], [30, 70]], ["no", "yes"], ["no", "yes"], title="Confusion", x_label="predicted",
                         y_label="true"))
    cells = rects(root)
    assert len(cells) == 4
    darkness = [sum(int(c.get("fill")[i:i + 2], 16) for i in (1, 3, 5)) for c in cells]
    assert darkness[0] < darkness[3] < darkness[2] < darkness[1]  # 90% darkest, then 70%, 30%, 10%
    shown = texts(root)
    assert {"90", "10", "30", "70", "90%", "10%", "30%", "70%", "predicted", "true"} <= set(shown)
    with pytest.raises(ValueError, match=r"shape \(2, 2\) for 3 row"):
        heatmap([[1, 2], [3, 4]], ["a", "b", "c"], ["a", "b"], title="t", x_label="x", y_label="y")


def test_heatmap_with_an_empty_row():
    root = parse(heatmap([[0, 0], [1, 1]], ["a", "b"], ["a", "b"], title="t", x_label="x", y_label="y"))
    assert len(rects(root)) == 4


def test_histogram_bars_follow_counts():
    root = parse(histogram([0, 1, 2, 3], [10, 0, 5], title="residuals", x_label="r"))
    bars = rects(root)
    assert len(bars) == 2  # the empty bin draws nothing
    assert float(bars[0].get("height")) == pytest.approx(2 * float(bars[1].get("height")), rel=0.01)
    with pytest.raises(ValueError, match="len\\(edges\\) == len\\(counts\\) \\+ 1"):
        histogram([0, 1], [1, 2], title="t", x_label="x")
    parse(histogram([2, 2], [4], title="one value", x_label="x"))  # a zero-width range still draws


def test_downsample_keeps_ends_and_shape():
    x = np.linspace(0, 1, 20_000) ** 4  # points crowded near 0, as on a ROC curve
    y = np.sqrt(x)
    xs, ys = downsample(x, y, 300)
    assert len(xs) <= 300 and len(xs) > 200
    assert (xs[0], ys[0], xs[-1], ys[-1]) == (x[0], y[0], x[-1], y[-1])
    assert np.all(np.diff(xs) >= 0)
    # The curve through the kept points stays close to the full one.
    assert np.max(np.abs(np.interp(x, xs, ys) - y)) < 0.01
    small_x, small_y = downsample([0, 1, 2], [3, 4, 5], 300)
    assert small_x.tolist() == [0, 1, 2] and small_y.tolist() == [3, 4, 5]
    flat_x, _ = downsample(np.zeros(1000), np.zeros(1000), 50)
    assert len(flat_x) <= 50
    with pytest.raises(ValueError, match="shape"):
        downsample([0, 1], [0], 10)
    with pytest.raises(ValueError, match="at least 2"):
        downsample([0, 1, 2], [0, 1, 2], 1)


def test_charts_are_small_and_fast():
    x = np.linspace(0, 1, 300)
    start = time.perf_counter()
    curve = line_chart([Series("c", x, np.sqrt(x))], title="t", x_label="x", y_label="y", diagonal=True)
    bars = bar_chart([f"feature {i}" for i in range(20)], np.linspace(1, 0, 20), title="importance")
    elapsed = time.perf_counter() - start
    assert len(curve) < 8_000 and len(bars) < 6_000
    assert elapsed < 0.05
    # Coordinates carry one decimal at most.
    assert not re.search(r"\d\.\d\d", re.sub(r">[^<]*<", "><", curve.split("</title>", 1)[1]))
    assert math.isfinite(float(ET.fromstring(curve).get("width")))
