"""The managed endpoints' pages in headless Chromium, against a real ``mlcask server`` running a real endpoint.

One server for the module (its endpoint state under a tmp ``MLCASK_HOME``) with a registered iris classifier
whose name carries an XSS payload, and endpoint ``ep1`` with two deployments of it in worker processes:
``blue`` (``models:/<name>/1``) and ``green`` (``models:/<name>@champion``, resolved to version 1). The pages
are checked against what the REST API says: the list, the endpoint's deployments and health, a traffic
change saved through the editor, the Test tab scoring through the endpoint (and naming the deployment that
answered), the Swagger view of the endpoint's OpenAPI document, the auto-refresh and its stop, the model
version page's endpoints, and every hostile string shown as text.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
import urllib.parse

import pytest
from playwright.sync_api import expect

import mlcask
from tests.server.conftest import launch
from tests.support import point_fluent_at, reset_fluent
from tests.ui.conftest import open_ui

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MLCASK_API = "/api/2.0/mlcask"
PAYLOAD = '<img src=x onerror="window.__xss=1">'
MODEL = f"ep-model {PAYLOAD}"
COLUMN = "<script>window.__xss=1</script> sepal length"  # the model's first column: in its OpenAPI document
ENDPOINT = "ep1"
SPARE = "ep2"  # one deployment of the run's model, not waited for; deleted by the test of a refused save
READY_TIMEOUT_S = 120


def mlcask_api(server, method: str, path: str, **kwargs) -> dict:
    answer = server.client.request(method, MLCASK_API + path, **kwargs)
    assert answer.status_code == 200, answer.text
    return answer.json()


def deployments(server, endpoint: str = ENDPOINT) -> list[dict]:
    return mlcask_api(server, "GET", "/deployments/list", params={"endpoint": endpoint})["deployments"]


def _wait_ready(server, endpoint: str) -> list[dict]:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        found = deployments(server, endpoint)
        if found and all(d["state"] == "ready" for d in found):
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"the deployments did not become ready: {found}\n{server.log()[-4000:]}")
        time.sleep(0.3)


def _kill_workers(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@pytest.fixture(scope="module")
def iris():
    """The iris features, the first column renamed to a payload, and a classifier fitted on them."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    X = X.rename(columns={X.columns[0]: COLUMN})
    return X, LogisticRegression(max_iter=300).fit(X, y)


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory, iris):
    """The module's server (``ui_page`` opens pages on it), with ``ep1`` ready."""
    folder = tmp_path_factory.mktemp("endpoints-ui")
    server = launch(folder, env={"MLCASK_HOME": str(folder / "home")})
    pids: list[int] = []
    try:
        X, model = iris
        point_fluent_at(server.url)
        try:
            with mlcask.start_run() as run:
                mlcask.sklearn.log_model(model, name="model", input_example=X.head(3), registered_model_name=MODEL)
        finally:
            reset_fluent()
        assert server.api("POST", "/registered-models/alias",
                          json={"name": MODEL, "alias": "champion", "version": "1"}).status_code == 200
        for name, uri in (("blue", f"models:/{MODEL}/1"), ("green", f"models:/{MODEL}@champion")):
            mlcask_api(server, "POST", "/deployments/create", json={
                "endpoint": ENDPOINT, "name": name, "model_uri": uri, "config": {"env_manager": "local"}})
        mlcask_api(server, "POST", "/endpoints/update", json={"name": ENDPOINT,
                                                              "config": {"traffic": {"blue": 50, "green": 50}}})
        mlcask_api(server, "POST", "/deployments/create", json={
            "endpoint": SPARE, "name": "red", "model_uri": f"runs:/{run.info.run_id}/model"})
        pids = [d["pid"] for d in _wait_ready(server, ENDPOINT) if d.get("pid")]  # (ep2's editor needs no worker)
        yield server
    finally:
        for endpoint in (ENDPOINT, SPARE):
            try:
                pids += [d["pid"] for d in deployments(server, endpoint) if d.get("pid")]
            except Exception:  # noqa: BLE001 - the server may be gone, ep2 deleted
                pass
        server.stop()
        _kill_workers(pids)


