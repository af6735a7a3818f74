"""The basic-auth middleware and endpoints on a small Starlette app with MLflow's real paths.

The stand-in handlers read requests the way MLflow's do (GET from the query string,
other verbs from the JSON body) and answer from real SQL stores, so these tests show
what reaches a handler, not only what the middleware answers. The end-to-end tests
with ``mlcask server`` and the real MLflow client are in test_auth_e2e.py.
"""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from mlcask.entities import Metric
from mlcask.exceptions import MlcaskException
from mlcask.server.auth import AuthConfigurationError, AuthSettings, install
from mlcask.server.auth.credentials import parse_authorization

ADMIN, ADMIN_PASSWORD = "admin", "admin-password-1"
FAST_HASHES = {"argon2_time_cost": 1, "argon2_memory_kib": 256, "argon2_parallelism": 1}


def settings_for(tmp_path: Path, **overrides) -> AuthSettings:
    values = {"admin_username": ADMIN, "admin_password": ADMIN_PASSWORD,
              "database_uri": f"sqlite:///{tmp_path / 'basic_auth.db'}", **FAST_HASHES, **overrides}
    return AuthSettings(**values)


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


# -- stand-in handlers with MLflow's paths ------------------------------------------------------
async def _params(request: Request) -> dict:
    if request.method == "GET":
        return dict(request.query_params)
    body = await request.body()
    return json.loads(body) if body else {}


def stand_in_routes(tracking, registry, artifacts: Path) -> list[Route]:
    seen: list[dict] = []

    def api(suffix: str, method: str, handler) -> list[Route]:
        async def endpoint(request: Request) -> Response:
            try:
                params = await _params(request)
                seen.append({"path": request.url.path, "params": params})
                return JSONResponse(handler(params))
            except (KeyError, TypeError, ValueError) as error:  # the stand-in's own validation
                return JSONResponse({"error_code": "INVALID_PARAMETER_VALUE", "message": repr(error)}, 400)
            except MlcaskException as error:
                return JSONResponse({"error_code": error.error_code, "message": error.message},
                                    404 if error.error_code == "RESOURCE_DOES_NOT_EXIST" else 400)
        return [Route(prefix + suffix, endpoint, methods=[method]) for prefix in ("/api/2.0/mlflow/",
                                                                                  "/ajax-api/2.0/mlflow/")]

    def experiment(params):
        e = tracking.get_experiment(params["experiment_id"])
        return {"experiment": {"experiment_id": e.experiment_id, "name": e.name}}

    def search_experiments(params):
        found = tracking.search_experiments(max_results=1000)
        return {"experiments": [{"experiment_id": e.experiment_id, "name": e.name} for e in found]}

    def create_run(params):
        run = tracking.create_run(params.get("experiment_id", "0"), "u", None, [], None)
        return {"run": {"info": {"run_id": run.info.run_id, "experiment_id": run.info.experiment_id}}}

    def log_batch(params):
        tracking.log_batch(params["run_id"], metrics=[Metric(m["key"], m["value"], m["timestamp"], m.get("step", 0))
                                                      for m in params.get("metrics", [])])
        return {}

    def search_runs(params):
        found = tracking.search_runs(params["experiment_ids"])
        return {"runs": [{"info": {"run_id": r.info.run_id, "experiment_id": r.info.experiment_id}} for r in found]}

    def search_models(params):
        return {"registered_models": [{"name": m.name} for m in registry.search_registered_models()]}

    routes = [
        *api("experiments/create", "POST", lambda p: {"experiment_id": tracking.create_experiment(p["name"])}),
        *api("experiments/get", "GET", experiment),
        *api("experiments/update", "POST", lambda p: tracking.rename_experiment(p["experiment_id"], p["new_name"])
             or {}),
        *api("experiments/search", "POST", search_experiments),
        *api("runs/create", "POST", create_run),
        *api("runs/get", "GET", lambda p: {"run": {"info": {"run_id": tracking.get_run(p["run_id"]).info.run_id}}}),
        *api("runs/log-batch", "POST", log_batch),
        *api("runs/search", "POST", search_runs),
        *api("registered-models/create", "POST",
             lambda p: {"registered_model": {"name": registry.create_registered_model(p["name"]).name}}),
        *api("registered-models/get", "GET", lambda p: {"registered_model": {"name": p["name"]}}),
        *api("registered-models/rename", "POST",
             lambda p: {"registered_model": {"name": registry.rename_registered_model(p["name"], p["new_name"]).name}}),
        *api("registered-models/delete", "DELETE", lambda p: registry.delete_registered_model(p["name"]) or {}),
        *api("registered-models/search", "GET", search_models),
        *api("secret-admin-thing", "GET", lambda p: {"secret": True}),
    ]

    async def artifact(request: Request) -> Response:
        target = artifacts / request.path_params["artifact_path"]
        if request.method == "PUT":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(await request.body())
            return JSONResponse({})
        return Response(target.read_bytes()) if target.is_file() else JSONResponse({}, 404)

    async def mpu(request: Request) -> Response:
        return JSONResponse({"upload_id": "u1", "credentials": []})

    async def health(request: Request) -> Response:
        return Response("OK")

    routes += [Route("/health", health), Route("/api/2.0/mlflow-artifacts/artifacts/{artifact_path:path}", artifact,
                                               methods=["GET", "PUT", "DELETE"]),
               Route("/api/2.0/mlflow-artifacts/mpu/create/{artifact_path:path}", mpu, methods=["POST"])]
    return routes, seen


