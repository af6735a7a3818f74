"""The Responsible-AI report in real headless Chromium: the run page's "Responsible AI" tab (the run's
mlcask.evaluation.report tag) and the model version page's (its logged model's runs:/ tag, else its source
run's), shown through the sandboxed html-preview frame under the server's CSP: the report's headings and
charts render, the hostile names it holds stay text, no script runs, nothing is blocked."""

from __future__ import annotations

import pytest

from mlcask.evaluation.report import REPORT_ARTIFACT, REPORT_TAG, render_report
from tests.evaluation.report_samples import HOSTILE_FEATURE, classifier_report_data, regressor_report_data
from tests.ui.conftest import ok_json, open_ui, put_artifact

pytestmark = pytest.mark.browser

# Records the messages a frame posts to the page (a script that ran in the report would post one).
LISTEN = "window.__messages = []; addEventListener('message', (e) => window.__messages.push(e.data));"
SECTIONS = ["Overview", "Per-group metrics and disparity", "Error cohorts", "Feature importance",
            "Calibration, ROC and precision-recall", "Confusion matrix", "Data balance"]





@pytest.fixture(scope="module")
def world(ui_server):
    """An evaluation run with its report (hostile names inside) and tag; a training run without a tag whose
    logged model points at a second report; versions with the model's tag, the run's tag and neither."""
    api = ui_server.api
    experiment = ok_json(api("POST", "/experiments/create", json={"name": "evaluation-report"}))["experiment_id"]

    def run(name, tags=()):
        return ok_json(api("POST", "/runs/create", json={"experiment_id": experiment, "run_name": name,
                                                   "tags": [{"key": k, "value": v} for k, v in tags]}))["run"]["info"]

    evaluation = run("evaluation", [(REPORT_TAG, REPORT_ARTIFACT)])
    put_artifact(ui_server, evaluation, REPORT_ARTIFACT, render_report(classifier_report_data(n_rows=400, hostile=True)).encode())
    put_artifact(ui_server, evaluation, "regressor/" + REPORT_ARTIFACT, render_report(regressor_report_data()).encode())
    training = run("training")
    plain = run("plain")
    model = ok_json(api("POST", "/logged-models", json={"experiment_id": experiment, "name": "clf",
                                                   "source_run_id": training["run_id"]}))["model"]["info"]
    ok_json(api("PATCH", f"/logged-models/{model['model_id']}/tags", json={"tags": [
        {"key": REPORT_TAG, "value": f"runs:/{evaluation['run_id']}/regressor/{REPORT_ARTIFACT}"}]}))
    ok_json(api("POST", "/registered-models/create", json={"name": "evaluated"}))
    ok_json(api("POST", "/model-versions/create", json={"name": "evaluated", "source": f"models:/{model['model_id']}",
                                                   "run_id": training["run_id"], "model_id": model["model_id"]}))
    ok_json(api("POST", "/model-versions/create", json={"name": "evaluated", "source": f"runs:/{evaluation['run_id']}/m",
                                                   "run_id": evaluation["run_id"]}))
    ok_json(api("POST", "/model-versions/create", json={"name": "evaluated", "source": f"runs:/{plain['run_id']}/m",
                                                   "run_id": plain["run_id"]}))
    return {"experiment": experiment, "evaluation": evaluation["run_id"], "plain": plain["run_id"]}


def _report_frame(page):
    frame_element = page.locator("iframe[data-testid=evaluation-report-frame]")
    frame_element.wait_for()
    assert frame_element.get_attribute("sandbox") == ""
    assert "/ajax-api/2.0/mlcask/artifacts/html-preview?" in frame_element.get_attribute("src")
    frame = frame_element.content_frame
    frame.locator("h2").first.wait_for()
    return frame


def _assert_nothing_ran_or_was_blocked(page):
    page.wait_for_timeout(600)  # Chromium reports a blocked script a little after the frame loads
    assert page.evaluate("window.__messages") == []
    # the sandbox reports blocked scripts and loads in the console: the report has none of either
    assert not [m for m in page.sandbox_messages if "Blocked" in m or "Refused" in m], page.sandbox_messages


