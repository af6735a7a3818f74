"""The run page in real headless Chromium: header and tabs (in the URL), overview (parent, children,
description), params and metrics tables, tag editing (checked through the API), datasets, and the
artifact browser with its previews (text, JSON, CSV, Parquet, images, sandboxed HTML) and downloads."""

from __future__ import annotations

import base64
import io
import json
import re

import pytest

from tests.ui.conftest import new_page, ok_json, open_ui, put_artifact

# A 1x1 red PNG.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")
XSS = "<img src=x onerror=alert(1)>"
# Records the messages a frame posts to the page (a script that ran in a preview would post one).
LISTEN = "window.__messages = []; addEventListener('message', (e) => window.__messages.push(e.data));"


def expect(locator):
    from playwright.sync_api import expect as playwright_expect  # only where a browser runs

    return playwright_expect(locator)





def _parquet() -> bytes:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.table({"id": [1, 2, 3], "label": ["cat", "dog", XSS]}), sink)
    return sink.getvalue()


@pytest.fixture(scope="module")
def world(ui_server):
    """An experiment with a parent run (params, metrics, tags, a dataset, artifacts) and a child run."""
    api = ui_server.api
    experiment = ok_json(api("POST", "/experiments/create", json={"name": "run-page"}))["experiment_id"]
    run = ok_json(api("POST", "/runs/create", json={"experiment_id": experiment, "run_name": f"parent {XSS}",
                                              "tags": [{"key": "mlflow.source.name", "value": "train.py"},
                                                       {"key": "mlflow.note.content", "value": "first note"}]}))
    info = run["run"]["info"]
    run_id = info["run_id"]
    metrics = [{"key": f"m{k:03d}", "value": float(step + k), "step": step, "timestamp": 1000 + step}
               for k in range(40) for step in range(5)]
    metrics += [{"key": "loss", "value": v, "step": i, "timestamp": 2000 + i} for i, v in enumerate([3.0, 0.5, 1.0])]
    ok_json(api("POST", "/runs/log-batch", json={
        "run_id": run_id, "metrics": metrics,
        "params": [{"key": "lr", "value": "0.01"}, {"key": "depth", "value": "7"}, {"key": "xss", "value": XSS}],
        "tags": [{"key": "team", "value": "vision"}]}))
    ok_json(api("POST", "/runs/log-inputs", json={"run_id": run_id, "datasets": [{
        "tags": [{"key": "mlflow.data.context", "value": "training"}],
        "dataset": {"name": "iris", "digest": "abc123", "source_type": "local", "source": '{"uri": "/data/iris.csv"}',
                    "schema": '{"mlflow_colspec": [{"type": "double", "name": "sepal"}]}'}}]}))
    child = ok_json(api("POST", "/runs/create", json={"experiment_id": experiment, "run_name": "child-run",
                                                "tags": [{"key": "mlflow.parentRunId", "value": run_id}]}))
    files = {
        "notes/readme.txt": b"hello from the run\nline two",
        "config.json": b'{"b": [1, 2], "a": {"nested": true}}',
        "model/MLmodel": b"flavors:\n  python_function:\n    loader_module: mlflow.sklearn\nsignature:\n  inputs: "
                         b"'[{\"type\": \"double\", \"name\": \"<b>radius</b>\", \"required\": true}]'\n"
                         b"  outputs: '[{\"type\": \"long\", \"name\": \"target\", \"required\": true}]'\n",
        "table.csv": b"x,y\n1,2\n3,4\n",
        "frame.parquet": _parquet(),
        "plot.png": PNG,
        "report.html": b"<html><body><h1 id='h'>Report</h1><script>document.getElementById('h').textContent="
                       b"'ran'; parent.postMessage('script ran', '*');</script></body></html>",
        "blob.bin": b"\x00\x01\x02",
        "shape.svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><rect width="20" height="10" '
                     b'fill="blue"/><script>parent.postMessage("svg ran", "*")</script></svg>',
    }
    for path, data in files.items():
        put_artifact(ui_server, info, path, data)
    model = ok_json(api("POST", "/logged-models", json={"experiment_id": experiment, "name": "clf",
                                                   "source_run_id": run_id}))["model"]["info"]
    ok_json(api("POST", "/registered-models/create", json={"name": "run-page-model"}))
    ok_json(api("POST", "/model-versions/create", json={"name": "run-page-model", "source": f"runs:/{run_id}/model",
                                                   "run_id": run_id}))
    return {"experiment": experiment, "run_id": run_id, "info": info, "child": child["run"]["info"],
            "model_id": model["model_id"]}


