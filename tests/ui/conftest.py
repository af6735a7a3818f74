"""Fixtures for the web UI's tests: a real ``mlcask server`` and a real headless Chromium.

- ``ui_server``: one ``mlcask server`` per module (SQLite, artifacts proxied; see
  tests/server/conftest.py ``launch``); tests create their own experiments in it.
- ``start_ui_server(**options)``: more servers (auth, other stores), stopped after the test.
- ``browser``: Debian's ``/usr/bin/chromium`` driven by Playwright (never a browser download).
- ``ui_page``: a fresh page of a new browser context on ``ui_server`` that records console
  errors, page errors and every request; after the test it fails if the page logged an error
  (a CSP violation included) or sent a request anywhere but the server. What the sandboxed frame
  of an HTML artifact's preview logs (its sandbox blocking scripts) goes to ``page.sandbox_messages``,
  and the 4xx answers of API calls (the UI showing a refusal) to ``page.http_errors``.
- ``open_ui(page, server, fragment)``: load ``<server>/#<fragment>`` and wait for the shell.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.conftest import ServerProcess, launch
from tests.support import headless_chromium


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory) -> Iterator[ServerProcess]:
    server = launch(tmp_path_factory.mktemp("ui-server"))
    yield server
    server.stop()


@pytest.fixture
def start_ui_server(tmp_path) -> Iterator:
    started: list[ServerProcess] = []

    def start(**options) -> ServerProcess:
        server = launch(tmp_path / f"ui-server{len(started)}", **options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as chromium:
        yield chromium


# The sandboxed frame of an HTML artifact's preview logs what its sandbox blocks (its scripts, its
# images from anywhere): that is the sandbox working, not an error of the UI.
SANDBOXED_PREVIEW = "/artifacts/html-preview"


# Chromium logs every 4xx answer as "Failed to load resource"; an API call the UI expected to be
# refused (a bad filter, a missing run) is a page showing the server's message, not a UI error.
# The test sees them in ``page.http_errors``; a missing static file stays an error.
API_PATHS = ("/ajax-api/", "/api/", "/get-artifact", "/model-versions/get-artifact")


def _record_console(page, message) -> None:
    if message.type != "error":
        return
    location = (message.location or {}).get("url", "")
    if SANDBOXED_PREVIEW in location or SANDBOXED_PREVIEW in message.text:
        page.sandbox_messages.append(message.text)
        return
    text = message.text
    if (text.startswith("Failed to load resource: the server responded with a status of 4")
            and any(path in location for path in API_PATHS)):
        page.http_errors.append((location, text))
        return
    page.console_errors.append(text)


def new_page(browser, *, viewport=None, **context_options):
    """A page of a fresh context that records console errors (``page.console_errors``) and requests."""
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900}, **context_options)
    page = context.new_page()
    page.requests, page.console_errors, page.dialogs, page.sandbox_messages, page.http_errors = [], [], [], [], []
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("console", lambda m: _record_console(page, m))
    page.on("pageerror", lambda err: page.console_errors.append(str(err)))

    def on_dialog(dialog):
        page.dialogs.append((dialog.type, dialog.message))
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return page


@pytest.fixture
def ui_page(browser, ui_server):
    page = new_page(browser)
    yield page
    page.context.close()
    outside = [url for url in page.requests
               if not (url.startswith(ui_server.url + "/") or url.startswith(("data:", "blob:", "about:")))]
    assert not outside, f"the UI sent requests away from the server: {outside}"
    assert not page.console_errors, f"the page logged errors: {page.console_errors}"


def open_ui(page, server: ServerProcess, fragment: str = "/") -> None:
    """Load the UI at ``#<fragment>`` and wait until the shell has rendered."""
    page.goto(f"{server.url}/#{fragment}")
    page.wait_for_selector("header.top", timeout=15_000)


ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


def ok_json(response):
    """The JSON body of a 200 response (the response text in the failure otherwise)."""
    assert response.status_code == 200, response.text
    return response.json()


def put_artifact(server: ServerProcess, run_info: dict, path: str, data: bytes) -> None:
    """Upload ``data`` as the run's artifact ``path`` through the server's artifact proxy."""
    root = run_info["artifact_uri"].removeprefix("mlflow-artifacts:").lstrip("/")
    assert server.client.put(f"{ARTIFACTS}/{root}/{path}", content=data).status_code == 200