@pytest.fixture
def stores(tmp_path):
    from mlcask.tracking.registry_store import SqlRegistryStore
    from mlcask.tracking.store.sql_store import SqlTrackingStore

    uri = f"sqlite:///{tmp_path / 'mlcask.db'}"
    return SqlTrackingStore(uri, str(tmp_path / "artifacts")), SqlRegistryStore(uri)


def make_client(tmp_path, stores, **overrides):
    tracking, registry = stores
    routes, seen = stand_in_routes(tracking, registry, tmp_path / "proxied")
    app = Starlette(routes=routes)
    settings = settings_for(tmp_path, **overrides)
    install(app, settings, tracking, registry)
    client = TestClient(app)
    client.seen = seen
    client.service = app.state.auth_service
    return client


@pytest.fixture
def client(tmp_path, stores):
    with make_client(tmp_path, stores) as client:
        yield client


def add_user(client, username: str, password: str = "pw-of-user") -> dict[str, str]:
    answer = client.post("/api/2.0/mlflow/users/create", json={"username": username, "password": password},
                         headers=basic(ADMIN, ADMIN_PASSWORD))
    assert answer.status_code == 200, answer.text
    return basic(username, password)


# -- settings ---------------------------------------------------------------------------------------
def test_the_admin_password_is_required():
    with pytest.raises(AuthConfigurationError, match="MLCASK_AUTH_ADMIN_PASSWORD is not set"):
        AuthSettings.from_env({})
    with pytest.raises(AuthConfigurationError, match="MLCASK_AUTH_ADMIN_PASSWORD is not set"):
        AuthSettings.from_env({"MLCASK_AUTH_ADMIN_PASSWORD": ""})
    with pytest.raises(AuthConfigurationError, match="too weak"):
        AuthSettings.from_env({"MLCASK_AUTH_ADMIN_PASSWORD": "password1234"})
    with pytest.raises(AuthConfigurationError, match="MLCASK_AUTH_DEFAULT_PERMISSION"):
        AuthSettings.from_env({"MLCASK_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD, "MLCASK_AUTH_DEFAULT_PERMISSION": "ALL"})
    settings = AuthSettings.from_env({"MLCASK_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD,
                                      "MLCASK_AUTH_DEFAULT_PERMISSION": "no_permissions"})
    assert (settings.admin_username, settings.default_permission, settings.database_uri) == (
        "admin", "NO_PERMISSIONS", "sqlite:///basic_auth.db")
    assert ADMIN_PASSWORD not in repr(settings)


def test_the_admin_is_created_once_and_never_reset(tmp_path, stores, caplog):
    with make_client(tmp_path, stores) as first:
        assert first.get("/api/2.0/mlflow/users/current", headers=basic(ADMIN, ADMIN_PASSWORD)).json()["user"][
            "is_admin"] is True
    with caplog.at_level(logging.WARNING), make_client(tmp_path, stores, admin_password="another-password") as again:
        assert again.get("/api/2.0/mlflow/users/current", headers=basic(ADMIN, ADMIN_PASSWORD)).status_code == 200
        assert again.get("/api/2.0/mlflow/users/current",
                         headers=basic(ADMIN, "another-password")).status_code == 401
    assert "stored password is kept" in caplog.text


# -- authentication -----------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [
    {}, basic(ADMIN, "wrong"), basic("nobody", ADMIN_PASSWORD), {"Authorization": "Basic !!!"},
    {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:x").decode()}, {"Authorization": "Bearer nope"},
    {"Authorization": "Digest x"}, {"Authorization": "Basic " + base64.b64encode(b"admin").decode()},
])
@pytest.mark.parametrize("path", ["/api/2.0/mlflow/experiments/search", "/api/2.0/mlflow/users/create",
                                  "/api/2.0/mlflow-artifacts/artifacts/0/x", "/no/such/path", "/openapi.json"])
def test_no_or_wrong_credentials_are_a_401_everywhere(client, headers, path):
    answer = client.post(path, json={}, headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Basic realm="mlcask"'
    assert answer.json()["error_code"] == "UNAUTHENTICATED"
    assert client.seen == []


def test_health_is_public(client):
    assert client.get("/health").status_code == 200


def test_unknown_users_cost_a_hash_like_known_ones(client, monkeypatch):
    calls = []
    verify = client.service.hasher.verify
    monkeypatch.setattr(client.service.hasher, "verify", lambda h, s: calls.append(h) or verify(h, s))
    client.get("/api/2.0/mlflow/users/current", headers=basic("nobody", "x"))
    client.get("/api/2.0/mlflow/users/current", headers=basic(ADMIN, "x"))
    assert len(calls) == 2 and calls[0] is None and calls[1] is not None


def test_verified_credentials_are_cached_until_the_password_changes(client, monkeypatch):
    user = add_user(client, "alice", "first-password")
    calls = []
    verify = client.service.hasher.verify
    monkeypatch.setattr(client.service.hasher, "verify", lambda h, s: calls.append(1) or verify(h, s))
    for _ in range(5):
        assert client.get("/api/2.0/mlflow/users/current", headers=user).status_code == 200
    assert len(calls) == 1
    answer = client.patch("/api/2.0/mlflow/users/update-password", headers=basic(ADMIN, ADMIN_PASSWORD),
                          json={"username": "alice", "password": "second-password"})
    assert answer.status_code == 200
    assert client.get("/api/2.0/mlflow/users/current", headers=user).status_code == 401
    assert client.get("/api/2.0/mlflow/users/current", headers=basic("alice", "second-password")).status_code == 200
    client.request("DELETE", "/api/2.0/mlflow/users/delete", json={"username": "alice"},
                   headers=basic(ADMIN, ADMIN_PASSWORD))
    assert client.get("/api/2.0/mlflow/users/current", headers=basic("alice", "second-password")).status_code == 401


def test_basic_credentials_parse_like_http_says():
    assert parse_authorization("Basic " + base64.b64encode("jos\u00e9:p:w".encode()).decode()).password == "p:w"
    assert parse_authorization("basic " + base64.b64encode(b"a:b").decode()).username == "a"
    assert parse_authorization("Basic " + base64.b64encode(b":b").decode()) is None


# -- tokens -------------------------------------------------------------------------------------
def test_tokens_are_shown_once_and_work_as_bearer(client):
    user = add_user(client, "bob")
    created = client.post("/api/2.0/mlcask/tokens/create", json={"name": "ci", "expires_in_days": 30}, headers=user)
    assert created.status_code == 200, created.text
    token = created.json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/2.0/mlflow/users/current", headers=bearer).json()["user"]["username"] == "bob"
    listed = client.get("/api/2.0/mlcask/tokens/list", headers=bearer).json()["tokens"]
    assert [t["name"] for t in listed] == ["ci"] and token not in json.dumps(listed)
    assert client.post("/api/2.0/mlcask/tokens/create", json={}, headers=bearer).status_code == 403
    wrong = {"Authorization": f"Bearer {token[:-2]}xx"}
    assert client.get("/api/2.0/mlflow/users/current", headers=wrong).status_code == 401
    deleted = client.request("DELETE", "/api/2.0/mlcask/tokens/delete", json={"token_id": listed[0]["id"]},
                             headers=user)
    assert deleted.status_code == 200
    assert client.get("/api/2.0/mlflow/users/current", headers=bearer).status_code == 401


# -- users ----------------------------------------------------------------------------------------
def test_user_endpoints_follow_mlflow(client):
    admin = basic(ADMIN, ADMIN_PASSWORD)
    carol = add_user(client, "carol", "carol-pw")
    again = client.post("/api/2.0/mlflow/users/create", json={"username": "carol", "password": "x"}, headers=admin)
    assert (again.status_code, again.json()["error_code"]) == (400, "RESOURCE_ALREADY_EXISTS")
    assert client.post("/api/2.0/mlflow/users/create", json={"username": "dave", "password": "x"},
                       headers=carol).status_code == 403
    assert client.get("/api/2.0/mlflow/users/get", params={"username": "carol"}, headers=carol).json()["user"][
        "username"] == "carol"
    assert client.get("/api/2.0/mlflow/users/get", params={"username": ADMIN}, headers=carol).status_code == 403
    missing = client.get("/api/2.0/mlflow/users/get", params={"username": "zed"}, headers=admin)
    assert (missing.status_code, missing.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    own = client.patch("/api/2.0/mlflow/users/update-password", json={"username": "carol", "password": "new-pw"},
                       headers=carol)
    assert own.status_code == 400 and "Current password" in own.json()["message"]
    assert client.patch("/api/2.0/mlflow/users/update-password", headers=carol, json={
        "username": "carol", "password": "new-pw", "current_password": "carol-pw"}).status_code == 200
    carol = basic("carol", "new-pw")
    assert client.patch("/api/2.0/mlflow/users/update-admin", json={"username": "carol", "is_admin": True},
                        headers=carol).status_code == 403
    assert client.patch("/ajax-api/2.0/mlflow/users/update-admin", json={"username": "carol", "is_admin": True},
                        headers=admin).status_code == 200
    assert client.get("/api/2.0/mlflow/users/current", headers=carol).json()["user"]["is_admin"] is True
    self_delete = client.request("DELETE", "/api/2.0/mlflow/users/delete", json={"username": ADMIN}, headers=admin)
    assert self_delete.status_code == 400
    assert client.request("DELETE", "/api/2.0/mlflow/users/delete", json={"username": "carol"},
                          headers=admin).status_code == 200
    assert client.get("/api/2.0/mlflow/users/current", headers=carol).status_code == 401


# -- permissions --------------------------------------------------------------------------------
def _experiment(client, headers, name="exp") -> str:
    answer = client.post("/api/2.0/mlflow/experiments/create", json={"name": name}, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["experiment_id"]


def _run(client, headers, experiment_id) -> str:
    answer = client.post("/api/2.0/mlflow/runs/create", json={"experiment_id": experiment_id}, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["run"]["info"]["run_id"]


def _batch(run_id):
    return {"run_id": run_id, "metrics": [{"key": "m", "value": 1.0, "timestamp": 1, "step": 0}]}


def test_creators_manage_others_read_by_default(client):
    alice, bob = add_user(client, "alice"), add_user(client, "bob")
    experiment_id = _experiment(client, alice)
    run_id = _run(client, alice, experiment_id)
    assert client.post("/api/2.0/mlflow/runs/log-batch", json=_batch(run_id), headers=alice).status_code == 200
    assert client.get("/api/2.0/mlflow/runs/get", params={"run_id": run_id}, headers=bob).status_code == 200
    assert client.post("/api/2.0/mlflow/runs/log-batch", json=_batch(run_id), headers=bob).status_code == 403
    assert client.post("/api/2.0/mlflow/runs/create", json={"experiment_id": experiment_id},
                       headers=bob).status_code == 403
    grant = {"username": "bob", "resource_type": "experiment", "resource_id": experiment_id, "permission": "EDIT"}
    assert client.post("/api/3.0/mlflow/users/permissions/grant", json=grant, headers=bob).status_code == 403
    assert client.post("/api/3.0/mlflow/users/permissions/grant", json=grant, headers=alice).status_code == 200
    assert client.post("/api/2.0/mlflow/runs/log-batch", json=_batch(run_id), headers=bob).status_code == 200
    checked = client.get("/api/3.0/mlflow/users/permissions/get", headers=bob, params={
        "username": "bob", "resource_type": "experiment", "resource_id": experiment_id})
    assert checked.json() == {"allowed": True, "permission": "EDIT"}
    assert client.post("/api/3.0/mlflow/users/permissions/revoke", headers=alice, json={
        "username": "bob", "resource_type": "experiment", "resource_id": experiment_id}).status_code == 200
    assert client.post("/api/2.0/mlflow/runs/log-batch", json=_batch(run_id), headers=bob).status_code == 403


def test_no_permissions_by_default_hides_and_filters(tmp_path, stores):
    with make_client(tmp_path, stores, default_permission="NO_PERMISSIONS") as client:
        alice, bob = add_user(client, "alice"), add_user(client, "bob")
        mine, theirs = _experiment(client, alice, "mine"), _experiment(client, bob, "theirs")
        _run(client, alice, mine)
        _run(client, bob, theirs)
        assert client.get("/api/2.0/mlflow/experiments/get", params={"experiment_id": mine},
                          headers=bob).status_code == 403
        seen = client.post("/api/2.0/mlflow/experiments/search", json={}, headers=bob).json()["experiments"]
        assert [e["experiment_id"] for e in seen] == [theirs]
        runs = client.post("/api/2.0/mlflow/runs/search", json={"experiment_ids": [mine, theirs]}, headers=bob)
        assert {r["info"]["experiment_id"] for r in runs.json()["runs"]} == {theirs}
        assert client.post("/api/2.0/mlflow/runs/search", json={"experiment_ids": [mine]},
                           headers=bob).json() == {}
        admin_view = client.post("/api/2.0/mlflow/experiments/search", json={}, headers=basic(ADMIN, ADMIN_PASSWORD))
        assert len(admin_view.json()["experiments"]) == 3  # Default, mine, theirs


def test_registered_model_grants_follow_renames_and_deletes(tmp_path, stores):
    with make_client(tmp_path, stores, default_permission="NO_PERMISSIONS") as client:
        alice, bob = add_user(client, "alice"), add_user(client, "bob")
        assert client.post("/api/2.0/mlflow/registered-models/create", json={"name": "m"},
                           headers=alice).status_code == 200
        assert client.get("/api/2.0/mlflow/registered-models/get", params={"name": "m"},
                          headers=bob).status_code == 403
        assert client.post("/api/2.0/mlflow/registered-models/rename", json={"name": "m", "new_name": "n"},
                           headers=bob).status_code == 403
        assert client.post("/api/2.0/mlflow/registered-models/rename", json={"name": "m", "new_name": "n"},
                           headers=alice).status_code == 200
        assert client.get("/api/2.0/mlflow/registered-models/get", params={"name": "n"},
                          headers=alice).status_code == 200
        assert client.get("/api/2.0/mlflow/registered-models/search", headers=bob).json()["registered_models"] == []
        assert client.request("DELETE", "/api/2.0/mlflow/registered-models/delete", json={"name": "n"},
                              headers=alice).status_code == 200
        # Bob re-creates the name: Alice's old grant does not carry over.
        assert client.post("/api/2.0/mlflow/registered-models/create", json={"name": "n"},
                           headers=bob).status_code == 200
        assert client.get("/api/2.0/mlflow/registered-models/get", params={"name": "n"},
                          headers=alice).status_code == 403


def test_older_permission_endpoints(client):
    alice, bob = add_user(client, "alice"), add_user(client, "bob")
    experiment_id = _experiment(client, alice)
    body = {"experiment_id": experiment_id, "username": "bob", "permission": "MANAGE"}
    created = client.post("/api/2.0/mlflow/experiments/permissions/create", json=body, headers=alice)
    assert created.json()["experiment_permission"]["permission"] == "MANAGE"
    assert client.post("/api/2.0/mlflow/experiments/permissions/create", json=body,
                       headers=alice).status_code == 400
    got = client.get("/api/2.0/mlflow/experiments/permissions/get", headers=bob,
                     params={"experiment_id": experiment_id, "username": "bob"})
    assert got.json()["experiment_permission"]["permission"] == "MANAGE"
    assert client.patch("/api/2.0/mlflow/experiments/permissions/update", headers=alice,
                        json={**body, "permission": "READ"}).status_code == 200
    assert client.request("DELETE", "/api/2.0/mlflow/experiments/permissions/delete", headers=bob,
                          json={"experiment_id": experiment_id, "username": "bob"}).status_code == 403
    missing = client.post("/api/2.0/mlflow/experiments/permissions/create", headers=basic(ADMIN, ADMIN_PASSWORD),
                          json={**body, "experiment_id": "999"})
    assert missing.status_code == 404


# -- bypasses -----------------------------------------------------------------------------------
@pytest.fixture
def locked(tmp_path, stores):
    """Alice's experiment with a run; Bob has no permission on it (default NO_PERMISSIONS)."""
    with make_client(tmp_path, stores, default_permission="NO_PERMISSIONS") as client:
        alice, bob = add_user(client, "alice"), add_user(client, "bob")
        client.alice, client.bob = alice, bob
        client.experiment_id = _experiment(client, alice, "alices")
        client.run_id = _run(client, alice, client.experiment_id)
        client.own_experiment = _experiment(client, bob, "bobs")
        client.own_run = _run(client, bob, client.own_experiment)
        client.seen.clear()
        yield client


@pytest.mark.parametrize("method,path,kwargs", [
    ("GET", "/api/2.0/mlflow/runs/get", {"params": {"run_id": "{run}"}}),
    ("HEAD", "/api/2.0/mlflow/runs/get", {"params": {"run_id": "{run}"}}),
    ("GET", "/ajax-api/2.0/mlflow/runs/get", {"params": {"run_id": "{run}"}}),
    ("GET", "/api/2.0/mlflow/runs/get", {"params": {"run_uuid": "{run}"}}),
    ("GET", "/api/2.0/mlflow/runs/get", {"params": {"runId": "{run}"}}),
    ("POST", "/api/2.0/mlflow/runs/log-batch", {"json": {"run_id": "{run}", "metrics": []}}),
    ("POST", "/api/2.0/mlflow/runs/log-batch", {"json": {"runId": "{run}", "metrics": []}}),
    ("POST", "/api/2.0/mlflow/runs/log-batch", {"json": {"run_uuid": "{run}"}}),
    ("POST", "/api/2.0/mlflow/runs/create", {"json": {"experiment_id": "{exp}"}}),
    ("POST", "/api/2.0/mlflow/runs/create", {"json": {"experimentId": "{exp}"}}),
    ("POST", "/api/2.0/mlflow/experiments/update", {"json": {"experiment_id": "{exp}", "new_name": "x"}}),
    ("GET", "/api/2.0/mlflow/experiments/get", {"params": {"experiment_id": "{exp}"}}),
    ("GET", "/api/2.0/mlflow/experiments/get-by-name", {"params": {"experiment_name": "alices"}}),
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/x.txt", {"content": b"x"}),
    ("GET", "/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/x.txt", {}),
    ("GET", "/api/2.0/mlflow-artifacts/artifacts", {"params": {"path": "{exp}/{run}"}}),
    ("GET", "/api/2.0/mlflow-artifacts/artifacts", {}),
    ("POST", "/api/2.0/mlflow-artifacts/mpu/create/{exp}/{run}/artifacts/big.bin", {"json": {"num_parts": 2}}),
    ("POST", "/api/2.0/mlflow-artifacts/mpu/complete/{exp}/{run}/artifacts/big.bin", {"json": {}}),
    ("POST", "/api/2.0/mlflow-artifacts/mpu/abort/{exp}/{run}/artifacts/big.bin", {"json": {}}),
    ("GET", "/api/2.0/mlflow-artifacts/presigned/{exp}/{run}/artifacts/x.txt", {}),
    ("PUT", "/ajax-api/2.0/mlflow-artifacts/artifacts/{exp}/x.txt", {"content": b"x"}),
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/0{own_exp}/x.txt", {"content": b"x"}),
    ("GET", "/api/2.0/mlflow/artifacts/list", {"params": {"run_id": "{run}"}}),
    ("GET", "/api/2.0/mlflow/metrics/get-history", {"params": {"run_id": "{run}", "metric_key": "m"}}),
    ("GET", "/api/2.0/mlflow/metrics/get-history-bulk-interval", {"params": {"run_ids": ["{own}", "{run}"]}}),
    ("GET", "/ajax-api/2.0/mlflow/metrics/get-history-bulk", {"params": {"run_id": ["{run}"]}}),
    ("GET", "/get-artifact", {"params": {"run_uuid": "{run}", "path": "x"}}),
    ("POST", "/ajax-api/2.0/mlflow/upload-artifact", {"params": {"run_uuid": "{run}", "path": "x"}}),
    ("POST", "/api/2.0/mlflow/logged-models", {"json": {"experiment_id": "{exp}"}}),
    ("GET", "/api/2.0/mlflow/secret-admin-thing", {}),
    ("GET", "/API/2.0/mlflow/experiments/search", {}),
    ("POST", "/api/2.0/mlflow/experiments/search/", {"json": {}}),
    ("POST", "//api/2.0/mlflow/experiments/search", {"json": {}}),
    ("OPTIONS", "/api/2.0/mlflow/runs/get", {}),
    ("GET", "/api/2.0/mlflow/users/list", {}),
    ("POST", "/api/3.0/mlflow/users/permissions/grant", {"json": {
        "username": "bob", "resource_type": "experiment", "resource_id": "{exp}", "permission": "MANAGE"}}),
])
def test_no_way_around_a_missing_permission(locked, method, path, kwargs):
    def fill(value):
        if isinstance(value, str):
            return value.format(run=locked.run_id, exp=locked.experiment_id, own=locked.own_run,
                                own_exp=locked.own_experiment)
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value
    answer = locked.request(method, fill(path), headers=locked.bob, **{k: fill(v) for k, v in kwargs.items()})
    assert answer.status_code == 403, (answer.status_code, answer.text)
    assert locked.seen == []


@pytest.mark.parametrize("method,path,kwargs", [
    # the same field twice, with different values: the handler could take either
    ("POST", "/api/2.0/mlflow/runs/log-batch", {"params": {"run_id": "{own}"}, "json": {"run_id": "{run}"}}),
    ("POST", "/api/2.0/mlflow/runs/log-batch", {"json": {"run_id": "{own}", "runId": "{run}"}}),
    ("POST", "/api/2.0/mlflow/runs/log-batch", {"json": {"run_id": "{own}", "run_uuid": "{run}"}}),
    ("GET", "/api/2.0/mlflow/runs/get", {"params": [("run_id", "{own}"), ("run_id", "{run}")]}),
    ("POST", "/api/2.0/mlflow/runs/log-batch", {"json": {"run_id": ["{own}"]}}),
    ("POST", "/api/2.0/mlflow/runs/log-batch", {"json": {"run_id": {"$ne": "x"}}}),
    ("POST", "/api/2.0/mlflow/runs/log-batch", {"content": "{not json"}),
    ("POST", "/api/2.0/mlflow/runs/log-batch", {"json": {"metrics": []}}),
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{own_exp}/../{exp}/x.txt", {"content": b"x"}),
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{own_exp}/%2E%2E/{exp}/x.txt", {"content": b"x"}),
])
def test_ambiguous_or_malformed_requests_are_refused(locked, method, path, kwargs):
    def fill(value):
        if isinstance(value, str):
            return (value.replace("{own_exp}", locked.own_experiment).replace("{run}", locked.run_id)
                    .replace("{exp}", locked.experiment_id).replace("{own}", locked.own_run))
        if isinstance(value, list):
            return [fill(v) for v in value]
        if isinstance(value, tuple):
            return tuple(fill(v) for v in value)
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        return value
    answer = locked.request(method, fill(path), headers=locked.bob, **{k: fill(v) for k, v in kwargs.items()})
    assert answer.status_code in (400, 403), (answer.status_code, answer.text)
    assert answer.status_code != 403 or "/mlflow-artifacts/" in path
    assert locked.seen == []
    assert not list((Path(locked.service.settings.database_uri[10:]).parent / "proxied").rglob("x.txt"))


def test_allowed_requests_reach_the_handler_with_their_body(locked):
    body = _batch(locked.own_run)
    assert locked.post("/api/2.0/mlflow/runs/log-batch", json=body, headers=locked.bob).status_code == 200
    assert locked.seen[-1]["params"] == body
    path = f"/api/2.0/mlflow-artifacts/artifacts/{locked.own_experiment}/{locked.own_run}/artifacts/a.txt"
    assert locked.put(path, content=b"payload" * 1000, headers=locked.bob).status_code == 200
    assert locked.get(path, headers=locked.bob).content == b"payload" * 1000
    assert locked.get(path, headers=locked.alice).status_code == 403
    assert locked.get(path, headers=basic(ADMIN, ADMIN_PASSWORD)).status_code == 200
    assert locked.get("/api/2.0/mlflow/secret-admin-thing", headers=basic(ADMIN, ADMIN_PASSWORD)).status_code == 200


def test_a_repeated_json_key_is_read_as_the_handlers_read_it(locked):
    # The last value counts, for the middleware as for the handlers' parser.
    denied = f'{{"run_id": "{locked.own_run}", "run_id": "{locked.run_id}", "metrics": []}}'
    assert locked.post("/api/2.0/mlflow/runs/log-batch", content=denied, headers=locked.bob).status_code == 403
    allowed = f'{{"run_id": "{locked.run_id}", "run_id": "{locked.own_run}", "metrics": []}}'
    assert locked.post("/api/2.0/mlflow/runs/log-batch", content=allowed, headers=locked.bob).status_code == 200
    assert locked.seen[-1]["params"]["run_id"] == locked.own_run


def test_only_admins_choose_an_artifact_location(locked):
    inside = {"name": "planted", "artifact_location": f"mlflow-artifacts:/{locked.experiment_id}/{locked.run_id}"}
    answer = locked.post("/api/2.0/mlflow/experiments/create", json=inside, headers=locked.bob)
    assert (answer.status_code, answer.json()["error_code"]) == (403, "PERMISSION_DENIED")
    assert "artifact_location" in answer.json()["message"] and locked.seen == []
    assert locked.post("/api/2.0/mlflow/experiments/create", json=inside,
                       headers=basic(ADMIN, ADMIN_PASSWORD)).status_code == 200


def test_a_run_of_another_experiment_is_judged_by_its_own_experiment(locked):
    # Bob manages his own experiment, but Alice's run id sent with it is still Alice's run.
    answer = locked.post("/api/2.0/mlflow/runs/log-batch", headers=locked.bob,
                         json={**_batch(locked.run_id), "experiment_id": locked.own_experiment})
    assert answer.status_code == 403


def test_large_bodies_are_refused_before_any_handler(tmp_path, stores):
    with make_client(tmp_path, stores, max_json_body_bytes=1000) as client:
        answer = client.post("/api/2.0/mlflow/runs/log-batch", content=b"{" + b" " * 2000 + b"}",
                             headers=basic(ADMIN, ADMIN_PASSWORD))
        assert answer.status_code == 413 and client.seen == []


# -- coverage of the server's routes ----------------------------------------------------------------
def test_every_endpoint_of_the_server_has_its_own_rule():
    import re

    from mlcask.server.app import endpoints_of
    from mlcask.server.auth.rules import ADMIN_ONLY, find_rule
    from mlcask.server.config import ServerConfig

    none = frozenset()
    missing = [(e.method, path) for e in endpoints_of(ServerConfig()) for path in (e.full_path, e.ajax_path)
               if path and find_rule(re.sub(r"\{[a-z_]+\}", "x", path), e.method, none, none, none) is ADMIN_ONLY]
    assert missing == []


def test_multipart_part_urls_carry_their_own_capability():
    from mlcask.server.auth.rules import ADMIN_ONLY, find_rule

    none = frozenset()
    assert find_rule("/api/2.0/mlflow-artifacts/mpu/part/abc/1", "PUT", none, none, none).public
    assert find_rule("/ajax-api/2.0/mlflow-artifacts/mpu/part/abc/1", "PUT", none, none, none).public
    assert find_rule("/api/2.0/mlflow-artifacts/mpu/part/abc/1", "GET", none, none, none) is ADMIN_ONLY
    assert find_rule("/api/2.0/mlflow-artifacts/mpu/part/abc/1/x", "PUT", none, none, none) is ADMIN_ONLY


def test_prepare_creates_the_admin_before_workers_start(tmp_path):
    from mlcask.server.auth import prepare
    from mlcask.server.auth.store import AuthStore

    settings = settings_for(tmp_path)
    prepare(settings)
    prepare(settings)
    users = AuthStore(settings.database_uri).list_users()
    assert [(u.username, u.is_admin) for u in users] == [(ADMIN, True)]


# -- the auth database, on SQLite and PostgreSQL ---------------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def auth_store(request, tmp_path):
    from mlcask.server.auth.store import AuthStore

    if request.param == "sqlite":
        return AuthStore(f"sqlite:///{tmp_path / 'basic_auth.db'}")
    return AuthStore(request.getfixturevalue("postgres_uri"))


def test_the_auth_store_keeps_users_grants_and_tokens(auth_store):
    admin = auth_store.create_user("admin", "h0", is_admin=True)
    user = auth_store.create_user("ユーザー", "h1")
    with pytest.raises(MlcaskException, match="already exists") as duplicate:
        auth_store.create_user("ユーザー", "h2")
    assert duplicate.value.error_code == "RESOURCE_ALREADY_EXISTS"
    auth_store.set_grant("experiment", "1", user.id, "READ", mode="create")
    with pytest.raises(MlcaskException, match="already exists"):
        auth_store.set_grant("experiment", "1", user.id, "EDIT", mode="create")
    auth_store.set_grant("experiment", "1", user.id, "EDIT", mode="update")
    with pytest.raises(MlcaskException) as missing:
        auth_store.set_grant("experiment", "2", user.id, "EDIT", mode="update")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    auth_store.set_grant("registered_model", "old", user.id, "MANAGE")
    auth_store.set_grant("registered_model", "new", admin.id, "READ")  # stale, dropped by the rename
    auth_store.rename_resource("registered_model", "old", "new")
    assert auth_store.get_grant("registered_model", "new", user.id) == "MANAGE"
    assert auth_store.get_grant("registered_model", "new", admin.id) is None
    assert auth_store.get_grant("experiment", "1", user.id) == "EDIT"
    auth_store.create_token(user.id, "0123456789abcdef", "ci", "th", None)
    assert auth_store.token_with_user("0123456789abcdef")[1].username == "ユーザー"
    with pytest.raises(MlcaskException, match="only admin"):
        auth_store.update_user("admin", is_admin=False)
    with pytest.raises(MlcaskException, match="only admin"):
        auth_store.delete_user("admin")
    auth_store.delete_user("ユーザー")
    assert auth_store.token_with_user("0123456789abcdef") is None
    assert auth_store.list_grants(user.id) == []
    assert [u.username for u in auth_store.list_users()] == ["admin"]


def test_password_guessing_is_throttled_per_client_and_user(tmp_path, stores):
    with make_client(tmp_path, stores, max_failed_sign_ins=3, failed_sign_in_window_seconds=60) as client:
        user = add_user(client, "erin", "erin-password")
        for _ in range(3):
            assert client.get("/api/2.0/mlflow/users/current", headers=basic("erin", "guess")).status_code == 401
        throttled = client.get("/api/2.0/mlflow/users/current", headers=user)
        assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) > 0
        assert throttled.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"
        # other users from the same address, and this user from elsewhere, are not affected
        assert client.get("/api/2.0/mlflow/users/current", headers=basic(ADMIN, ADMIN_PASSWORD)).status_code == 200
        assert client.service.authenticate(user["Authorization"], "10.0.0.2").username == "erin"


def test_guessing_across_usernames_is_throttled_per_client(tmp_path, stores):
    with make_client(tmp_path, stores, max_failed_sign_ins=1, failed_sign_in_window_seconds=60) as client:
        for n in range(10):
            assert client.get("/api/2.0/mlflow/users/current", headers=basic(f"user{n}", "guess")).status_code == 401
        assert client.get("/api/2.0/mlflow/users/current", headers=basic(ADMIN, ADMIN_PASSWORD)).status_code == 429
        assert client.service.authenticate(basic(ADMIN, ADMIN_PASSWORD)["Authorization"], "10.0.0.2").is_admin


def test_listing_a_users_grants_and_the_older_registered_model_forms(client):
    alice, bob = add_user(client, "alice"), add_user(client, "bob")
    assert client.post("/api/2.0/mlflow/registered-models/create", json={"name": "rm"}, headers=alice).is_success
    body = {"name": "rm", "username": "bob", "permission": "EDIT"}
    created = client.post("/ajax-api/2.0/mlflow/registered-models/permissions/create", json=body, headers=alice)
    assert created.json()["registered_model_permission"]["permission"] == "EDIT"
    assert client.post("/api/2.0/mlflow/registered-models/permissions/create", json=body,
                       headers=bob).status_code == 403
    mine = client.get("/api/3.0/mlflow/users/current/permissions", headers=bob).json()
    assert mine["is_admin"] is False
    assert [(p["resource_type"], p["resource_pattern"], p["permission"]) for p in mine["permissions"]] == [
        ("registered_model", "rm", "EDIT")]
    assert client.get("/api/3.0/mlflow/users/permissions/list", params={"username": "bob"},
                      headers=alice).status_code == 403
    listed = client.get("/api/3.0/mlflow/users/permissions/list", params={"username": "alice"}, headers=alice)
    assert [p["permission"] for p in listed.json()["permissions"]] == ["MANAGE"]
    assert client.request("DELETE", "/api/2.0/mlflow/registered-models/permissions/delete", headers=alice,
                          json={"name": "rm", "username": "bob"}).status_code == 200
    gone = client.get("/api/2.0/mlflow/registered-models/permissions/get", params={"name": "rm", "username": "bob"},
                      headers=alice)
    assert (gone.status_code, gone.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    users = client.get("/api/2.0/mlflow/users/list", headers=basic(ADMIN, ADMIN_PASSWORD)).json()["users"]
    assert [u["username"] for u in users] == [ADMIN, "alice", "bob"]


@pytest.mark.parametrize("source", ["runs:/{run}/model", "RUNS:/{run}/model", " runs:/{run}/model",
                                    "models:/alices-model/1", "Models:/alices-model@champion",
                                    "mlflow-artifacts:/{exp}/{run}/artifacts/model", "MLFLOW-ARTIFACTS:/{exp}/x"])
def test_a_model_version_needs_read_on_its_source(locked, source):
    assert locked.post("/api/2.0/mlflow/registered-models/create", json={"name": "alices-model"},
                       headers=locked.alice).status_code == 200
    assert locked.post("/api/2.0/mlflow/registered-models/create", json={"name": "bobs-model"},
                       headers=locked.bob).status_code == 200
    locked.seen.clear()
    source = source.format(run=locked.run_id, exp=locked.experiment_id)
    answer = locked.post("/api/2.0/mlflow/model-versions/create", json={"name": "bobs-model", "source": source},
                         headers=locked.bob)
    assert answer.status_code == 403 and locked.seen == []


# -- roles (MLflow 3.17) ----------------------------------------------------------------------------
def test_roles_grant_through_assignment(locked):
    admin = basic(ADMIN, ADMIN_PASSWORD)
    v3 = "/api/3.0/mlflow/"
    read = lambda: locked.get("/api/2.0/mlflow/experiments/get",  # noqa: E731
                              params={"experiment_id": locked.experiment_id}, headers=locked.bob).status_code
    assert read() == 403
    assert locked.post(v3 + "roles/create", json={"workspace": "default", "name": "r"},
                       headers=locked.bob).status_code == 403
    assert locked.post(v3 + "roles/create", json={"workspace": "other", "name": "r"}, headers=admin).status_code == 400
    role = locked.post(v3 + "roles/create", json={"workspace": "default", "name": "readers"}, headers=admin).json()[
        "role"]
    grant = locked.post(v3 + "roles/permissions/add", headers=admin, json={
        "role_id": role["id"], "resource_type": "experiment", "resource_pattern": "*", "permission": "READ"}).json()
    assert grant["role_permission"]["resource_pattern"] == "*"
    assigned = locked.post(v3 + "roles/assign", json={"username": "bob", "role_id": role["id"]}, headers=admin)
    assert assigned.json()["assignment"]["role_id"] == role["id"]
    assert read() == 200
    mine = locked.get(v3 + "users/roles/list", params={"username": "bob"}, headers=locked.bob).json()["roles"]
    assert [r["name"] for r in mine] == ["readers"] and mine[0]["permissions"][0]["permission"] == "READ"
    # a DENY among the grants that apply wins over the rest
    assert locked.post(v3 + "roles/permissions/add", headers=admin, json={
        "role_id": role["id"], "resource_type": "experiment", "resource_pattern": locked.experiment_id,
        "permission": "DENY"}).status_code == 200
    assert read() == 403
    denied = [g["id"] for g in locked.get(v3 + "roles/permissions/list", params={"role_id": role["id"]},
                                          headers=admin).json()["role_permissions"] if g["permission"] == "DENY"]
    assert locked.request("DELETE", v3 + "roles/permissions/remove", json={"role_permission_id": denied[0]},
                          headers=admin).status_code == 200
    assert read() == 200
    # MANAGE on the workspace: everything in it
    assert locked.post(v3 + "roles/permissions/add", headers=admin, json={
        "role_id": role["id"], "resource_type": "workspace", "resource_pattern": "*", "permission": "MANAGE"}).is_success
    assert locked.post("/api/2.0/mlflow/experiments/update", headers=locked.bob,
                       json={"experiment_id": locked.experiment_id, "new_name": "renamed"}).status_code == 200
    assert locked.request("DELETE", v3 + "roles/unassign", json={"username": "bob", "role_id": role["id"]},
                          headers=admin).status_code == 200
    assert read() == 403
    for bad in ({"role_id": "x"}, {"role_id": role["id"], "resource_type": "workspace", "resource_pattern": "1",
                                   "permission": "READ"}, {"role_id": role["id"], "resource_type": "trace",
                                                           "resource_pattern": "*", "permission": "READ"}):
        assert locked.post(v3 + "roles/permissions/add", json=bad, headers=admin).status_code == 400
    assert locked.request("DELETE", v3 + "roles/delete", json={"role_id": role["id"]}, headers=admin).is_success
    assert locked.get(v3 + "roles/get", params={"role_id": role["id"]}, headers=admin).status_code == 404


def test_the_auth_endpoints_have_a_valid_openapi_description():
    from openapi_spec_validator import validate

    from mlcask.server.auth.openapi import SECURITY, SECURITY_SCHEMES, openapi_paths
    from mlcask.server.auth.routes import endpoints

    paths = openapi_paths()
    document = {"openapi": "3.1.0", "info": {"title": "auth", "version": "1"}, "paths": paths,
                "components": {"securitySchemes": SECURITY_SCHEMES}, "security": SECURITY}
    validate(document)
    described = {(path, method) for path, item in paths.items() for method in item}
    assert described == {(p + s, m.lower()) for p, s, m in endpoints() if p.startswith("/api/")}