def _run_url(world, tail: str = "") -> str:
    return f"/experiments/{world['experiment']}/runs/{world['run_id']}{tail}"


@pytest.mark.browser
def test_header_overview_and_tabs_in_the_url(ui_page, ui_server, world):
    open_ui(ui_page, ui_server, _run_url(world))
    ui_page.wait_for_selector("[data-testid=run-id]")
    assert ui_page.locator("h1").inner_text() == f"parent {XSS}"  # shown as text
    assert ui_page.locator("[data-testid=run-status]").inner_text() == "RUNNING"
    assert ui_page.locator(".crumbs a", has_text="run-page").get_attribute("href") == \
        f"#/experiments/{world['experiment']}"
    assert "train.py" in ui_page.locator("table.kv").inner_text()
    child = ui_page.locator("[data-testid=child-runs] a")
    child.wait_for()
    assert child.inner_text() == "child-run"
    assert child.get_attribute("href") == f"#/experiments/{world['experiment']}/runs/{world['child']['run_id']}"
    model = ui_page.locator("[data-testid=run-models] a")
    assert model.inner_text() == "clf"
    assert model.get_attribute("href") == f"#/experiments/{world['experiment']}/models/{world['model_id']}"
    version = ui_page.locator("[data-testid=run-model-versions] a")
    assert version.inner_text() == "run-page-model version 1"
    assert version.get_attribute("href") == "#/models/run-page-model/versions/1"
    ui_page.get_by_role("tab", name="Params").click()
    ui_page.wait_for_selector("[data-testid=run-params]")
    assert ui_page.evaluate("location.hash") == "#" + _run_url(world, "/params")
    ui_page.get_by_role("tab", name="Params").press("ArrowRight")
    ui_page.wait_for_selector("[data-testid=run-metrics]")
    assert ui_page.evaluate("location.hash") == "#" + _run_url(world, "/metrics")
    # A child run links back to its parent.
    open_ui(ui_page, ui_server, f"/experiments/{world['experiment']}/runs/{world['child']['run_id']}")
    parent = ui_page.locator("[data-testid=parent-run]")
    parent.wait_for()
    assert parent.get_attribute("href") == "#" + _run_url(world)


@pytest.mark.browser
def test_unknown_run_shows_the_servers_error(ui_page, ui_server, world):
    open_ui(ui_page, ui_server, f"/experiments/{world['experiment']}/runs/{'0' * 32}")
    banner = ui_page.locator(".error-banner")
    banner.wait_for()
    assert "RESOURCE_DOES_NOT_EXIST" in banner.inner_text()
    assert any("404" in text for _, text in ui_page.http_errors)  # the browser logs the 404 fetch itself


@pytest.mark.browser
def test_params_table_and_search(ui_page, ui_server, world):
    open_ui(ui_page, ui_server, _run_url(world, "/params"))
    rows = ui_page.locator("[data-testid=param-row]")
    rows.first.wait_for()
    assert [r.split("\t") for r in rows.all_inner_texts()] == [["depth", "7"], ["lr", "0.01"], ["xss", XSS]]
    ui_page.get_by_label("Search params").fill("LR")
    expect(rows).to_have_count(1)
    assert rows.first.inner_text().startswith("lr")


@pytest.mark.browser
def test_metrics_table_shows_summaries_and_links(ui_page, ui_server, world):
    open_ui(ui_page, ui_server, _run_url(world, "/metrics"))
    rows = ui_page.locator("[data-testid=run-metrics] [data-testid=metric-row]")
    rows.first.wait_for()
    assert rows.count() == 41
    loss = ui_page.locator("[data-testid=metric-row]", has_text="loss")
    cells = loss.locator("td").all_inner_texts()
    assert cells[:6] == ["loss", "1", "0.5", "3", "2", "3"]  # latest, min, max, step, count
    link = loss.locator("a").get_attribute("href")
    assert link.startswith("#/metric/loss?")
    query = dict(part.split("=", 1) for part in link.split("?", 1)[1].split("&"))
    from urllib.parse import unquote_plus

    assert json.loads(unquote_plus(query["runs"])) == [world["run_id"]]
    assert json.loads(unquote_plus(query["experiments"])) == [world["experiment"]]
    ui_page.get_by_label("Search metrics").fill("m03")
    expect(rows).to_have_count(10)


