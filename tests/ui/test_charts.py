"""Metric charts in real headless Chromium: drawn with uPlot from get-history-bulk-interval's min/max
sampling, several runs overlaid, the x-axis switch, log scale, smoothing, drag to zoom (the zoomed
range fetched again), lazy fetching as charts scroll into view, the key filter, and a spike in
100,000 steps that survives into what is drawn."""

from __future__ import annotations

import json
import math
import uuid
from urllib.parse import parse_qs, quote, urlparse

import pytest

from tests.ui.conftest import open_ui

pytestmark = pytest.mark.browser
BULK = "/metrics/get-history-bulk-interval"


def make_experiment(server, prefix: str = "charts") -> str:
    answer = server.api("POST", "/experiments/create", json={"name": f"{prefix}-{uuid.uuid4().hex[:8]}"})
    assert answer.status_code == 200, answer.text
    return answer.json()["experiment_id"]


def make_run(server, experiment_id: str, name: str, metrics: dict | None = None, params: dict | None = None,
             start_ms: int = 1_700_000_000_000) -> str:
    """A run with ``metrics`` ({key: [value at step 0, 1, ...]}) logged through runs/log-batch, 1000 a call."""
    answer = server.api("POST", "/runs/create", json={"experiment_id": experiment_id, "run_name": name,
                                                      "start_time": start_ms})
    assert answer.status_code == 200, answer.text
    run_id = answer.json()["run"]["info"]["run_id"]
    points = [{"key": key, "value": value, "step": step, "timestamp": start_ms + 1000 * step}
              for key, values in (metrics or {}).items() for step, value in enumerate(values)]
    bodies = [{"run_id": run_id, "params": [{"key": k, "value": str(v)} for k, v in (params or {}).items()]}]
    bodies += [{"run_id": run_id, "metrics": points[start:start + 1000]} for start in range(0, len(points), 1000)]
    for body in bodies:
        logged = server.api("POST", "/runs/log-batch", json=body)
        assert logged.status_code == 200, logged.text
    return run_id


def ids_query(run_ids, experiment_id) -> str:
    return f"runs={quote(json.dumps(run_ids))}&experiments={quote(json.dumps([experiment_id]))}"


def wait_ready(page, selector: str = "[data-testid=metric-chart][data-ready=true]", count: int = 1):
    page.wait_for_function("([s, n]) => document.querySelectorAll(s).length >= n", arg=[selector, count],
                           timeout=20_000)


def plot_state(page, index: int = 0) -> dict:
    """What the uPlot instance of the index-th chart holds."""
    return page.evaluate("""(index) => {
      const el = document.querySelectorAll('[data-testid=metric-chart]')[index];
      const u = el.__uplot;
      const ctx = u.ctx;
      const pixels = ctx.getImageData(0, 0, u.ctx.canvas.width, u.ctx.canvas.height).data;
      let painted = 0;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
      return { ready: el.dataset.ready, series: u.series.map((s) => ({ label: s.label, alpha: s.alpha })),
        x: Array.from(u.data[0]), ys: u.data.slice(1).map((ys) => Array.from(ys)), time: u.scales.x.time,
        distr: u.scales.y.distr, painted, width: u.width };
    }""", index)


@pytest.fixture(scope="module")
def three_runs(ui_server):
    experiment_id = make_experiment(ui_server)
    runs = [make_run(ui_server, experiment_id, f"run-{i}",
                     {"loss": [(i + 1) * math.exp(-s / 300) + 0.05 * math.sin(s) for s in range(2000)],
                      "acc": [s / 2000 for s in range(50)]}) for i in range(3)]
    return experiment_id, runs


