"""An XSS corpus through every user-supplied string the UI shows runs no script.

Each payload goes into an experiment name and description, a run name, param keys and values,
metric keys, tag keys and values, an artifact's name and content, a dataset name, a registered
model's name, description, tags and alias, a model's column names and its input example. Every
page is then visited in real headless Chromium; a payload that ran would set
``window.__xss``, open a dialog or (blocked by the CSP) log a violation, and each of those fails
the test (``ui_page`` fails on any console error). Each page must also show the payload as text,
so a page that rendered nothing cannot pass.
"""

from __future__ import annotations

import json
import warnings

import pytest

from tests.support import point_fluent_at, reset_fluent
from tests.ui.conftest import open_ui

PAYLOADS = [
    '<img src=x onerror="window.__xss=1">',
    "<script>window.__xss=1</script>",
    '"><svg onload=window.__xss=1>',
    "javascript:window.__xss=1",
    "'-window.__xss=1-'",
    "${window.__xss=1}",
    "{{constructor.constructor('window.__xss=1')()}}",
    '<iframe srcdoc="<script>parent.__xss=1</script>"></iframe>',
    "</textarea><a href=javascript:window.__xss=1>x</a>",
]
# Param, metric and tag keys allow only MLflow's name characters (letters, digits, "_-. /:"), so they
# carry what can still go wrong in a link or a path: a scheme, slashes, spaces.
KEYISH = ["javascript:x", "up/x y:z", "a b:c.d"]
FILE_NAME = "<img src=x onerror=window.__xss=1>.txt"
MARK = "xss-corpus"