@pytest.mark.browser
def test_tags_are_edited_through_the_ui(ui_page, ui_server, world):
    open_ui(ui_page, ui_server, _run_url(world, "/tags"))
    ui_page.get_by_role("button", name="Add tag").click()
    dialog = ui_page.locator("dialog[open]")
    dialog.get_by_label("Key").fill("stage")
    dialog.get_by_label("Value").fill(XSS)
    dialog.get_by_role("button", name="Save").click()
    ui_page.locator(".tag-editor td.tag-key", has_text="stage").wait_for()
    tags = {t["key"]: t["value"] for t in ok_json(ui_server.api("GET", "/runs/get", params={"run_id": world["run_id"]}))
            ["run"]["data"]["tags"]}
    assert tags["stage"] == XSS
    # System tags are shown apart, read-only.
    system = ui_page.locator("table.kv[aria-label='System tags']")
    assert "mlflow.source.name" in system.inner_text()
    assert ui_page.get_by_role("button", name="Edit tag mlflow.source.name").count() == 0
    ui_page.get_by_role("button", name="Delete tag stage").click()
    ui_page.locator(".tag-editor td.tag-key", has_text="stage").wait_for(state="detached")
    tags = {t["key"] for t in ok_json(ui_server.api("GET", "/runs/get", params={"run_id": world["run_id"]}))
            ["run"]["data"]["tags"]}
    assert "stage" not in tags and "team" in tags


@pytest.mark.browser
def test_description_is_editable(ui_page, ui_server, world):
    open_ui(ui_page, ui_server, _run_url(world))
    ui_page.get_by_role("button", name="Edit description").click()
    ui_page.get_by_label("Description").fill("second note\nwith two lines")
    ui_page.get_by_role("button", name="Save").click()
    ui_page.locator("[data-testid=description]", has_text="second note").wait_for()
    tags = {t["key"]: t["value"] for t in ok_json(ui_server.api("GET", "/runs/get", params={"run_id": world["run_id"]}))
            ["run"]["data"]["tags"]}
    assert tags["mlflow.note.content"] == "second note\nwith two lines"


@pytest.mark.browser
def test_datasets_tab(ui_page, ui_server, world):
    open_ui(ui_page, ui_server, _run_url(world, "/datasets"))
    dataset = ui_page.locator("[data-testid=dataset]")
    dataset.wait_for()
    text = dataset.inner_text()
    assert "iris" in text and "training" in text and "abc123" in text and "local" in text
    dataset.locator("summary", has_text="Schema").click()
    assert '"mlflow_colspec"' in dataset.locator("details pre").inner_text()


def _open_artifact(page, server, world, path: str):
    open_ui(page, server, _run_url(world, f"/artifacts/{path}"))
    view = page.locator("[data-testid=artifact-view]")
    view.locator(".artifact-head").wait_for()
    return view


@pytest.mark.browser
def test_artifact_tree_lists_folders_lazily(ui_page, ui_server, world):
    open_ui(ui_page, ui_server, _run_url(world, "/artifacts"))
    ui_page.locator("[data-testid=artifact-folder][data-path=notes]").wait_for()
    assert ui_page.locator("[data-testid=artifact-file][data-path='notes/readme.txt']").count() == 0
    listed = [u for u in ui_page.requests if "/artifacts/list" in u]
    assert len(listed) == 1  # only the root so far
    ui_page.locator("[data-testid=artifact-folder][data-path=notes]").click()
    file = ui_page.locator("[data-testid=artifact-file][data-path='notes/readme.txt']")
    file.click()
    ui_page.locator("[data-testid=artifact-text]").wait_for()
    assert "hello from the run" in ui_page.locator("[data-testid=artifact-text]").inner_text()
    assert ui_page.evaluate("location.hash").endswith("/artifacts/notes/readme.txt")
    # The link opens the same file with its folder expanded (the path is in the URL).
    ui_page.reload()
    ui_page.locator("[data-testid=artifact-text]").wait_for()
    assert ui_page.locator("[data-testid=artifact-file][data-path='notes/readme.txt']").get_attribute(
        "aria-current") == "true"


@pytest.mark.browser
def test_text_json_and_mlmodel_previews(ui_page, ui_server, world):
    view = _open_artifact(ui_page, ui_server, world, "config.json")
    text = view.locator("[data-testid=artifact-text]")
    text.wait_for()
    assert text.inner_text() == json.dumps({"b": [1, 2], "a": {"nested": True}}, indent=2)
    view = _open_artifact(ui_page, ui_server, world, "model/MLmodel")
    view.locator("[data-testid=artifact-text]", has_text="loader_module: mlflow.sklearn").wait_for()
    inputs = view.locator("[data-testid=signature-inputs]")
    inputs.wait_for()
    assert inputs.locator("tbody td").all_inner_texts() == ["<b>radius</b>", "double", "", "yes"]
    assert view.locator("[data-testid=signature-outputs] tbody td").first.inner_text() == "target"
    assert view.locator("[data-testid=signature-params]").count() == 0


