"""The model pages in headless Chromium: registered models, a model (aliases, description, tags, versions),
a model version's tabs and its Test tab scoring through the server's worker, and a logged model."""

from __future__ import annotations

import json
import os

import pytest
from playwright.sync_api import expect

import mlcask
from tests.support import Doubler, point_fluent_at, reset_fluent
from tests.ui.conftest import new_page, open_ui

pytestmark = pytest.mark.browser

COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


@pytest.fixture(scope="module")
def registry(ui_server, iris_classifier):
    """iris-ui (2 versions, input example), no-example (signature only), doubler-ui (an unsigned pickle)."""
    from mlcask.models import infer_signature

    X, model = iris_classifier
    point_fluent_at(ui_server.url)
    try:
        with mlcask.start_run() as run:
            info = mlcask.sklearn.log_model(model, name="model", input_example=X.head(3),
                                            registered_model_name="iris-ui")
            mlcask.sklearn.log_model(model, name="model2", input_example=X.head(2), registered_model_name="iris-ui")
            mlcask.sklearn.log_model(model, name="bare", signature=infer_signature(X, model.predict(X)),
                                     registered_model_name="no-example")
            os.environ["MLCASK_SIGNING"] = "0"
            try:
                mlcask.pyfunc.log_model(name="doubler", python_model=Doubler(), registered_model_name="doubler-ui")
            finally:
                os.environ.pop("MLCASK_SIGNING")
    finally:
        reset_fluent()
    return {"run": run.info, "model_id": info.model_id}


def api_ok(server, method, path, **kwargs):
    answer = server.api(method, path, **kwargs)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_models_list_search_and_paging(ui_page, ui_server, registry):
    for i in range(27):
        api_ok(ui_server, "POST", "/registered-models/create", json={"name": f"pg-{i:02d}"})
    api_ok(ui_server, "POST", "/registered-models/create", json={"name": "<img src=x onerror=alert(1)>"})
    open_ui(ui_page, ui_server, "/models")
    ui_page.fill("#model-search", "pg-")
    ui_page.press("#model-search", "Enter")
    expect(ui_page.locator("[data-testid=model-row]")).to_have_count(25)
    assert "q=pg-" in ui_page.url
    ui_page.get_by_role("button", name="Next").click()
    expect(ui_page.locator("[data-testid=model-row] a").first).to_have_text("pg-25")
    expect(ui_page.locator("[data-testid=model-row]")).to_have_count(2)
    ui_page.get_by_role("button", name="Previous").click()
    expect(ui_page.locator("[data-testid=model-row]")).to_have_count(25)
    ui_page.fill("#model-search", "iris-ui")
    ui_page.press("#model-search", "Enter")
    expect(ui_page.locator("[data-testid=model-row] a").first).to_have_text("iris-ui")
    expect(ui_page.locator("[data-testid=model-row]")).to_have_count(1)
    row = ui_page.locator("[data-testid=model-row]")
    assert row.locator("a").nth(1).inner_text() == "Version 2"
    assert row.locator("a").nth(1).get_attribute("href") == "#/models/iris-ui/versions/2"
    ui_page.fill("#model-search", "onerror")
    ui_page.press("#model-search", "Enter")
    expect(ui_page.locator("[data-testid=model-row] a").first).to_have_text("<img src=x onerror=alert(1)>")
    expect(ui_page.locator("[data-testid=model-row]")).to_have_count(1)
    assert ui_page.locator("main img").count() == 0 and not ui_page.dialogs


