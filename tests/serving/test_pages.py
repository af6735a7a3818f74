"""The scoring server's browser pages: the test page at ``/`` and Swagger UI at ``/docs``.

The browser tests drive a real headless Chromium (the system's ``/usr/bin/chromium``,
through Playwright; Playwright never downloads a browser here) against the real
server running in uvicorn on a free 127.0.0.1 port. They skip on a developer machine
without Chromium, but never in CI (``CI`` set), where ``scripts/test`` installs it.
The first tests need no browser: they render the pages through Starlette's TestClient.
"""

from __future__ import annotations

import json
import warnings
from types import SimpleNamespace

import pytest

from tests.support import headless_chromium

EVIL = '<img src=x onerror="alert(1)">&amp;'


# --------------------------------------------------------------------------- no browser


def _served(**overrides):
    from mlcask.models.signature import ModelSignature
    from mlcask.types import ColSpec, ParamSchema, ParamSpec, Schema

    signature = ModelSignature(
        inputs=Schema([ColSpec("double", "sepal <length>"), ColSpec("string", EVIL, required=False)]),
        outputs=Schema([ColSpec("long", "class")]),
        params=ParamSchema([ParamSpec("threshold", "double", 0.5)]),
    )
    flavors = {"python_function": {"loader_module": "mlflow.sklearn"},
               "sklearn": {"model_class": "sklearn.linear_model._logistic.LogisticRegression"}}
    values = dict(name=EVIL, uri="runs:/abc/<model>", model=None, flavors=flavors,
                  metadata=SimpleNamespace(flavors=flavors, signature=signature, model_id=None, run_id=None),
                  serving_input_example=None, signature=signature)
    values.update(overrides)
    return SimpleNamespace(**values)


class _Client:
    """GETs against the page routes alone, in process (httpx over ASGI)."""

    def __init__(self, served):
        from starlette.applications import Starlette

        from mlcask.serving.pages import page_routes

        self.app = Starlette(routes=page_routes(served))

    def get(self, path):
        import anyio
        import httpx

        async def fetch():
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://pages") as c:
                return await c.get(path)

        return anyio.run(fetch)


def _client(served):
    return _Client(served)


def test_test_page_escapes_user_data_and_builds_a_skeleton():
    import html

    resp = _client(_served()).get("/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in resp.headers["content-security-policy"]
    text = resp.text
    assert EVIL not in text and "<model>" not in text and "sepal <length>" not in text
    assert html.escape(EVIL) in text
    assert "python_function" in text and "sklearn" in text
    # No example saved: the editor holds a skeleton that fits the signature (columns and params).
    start = text.index('<textarea id="request"')
    body = text[text.index(">", start) + 1:text.index("</textarea>", start)]
    skeleton = json.loads(html.unescape(body))
    assert skeleton["dataframe_split"]["columns"] == ["sepal <length>", EVIL]
    assert skeleton["dataframe_split"]["data"] == [[0.0, ""]]
    assert skeleton["params"] == {"threshold": 0.5}
    # Nothing on the page points anywhere but this server.
    assert "http://" not in text.replace("http://www.w3.org", "") and "https://" not in text


def test_test_page_prefers_the_saved_example_and_handles_no_signature():
    example = '{"dataframe_split": {"columns": ["a"], "data": [[1.5]]}}'
    served = _served(serving_input_example=example, signature=None,
                     metadata=SimpleNamespace(flavors={}, signature=None))
    text = _client(served).get("/").text
    assert "saved without a signature" in text
    assert "the saved input example" in text
    assert "&quot;dataframe_split&quot;: {" in text  # pretty-printed


def test_skeleton_for_tensor_signatures():
    from mlcask.serving.pages import skeleton_request, type_label

    spec = {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 2, 3]}}
    assert skeleton_request([spec], None) == {"inputs": [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]}
    assert type_label(spec) == "tensor float32 (-1, 2, 3)"
    named = [dict(spec, name="a"), {"type": "tensor", "name": "b", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]
    assert skeleton_request(named, None) == {"inputs": {"a": [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]], "b": [0]}}
    assert type_label({"type": "array", "items": {"type": "string"}}) == "array<string>"