def _endpoint_gets(page) -> int:
    return sum(1 for url in page.requests if "/ajax-api/2.0/mlcask/endpoints/get" in url)


def test_traffic_editor_shows_the_servers_refusal(ui_page, ui_server):
    open_ui(ui_page, ui_server, f"/endpoints/{SPARE}")
    ui_page.get_by_label("Auto-refresh every 5 s").uncheck()
    red = ui_page.locator("[data-testid=traffic-input][data-deployment=red]")
    expect(red).to_have_value("100")
    red.fill("90")
    red.fill("100")
    mlcask_api(ui_server, "POST", "/endpoints/delete", json={"name": SPARE})  # meanwhile, elsewhere
    ui_page.locator("[data-testid=traffic-save]").click()
    expect(ui_page.locator("[data-testid=traffic-editor] .error-banner")).to_contain_text(
        f"No endpoint named '{SPARE}'")
    expect(ui_page.locator("[data-testid=traffic-saved]")).to_have_count(0)


def test_list_page_shows_the_endpoint(ui_page, ui_server):
    open_ui(ui_page, ui_server, "/endpoints")
    row = ui_page.locator("[data-testid=endpoint-row]").filter(has=ui_page.get_by_role("link", name=ENDPOINT, exact=True))
    expect(row).to_have_count(1)
    link = row.get_by_role("link", name=ENDPOINT, exact=True)
    assert link.get_attribute("href") == f"#/endpoints/{ENDPOINT}"
    expect(row.locator("[data-testid=endpoint-health]")).to_have_text("2/2 ready")
    expect(row.locator("[data-testid=endpoint-traffic]")).to_have_text("blue 50%, green 50%")
    assert row.locator(".endpoint-url").inner_text() == f"{ui_server.url}/endpoints/{ENDPOINT}/invocations"
    expect(ui_page.get_by_role("link", name="Endpoints")).to_have_attribute("aria-current", "page")
    link.click()
    expect(ui_page.locator("[data-testid=deployment-row]")).to_have_count(2)


def test_endpoint_page_shows_deployments_health_and_traffic(ui_page, ui_server):
    open_ui(ui_page, ui_server, f"/endpoints/{ENDPOINT}")
    expect(ui_page.locator("h1")).to_have_text(f"Endpoint {ENDPOINT}")
    expect(ui_page.locator("[data-testid=endpoint-overview] [data-testid=endpoint-health]")).to_have_text("2/2 ready")
    by_api = {d["name"]: d for d in deployments(ui_server)}
    rows = ui_page.locator("[data-testid=deployment-row]")
    expect(rows).to_have_count(2)
    for name in ("blue", "green"):
        row = ui_page.locator(f"[data-testid=deployment-row][data-deployment={name}]")
        expect(row.locator("[data-testid=deployment-state]")).to_have_text("ready")
        expect(row.locator(".health-check")).to_contain_text("ping")  # the supervisor's last health check
        expect(row.locator("[data-testid=deployment-traffic]")).to_have_text("50%")
        cells = row.locator("td")
        assert cells.nth(2).inner_text() == "local"
        assert cells.nth(4).inner_text() == str(by_api[name]["restarts"])
        assert by_api[name]["model_uri"] in cells.nth(1).inner_text()
    green = ui_page.locator("[data-testid=deployment-row][data-deployment=green] td").nth(1)
    assert f"serves models:/{MODEL}/1" in green.inner_text()  # the alias, resolved to the version it serves
    version_link = green.get_by_role("link").last
    assert version_link.get_attribute("href") == f"#/models/{urllib.parse.quote(MODEL, safe='')}/versions/1"
    assert ui_page.locator("main img").count() == 0


