"""``mlcask server --app-name basic-auth`` end to end: the real server, the real MLflow client.

The MLflow 3.17 client (in its pinned venv) manages users and grants with
``get_app_client("basic-auth", ...)`` and logs with ``MLFLOW_TRACKING_USERNAME``/``PASSWORD``
(and a token with ``MLFLOW_TRACKING_TOKEN``); raw HTTP checks that every endpoint family
of the server answers 401 without credentials and 403 without permission.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from mlcask.server.app import endpoints_of
from mlcask.server.config import ServerConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.mlflow_env import run_in_mlflow  # noqa: E402

ADMIN_PASSWORD = "e2e-admin-password"
AUTH_ARGS = ["--app-name", "basic-auth"]
ADMIN = ("admin", ADMIN_PASSWORD)


def auth_env(**more: str) -> dict[str, str]:
    return {"MLCASK_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD, **more}


def test_the_auth_app_refuses_to_start_without_an_admin_password(start_server):
    server = start_server(args=AUTH_ARGS, wait=False)
    assert server.wait_exit() != 0
    assert "MLCASK_AUTH_ADMIN_PASSWORD" in server.log()


def _create_user(server, name: str, password: str) -> tuple[str, str]:
    answer = server.api("POST", "/users/create", json={"username": name, "password": password}, auth=ADMIN)
    assert answer.status_code == 200, answer.text
    return name, password


def _owned_resources(server, owner) -> dict[str, str]:
    """An experiment, a run, a logged model and a registered model version of ``owner``."""
    experiment_id = server.api("POST", "/experiments/create", json={"name": "owned"}, auth=owner).json()[
        "experiment_id"]
    run_id = server.api("POST", "/runs/create", json={"experiment_id": experiment_id}, auth=owner).json()["run"][
        "info"]["run_id"]
    model_id = server.api("POST", "/logged-models", json={"experiment_id": experiment_id, "source_run_id": run_id},
                          auth=owner).json()["model"]["info"]["model_id"]
    assert server.api("POST", "/registered-models/create", json={"name": "owned-model"}, auth=owner).is_success
    version = server.api("POST", "/model-versions/create", auth=owner, json={
        "name": "owned-model", "source": f"models:/{model_id}", "model_id": model_id, "run_id": run_id})
    assert version.is_success, version.text
    upload = server.client.put(f"/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/{run_id}/artifacts/a.txt",
                               content=b"secret", auth=owner)
    assert upload.is_success, upload.text
    return {"experiment_id": experiment_id, "run_id": run_id, "model_id": model_id, "name": "owned-model"}


def _request_for(endpoint_path: str, method: str, owned: dict[str, str]) -> dict:
    path = re.sub(r"\{model_id\}", owned["model_id"], endpoint_path)
    path = re.sub(r"\{[a-z_]+\}", "k", path)
    fields = {"experiment_id": owned["experiment_id"], "run_id": owned["run_id"], "run_uuid": owned["run_id"],
              "name": owned["name"], "experiment_name": "owned", "experiment_ids": [owned["experiment_id"]],
              "run_ids": [owned["run_id"]], "metric_key": "m", "key": "k", "value": 1.0, "timestamp": 1,
              "new_name": "renamed", "version": "1", "alias": "a", "stage": "Staging", "status": "READY",
              "source": f"runs:/{owned['run_id']}/model", "path": "a.txt", "model_id": owned["model_id"]}
    if method == "GET":
        return {"method": method, "url": path, "params": {k: v for k, v in fields.items() if k != "run_uuid"}}
    # Writes to the web twins carry the web UI's CSRF header, as the UI sends them (without it they are a
    # 403 before authentication: tests/ui/test_shell.py).
    headers = {"x-mlcask-csrf": "1"} if path.startswith("/ajax-api/") else {}
    return {"method": method, "url": path, "json": {k: v for k, v in fields.items() if k != "run_uuid"},
            "headers": headers}


#: What a user without permission gets from these instead of a 403: creations are open to
#: everyone; searches answer, without what the user may not read.
OPEN = {"experiments/create", "registered-models/create"}
SEARCHES = {"experiments/search", "runs/search", "logged-models/search", "registered-models/search",
            "model-versions/search"}


@pytest.mark.slow
def test_every_endpoint_family_answers_401_then_403(start_server):
    server = start_server(args=AUTH_ARGS, env=auth_env(MLCASK_AUTH_DEFAULT_PERMISSION="NO_PERMISSIONS"))
    alice, bob = _create_user(server, "alice", "alice-pw"), _create_user(server, "bob", "bob-pw")
    owned = _owned_resources(server, alice)
    endpoints = [(e.method, p) for e in endpoints_of(ServerConfig()) for p in (e.full_path, e.ajax_path) if p]
    proxy = f"/api/2.0/mlflow-artifacts/artifacts/{owned['experiment_id']}/{owned['run_id']}/artifacts/a.txt"
    extra = [("GET", proxy), ("PUT", proxy), ("DELETE", proxy), ("GET", proxy.replace("/api/", "/ajax-api/")),
             ("POST", proxy.replace("/artifacts/", "/mpu/create/", 1).rsplit("/", 1)[0]),
             ("POST", proxy.replace("/artifacts/", "/mpu/complete/", 1).rsplit("/", 1)[0]),
             ("POST", proxy.replace("/artifacts/", "/mpu/abort/", 1).rsplit("/", 1)[0]),
             ("GET", "/api/2.0/mlflow/no-such-endpoint"), ("GET", "/api/2.0/mlflow-artifacts/presigned/1/x")]
    denied, leaked, unauthenticated = [], [], []
    for method, endpoint_path in endpoints + extra:
        request = _request_for(endpoint_path, method, owned)
        if "mlflow-artifacts" in endpoint_path:
            request.pop("json", None), request.pop("params", None)
        if server.client.request(**request).status_code != 401:
            unauthenticated.append((method, endpoint_path))
        answer = server.client.request(**request, auth=bob)
        family = endpoint_path.split("/mlflow/", 1)[-1]
        if family in OPEN:
            if answer.status_code in (401, 403):
                denied.append((method, endpoint_path, answer.status_code))
        elif family in SEARCHES:
            if answer.status_code != 200 or owned["experiment_id"] in answer.text and family != "experiments/search":
                leaked.append((method, endpoint_path, answer.status_code, answer.text[:200]))
            if family == "experiments/search" and '"owned"' in answer.text:
                leaked.append((method, endpoint_path, answer.text[:200]))
        elif answer.status_code != 403:
            leaked.append((method, endpoint_path, answer.status_code, answer.text[:200]))
    assert unauthenticated == []
    assert leaked == []
    assert denied == []
    assert server.client.get(proxy, auth=alice).content == b"secret"
    # the API document: for any signed-in user, not for anonymous callers
    assert server.client.get("/api/2.0/mlflow/openapi.json").status_code == 401
    assert server.client.get("/api/2.0/mlflow/openapi.json", auth=bob).status_code == 200
    assert server.client.get("/health").status_code == 200 and server.client.get("/version").status_code == 200


MLFLOW_WORKFLOW = """
import json, os, sys, tempfile, warnings
warnings.filterwarnings("ignore")
import requests
url = {url!r}
os.environ.update(MLFLOW_TRACKING_URI=url, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0",
                  MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD="true", MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE="1048576",
                  MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE="1048576")