def test_a_chart_draws_several_runs_and_its_controls_work(ui_page, ui_server, three_runs):
    experiment_id, runs = three_runs
    open_ui(ui_page, ui_server, f"/metric/loss?{ids_query(runs, experiment_id)}")
    wait_ready(ui_page)
    state = plot_state(ui_page)
    assert [s["label"] for s in state["series"][1:]] == ["run-0", "run-1", "run-2"]
    assert state["painted"] > 1000  # lines were drawn on the canvas
    assert state["x"][0] == 0 and state["x"][-1] == 1999 and not state["time"]
    assert all(len(ys) == len(state["x"]) for ys in state["ys"])
    legend = ui_page.locator(".chart-legend a")
    assert legend.all_inner_texts() == ["run-0", "run-1", "run-2"]
    assert legend.first.get_attribute("href") == f"#/experiments/{experiment_id}/runs/{runs[0]}"

    ui_page.select_option("[data-testid=chart-x-mode]", "wall")
    ui_page.wait_for_function("() => document.querySelector('[data-testid=metric-chart]').__uplot.scales.x.time === true")
    wall = plot_state(ui_page)
    assert wall["x"][0] == pytest.approx(1_700_000_000) and wall["x"][-1] == pytest.approx(1_700_000_000 + 1999)
    ui_page.select_option("[data-testid=chart-x-mode]", "relative")
    ui_page.wait_for_function("() => document.querySelector('[data-testid=metric-chart]').__uplot.scales.x.time === false")
    relative = plot_state(ui_page)
    assert relative["x"][0] == 0 and relative["x"][-1] == pytest.approx(1999)

    ui_page.check("[data-testid=chart-log-y]")
    ui_page.wait_for_function("() => document.querySelector('[data-testid=metric-chart]').__uplot.scales.y.distr === 3")
    assert plot_state(ui_page)["ready"] == "true"
    ui_page.uncheck("[data-testid=chart-log-y]")

    ui_page.fill("[data-testid=chart-smoothing]", "0.9")
    ui_page.wait_for_function("() => document.querySelector('[data-testid=metric-chart]').__uplot.series.length === 7")
    smoothed = plot_state(ui_page)
    assert [s["alpha"] for s in smoothed["series"][1:]] == [0.3, 1, 0.3, 1, 0.3, 1]  # raw kept faint
    raw, ema = smoothed["ys"][0], smoothed["ys"][1]
    assert [i for i, v in enumerate(raw) if v is None] == [i for i, v in enumerate(ema) if v is None]

    def wiggle(ys):
        ys = [v for v in ys[100:] if v is not None]
        return sum(abs(a - b) for a, b in zip(ys, ys[1:]))

    assert wiggle(ema) < wiggle(raw) / 3


def test_drag_to_zoom_fetches_the_step_range(ui_page, ui_server, three_runs):
    experiment_id, runs = three_runs
    open_ui(ui_page, ui_server, f"/metric/loss?{ids_query(runs, experiment_id)}")
    wait_ready(ui_page)
    box = ui_page.locator(".chart-plot .u-over").bounding_box()
    y = box["y"] + box["height"] / 2
    ui_page.mouse.move(box["x"] + box["width"] * 0.25, y)
    ui_page.mouse.down()
    ui_page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=5)
    ui_page.mouse.up()
    ui_page.wait_for_selector("text=Reset zoom")
    wait_ready(ui_page)
    zoomed = [parse_qs(urlparse(url).query) for url in ui_page.requests if BULK in url and "start_step" in url]
    assert zoomed and zoomed[-1]["sampling"] == ["min_max"]
    start, end = int(zoomed[-1]["start_step"][0]), int(zoomed[-1]["end_step"][0])
    assert 400 < start < 600 and 900 < end < 1100
    state = plot_state(ui_page)
    assert state["x"][0] >= start and state["x"][-1] <= end
    ui_page.click("text=Reset zoom")
    ui_page.wait_for_function("() => document.querySelector('[data-testid=metric-chart]').__uplot.data[0].at(-1) === 1999")


def test_a_spike_in_100000_steps_survives_into_the_chart(ui_page, ui_server):
    experiment_id = make_experiment(ui_server, "spike")
    values = [1.0 + (s % 100) / 1000 for s in range(100_000)]
    values[54_321] = 1000.0
    run_id = make_run(ui_server, experiment_id, "spiky", {"loss": values})
    open_ui(ui_page, ui_server, f"/metric/loss?{ids_query([run_id], experiment_id)}")
    wait_ready(ui_page)
    state = plot_state(ui_page)
    assert len(state["x"]) <= 2500
    assert state["ys"][0][state["x"].index(54_321)] == 1000.0
    asked = [parse_qs(urlparse(url).query) for url in ui_page.requests if BULK in url]
    assert asked[0]["sampling"] == ["min_max"] and int(asked[0]["max_results"][0]) <= 2500