def test_model_page_edits_aliases_description_and_tags(ui_page, ui_server, registry):
    run = registry["run"]
    open_ui(ui_page, ui_server, "/models/iris-ui")
    ui_page.wait_for_selector("[data-testid=version-row]")
    rows = ui_page.locator("[data-testid=version-row]")
    assert rows.count() == 2 and rows.first.locator("a").first.inner_text() == "Version 2"
    run_link = rows.first.locator(f"a[href='#/experiments/{run.experiment_id}/runs/{run.run_id}']")
    run_link.wait_for()
    ui_page.get_by_role("button", name="Add alias").click()
    ui_page.fill("dialog input[name=alias]", "champion")
    ui_page.fill("dialog input[name=version]", "1")
    ui_page.click("dialog button[type=submit]")
    ui_page.wait_for_selector("[data-testid=alias-row]:has-text('@champion')")
    alias = lambda: ui_server.api("GET", "/registered-models/alias", params={"name": "iris-ui", "alias": "champion"})
    assert alias().json()["model_version"]["version"] == "1"
    ui_page.get_by_role("button", name="Move alias champion").click()
    ui_page.fill("dialog input[name=version]", "2")
    ui_page.click("dialog button[type=submit]")
    ui_page.wait_for_selector("[data-testid=alias-row]:has-text('Version 2')")
    assert alias().json()["model_version"]["version"] == "2"
    assert "@champion" in rows.first.inner_text()  # the versions table follows
    ui_page.get_by_role("button", name="Delete alias champion").click()
    ui_page.wait_for_selector("[data-testid=aliases] >> text=No aliases")
    assert alias().status_code == 404
    ui_page.get_by_role("button", name="Edit description").click()
    ui_page.fill("dialog textarea[name=description]", "Iris <b>classifier</b>")
    ui_page.click("dialog button[type=submit]")
    ui_page.wait_for_selector(".description-text")
    assert ui_page.locator(".description-text").inner_text() == "Iris <b>classifier</b>"
    got = api_ok(ui_server, "GET", "/registered-models/get", params={"name": "iris-ui"})["registered_model"]
    assert got["description"] == "Iris <b>classifier</b>"
    ui_page.get_by_role("button", name="Add tag").click()
    ui_page.fill("dialog input[name=key]", "team")
    ui_page.fill("dialog textarea[name=value]", "vision")
    ui_page.click("dialog button[type=submit]")
    ui_page.wait_for_selector(".tag-key:has-text('team')")
    got = api_ok(ui_server, "GET", "/registered-models/get", params={"name": "iris-ui"})["registered_model"]
    assert {"key": "team", "value": "vision"} in got["tags"]


def test_model_rename_and_delete_asks_first(ui_page, ui_server, registry):
    api_ok(ui_server, "POST", "/registered-models/create", json={"name": "old name"})
    open_ui(ui_page, ui_server, "/models/old%20name")
    ui_page.get_by_role("button", name="Rename").click()
    ui_page.fill("dialog input[name=new_name]", "bad/name")  # the registry refuses '/': the dialog says why
    ui_page.click("dialog button[type=submit]")
    ui_page.wait_for_selector("dialog .error-banner")
    assert "INVALID_PARAMETER_VALUE" in ui_page.inner_text("dialog .error-banner")
    ui_page.fill("dialog input[name=new_name]", "new name é")
    ui_page.click("dialog button[type=submit]")
    ui_page.wait_for_selector("h1:has-text('new name é')")
    assert ui_page.url.endswith("#/models/new%20name%20%C3%A9")
    assert api_ok(ui_server, "GET", "/registered-models/get", params={"name": "new name é"})
    assert ui_server.api("GET", "/registered-models/get", params={"name": "old name"}).status_code == 404
    ui_page.get_by_role("button", name="Delete model").click()  # the fixture's dialog handler says no
    assert ui_page.dialogs and ui_page.dialogs[-1][0] == "confirm" and "new name é" in ui_page.dialogs[-1][1]
    assert ui_server.api("GET", "/registered-models/get", params={"name": "new name é"}).status_code == 200


