"""The ``mlcask server`` command: options, defaults, and the modes they select."""

from __future__ import annotations

import sqlite3

import pytest
from click.testing import CliRunner

from mlcask.cli import cli


def test_help_lists_mlflows_flags():
    result = CliRunner().invoke(cli, ["server", "--help"])
    assert result.exit_code == 0
    for flag in ("--backend-store-uri", "--registry-store-uri", "--default-artifact-root", "--artifacts-destination",
                 "--serve-artifacts / --no-serve-artifacts", "--artifacts-only", "--host", "--port", "--workers",
                 "--allowed-hosts", "--cors-allowed-origins", "--app-name", "--expose-prometheus",
                 "--allow-unauthenticated"):
        assert flag in result.output, flag
    assert "sqlite:///mlcask.db" in result.output and "./mlcask-artifacts" in result.output


def test_contradictory_options_are_refused_before_starting():
    result = CliRunner().invoke(cli, ["server", "--artifacts-only", "--no-serve-artifacts"])
    assert result.exit_code != 0 and "--artifacts-only" in result.output
    result = CliRunner().invoke(cli, ["server", "--app-name", "other"])
    assert result.exit_code != 0 and "basic-auth" in result.output


def test_defaults_store_in_the_working_folder(start_server, tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    server = start_server(backend_store_uri="sqlite:///mlcask.db", artifacts_destination="./mlcask-artifacts",
                          cwd=folder)
    experiment_id = server.api("POST", "/experiments/create", json={"name": "here"}).json()["experiment_id"]
    run = server.api("POST", "/runs/create", json={"experiment_id": experiment_id}).json()["run"]
    relative = run["info"]["artifact_uri"].removeprefix("mlflow-artifacts:/")
    assert server.client.put(f"/api/2.0/mlflow-artifacts/artifacts/{relative}/f.txt", content=b"x").status_code == 200
    assert (folder / "mlcask.db").is_file()
    assert (folder / "mlcask-artifacts" / relative / "f.txt").read_bytes() == b"x"


def test_no_serve_artifacts_keeps_artifacts_in_the_destination(start_server, tmp_path):
    destination = tmp_path / "direct"
    server = start_server(artifacts_destination=str(destination), args=["--no-serve-artifacts"])
    experiment_id = server.api("POST", "/experiments/create", json={"name": "direct"}).json()["experiment_id"]
    experiment = server.api("GET", "/experiments/get", params={"experiment_id": experiment_id}).json()["experiment"]
    assert experiment["artifact_location"] == f"{destination}/{experiment_id}"
    assert server.client.get("/api/2.0/mlflow-artifacts/artifacts").status_code == 404
    refused = server.api("POST", "/experiments/create", json={"name": "p", "artifact_location": "mlflow-artifacts:/x"})
    assert refused.status_code == 400


def test_default_artifact_root(start_server, tmp_path):
    root = tmp_path / "root"
    server = start_server(args=["--default-artifact-root", str(root)])
    experiment_id = server.api("POST", "/experiments/create", json={"name": "rooted"}).json()["experiment_id"]
    experiment = server.api("GET", "/experiments/get", params={"experiment_id": experiment_id}).json()["experiment"]
    assert experiment["artifact_location"] == f"{root}/{experiment_id}"
    ok = server.api("POST", "/experiments/create", json={"name": "under", "artifact_location": str(root / "team")})
    assert ok.status_code == 200


def test_artifacts_only(start_server):
    server = start_server(args=["--artifacts-only"])
    assert server.api("POST", "/experiments/create", json={"name": "x"}).status_code == 404
    assert server.client.put("/api/2.0/mlflow-artifacts/artifacts/a/b.txt", content=b"hi").status_code == 200
    assert server.client.get("/api/2.0/mlflow-artifacts/artifacts/a/b.txt").content == b"hi"
    assert server.client.get("/health").text == "OK"


def test_separate_registry_store(start_server, tmp_path):
    registry = tmp_path / "registry.db"
    server = start_server(args=["--registry-store-uri", f"sqlite:///{registry}"])
    created = server.api("POST", "/registered-models/create", json={"name": "separate"})
    assert created.status_code == 200, created.text
    with sqlite3.connect(registry) as connection:
        assert connection.execute("SELECT name FROM registered_models").fetchall() == [("separate",)]
    with sqlite3.connect(server.folder / "mlcask.db") as connection:
        assert connection.execute("SELECT count(*) FROM registered_models").fetchone() == (0,)


def test_prometheus_metrics(start_server, tmp_path):
    server = start_server(args=["--expose-prometheus", str(tmp_path / "prom")])
    for _ in range(3):
        server.api("GET", "/experiments/search")
    server.api("GET", "/experiments/get", params={"experiment_id": "12345"})
    text = server.client.get("/metrics").text
    assert ('mlcask_http_requests_total{method="GET",route="/api/2.0/mlflow/experiments/search",status="200"} 3.0'
            in text)
    assert 'route="/api/2.0/mlflow/experiments/get",status="404"' in text
    assert "mlcask_http_request_duration_seconds_bucket" in text


def test_a_tracking_server_is_not_a_backend():
    result = CliRunner().invoke(cli, ["server", "--backend-store-uri", "http://127.0.0.1:5000"])
    assert result.exit_code != 0 and "not into another tracking server" in result.output


@pytest.mark.slow
def test_s3_destination_and_default_root(start_server, tmp_path):
    """Artifacts proxied to S3 (moto), and experiments kept directly on S3, both listed by artifacts/list."""
    from tests.s3_server import start_s3_server

    s3 = start_s3_server()
    try:
        bucket = s3.new_bucket()
        server = start_server(artifacts_destination=f"s3://{bucket}/proxied", env=s3.env)
        experiment_id = server.api("POST", "/experiments/create", json={"name": "s3"}).json()["experiment_id"]
        run = server.api("POST", "/runs/create", json={"experiment_id": experiment_id}).json()["run"]["info"]
        relative = run["artifact_uri"].removeprefix("mlflow-artifacts:/")
        assert server.client.put(f"/api/2.0/mlflow-artifacts/artifacts/{relative}/a.txt", content=b"abc"
                                 ).status_code == 200
        listing = server.api("GET", "/artifacts/list", params={"run_id": run["run_id"]}).json()
        assert listing["files"] == [{"path": "a.txt", "is_dir": False, "file_size": 3}]
        assert f"proxied/{relative}/a.txt" in s3.keys(bucket)
        refused = server.api("POST", "/experiments/create", json={"name": "elsewhere",
                                                                  "artifact_location": f"s3://{bucket}/other"})
        assert refused.status_code == 400

        direct = start_server(args=["--default-artifact-root", f"s3://{bucket}/direct", "--no-serve-artifacts"],
                              env=s3.env)
        experiment_id = direct.api("POST", "/experiments/create", json={"name": "d"}).json()["experiment_id"]
        experiment = direct.api("GET", "/experiments/get", params={"experiment_id": experiment_id}).json()
        assert experiment["experiment"]["artifact_location"] == f"s3://{bucket}/direct/{experiment_id}"
        under = direct.api("POST", "/experiments/create", json={"name": "u",
                                                                "artifact_location": f"s3://{bucket}/direct/team"})
        assert under.status_code == 200
    finally:
        s3.stop()


def test_options_read_mlflows_environment_variables(start_server):
    result = CliRunner().invoke(cli, ["server"], env={"MLFLOW_HOST": "0.0.0.0"})
    assert result.exit_code != 0 and "--host 0.0.0.0" in result.output
    server = start_server(env={"MLFLOW_SERVER_ALLOWED_HOSTS": "tracking.example.com", "MLCASK_SERVE_ARTIFACTS": "false"})
    assert server.client.get("/health", headers={"host": "tracking.example.com"}).status_code == 200
    assert server.client.get("/api/2.0/mlflow-artifacts/artifacts").status_code == 404


@pytest.mark.parametrize("text, size", [("1048576", 1048576), ("512MiB", 512 * 1024**2), ("5GiB", 5 * 1024**3),
                                        ("100MB", 100 * 1000**2), ("2k", 2048), (" 7 KB ", 7000)])
def test_byte_sizes(text, size):
    from mlcask.cli_server import ByteSize

    assert ByteSize().convert(text, None, None) == size


@pytest.mark.parametrize("value", ["0", "-1", "5XB", "1.5GiB", "", "GiB"])
def test_bad_max_upload_bytes_are_refused(value):
    result = CliRunner().invoke(cli, ["server", "--max-upload-bytes", value])
    assert result.exit_code == 2 and "--max-upload-bytes" in result.output and "Traceback" not in result.output


def test_max_upload_bytes_default_is_the_proxys():
    from mlcask.server.artifacts_proxy import DEFAULT_MAX_UPLOAD_BYTES
    from mlcask.server.config import ServerConfig

    assert ServerConfig().max_upload_bytes == DEFAULT_MAX_UPLOAD_BYTES == 5 * 1024**3


@pytest.mark.parametrize("how", ["option", "variable"])
def test_max_upload_bytes_limits_the_proxy(start_server, how):
    options = {"args": ["--max-upload-bytes", "1KiB"]} if how == "option" else {"env": {"MLCASK_MAX_UPLOAD_BYTES": "1024"}}
    server = start_server(**options)
    url = "/api/2.0/mlflow-artifacts/artifacts/0/limit/a.bin"
    assert server.client.put(url, content=b"x" * 1024).status_code == 200
    refused = server.client.put(url.replace("a.bin", "b.bin"), content=b"x" * 1025)
    assert refused.status_code == 413 and "1024" in refused.json()["message"], refused.text
    assert server.client.get(url.replace("a.bin", "b.bin")).status_code == 404
    assert server.client.get(url).content == b"x" * 1024


def _refusal(server) -> str:
    """The log of a server that refused to start: exit status 1, one error line, no banner, no traceback."""
    assert server.wait_exit() == 1
    log = server.log()
    assert "listening on" not in log and "Traceback" not in log and "Uvicorn running" not in log, log
    errors = [line for line in log.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and len(log.strip().splitlines()) == 1, log
    return errors[0]


@pytest.mark.parametrize("workers", ["1", "3"])
@pytest.mark.parametrize("options, expected", [
    ({"artifacts_destination": "gs://bucket/x"}, "scheme 'gs:' is not supported"),
    ({"backend_store_uri": "foo://bar"}, "scheme 'foo:' is not supported"),
    ({"backend_store_uri": "postgresql://u:secret@127.0.0.1:1/x"}, "Cannot reach the tracking database"),
    ({"args": ["--app-name", "basic-auth"]}, "MLCASK_AUTH_ADMIN_PASSWORD"),
])
def test_a_server_that_cannot_be_built_says_why_in_one_line(start_server, workers, options, expected):
    options = {**options, "args": [*options.get("args", []), "--workers", workers]}
    line = _refusal(start_server(wait=False, **options))
    assert expected in line and "secret" not in line


@pytest.mark.slow
def test_a_missing_bucket_stops_the_server_before_it_listens(start_server):
    from tests.s3_server import start_s3_server

    s3 = start_s3_server()
    try:
        for workers in ("1", "2"):
            server = start_server(artifacts_destination="s3://no-such-bucket-for-mlcask/x", env=s3.env, wait=False,
                                  args=["--workers", workers])
            assert "the bucket 'no-such-bucket-for-mlcask' does not exist" in _refusal(server)
    finally:
        s3.stop()


def test_basic_auth_is_prepared_once_before_workers_start(tmp_path, monkeypatch):
    """With --app-name basic-auth the auth tables and the admin exist before uvicorn starts any worker."""
    import sqlalchemy as sa

    import mlcask.server.auth as auth
    import mlcask.serving.server as serving

    calls: list[str] = []
    prepare = auth.prepare

    def spy_prepare(settings):
        calls.append("prepare")
        prepare(settings)

    def fake_run(app, **options):
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'auth.db'}")
        with engine.connect() as connection:
            calls.append(connection.execute(sa.text("SELECT username, is_admin FROM mlcask_auth_users")).fetchall())
        engine.dispose()
        calls.append(("run", app, options["workers"]))

    monkeypatch.setattr(auth, "prepare", spy_prepare)
    monkeypatch.setattr(serving, "run", fake_run)
    monkeypatch.chdir(tmp_path)
    env = {"MLCASK_AUTH_ADMIN_PASSWORD": "Admin-pass-1", "MLCASK_AUTH_DATABASE_URI": f"sqlite:///{tmp_path / 'auth.db'}"}
    result = CliRunner().invoke(cli, ["server", "--app-name", "basic-auth", "--workers", "2", "--backend-store-uri",
                                      f"sqlite:///{tmp_path / 'mlcask.db'}"], env=env)
    assert result.exit_code == 0, result.output
    assert calls == ["prepare", [("admin", 1)], ("run", "mlcask.server.app:app_from_env", 2)]
    assert "listening on http://127.0.0.1:5000" in result.output