@pytest.fixture(scope="module")
def corpus(ui_server, tmp_path_factory):
    """Everything in one experiment and one registered model; returns the ids the pages need."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import mlcask
    from mlcask.models import infer_signature
    from mlcask.tracking import MlcaskClient

    point_fluent_at(ui_server.url)
    try:
        client = MlcaskClient(ui_server.url)
        experiment_id = client.create_experiment(f"{MARK} " + PAYLOADS[0])
        client.set_experiment_tag(experiment_id, "mlflow.note.content", " ".join(PAYLOADS))
        folder = tmp_path_factory.mktemp("xss-files")
        (folder / "notes.txt").write_text("\n".join(PAYLOADS))
        (folder / "page.html").write_text("<h1>report</h1><script>parent.__xss=1; window.__xss=1</script>"
                                          + PAYLOADS[0])
        (folder / "table.csv").write_text("a,b\n" + "\n".join(f'"{p.replace(chr(34), chr(34) * 2)}",1'
                                                              for p in PAYLOADS) + "\n")
        (folder / "data.json").write_text(json.dumps({"payloads": PAYLOADS}))
        (folder / FILE_NAME).write_text(PAYLOADS[1])
        X = pd.DataFrame({PAYLOADS[0]: [0.0, 1.0, 2.0, 3.0], PAYLOADS[4]: [1.0, 0.0, 1.0, 0.0]})
        y = pd.Series([0, 1, 0, 1], name="label")
        model = LogisticRegression().fit(X, y)
        model_name = f"{MARK}-model " + PAYLOADS[0]
        with mlcask.start_run(experiment_id=experiment_id, run_name=PAYLOADS[1]) as run:
            mlcask.log_params({KEYISH[0]: PAYLOADS[2], "plain": PAYLOADS[3]})
            for step in range(3):
                mlcask.log_metrics({KEYISH[1]: step * 1.0, "loss": 1.0 / (step + 1)}, step=step)
            mlcask.set_tags({KEYISH[2]: PAYLOADS[4], "mlflow.note.content": PAYLOADS[5], "t": PAYLOADS[6]})
            mlcask.log_artifacts(str(folder), "files")
            mlcask.log_input(mlcask.data.from_pandas(X, name=PAYLOADS[7]), context=PAYLOADS[8])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                info = mlcask.sklearn.log_model(model, name="model", input_example=X.head(2),
                                                signature=infer_signature(X, y),
                                                registered_model_name=model_name)
        with mlcask.start_run(experiment_id=experiment_id, run_name=PAYLOADS[2]) as second:
            mlcask.log_metric("loss", 0.5)
            mlcask.log_param(KEYISH[0], PAYLOADS[0])
        client.update_registered_model(model_name, description=PAYLOADS[0])
        client.set_registered_model_tag(model_name, KEYISH[0], PAYLOADS[1])
        client.set_model_version_tag(model_name, "1", KEYISH[1], PAYLOADS[2])
        client.set_registered_model_alias(model_name, "champion", "1")
        client.update_model_version(model_name, "1", description=PAYLOADS[6])
    finally:
        reset_fluent()
    return {"experiment_id": experiment_id, "run_id": run.info.run_id, "second_run_id": second.info.run_id,
            "model_name": model_name, "model_id": info.model_id}


def _visit(page, server, fragment: str, expect_text: str) -> None:
    open_ui(page, server, fragment)
    page.get_by_text(expect_text, exact=False).first.wait_for(timeout=15_000)
    page.wait_for_timeout(300)  # let late renders (charts, previews) happen
    assert page.evaluate("window.__xss") is None, f"a payload ran on #{fragment}"
    assert not page.dialogs, f"a payload opened a dialog on #{fragment}: {page.dialogs}"


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).first.click()
    page.wait_for_timeout(400)
    assert page.evaluate("window.__xss") is None, f"a payload ran on the {name} tab"


@pytest.mark.browser
def test_experiment_pages_show_payloads_as_text(ui_page, ui_server, corpus):
    _visit(ui_page, ui_server, "/experiments", MARK)
    _visit(ui_page, ui_server, f"/experiments/{corpus['experiment_id']}", PAYLOADS[1])
    _visit(ui_page, ui_server, f"/experiments/{corpus['experiment_id']}/models", "model")


@pytest.mark.browser
def test_run_page_shows_payloads_as_text(ui_page, ui_server, corpus):
    base = f"/experiments/{corpus['experiment_id']}/runs/{corpus['run_id']}"
    _visit(ui_page, ui_server, base, PAYLOADS[1])
    for tab in ("Params", "Metrics", "Tags", "Datasets", "Charts"):
        _tab(ui_page, tab)
    import urllib.parse

    for name in ("notes.txt", "page.html", "table.csv", "data.json", FILE_NAME):
        _visit(ui_page, ui_server, f"{base}/artifacts/files/{urllib.parse.quote(name)}", name)
        ui_page.wait_for_timeout(500)
        assert ui_page.evaluate("window.__xss") is None, f"the preview of {name} ran a payload"
        if name == "page.html":  # the HTML report's script was met and stopped by the frame's sandbox
            assert any("Blocked script execution" in text for text in ui_page.sandbox_messages)


@pytest.mark.browser
def test_compare_and_metric_pages_show_payloads_as_text(ui_page, ui_server, corpus):
    runs = json.dumps([corpus["run_id"], corpus["second_run_id"]])
    experiments = json.dumps([corpus["experiment_id"]])
    _visit(ui_page, ui_server, f"/compare-runs?runs={runs}&experiments={experiments}", PAYLOADS[1])
    _visit(ui_page, ui_server, f"/metric/loss?runs={runs}&experiments={experiments}", "loss")


@pytest.mark.browser
def test_model_pages_show_payloads_as_text(ui_page, ui_server, corpus):
    import urllib.parse

    name = urllib.parse.quote(corpus["model_name"], safe="")
    _visit(ui_page, ui_server, "/models", MARK)
    _visit(ui_page, ui_server, f"/models/{name}", "champion")
    _visit(ui_page, ui_server, f"/models/{name}/versions/1", "champion")
    for tab in ("Signature", "Environment", "Test"):
        _tab(ui_page, tab)
    _visit(ui_page, ui_server, f"/experiments/{corpus['experiment_id']}/models/{corpus['model_id']}", "model")