@pytest.mark.browser
def test_csv_and_parquet_previews_are_tables(ui_page, ui_server, world):
    view = _open_artifact(ui_page, ui_server, world, "table.csv")
    table = view.locator("[data-testid=artifact-table]")
    table.wait_for()
    assert table.locator("th").all_inner_texts() == ["x", "y"]
    assert table.locator("tbody tr").count() == 2
    view = _open_artifact(ui_page, ui_server, world, "frame.parquet")
    table = view.locator("[data-testid=artifact-table]")
    table.wait_for()
    assert [t.split("\n")[0] for t in table.locator("th").all_inner_texts()] == ["id", "label"]
    assert table.locator("tbody tr").nth(2).locator("td").nth(1).inner_text() == XSS
    assert ui_page.locator("img[src=x]").count() == 0


@pytest.mark.browser
def test_image_preview_and_download_link(ui_page, ui_server, world):
    view = _open_artifact(ui_page, ui_server, world, "plot.png")
    image = view.locator("[data-testid=artifact-image]")
    image.wait_for()
    ui_page.wait_for_function("() => document.querySelector('[data-testid=artifact-image]').naturalWidth === 1")
    link = view.locator("[data-testid=artifact-download]")
    assert link.get_attribute("download") == "plot.png"
    with ui_page.expect_download() as download:
        link.click()
    path = download.value.path()
    assert open(path, "rb").read() == PNG
    view = _open_artifact(ui_page, ui_server, world, "blob.bin")
    assert "No preview" in view.inner_text() and view.locator("[data-testid=artifact-download]").count() == 1


@pytest.mark.browser
def test_svg_is_shown_as_an_image(ui_page, ui_server, world):
    ui_page.add_init_script(LISTEN)
    view = _open_artifact(ui_page, ui_server, world, "shape.svg")
    image = view.locator("[data-testid=artifact-image]")
    image.wait_for()
    assert image.get_attribute("src").startswith("blob:")
    ui_page.wait_for_function("() => document.querySelector('[data-testid=artifact-image]').naturalWidth === 20")
    assert ui_page.evaluate("window.__messages") == []


@pytest.mark.browser
def test_charts_tab_draws_the_runs_metrics(ui_page, ui_server, world):
    open_ui(ui_page, ui_server, _run_url(world, "/charts"))
    ui_page.locator("[data-testid=metric-chart][data-ready=true]").first.wait_for(timeout=20_000)
    assert "41 metrics" in ui_page.locator(".metric-charts").inner_text()


@pytest.mark.browser
def test_html_preview_is_sandboxed_and_runs_no_script(ui_page, ui_server, world):
    ui_page.add_init_script(LISTEN)
    view = _open_artifact(ui_page, ui_server, world, "report.html")
    frame_element = view.locator("iframe[data-testid=artifact-frame]")
    frame_element.wait_for()
    assert frame_element.get_attribute("sandbox") == ""
    frame = frame_element.content_frame
    frame.locator("#h").wait_for()
    ui_page.wait_for_timeout(300)
    assert frame.locator("#h").inner_text() == "Report"  # the script did not run
    assert ui_page.evaluate("window.__messages") == []
    # Chromium reports the blocked script in the console (the sandbox at work), sometimes late: wait for it,
    # then allow that message alone.
    def blocked(message: str) -> bool:
        return (message.startswith("Blocked script execution in") and "/artifacts/html-preview?" in message
                and "'allow-scripts' permission is not set" in message)

    for _ in range(30):
        if any(blocked(e) for e in ui_page.sandbox_messages):
            break
        ui_page.wait_for_timeout(100)
    assert any(blocked(e) for e in ui_page.sandbox_messages), ui_page.sandbox_messages


@pytest.mark.browser
def test_run_page_at_phone_width(browser, ui_server, world):
    page = new_page(browser, viewport={"width": 390, "height": 800})
    try:
        open_ui(page, ui_server, _run_url(world, "/artifacts/table.csv"))
        page.locator("[data-testid=artifact-table]").wait_for()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 392, f"the page scrolls sideways at phone width ({width}px)"
        assert not page.console_errors
    finally:
        page.context.close()


@pytest.mark.browser
def test_a_missing_artifact_path_says_so(ui_page, ui_server, world):
    open_ui(ui_page, ui_server, _run_url(world, "/artifacts/nope.txt"))
    banner = ui_page.locator("[data-testid=artifact-view] .error-banner")
    banner.wait_for()
    assert re.search(r"No artifact file 'nope\.txt'", banner.inner_text())