def test_version_page_tabs(ui_page, ui_server, registry):
    run = registry["run"]
    open_ui(ui_page, ui_server, "/models/iris-ui/versions/1")
    ui_page.wait_for_selector("[data-testid=integrity]")
    # This server does not share the test session's signing key: signed, by a key it does not trust.
    assert ui_page.get_attribute("[data-testid=integrity]", "data-status") == "signed_untrusted"
    assert "hmac:" in ui_page.inner_text("[data-testid=integrity]")
    ui_page.wait_for_selector(f"a[href='#/experiments/{run.experiment_id}/runs/{run.run_id}']")
    example = json.loads(ui_page.inner_text("[data-testid=input-example]"))
    assert example["dataframe_split"]["columns"] == COLUMNS
    ui_page.get_by_role("button", name="Edit description").click()
    ui_page.fill("dialog textarea[name=description]", "first version")
    ui_page.click("dialog button[type=submit]")
    ui_page.wait_for_selector(".description-text:has-text('first version')")
    ui_page.get_by_role("button", name="Add tag").click()
    ui_page.fill("dialog input[name=key]", "validated")
    ui_page.fill("dialog textarea[name=value]", "yes")
    ui_page.click("dialog button[type=submit]")
    ui_page.wait_for_selector(".tag-key:has-text('validated')")
    got = api_ok(ui_server, "GET", "/model-versions/get", params={"name": "iris-ui", "version": "1"})["model_version"]
    assert got["description"] == "first version" and {"key": "validated", "value": "yes"} in got["tags"]
    ui_page.get_by_role("tab", name="Signature").click()
    ui_page.wait_for_selector("[data-testid=signature]")
    assert ui_page.url.endswith("#/models/iris-ui/versions/1/signature")
    inputs = ui_page.locator("table[aria-label=Inputs] tbody tr")
    assert inputs.count() == 4 and "double" in inputs.first.inner_text()
    assert "long" in ui_page.inner_text("table[aria-label=Outputs]")  # 1-D integer predictions: [long], as MLflow
    ui_page.get_by_role("tab", name="Environment").click()
    ui_page.wait_for_selector("[data-testid=environment]")
    environment = ui_page.inner_text("[data-testid=environment]")
    assert "scikit-learn==" in environment and "Python version" in environment and "conda-forge" in environment
    ui_page.keyboard.press("ArrowRight")  # tabs move with the arrow keys
    ui_page.wait_for_selector("[data-testid=test-tab]")
    assert ui_page.url.endswith("/versions/1/test")


def send_and_wait(page):
    page.get_by_role("button", name="Send").click()
    page.wait_for_selector("[data-testid=predictions], .error-banner")


def test_test_tab_scores_the_example_then_an_edited_cell_then_shows_a_400(ui_page, ui_server, registry, iris_classifier):
    X, model = iris_classifier
    open_ui(ui_page, ui_server, "/models/iris-ui/versions/1/test")
    ui_page.wait_for_selector("[data-testid=test-input-row]")
    assert ui_page.locator("[data-testid=test-input-row]").count() == 3
    first = ui_page.get_by_label("sepal length (cm), row 1")
    assert first.get_attribute("type") == "number" and first.input_value() == "5.1"
    send_and_wait(ui_page)
    cells = ui_page.locator("[data-testid=prediction-row] td.num")
    assert [int(c) for c in cells.all_inner_texts()] == model.predict(X.head(3)).tolist()
    assert " ms" in ui_page.inner_text("[data-testid=latency]")
    # A flower of the third kind in row 1, typed into the table.
    for column, value in zip(COLUMNS, (7.7, 3.0, 6.1, 2.3)):
        ui_page.get_by_label(f"{column}, row 1").fill(str(value))
    edited = X.head(3).copy()
    edited.iloc[0] = [7.7, 3.0, 6.1, 2.3]
    expected = model.predict(edited).tolist()
    ui_page.get_by_role("button", name="Send").click()
    expect(ui_page.locator("[data-testid=prediction-row] td.num")).to_have_text([str(v) for v in expected])
    ui_page.get_by_role("button", name="Add row").click()
    assert ui_page.locator("[data-testid=test-input-row]").count() == 4
    ui_page.get_by_role("button", name="Remove row 4").click()
    assert ui_page.locator("[data-testid=test-input-row]").count() == 3
    # A bad value: an empty cell (null) the model cannot take is the server's 400, shown as it wrote it.
    ui_page.get_by_label("petal width (cm), row 2").fill("")
    ui_page.get_by_role("button", name="Send").click()
    banner = ui_page.wait_for_selector(".error-banner")
    assert "BAD_REQUEST" in banner.inner_text() and "NaN" in banner.inner_text()
    assert ui_page.locator("[data-testid=predictions]").count() == 0