def test_docs_page_uses_local_swagger_assets_only():
    client = _client(_served())
    resp = client.get("/docs")
    assert resp.status_code == 200
    assert "/docs/assets/swagger-ui-bundle.js" in resp.text and "/openapi.json" in resp.text
    assert "https://" not in resp.text and "http://" not in resp.text
    js = client.get("/docs/assets/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    assert client.get("/docs/assets/swagger-ui.css").status_code == 200
    # The dist's own index.html and initializer point at the public petstore: not served.
    assert client.get("/docs/assets/index.html").status_code == 404
    assert client.get("/docs/assets/swagger-initializer.js").status_code == 404
    assert "validatorUrl: null" in client.get("/static/docs.js").text


# --------------------------------------------------------------------------- browser

@pytest.fixture(scope="module")
def iris_model_dir(tmp_path_factory):
    import pandas as pd
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import mlcask.sklearn
    from mlcask.models import infer_signature

    X, y = load_iris(return_X_y=True, as_frame=True)
    X.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    model = LogisticRegression(max_iter=300).fit(X, y)
    path = tmp_path_factory.mktemp("pages") / "iris-classifier"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the integer output column hint
        signature = infer_signature(X, pd.Series(model.predict(X), name="class"))
    mlcask.sklearn.save_model(model, path, signature=signature, input_example=X.head(3))
    return path


@pytest.fixture(scope="module")
def live(iris_model_dir, serve_model):
    with serve_model(iris_model_dir) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser, live):
    """A fresh page that records every request it makes and every console error."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    pg.requests, pg.console_errors = [], []
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    pg.on("pageerror", lambda err: pg.console_errors.append(str(err)))
    yield pg
    context.close()
    outside = [u for u in pg.requests if not (u.startswith(live.url + "/") or u.startswith("data:"))]
    assert not outside, f"requests left 127.0.0.1: {outside}"


def _send_and_wait(page, status):
    # Locator assertions, not wait_for_function: the page's CSP forbids eval, which that needs.
    import re

    from playwright.sync_api import expect

    page.click("#send")
    expect(page.locator("#status")).to_have_text(re.compile("^%d " % status), timeout=15_000)
    expect(page.locator("#send")).to_be_enabled(timeout=15_000)


@pytest.mark.browser
def test_test_page_in_a_browser(page, live):
    page.goto(live.url + "/")
    assert page.text_content("#model-name").strip() == "iris-classifier"
    flavors = page.inner_text("#flavors")
    assert "sklearn" in flavors and "python_function" in flavors
    rows = page.eval_on_selector_all(
        "table[data-schema=inputs] tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent.trim()))")
    assert rows == [[c, "double", "yes"] for c in ("sepal_length", "sepal_width", "petal_length", "petal_width")]
    outputs = page.eval_on_selector_all(
        "table[data-schema=outputs] tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent.trim()))")
    assert outputs == [["class", "long", "yes"]]

    # The editor holds the saved serving input example; Send scores it.
    request = json.loads(page.input_value("#request"))
    assert request["dataframe_split"]["columns"][0] == "sepal_length"
    assert len(request["dataframe_split"]["data"]) == 3
    _send_and_wait(page, 200)
    answer = json.loads(page.text_content("#response"))
    assert len(answer["predictions"]) == 3 and all(p in (0, 1, 2) for p in answer["predictions"])
    latency = float(page.text_content("#latency"))
    assert 0 < latency < 15_000
    assert not page.is_visible("#error")
    page.screenshot(path="/tmp/mlcask-test-page.png", full_page=True)

    # A bad request (a required column missing) shows the server's status and message.
    bad = {"dataframe_split": {"columns": request["dataframe_split"]["columns"][:3],
                               "data": [row[:3] for row in request["dataframe_split"]["data"]]}}
    page.fill("#request", json.dumps(bad))
    _send_and_wait(page, 400)
    assert page.is_visible("#error")
    error = page.inner_text("#error")
    assert "400" in error and "petal_width" in error
    page.screenshot(path="/tmp/mlcask-test-page-error.png", full_page=True)

    # Not JSON at all: the page warns, and still shows what the server says.
    page.fill("#request", "{not json")
    _send_and_wait(page, 400)
    assert "Not valid JSON" in page.inner_text("#local-error")
    assert page.is_visible("#error")

    page.click("#reset")
    assert json.loads(page.input_value("#request")) == request
    # Chromium logs each 4xx fetch; anything else (a script error, a CSP violation) is a bug.
    assert not [m for m in page.console_errors if "status of 400" not in m], page.console_errors


@pytest.mark.browser
def test_swagger_ui_in_a_browser(page, live):
    page.goto(live.url + "/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    paths = page.eval_on_selector_all(".opblock-summary-path", "els => els.map(e => e.textContent.trim())")
    paths = [p.replace("\u200b", "") for p in paths]
    assert "/invocations" in paths, paths
    assert "/ping" in paths
    assert page.is_visible(".information-container")  # the document's info block rendered
    assert any(u == live.url + "/openapi.json" for u in page.requests)
    assert not [m for m in page.console_errors if "Content Security Policy" in m], page.console_errors
    page.screenshot(path="/tmp/mlcask-docs.png", full_page=False)