def test_traffic_editor_checks_and_saves_the_split(ui_page, ui_server):
    open_ui(ui_page, ui_server, f"/endpoints/{ENDPOINT}")
    blue = ui_page.locator("[data-testid=traffic-input][data-deployment=blue]")
    green = ui_page.locator("[data-testid=traffic-input][data-deployment=green]")
    save = ui_page.locator("[data-testid=traffic-save]")
    expect(blue).to_have_value("50")
    expect(save).to_be_disabled()  # nothing edited
    blue.fill("80")
    expect(ui_page.locator("[data-testid=traffic-total]")).to_have_text("The percentages add up to 130, not 100.")
    expect(save).to_be_disabled()
    green.fill("2.5")
    expect(ui_page.locator("[data-testid=traffic-total]")).to_contain_text("'green' must be a whole number")
    green.fill("20")
    expect(ui_page.locator("[data-testid=traffic-total]")).to_have_text("Total 100%.")
    save.click()
    expect(ui_page.locator("[data-testid=traffic-saved]")).to_be_visible()
    endpoint = mlcask_api(ui_server, "GET", "/endpoints/get", params={"name": ENDPOINT})["endpoint"]
    assert endpoint["traffic"] == {"blue": 80, "green": 20}
    expect(ui_page.locator("[data-testid=endpoint-overview] [data-testid=endpoint-traffic]")).to_have_text(
        "blue 80%, green 20%")
    # a change made elsewhere shows up on the next refresh (the form was not being edited)
    mlcask_api(ui_server, "POST", "/endpoints/update", json={"name": ENDPOINT,
                                                             "config": {"traffic": {"blue": 50, "green": 50}}})
    expect(blue).to_have_value("50", timeout=8_000)
    expect(ui_page.locator("[data-testid=deployment-row][data-deployment=green] [data-testid=deployment-traffic]")
           ).to_have_text("50%")


def test_test_tab_scores_through_the_endpoint_then_the_page_refreshes_and_stops(ui_page, ui_server, iris):
    X, model = iris
    before = mlcask_api(ui_server, "GET", "/endpoints/get", params={"name": ENDPOINT})["endpoint"]["metrics"]
    open_ui(ui_page, ui_server, f"/endpoints/{ENDPOINT}/test")
    expect(ui_page.locator("[data-testid=test-input-row]")).to_have_count(3)  # the model's input example
    ui_page.locator("[data-testid=pin-deployment]").select_option("green")
    ui_page.get_by_role("button", name="Send").click()
    expect(ui_page.locator("[data-testid=answered-by]")).to_have_text("Answered by deployment green")
    cells = ui_page.locator("[data-testid=prediction-row] td:nth-child(2)")
    expect(cells).to_have_count(3)
    assert [int(text) for text in cells.all_inner_texts()] == [int(v) for v in model.predict(X.head(3))]
    expect(ui_page.locator("[data-testid=latency]")).to_contain_text("Latency")
    ui_page.locator("[data-testid=pin-deployment]").select_option("")  # by traffic: one of the two answers
    ui_page.get_by_role("button", name="Send").click()
    expect(ui_page.locator("[data-testid=answered-by]")).to_have_text(
        re.compile(r"Answered by deployment (blue|green)$"))

    ui_page.get_by_role("button", name="JSON").click()  # a request the model refuses: the worker's 400, as text
    ui_page.locator("[data-testid=test-json]").fill(json.dumps({"dataframe_split": {"columns": [PAYLOAD],
                                                                                   "data": [[1.0]]}}))
    ui_page.get_by_role("button", name="Send").click()
    refusal = ui_page.locator("[data-testid=test-tab] .error-banner")
    expect(refusal).to_contain_text("BAD_REQUEST: Model is missing inputs")
    expect(refusal).to_contain_text(PAYLOAD)
    assert ui_page.evaluate("window.__xss") is None
    # the browser logs the refused fetch itself (the conftest lets through only API paths' 4xx)
    ui_page.console_errors[:] = [text for text in ui_page.console_errors if "status of 400" not in text]

    ui_page.get_by_role("tab", name="Overview").click()  # same page: only the auto-refresh brings new counts
    # (the page was loaded before the two requests; the server may count the OpenAPI document's fetch too)
    ui_page.wait_for_function("n => Number(document.querySelector("
                              "'[data-testid=endpoint-overview] [data-testid=endpoint-requests]')?.textContent) >= n",
                              arg=before["requests"] + 2, timeout=8_000)
    ui_page.get_by_role("link", name="Models", exact=True).click()
    expect(ui_page.locator("h1")).to_have_text("Registered models")
    gets = _endpoint_gets(ui_page)
    ui_page.wait_for_timeout(5_600)
    assert _endpoint_gets(ui_page) == gets, "the endpoint page kept refreshing after it was left"