def test_test_tab_raw_json_view_stays_in_sync(ui_page, ui_server, registry):
    open_ui(ui_page, ui_server, "/models/iris-ui/versions/2/test")
    ui_page.wait_for_selector("[data-testid=test-input-row]")
    ui_page.get_by_label("petal length (cm), row 2").fill("4.5")
    ui_page.get_by_role("button", name="JSON").click()
    request = json.loads(ui_page.input_value("[data-testid=test-json]"))
    assert request["dataframe_split"]["columns"] == COLUMNS
    assert request["dataframe_split"]["data"][1][2] == 4.5 and len(request["dataframe_split"]["data"]) == 2
    request["dataframe_split"]["data"][0][0] = 6.25
    ui_page.fill("[data-testid=test-json]", json.dumps(request))
    ui_page.get_by_role("button", name="Table").click()
    assert ui_page.get_by_label("sepal length (cm), row 1").input_value() == "6.25"
    ui_page.get_by_role("button", name="JSON").click()
    ui_page.fill("[data-testid=test-json]", '{"dataframe_split": ')
    ui_page.wait_for_selector("text=not valid JSON")
    assert ui_page.get_by_role("button", name="Table").is_disabled()
    request["dataframe_split"]["data"][0][1] = "abc"
    ui_page.fill("[data-testid=test-json]", json.dumps(request))
    send_and_wait(ui_page)
    banner = ui_page.inner_text(".error-banner")
    assert "BAD_REQUEST" in banner and "sepal width (cm)" in banner
    ui_page.get_by_role("button", name="Reset to the example").click()
    send_and_wait(ui_page)
    assert ui_page.locator("[data-testid=prediction-row]").count() == 2


def test_test_tab_without_example_or_signature(ui_page, ui_server, registry):
    open_ui(ui_page, ui_server, "/models/no-example/versions/1/test")
    ui_page.wait_for_selector("text=starts from its signature")
    assert ui_page.get_by_label("sepal width (cm), row 1").input_value() == "0"
    send_and_wait(ui_page)
    assert ui_page.locator("[data-testid=prediction-row]").count() == 1
    # No signature, no example: raw JSON only; the untrusted pickle is refused with how to allow it.
    open_ui(ui_page, ui_server, "/models/doubler-ui/versions/1/test")
    ui_page.wait_for_selector("text=write the request as JSON")
    assert ui_page.get_by_role("button", name="Table").is_disabled()
    ui_page.fill("[data-testid=test-json]", '{"inputs": [[1, 2]]}')
    send_and_wait(ui_page)
    banner = ui_page.inner_text(".error-banner")
    assert "PERMISSION_DENIED" in banner and "MLCASK_ALLOW_PICKLE=1" in banner


def test_logged_model_page(ui_page, ui_server, registry):
    run = registry["run"]
    open_ui(ui_page, ui_server, f"/experiments/{run.experiment_id}/models/{registry['model_id']}")
    ui_page.wait_for_selector("[data-testid=integrity]")
    assert ui_page.inner_text("h1") == "model"
    main = ui_page.inner_text("main")
    assert "LOGGED_MODEL_READY" in main and "python_function, sklearn" in main
    ui_page.wait_for_selector(f"a[href='#/experiments/{run.experiment_id}/runs/{run.run_id}']")
    ui_page.get_by_role("tab", name="Artifacts").click()
    ui_page.wait_for_selector("[data-testid=model-artifacts]")
    names = ui_page.locator("[data-testid=model-artifacts] a").all_inner_texts()
    assert {"MLmodel", "model.skops", "requirements.txt"} <= set(names)
    link = ui_page.locator("[data-testid=model-artifacts] a", has_text="MLmodel").get_attribute("href")
    assert "flavors:" in ui_server.client.get(link).text
    ui_page.get_by_role("tab", name="Signature").click()
    ui_page.wait_for_selector("table[aria-label=Inputs]")


