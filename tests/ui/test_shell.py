"""The UI's shell: served at ``/`` under a strict CSP, its files from ``/static-files``, the
routes of MLflow's URL forms, the theme switch, and the CSRF header on writes."""

from __future__ import annotations

import pytest

from tests.ui.conftest import open_ui


def test_page_and_files_are_served_with_a_strict_policy(ui_server):
    page = ui_server.client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "require-trusted-types-for 'script'" in policy
    assert ui_server.client.get("/static-files/js/app.js").headers["content-type"].startswith("text/javascript")
    assert ui_server.client.get("/static-files/../pyproject.toml").status_code == 404
    assert ui_server.client.get("/static-files/nope.js").status_code == 404


def test_ui_writes_need_the_csrf_header(ui_server):
    refused = ui_server.client.post("/ajax-api/2.0/mlflow/experiments/create", content='{"name": "csrf"}',
                                    headers={"content-type": "text/plain"})
    assert refused.status_code == 403 and "x-mlcask-csrf" in refused.json()["message"]
    assert ui_server.api("GET", "/experiments/get-by-name", params={"experiment_name": "csrf"}).status_code == 404
    accepted = ui_server.client.post("/ajax-api/2.0/mlflow/experiments/create", json={"name": "csrf"},
                                     headers={"x-mlcask-csrf": "1"})
    assert accepted.status_code == 200
    # API clients keep using /api/2.0 without it.
    assert ui_server.api("POST", "/experiments/create", json={"name": "csrf-api"}).status_code == 200


@pytest.mark.browser
def test_shell_routes_and_theme(ui_page, ui_server):
    open_ui(ui_page, ui_server, "/models")
    assert ui_page.locator("header.top nav a[aria-current=page]").inner_text() == "Models"
    ui_page.goto(f"{ui_server.url}/#/no/such/page")
    ui_page.wait_for_selector("text=Page not found")
    ui_page.select_option("header.top select", "dark")
    assert ui_page.evaluate("document.documentElement.dataset.theme") == "dark"
    ui_page.reload()
    ui_page.wait_for_selector("header.top")
    assert ui_page.evaluate("document.documentElement.dataset.theme") == "dark"