import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.server import get_app_client
from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository

completed = []
_complete = HttpArtifactRepository.complete_multipart_upload
def _count_complete(self, *args, **kwargs):
    completed.append(1)
    return _complete(self, *args, **kwargs)
HttpArtifactRepository.complete_multipart_upload = _count_complete

def as_user(name, password):
    os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
    os.environ.update(MLFLOW_TRACKING_USERNAME=name, MLFLOW_TRACKING_PASSWORD=password)

def status(call):
    try:
        call()
        return 200
    except MlflowException as error:
        return error.get_http_status_code()

out = {{}}
as_user("admin", {admin_password!r})
auth = get_app_client("basic-auth", tracking_uri=url)
out["created"] = [auth.create_user(n, n + "-password").username for n in ("alice", "bob")]
out["bob"] = [auth.get_user("bob").username, auth.get_user("bob").is_admin]
out["duplicate"] = status(lambda: auth.create_user("bob", "x"))

as_user("alice", "alice-password")
mlflow.set_experiment("alice-exp")
folder = tempfile.mkdtemp()
with open(os.path.join(folder, "small.txt"), "w") as f:
    f.write("hello")
with open(os.path.join(folder, "big.bin"), "wb") as f:
    f.write(os.urandom(3 * 1024 * 1024))