def test_the_grid_fetches_charts_as_they_scroll_into_view_and_filters_keys(ui_page, ui_server):
    experiment_id = make_experiment(ui_server, "many")
    metrics = {f"m{k:03d}": [k + s / 10 for s in range(5)] for k in range(60)}
    run_id = make_run(ui_server, experiment_id, "wide", metrics)
    open_ui(ui_page, ui_server, f"/compare-runs?{ids_query([run_id], experiment_id)}")
    ui_page.wait_for_selector("[data-testid=metric-chart]")
    assert ui_page.locator("[data-testid=metric-chart]").count() == 60
    assert sum(BULK in url for url in ui_page.requests) == 0  # the charts are below the table: none fetched yet
    ui_page.locator("[data-testid=metric-chart]").first.scroll_into_view_if_needed()
    wait_ready(ui_page)
    first_wave = sum(BULK in url for url in ui_page.requests)
    assert 1 <= first_wave < 30, first_wave  # not every chart at once
    ui_page.locator("[data-testid=metric-chart][data-metric-key=m059]").scroll_into_view_if_needed()
    wait_ready(ui_page, "[data-testid=metric-chart][data-metric-key=m059][data-ready=true]")
    assert sum(BULK in url for url in ui_page.requests) > first_wave
    last = ui_page.evaluate("document.querySelector('[data-metric-key=m059]').__uplot.data[1]")
    assert last == pytest.approx([59 + s / 10 for s in range(5)])

    ui_page.fill("[data-testid=chart-filter]", "m05")
    assert ui_page.locator("[data-testid=metric-chart]").count() == 10
    ui_page.fill("[data-testid=chart-filter]", "nothing-like-this")
    ui_page.wait_for_selector("text=No metric key contains")


def test_charts_fit_a_phone_and_follow_the_theme(browser, ui_server, three_runs):
    from tests.ui.conftest import new_page

    experiment_id, runs = three_runs
    page = new_page(browser, viewport={"width": 390, "height": 800})
    try:
        open_ui(page, ui_server, f"/metric/loss?{ids_query(runs, experiment_id)}")
        wait_ready(page)
        width = plot_state(page)["width"]
        assert 200 < width <= 390
        assert page.evaluate("document.documentElement.scrollWidth") <= 400
        axis_before = page.evaluate("document.querySelector('[data-testid=metric-chart]').__uplot.axes[0].stroke()")
        page.select_option("header.top select", "dark")
        page.wait_for_function("(before) => document.querySelector('[data-testid=metric-chart]').__uplot"
                               " && document.querySelector('[data-testid=metric-chart]').__uplot.axes[0].stroke()"
                               " !== before", arg=axis_before)
        assert not page.console_errors, page.console_errors
    finally:
        page.context.close()


@pytest.mark.slow
def test_twenty_runs_of_10000_steps_draw_fast(ui_page, ui_server):
    experiment_id = make_experiment(ui_server, "twenty")
    runs = [make_run(ui_server, experiment_id, f"r{i:02d}", {"loss": [i + math.sin(s / 50) for s in range(10_000)]})
            for i in range(20)]
    open_ui(ui_page, ui_server, f"/metric/loss?{ids_query(runs, experiment_id)}")
    wait_ready(ui_page)
    state = plot_state(ui_page)
    assert len(state["series"]) == 21 and state["painted"] > 1000
    draw_ms = int(ui_page.get_attribute("[data-testid=metric-chart]", "data-draw-ms"))
    assert draw_ms < 1000, draw_ms


def test_log_scale_leaves_out_values_it_cannot_show(ui_page, ui_server):
    experiment_id = make_experiment(ui_server, "log")
    negative = make_run(ui_server, experiment_id, "negative", {"gain": [-1.0 - s for s in range(20)]})
    mixed = make_run(ui_server, experiment_id, "mixed", {"gain": [10.0 ** (s - 5) if s % 2 else -1.0 for s in range(20)]})
    open_ui(ui_page, ui_server, f"/metric/gain?{ids_query([negative, mixed], experiment_id)}")
    wait_ready(ui_page)
    ui_page.check("[data-testid=chart-log-y]")
    ui_page.wait_for_function("() => document.querySelector('[data-testid=metric-chart]').__uplot.scales.y.distr === 3")
    state = plot_state(ui_page)
    assert all(v is None for v in state["ys"][0])
    assert [v for v in state["ys"][1] if v is not None] == pytest.approx([10.0 ** (s - 5) for s in range(1, 20, 2)])
    assert state["painted"] > 100