def test_test_tab_at_phone_width(browser, ui_server, registry):
    page = new_page(browser, viewport={"width": 390, "height": 800})
    try:
        open_ui(page, ui_server, "/models/iris-ui/versions/1/test")
        page.wait_for_selector("[data-testid=test-input-row]")
        send_and_wait(page)
        page.wait_for_selector("[data-testid=prediction-row]")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        assert not page.console_errors
    finally:
        page.context.close()


def test_test_tab_types_each_field_from_the_signature(ui_page, ui_server):
    """The table model of the Test tab: a field kind per signature type, records and split read alike,
    a skeleton from the signature, and no table for tensor inputs."""
    open_ui(ui_page, ui_server, "/models")
    result = ui_page.evaluate("""async () => {
      const tab = await import("/static-files/js/test-tab.js");
      const signature = {inputs_kind: "columns", inputs: [
        {name: "age", type: "long"}, {name: "city", type: "string"}, {name: "member", type: "boolean"},
        {name: "tags", type: "array", items: {type: "string"}}, {name: "score", type: "double"}]};
      const specs = tab.columnSpecs(signature);
      const records = tab.toTable({dataframe_records: [{age: 3, city: "<b>x</b>", member: true, extra: "e"}],
                                   params: {k: 1}}, specs);
      const skeleton = tab.initialRequest({signature});
      return {
        kinds: records.columns.map((c) => c.kind), names: records.columns.map((c) => c.name),
        rows: records.rows, back: tab.fromTable(records), skeleton,
        tensor: tab.toTable({inputs: [[1, 2]]}, null),
        ragged: tab.toTable({dataframe_split: {columns: ["a", "b"], data: [[1]]}}, null),
        untyped: tab.toTable({dataframe_split: {columns: ["n", "t", "f"], data: [[1.5, "s", false]]}}, null)
          .columns.map((c) => c.kind),
      };
    }""")
    assert result["names"] == ["age", "city", "member", "tags", "score", "extra"]
    assert result["kinds"] == ["number", "text", "boolean", "json", "number", "text"]
    assert result["rows"] == [[3, "<b>x</b>", True, None, None, "e"]]
    assert result["back"] == {"dataframe_split": {"columns": result["names"], "data": result["rows"]},
                              "params": {"k": 1}}
    assert result["skeleton"] == {"dataframe_split": {"columns": ["age", "city", "member", "tags", "score"],
                                                      "data": [[0, "", False, None, 0]]}}
    assert result["tensor"] is None and result["ragged"] is None
    assert result["untyped"] == ["number", "text", "boolean"]


def test_a_tampered_version_shows_its_failed_integrity_check(ui_page, ui_server, iris_classifier):
    X, model = iris_classifier
    point_fluent_at(ui_server.url)
    try:
        with mlcask.start_run():
            mlcask.sklearn.log_model(model, name="t", input_example=X.head(1), registered_model_name="tampered-ui")
    finally:
        reset_fluent()
    source = api_ok(ui_server, "GET", "/model-versions/get-download-uri", params={"name": "tampered-ui",
                                                                                  "version": "1"})["artifact_uri"]
    folder = ui_server.folder / "artifacts" / source.removeprefix("mlflow-artifacts:/")
    (folder / "conda.yaml").write_text("dependencies: [evil]\n")
    open_ui(ui_page, ui_server, "/models/tampered-ui/versions/1")
    badge = ui_page.wait_for_selector("[data-testid=integrity]")
    assert badge.get_attribute("data-status") == "failed"
    assert "Integrity check failed" in badge.inner_text() and "changed file 'conda.yaml'" in badge.inner_text()