with mlflow.start_run() as run:
    mlflow.log_param("alpha", 0.5)
    for step in range(5):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_artifact(os.path.join(folder, "small.txt"))
    mlflow.log_artifact(os.path.join(folder, "big.bin"))
client = MlflowClient()
experiment_id = run.info.experiment_id
client.create_registered_model("alice-model")
client.create_model_version("alice-model", f"runs:/{{run.info.run_id}}/small.txt", run_id=run.info.run_id)
out["alice_artifacts"] = sorted(a.path for a in client.list_artifacts(run.info.run_id))
out["multipart_uploads"] = len(completed)
out["alice_big"] = os.path.getsize(client.download_artifacts(run.info.run_id, "big.bin", tempfile.mkdtemp()))

as_user("bob", "bob-password")
out["bob_reads"] = client.get_run(run.info.run_id).data.params
out["bob_writes"] = status(lambda: client.log_metric(run.info.run_id, "loss", 9.0))
out["bob_deletes"] = status(lambda: client.delete_experiment(experiment_id))
out["bob_registers"] = status(lambda: client.create_model_version("alice-model", "runs:/x/y"))
out["bob_grants_himself"] = status(lambda: auth.grant_user_permission("bob", "experiment", experiment_id, "MANAGE"))

as_user("alice", "alice-password")
auth.grant_user_permission("bob", "experiment", experiment_id, "EDIT")
out["granted"] = auth.get_user_permission("bob", "experiment", experiment_id).permission
as_user("bob", "bob-password")
out["bob_writes_after_grant"] = status(lambda: client.log_metric(run.info.run_id, "loss", 9.0))
out["bob_still_cannot_delete"] = status(lambda: client.delete_experiment(experiment_id))
as_user("alice", "alice-password")
auth.revoke_user_permission("bob", "experiment", experiment_id)
as_user("bob", "bob-password")
out["bob_writes_after_revoke"] = status(lambda: client.log_metric(run.info.run_id, "loss", 9.0))

as_user("admin", {admin_password!r})
role = auth.create_role("default", "readers", description="read every experiment")
grant = auth.add_role_permission(role.id, "experiment", "*", "READ")
auth.update_role_permission(grant.id, "EDIT")
auth.assign_role("bob", role.id)
auth.update_role(role.id, description="edit every experiment")
out["roles"] = [[r.name, r.description, [p.permission for p in r.permissions]] for r in auth.list_roles("default")]
out["role_users"] = [a.user_id for a in auth.list_role_users(role.id)] == [auth.get_user("bob").id]
out["role_permissions"] = [p.resource_pattern for p in auth.list_role_permissions(role.id)]
as_user("bob", "bob-password")
out["bob_roles"] = [r.name for r in auth.list_user_roles("bob")]
out["bob_writes_through_role"] = status(lambda: client.log_metric(run.info.run_id, "loss", 9.0))
as_user("admin", {admin_password!r})
auth.remove_role_permission(grant.id)
auth.unassign_role("bob", role.id)
auth.delete_role(role.id)
out["roles_left"] = len(auth.list_roles("default"))

token = requests.post(url + "/api/2.0/mlcask/tokens/create", json={{"name": "ci"}},
                      auth=("bob", "bob-password")).json()["token"]
os.environ.pop("MLFLOW_TRACKING_USERNAME"), os.environ.pop("MLFLOW_TRACKING_PASSWORD")
os.environ["MLFLOW_TRACKING_TOKEN"] = token
out["token_reads"] = client.get_run(run.info.run_id).info.run_id == run.info.run_id

