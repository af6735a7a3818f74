"""``/api/3.0/mlflow/server-info`` (MLflow 3.17's capability discovery) and its ``/ajax-api`` twin.

MLflow's client reads ``multipart_uploads_enabled`` from it before a large upload through the
artifact proxy, so a server with artifacts served gets multipart uploads without
``MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD``.
"""

from __future__ import annotations

import base64
import json
import os

import pytest
from starlette.testclient import TestClient

from mlcask.server.app import create_app
from mlcask.server.config import ServerConfig
from mlcask.version import MLFLOW_FORMAT_VERSION, __version__

PATHS = ("/api/3.0/mlflow/server-info", "/ajax-api/3.0/mlflow/server-info")
MiB = 1024 * 1024


def expected(store_type: str | None, multipart: bool) -> dict:
    return {"store_type": store_type, "workspaces_enabled": False, "trace_archival_enabled": False,
            "multipart_uploads_enabled": multipart, "multipart_downloads_enabled": False,
            "presigned_upload_run_id_supported": False, "presigned_upload_model_id_supported": False,
            "features_enabled": {"gateway": False}, "mlcask_version": __version__}


def _basic(username: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def test_server_info_of_a_default_server(shared_server):
    for path in PATHS:
        answer = shared_server.client.get(path)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/json"
        assert answer.json() == expected("SqlStore", True)
    assert shared_server.client.post(PATHS[0], json={}).status_code == 405


@pytest.mark.parametrize("options, store_type, multipart", [
    ({"serve_artifacts": False}, "SqlStore", False),
    ({"artifacts_only": True}, None, True),
])
def test_server_info_follows_the_config(tmp_path, options, store_type, multipart):
    config = ServerConfig(backend_store_uri=f"sqlite:///{tmp_path / 'mlcask.db'}",
                          artifacts_destination=str(tmp_path / "artifacts"), **options)
    with TestClient(create_app(config), base_url="http://127.0.0.1") as client:
        for path in PATHS:
            assert client.get(path).json() == expected(store_type, multipart)


def test_version_stays_mlflows_for_mlflows_client(shared_server):
    """MLflow's REST store parses /version as a version and needs >= 3.4 for some calls: it stays MLflow's
    release; mlcask's own version is in server-info and in a header."""
    from packaging.version import Version

    answer = shared_server.client.get("/version")
    assert answer.text == MLFLOW_FORMAT_VERSION and Version(answer.text) >= Version("3.4")
    assert answer.headers["x-mlcask-version"] == __version__
    assert shared_server.client.get(PATHS[0]).json()["mlcask_version"] == __version__


def test_a_signed_in_user_reads_server_info(start_server):
    server = start_server(args=["--app-name", "basic-auth"], env={"MLCASK_AUTH_ADMIN_PASSWORD": "Admin-pass-1"})
    admin = _basic("admin", "Admin-pass-1")
    created = server.client.post("/api/2.0/mlflow/users/create", json={"username": "alice", "password": "alice-pw-1"},
                                 headers=admin)
    assert created.status_code == 200, created.text
    for path in PATHS:
        assert server.client.get(path).status_code == 401
        assert server.client.get(path, headers=_basic("alice", "wrong")).status_code == 401
        answer = server.client.get(path, headers=_basic("alice", "alice-pw-1"))
        assert answer.status_code == 200, answer.text
        assert answer.json() == expected("SqlStore", True)


UPLOAD = """
import json, os, mlflow
mlflow.set_tracking_uri({url!r})
with mlflow.start_run() as run:
    mlflow.log_artifact({src!r}, "weights")
print(json.dumps({{"run_id": run.info.run_id, "experiment_id": run.info.experiment_id}}))
"""


@pytest.mark.interop
@pytest.mark.slow
def test_mlflow_client_uploads_in_parts_without_the_variable(start_server, tmp_path):
    """The real MLflow client, with no MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD, sends a big file in parts."""
    from bench.mlflow_env import run_in_mlflow

    server = start_server(args=["--access-log"])
    source = tmp_path / "big.bin"
    data = os.urandom(3 * MiB)
    source.write_bytes(data)
    code = ("import os\nos.environ['MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE'] = str(1024 * 1024)\n"
            "os.environ['MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE'] = str(1024 * 1024)\n"
            "os.environ.pop('MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD', None)\n"
            + UPLOAD.format(url=server.url, src=str(source)))
    result = json.loads(run_in_mlflow(code, cwd=tmp_path, timeout=300).strip().splitlines()[-1])
    stored = (server.folder / "artifacts" / result["experiment_id"] / result["run_id"] / "artifacts" / "weights"
              / "big.bin")
    assert stored.read_bytes() == data
    log = server.log()
    assert "/api/3.0/mlflow/server-info" in log
    assert "/mpu/create/" in log and "/mpu/complete/" in log and log.count("/mpu/part/") == 3


def test_the_auth_rules_let_any_signed_in_caller_read_it():
    """Its own rule in server/auth/rules.py, not only the settings' list of signed-in paths."""
    from mlcask.server.auth.rules import ADMIN_ONLY, SIGNED_IN, find_rule

    none = frozenset()
    for path in PATHS:
        assert find_rule(path, "GET", none, none, none) is SIGNED_IN
        assert find_rule(path, "HEAD", none, none, none) is SIGNED_IN
        assert find_rule(path, "POST", none, none, none) is ADMIN_ONLY
    assert find_rule("/api/3.0/mlflow/server-info/x", "GET", none, none, none) is ADMIN_ONLY