def test_run_page_shows_the_report_in_a_sandboxed_frame(ui_page, ui_server, world):
    ui_page.add_init_script(LISTEN)
    open_ui(ui_page, ui_server, f"/experiments/{world['experiment']}/runs/{world['evaluation']}")
    tab = ui_page.get_by_role("tab", name="Responsible AI")
    tab.click()
    assert ui_page.url.endswith(f"/runs/{world['evaluation']}/evaluation")
    frame = _report_frame(ui_page)
    assert frame.locator("h2").all_inner_texts() == SECTIONS
    assert frame.locator("script").count() == 0
    assert HOSTILE_FEATURE in frame.locator("body").inner_text()  # a hostile column name, shown as text
    # the inline CSS and the inline SVG charts apply under the preview's CSP
    assert frame.locator("svg.chart").count() >= 15
    box = frame.locator("svg.chart").first.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 50
    assert frame.locator("td.flag, td.hi, td.lo").count() > 0
    assert frame.locator("h2").first.evaluate("h => getComputedStyle(h).borderBottomStyle") == "solid"
    download = ui_page.locator("[data-testid=evaluation-report-download]")
    assert download.get_attribute("download") == REPORT_ARTIFACT
    assert ui_server.client.get(download.get_attribute("href")).text.startswith("<!DOCTYPE html>")
    opened = ui_page.locator("[data-testid=evaluation-report-open]").get_attribute("href")
    answer = ui_server.client.get(opened)
    assert answer.status_code == 200 and "sandbox" in answer.headers["content-security-policy"]
    _assert_nothing_ran_or_was_blocked(ui_page)


def test_run_without_a_report_has_no_such_tab(ui_page, ui_server, world):
    base = f"/experiments/{world['experiment']}/runs/{world['plain']}"
    open_ui(ui_page, ui_server, base)
    ui_page.get_by_role("tab", name="Artifacts").wait_for()
    assert ui_page.get_by_role("tab", name="Responsible AI").count() == 0
    open_ui(ui_page, ui_server, base + "/evaluation")  # an old link: says how to get a report
    missing = ui_page.locator("[data-testid=evaluation-report-missing]")
    missing.wait_for()
    assert "sensitive_features" in missing.inner_text()


def test_model_version_shows_its_logged_models_report(ui_page, ui_server, world):
    ui_page.add_init_script(LISTEN)
    open_ui(ui_page, ui_server, "/models/evaluated/versions/1")
    ui_page.get_by_role("tab", name="Responsible AI").click()
    assert ui_page.url.endswith("/models/evaluated/versions/1/evaluation")
    frame = _report_frame(ui_page)
    # the logged model's runs:/ tag names the regressor report in the evaluation run
    assert frame.locator("h2").all_inner_texts() == ["Overview", "Residuals", "Not in this report"]
    assert frame.locator("script").count() == 0
    head = ui_page.locator("[data-testid=evaluation-report]").inner_text()
    assert f"regressor/{REPORT_ARTIFACT}" in head and world["evaluation"] in head
    _assert_nothing_ran_or_was_blocked(ui_page)


def test_model_version_falls_back_to_its_source_runs_report(ui_page, ui_server, world):
    ui_page.add_init_script(LISTEN)
    open_ui(ui_page, ui_server, "/models/evaluated/versions/2/evaluation")
    frame = _report_frame(ui_page)
    assert frame.locator("h2").all_inner_texts() == SECTIONS
    _assert_nothing_ran_or_was_blocked(ui_page)
    open_ui(ui_page, ui_server, "/models/evaluated/versions/3")
    ui_page.get_by_role("tab", name="Test").wait_for()
    ui_page.wait_for_timeout(300)  # the report lookup has answered
    assert ui_page.get_by_role("tab", name="Responsible AI").count() == 0