as_user("bob", "bob-password")
auth.update_user_password("bob", "bob-new-password", current_password="bob-password")
out["old_password"] = status(lambda: client.get_run(run.info.run_id))
as_user("admin", {admin_password!r})
auth.update_user_admin("bob", True)
as_user("bob", "bob-new-password")
out["bob_admin_deletes"] = status(lambda: client.delete_registered_model("alice-model"))
as_user("admin", {admin_password!r})
auth.delete_user("bob")
as_user("bob", "bob-new-password")
out["deleted_user"] = status(lambda: client.get_run(run.info.run_id))
print(json.dumps(out))
"""


@pytest.mark.interop
@pytest.mark.slow
def test_the_mlflow_client_manages_users_and_logs_under_auth(start_server, tmp_path):
    server = start_server(args=AUTH_ARGS, env=auth_env())
    output = run_in_mlflow(MLFLOW_WORKFLOW.format(url=server.url, admin_password=ADMIN_PASSWORD), cwd=tmp_path)
    out = json.loads(output.strip().splitlines()[-1])
    assert out["created"] == ["alice", "bob"] and out["bob"] == ["bob", False]
    assert out["duplicate"] == 400
    assert out["alice_artifacts"] == ["big.bin", "small.txt"] and out["alice_big"] == 3 * 1024 * 1024
    assert out["bob_reads"] == {"alpha": "0.5"}
    assert out["bob_writes"] == out["bob_deletes"] == out["bob_registers"] == out["bob_grants_himself"] == 403
    assert out["granted"] == "EDIT"
    assert (out["bob_writes_after_grant"], out["bob_still_cannot_delete"]) == (200, 403)
    assert out["bob_writes_after_revoke"] == 403
    assert out["roles"] == [["readers", "edit every experiment", ["EDIT"]]] and out["role_users"] is True
    assert out["role_permissions"] == ["*"] and out["bob_roles"] == ["readers"]
    assert out["bob_writes_through_role"] == 200 and out["roles_left"] == 0
    assert out["token_reads"] is True
    assert out["old_password"] == 401
    assert out["bob_admin_deletes"] == 200
    assert out["deleted_user"] == 401
    assert out["multipart_uploads"] == 1  # big.bin went up in parts, through part URLs without credentials


@pytest.mark.slow
def test_a_password_change_takes_effect_at_once_in_every_worker(start_server):
    server = start_server(args=[*AUTH_ARGS, "--workers", "2"], env=auth_env())
    old, new = ("carol", "carol-old-pw"), ("carol", "carol-new-pw")
    _create_user(server, *old)
    for _ in range(20):  # both workers verify and cache the credential
        assert server.api("GET", "/users/current", auth=old).status_code == 200
    answer = server.api("PATCH", "/users/update-password", auth=ADMIN, json={"username": "carol", "password": new[1]})
    assert answer.status_code == 200
    assert {server.api("GET", "/users/current", auth=old).status_code for _ in range(10)} == {401}
    assert {server.api("GET", "/users/current", auth=new).status_code for _ in range(20)} == {200}
    users = server.api("GET", "/users/list", auth=ADMIN).json()["users"]
    assert sorted((u["username"], u["is_admin"]) for u in users) == [("admin", True), ("carol", False)]


RAW_TARGETS = [
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{own}/..%2F{exp}/planted.txt"),
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{own}/%2e%2e/{exp}/planted.txt"),
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{own}%2F..%2F{exp}/planted.txt"),
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{own}/%252e%252e/{exp}/planted.txt"),
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{own}/..\\{exp}/planted.txt"),
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts//{exp}/planted.txt"),
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/%2F{exp}/planted.txt"),
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/0{exp}/planted.txt"),
    ("PUT", "/api/2.0/mlflow-artifacts//artifacts/{exp}/planted.txt"),
    ("PUT", "/API/2.0/mlflow-artifacts/artifacts/{exp}/planted.txt"),
    ("POST", "/api/2.0/mlflow-artifacts/mpu/create/{own}/..%2F{exp}"),
    ("GET", "//api/2.0/mlflow/runs/get?run_id={run}"),
    ("GET", "/api/2.0/mlflow//runs/get?run_id={run}"),
    ("GET", "/api/2.0/mlflow/runs/get/?run_id={run}"),
    ("GET", "/api/2.0/mlflow/runs/%67et?run_id={run}"),
    ("GET", "/api/2.0/mlflow/runs/get;x?run_id={run}"),
    ("GET", "/api/2.0/mlflow/runs/get%3Frun_id={own_run}?run_id={run}"),
    ("HEAD", "/api/2.0/mlflow/runs/get?run_id={run}"),
    ("GET", "http://127.0.0.1/api/2.0/mlflow/runs/get?run_id={run}"),
    ("GET", "/api/2.0/mlflow/runs/get?run_id={own_run}&run_id={run}"),
    ("GET", "/api/2.0/mlflow/runs/get?run%5Fid={run}"),
    ("PUT", "/api/2.0/mlflow-artifacts/artifacts/{own}/{own_run}/artifacts/ok.txt"),  # the control: allowed
]


@pytest.mark.slow
def test_raw_request_targets_find_no_way_around(start_server):
    """Request targets as sent on the wire (no client normalises them): encodings, slashes, case, forms."""
    import base64
    import http.client

    server = start_server(args=AUTH_ARGS, env=auth_env(MLCASK_AUTH_DEFAULT_PERMISSION="NO_PERMISSIONS"))
    alice, bob = _create_user(server, "alice", "alice-pw"), _create_user(server, "bob", "bob-pw")
    owned = _owned_resources(server, alice)
    own_experiment = server.api("POST", "/experiments/create", json={"name": "bobs"}, auth=bob).json()["experiment_id"]
    own_run = server.api("POST", "/runs/create", json={"experiment_id": own_experiment}, auth=bob).json()["run"][
        "info"]["run_id"]
    headers = {"Authorization": "Basic " + base64.b64encode(b"bob:bob-pw").decode(), "Content-Type": "text/plain"}
    answers = []
    for method, target in RAW_TARGETS:
        target = target.format(own=own_experiment, exp=owned["experiment_id"], run=owned["run_id"], own_run=own_run)
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        body = b"planted" if method in ("PUT", "POST") else b""
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        status = connection.getresponse().status
        connection.close()
        answers.append((method, target, status))
    assert answers.pop()[2] == 200 and (server.folder / "artifacts" / own_experiment / own_run / "artifacts" /
                                        "ok.txt").read_bytes() == b"planted"
    assert [a for a in answers if a[2] not in (400, 403, 404)] == []
    assert not list((server.folder / "artifacts").rglob("planted.txt"))
    assert not [a for a in answers if a[2] == 404 and "mlflow-artifacts" not in a[1]]


@pytest.mark.slow
def test_grants_hold_on_an_artifacts_only_server(start_server):
    """MLflow #24566: experiment grants were ignored with --artifacts-only; here they need no tracking store."""
    server = start_server(args=[*AUTH_ARGS, "--artifacts-only"], env=auth_env(MLCASK_AUTH_DEFAULT_PERMISSION="READ"))
    bob = _create_user(server, "bob", "bob-pw")
    grant = {"username": "bob", "resource_type": "experiment", "resource_id": "7", "permission": "EDIT"}
    assert server.client.post("/api/3.0/mlflow/users/permissions/grant", json=grant, auth=ADMIN).status_code == 200
    proxy = "/api/2.0/mlflow-artifacts/artifacts/{}/run/artifacts/a.txt"
    assert server.client.put(proxy.format(7), content=b"ok", auth=bob).status_code == 200
    assert server.client.put(proxy.format(8), content=b"no", auth=bob).status_code == 403
    assert server.client.get(proxy.format(7), auth=bob).content == b"ok"
    assert server.client.get(proxy.format(7)).status_code == 401


@pytest.mark.slow
@pytest.mark.parametrize("default, reader_status", [("NO_PERMISSIONS", 403), ("READ", 200)])
def test_endpoints_are_read_and_scored_by_the_default_permission_and_changed_by_admins(start_server, default,
                                                                                       reader_status):
    server = start_server(args=AUTH_ARGS, env=auth_env(MLCASK_AUTH_DEFAULT_PERMISSION=default))
    bob = _create_user(server, "bob", "bob-pw")
    assert server.client.get("/api/2.0/mlcask/endpoints/list").status_code == 401
    assert server.client.get("/api/2.0/mlcask/endpoints/list", auth=ADMIN).status_code == 200
    assert server.client.get("/api/2.0/mlcask/endpoints/list", auth=bob).status_code == reader_status
    scored = server.client.post("/endpoints/none/invocations", json={"inputs": [[1]]}, auth=bob)
    assert scored.status_code == (403 if reader_status == 403 else 404), scored.text
    assert server.client.post("/endpoints/none/invocations", json={"inputs": [[1]]},
                              auth=ADMIN).status_code == 404
    created = server.client.post("/api/2.0/mlcask/endpoints/create", json={"name": "e"}, auth=bob)
    assert created.status_code == 403, created.text
