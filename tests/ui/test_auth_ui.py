"""The UI under ``--app-name basic-auth``: the browser is asked for credentials, each user sees only
what they may read, and state-changing calls from other origins (CSRF) are refused even though the
browser would send its saved credentials with them."""

from __future__ import annotations

import pytest

from tests.ui.conftest import new_page, open_ui

ADMIN_PASSWORD = "ui-admin-password"
ALICE = ("alice", "alice-password-1")


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    from tests.server.conftest import launch

    server = launch(tmp_path_factory.mktemp("ui-auth"), args=["--app-name", "basic-auth"],
                    env={"MLCASK_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD,
                         "MLCASK_AUTH_DEFAULT_PERMISSION": "NO_PERMISSIONS"})
    admin = ("admin", ADMIN_PASSWORD)
    assert server.api("POST", "/users/create", json={"username": ALICE[0], "password": ALICE[1]},
                      auth=admin).status_code == 200
    secret = server.api("POST", "/experiments/create", json={"name": "admins-secret-experiment"},
                        auth=admin).json()["experiment_id"]
    own = server.api("POST", "/experiments/create", json={"name": "alices-experiment"},
                     auth=ALICE).json()["experiment_id"]
    server.ids = {"secret": secret, "own": own}
    yield server
    server.stop()


def test_the_page_asks_for_credentials_and_its_files_are_public(auth_server):
    answer = auth_server.client.get("/")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].lower().startswith("basic")
    assert auth_server.client.get("/static-files/js/app.js").status_code == 200
    assert auth_server.client.get("/", auth=ALICE).status_code == 200


def test_forged_writes_are_refused(auth_server):
    target = "/api/2.0/mlflow/experiments/delete"
    body = '{"experiment_id": "%s"}' % auth_server.ids["own"]
    # A form on another site posts text/plain; the browser adds its saved credentials and an Origin.
    forged = auth_server.client.post(target, content=body, auth=ALICE, headers={
        "content-type": "text/plain", "origin": "http://evil.example"})
    assert forged.status_code == 403
    # A sandboxed frame (an HTML artifact) has the opaque origin "null".
    assert auth_server.client.post(target, content=body, auth=ALICE, headers={
        "content-type": "text/plain", "origin": "null"}).status_code == 403
    # The web twin needs the UI's header even with no Origin at all.
    assert auth_server.client.post("/ajax-api/2.0/mlflow/experiments/delete", content=body, auth=ALICE,
                                   headers={"content-type": "application/json"}).status_code == 403
    experiment = auth_server.api("GET", "/experiments/get", params={"experiment_id": auth_server.ids["own"]},
                                 auth=ALICE).json()["experiment"]
    assert experiment["lifecycle_stage"] == "active"


@pytest.mark.browser
def test_a_user_sees_only_what_they_may_read(browser, auth_server):
    page = new_page(browser, http_credentials={"username": ALICE[0], "password": ALICE[1]})
    try:
        open_ui(page, auth_server, "/experiments")
        page.get_by_text("alices-experiment").first.wait_for(timeout=15_000)
        assert page.get_by_text("admins-secret-experiment").count() == 0
        page.goto(f"{auth_server.url}/#/experiments/{auth_server.ids['secret']}")
        page.get_by_role("alert").first.wait_for(timeout=15_000)
        assert "PERMISSION_DENIED" in page.get_by_role("alert").first.inner_text()
        assert page.get_by_text("admins-secret-experiment").count() == 0
    finally:
        page.context.close()


@pytest.mark.browser
def test_the_ui_writes_with_the_users_credentials(browser, auth_server):
    page = new_page(browser, http_credentials={"username": ALICE[0], "password": ALICE[1]})
    try:
        open_ui(page, auth_server, "/experiments")
        page.get_by_text("alices-experiment").first.wait_for(timeout=15_000)
        status = page.evaluate("""async (id) => {
            const {mlflow} = await import('/static-files/js/api.js');
            await mlflow.post('/experiments/set-experiment-tag', {experiment_id: id, key: 'k', value: 'v'});
            try { await mlflow.post('/experiments/set-experiment-tag',
                                    {experiment_id: '%s', key: 'k', value: 'v'}); return 'allowed'; }
            catch (error) { return error.status; }
        }""" % auth_server.ids["secret"], auth_server.ids["own"])
        assert status == 403
        tags = auth_server.api("GET", "/experiments/get", params={"experiment_id": auth_server.ids["own"]},
                               auth=ALICE).json()["experiment"]["tags"]
        assert {"key": "k", "value": "v"} in tags
    finally:
        page.context.close()


@pytest.mark.browser
def test_a_cross_site_form_post_changes_nothing(browser, auth_server):
    """A real browser, signed in to the server, submits another site's form to it."""
    page = new_page(browser, http_credentials={"username": ALICE[0], "password": ALICE[1]})
    try:
        open_ui(page, auth_server, "/experiments")
        page.get_by_text("alices-experiment").first.wait_for(timeout=15_000)
        page.goto("about:blank")  # another origin: the attacker's page, in the signed-in browser
        page.set_content(f"""<form id=f method=post enctype=text/plain
              action="{auth_server.url}/api/2.0/mlflow/experiments/delete">
              <input name='{{"experiment_id": "{auth_server.ids["own"]}", "x": "' value='"}}'></form>""")
        with page.expect_response(lambda r: "experiments/delete" in r.url) as answer:
            page.evaluate("document.getElementById('f').submit()")
        assert answer.value.status == 403
        page.console_errors.clear()  # the refused page's own load error
    finally:
        page.context.close()
    experiment = auth_server.api("GET", "/experiments/get", params={"experiment_id": auth_server.ids["own"]},
                                 auth=ALICE).json()["experiment"]
    assert experiment["lifecycle_stage"] == "active"