def test_swagger_tab_renders_the_endpoints_openapi_document(ui_page, ui_server, iris):
    X, _ = iris
    open_ui(ui_page, ui_server, f"/endpoints/{ENDPOINT}/swagger")
    view = ui_page.locator("[data-testid=openapi]")
    expect(view).to_be_visible()
    document = ui_server.client.get(f"/endpoints/{ENDPOINT}/openapi.json").json()
    expect(view.locator("h2").first).to_contain_text(document["info"]["title"])
    operations = sum(len(item) for item in document["paths"].values())
    expect(view.locator("[data-testid=openapi-operation]")).to_have_count(operations)
    invocations = view.locator("[data-testid=openapi-operation]", has_text="/invocations").first
    expect(invocations).to_have_attribute("open", "")  # the scoring operation starts open, the others closed
    ping = view.locator("[data-testid=openapi-operation]", has_text="/ping").first
    expect(ping.locator(".operation-body")).to_be_hidden()
    ping.locator("summary").first.click()
    expect(ping.locator(".operation-body")).to_contain_text("Service is up.")
    for column in X.columns:
        assert column in invocations.inner_text()
    assert view.locator("[data-testid=openapi-link]").get_attribute("href") == f"/endpoints/{ENDPOINT}/openapi.json"


def test_model_version_page_lists_the_endpoints_serving_it(ui_page, ui_server):
    open_ui(ui_page, ui_server, f"/models/{urllib.parse.quote(MODEL, safe='')}/versions/1")
    serving = ui_page.locator("[data-testid=serving-endpoints]")
    expect(serving.get_by_role("link", name=ENDPOINT, exact=True)).to_have_count(1)
    expect(serving.locator("li")).to_have_text(f"{ENDPOINT} (blue ready, green ready)")  # both serve version 1
    serving.get_by_role("link", name=ENDPOINT).first.click()
    expect(ui_page.locator("h1")).to_have_text(f"Endpoint {ENDPOINT}")


def test_hostile_strings_are_shown_as_text(ui_page, ui_server):
    """The model's name (in URIs, links, the model version page), its column name (in the OpenAPI document
    and the Test tab's form) and a hostile endpoint name (in the server's error) are shown as text on every
    page and tab, and no script runs."""
    fragments = [("/endpoints", ENDPOINT), (f"/endpoints/{ENDPOINT}", PAYLOAD),
                 (f"/endpoints/{ENDPOINT}/swagger", COLUMN), (f"/endpoints/{ENDPOINT}/test", COLUMN),
                 (f"/models/{urllib.parse.quote(MODEL, safe='')}/versions/1", ENDPOINT),
                 (f"/endpoints/{urllib.parse.quote(PAYLOAD, safe='')}", PAYLOAD)]
    for fragment, text in fragments:
        open_ui(ui_page, ui_server, fragment)
        expect(ui_page.get_by_text(text, exact=False).first, f"#{fragment} shows {text!r}").to_be_visible(
            timeout=15_000)
        ui_page.wait_for_timeout(300)
        assert ui_page.evaluate("window.__xss") is None, f"a payload ran on #{fragment}"
        assert ui_page.locator("main img, main svg, main iframe").count() == 0, fragment
    assert not ui_page.dialogs
    # the last page is the server's refusal of that name: it is not asked again every 5 s
    gets = _endpoint_gets(ui_page)
    ui_page.wait_for_timeout(5_600)
    assert _endpoint_gets(ui_page) == gets
