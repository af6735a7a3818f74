"""The compare-runs page (#/compare-runs?runs=[...]&experiments=[...], MLflow's URL form) in real
headless Chromium: the params/metrics table and its diff-only toggle, parallel coordinates (a line
per run, numeric and categorical axes, hover), the scatter plot, the overlaid charts, and clear
errors for a malformed query or unknown runs. Names with markup show as text."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.ui.conftest import new_page, open_ui
from tests.ui.test_charts import ids_query, make_experiment, make_run, wait_ready

pytestmark = pytest.mark.browser
XSS_NAME = '<img src=x onerror="window.__xss=1">run'


@pytest.fixture(scope="module")
def compared(ui_server):
    experiment_id = make_experiment(ui_server, "compare")
    specs = [("adam", 0.1, 0.91, 0.30), ("sgd", 0.01, 0.85, 0.45), ("adam", 0.001, 0.88, 0.38)]
    runs = []
    for i, (optimizer, lr, acc, loss) in enumerate(specs):
        name = XSS_NAME if i == 1 else f"cmp-{i}"
        runs.append(make_run(ui_server, experiment_id, name,
                             {"acc": [acc / 2, acc], "loss": [loss * 2, loss]},
                             {"optimizer": optimizer, "lr": lr, "seed": 42}))
    return experiment_id, runs


def test_table_with_the_diff_only_toggle(ui_page, ui_server, compared):
    experiment_id, runs = compared
    open_ui(ui_page, ui_server, f"/compare-runs?{ids_query(runs, experiment_id)}")
    table = ui_page.locator("[data-testid=compare-table]")
    table.wait_for()
    heads = table.locator("thead th a")
    assert heads.all_inner_texts() == ["cmp-0", XSS_NAME, "cmp-2"]
    assert heads.nth(1).get_attribute("href") == f"#/experiments/{experiment_id}/runs/{runs[1]}"
    rows = ui_page.locator("[data-testid=compare-row]")
    keys = [rows.nth(i).get_attribute("data-key") for i in range(rows.count())]
    assert keys == ["param:lr", "param:optimizer", "param:seed", "metric:acc", "metric:loss"]
    seed = ui_page.locator("[data-testid=compare-row][data-key='param:seed'] td")
    assert seed.all_inner_texts() == ["42", "42", "42"]
    assert ui_page.locator("[data-testid=compare-row][data-key='metric:acc'] td").all_inner_texts() == [
        "0.91", "0.85", "0.88"]
    ui_page.check("[data-testid=compare-diff-only]")
    ui_page.wait_for_selector("[data-testid=compare-row][data-key='param:seed']", state="detached")
    assert rows.count() == 4
    ui_page.uncheck("[data-testid=compare-diff-only]")
    assert rows.count() == 5
    assert ui_page.evaluate("window.__xss") is None and ui_page.locator("main img").count() == 0


def test_parallel_coordinates_draw_a_line_per_run_and_show_it_on_hover(ui_page, ui_server, compared):
    experiment_id, runs = compared
    open_ui(ui_page, ui_server, f"/compare-runs?{ids_query(runs, experiment_id)}")
    svg = ui_page.locator("[data-testid=parallel-coordinates]")
    svg.wait_for()
    lines = svg.locator("[data-testid=parallel-line]")
    assert lines.count() == 3
    assert [lines.nth(i).get_attribute("data-run-id") for i in range(3)] == runs
    # Default axes: the params that differ (lr, optimizer), then the metrics (acc, loss).
    labels = svg.locator(".pc-axis-label title").all_text_contents()
    assert labels == ["param lr", "param optimizer", "metric acc", "metric loss"]
    # optimizer is categorical: the two adam runs meet at the same point on its axis.
    points = [lines.nth(i).get_attribute("d").split() for i in range(3)]
    assert points[0][1] == points[2][1] != points[1][1]
    assert all(len(p) == 4 for p in points)
    assert len({p[0].split(",")[1] for p in points}) == 3  # lr: three numbers, three heights
    lines.nth(1).hover()
    readout = ui_page.locator("[data-testid=parallel-readout]")
    assert XSS_NAME in readout.inner_text() and "param optimizer: sgd" in readout.inner_text()
    assert "active" in lines.nth(1).get_attribute("class") and "faded" in lines.nth(0).get_attribute("class")

    ui_page.click(".axis-picker summary")
    ui_page.uncheck(".axis-choice:has-text('metric loss') input")
    assert svg.locator(".pc-axis").count() == 3
    assert all(len(lines.nth(i).get_attribute("d").split()) == 3 for i in range(3))


def test_scatter_of_two_chosen_values(ui_page, ui_server, compared):
    experiment_id, runs = compared
    open_ui(ui_page, ui_server, f"/compare-runs?{ids_query(runs, experiment_id)}")
    scatter = ui_page.locator("[data-testid=scatter-plot]")
    scatter.wait_for()
    ui_page.select_option("[data-testid=scatter-x]", "metric:acc")
    ui_page.select_option("[data-testid=scatter-y]", "metric:loss")
    points = scatter.locator("[data-testid=scatter-point]")
    assert points.count() == 3
    place = {points.nth(i).get_attribute("data-run-id"): (float(points.nth(i).get_attribute("cx")),
                                                           float(points.nth(i).get_attribute("cy"))) for i in range(3)}
    # acc 0.91 > 0.88 > 0.85 left to right; loss 0.45 > 0.38 > 0.30 top to bottom (SVG y grows down).
    assert place[runs[1]][0] < place[runs[2]][0] < place[runs[0]][0]
    assert place[runs[1]][1] < place[runs[2]][1] < place[runs[0]][1]
    points.nth(0).hover()
    assert "metric acc: 0.91" in ui_page.locator(".sc-readout").inner_text()


def test_overlaid_charts_of_the_compared_runs(ui_page, ui_server, compared):
    experiment_id, runs = compared
    open_ui(ui_page, ui_server, f"/compare-runs?{ids_query(runs, experiment_id)}")
    charts = ui_page.locator("[data-testid=metric-chart]")
    charts.first.wait_for()
    assert [charts.nth(i).get_attribute("data-metric-key") for i in range(charts.count())] == ["acc", "loss"]
    charts.first.scroll_into_view_if_needed()
    wait_ready(ui_page, count=2)
    assert ui_page.evaluate("document.querySelector('[data-metric-key=acc]').__uplot.series.length") == 4
    link = ui_page.locator(".chart-open").first.get_attribute("href")
    assert link.startswith("#/metric/acc?runs=")
    ui_page.click(".chart-open >> nth=0")
    wait_ready(ui_page)
    assert ui_page.locator("h1").inner_text() == "Metric acc"
    assert ui_page.locator(".compare-runs a").count() == 3


@pytest.mark.parametrize("query, message", [
    ("runs=not-json", "is not JSON"),
    ("runs=" + quote('{"a": 1}'), "must be a JSON list of ids"),
    ("runs=" + quote("[]"), "lists no ids"),
    ("experiments=" + quote('["1"]'), "'runs' query parameter is missing"),
])
def test_a_malformed_query_shows_what_was_expected(ui_page, ui_server, query, message):
    open_ui(ui_page, ui_server, f"/compare-runs?{query}")
    banner = ui_page.locator(".error-banner")
    banner.wait_for()
    assert message in banner.inner_text()
    assert not any("/runs/get" in url for url in ui_page.requests)


def test_unknown_runs_are_named(browser, ui_server, compared):
    experiment_id, runs = compared
    page = new_page(browser)
    try:
        missing = "f" * 32
        open_ui(page, ui_server, f"/compare-runs?runs={quote(json.dumps([runs[0], missing]))}")
        banner = page.locator(".error-banner")
        banner.wait_for()
        assert f"not found: {missing}" in banner.inner_text()
        assert page.locator("[data-testid=compare-table] thead th a").all_inner_texts() == ["cmp-0"]
        page.goto(f"{ui_server.url}/#/metric/loss?runs={quote(json.dumps([missing]))}")
        page.wait_for_selector(f"text=not found: {missing}")
        # Only the 404s of the unknown run reached the console.
        assert not page.console_errors, page.console_errors
        assert page.http_errors and all("404" in text for _, text in page.http_errors), page.http_errors
    finally:
        page.context.close()
