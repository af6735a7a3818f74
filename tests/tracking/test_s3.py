"""The S3 artifact repository against moto's standalone server, and s3:// artifact roots of the local store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import mlcask
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.tracking.artifacts import get_artifact_repository
from mlcask.tracking.protocols import ArtifactRepository
from mlcask.tracking.s3 import PERMISSION_DENIED, S3ArtifactRepository, parse_s3_uri, s3_client
from tests.s3_server import start_s3_server
from tests.security.traversal_payloads import PAYLOADS

MiB = 1024 * 1024


@pytest.fixture
def bucket(s3_server, monkeypatch):
    s3_server.apply_env(monkeypatch)
    return s3_server.new_bucket()


@pytest.fixture
def repo(bucket) -> S3ArtifactRepository:
    return S3ArtifactRepository(f"s3://{bucket}/exp/run/artifacts")


@pytest.fixture
def tree(tmp_path) -> Path:
    folder = tmp_path / "tree"
    (folder / "sub" / "deep").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.json").write_text("{}")
    (folder / "sub" / "deep" / "c.bin").write_bytes(b"\x00\x01" * 100)
    return folder


def test_dispatch_and_protocol(bucket):
    repository = get_artifact_repository(f"s3://{bucket}/p")
    assert isinstance(repository, S3ArtifactRepository) and isinstance(repository, ArtifactRepository)
    assert repository.artifact_uri == f"s3://{bucket}/p"


@pytest.mark.parametrize(("uri", "why"), [
    ("s3://", "expected a bucket name"), ("s3:///x", "expected a bucket name"), ("s3://b/x", "expected a bucket"),
    ("s3://user:pw@bucket/x", "expected a bucket name"), ("s3://bucket/../x", "'..' segments"),
    ("s3://bucket/%2e%2e/x", "'..' segments"), ("s3://bucket/x?versionId=1", "a query"),
    ("s3://bucket/x#y", "fragment"), ("http://bucket/x", "Not an S3 URI")])
def test_bad_uris_are_refused(uri, why):
    with pytest.raises(InvalidArgumentError, match=why):
        parse_s3_uri(uri)


def test_round_trip(repo, s3_server, bucket, tree, tmp_path):
    repo.log_artifacts(tree, "model")
    repo.log_artifact(tree / "a.txt")
    repo.write_bytes("notes/n.txt", b"note")
    assert s3_server.keys(bucket) == ["exp/run/artifacts/a.txt", "exp/run/artifacts/model/a.txt",
                                      "exp/run/artifacts/model/sub/b.json", "exp/run/artifacts/model/sub/deep/c.bin",
                                      "exp/run/artifacts/notes/n.txt"]
    assert [(f.path, f.is_dir, f.file_size) for f in repo.list_artifacts()] == [
        ("a.txt", False, 1), ("model", True, None), ("notes", True, None)]
    assert [f.path for f in repo.list_artifacts("model/sub")] == ["model/sub/b.json", "model/sub/deep"]
    assert repo.list_artifacts("a.txt") == [] and repo.list_artifacts("nothing") == []
    assert repo.read_bytes("model/sub/deep/c.bin") == b"\x00\x01" * 100
    out = tmp_path / "out"
    assert repo.download_artifacts("model", out) == str(out / "model")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        "model/a.txt", "model/sub/b.json", "model/sub/deep/c.bin"]
    assert (out / "model" / "sub" / "deep" / "c.bin").read_bytes() == b"\x00\x01" * 100
    single = repo.download_artifacts("notes/n.txt")  # no dst_path: a fresh temporary folder
    assert Path(single).read_bytes() == b"note" and Path(single).name == "n.txt"
    everything = repo.download_artifacts("", tmp_path / "all")
    assert Path(everything) == tmp_path / "all" / "artifacts" and (Path(everything) / "notes" / "n.txt").exists()
    assert not any(p.name.startswith(".mlcask-partial-") for p in tmp_path.rglob("*"))
    repo.delete_artifacts("model/sub")
    assert [f.path for f in repo.list_artifacts("model")] == ["model/a.txt"]
    repo.delete_artifacts("a.txt")
    repo.delete_artifacts("does/not/exist")
    repo.delete_artifacts()
    assert s3_server.keys(bucket) == []


def test_whole_bucket_as_root(bucket, s3_server, tmp_path):
    repository = S3ArtifactRepository(f"s3://{bucket}")
    repository.write_bytes("x/y.txt", b"y")
    assert s3_server.keys(bucket) == ["x/y.txt"]
    assert [f.path for f in repository.list_artifacts()] == ["x"]
    assert Path(repository.download_artifacts("", tmp_path)) == tmp_path / bucket


def test_large_files_go_up_in_parts(repo, s3_server, bucket, tmp_path, monkeypatch):
    monkeypatch.setenv("MLCASK_S3_MULTIPART_THRESHOLD", str(5 * MiB))
    monkeypatch.setenv("MLCASK_S3_MULTIPART_CHUNKSIZE", str(5 * MiB))
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(11 * MiB))
    repo.log_artifact(big, "weights")
    head = s3_server.client().head_object(Bucket=bucket, Key="exp/run/artifacts/weights/big.bin")
    assert head["ETag"].strip('"').endswith("-3")  # three parts, joined by one completed upload
    assert s3_server.multipart_uploads(bucket) == []
    assert Path(repo.download_artifacts("weights/big.bin", tmp_path / "out")).read_bytes() == big.read_bytes()
    monkeypatch.setenv("MLCASK_S3_MULTIPART_CHUNKSIZE", "1000")
    with pytest.raises(InvalidArgumentError, match="at least 5242880"):
        repo.log_artifact(big)


def test_upload_extra_args_and_content_type(repo, s3_server, bucket, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_S3_UPLOAD_EXTRA_ARGS", '{"Metadata": {"team": "ml"}}')
    (tmp_path / "page.html").write_text("<p>")
    repo.log_artifact(tmp_path / "page.html")
    head = s3_server.client().head_object(Bucket=bucket, Key="exp/run/artifacts/page.html")
    assert head["Metadata"] == {"team": "ml"} and head["ContentType"] == "text/html"
    monkeypatch.setenv("MLFLOW_S3_UPLOAD_EXTRA_ARGS", "[1]")
    with pytest.raises(InvalidArgumentError, match="MLFLOW_S3_UPLOAD_EXTRA_ARGS"):
        repo.write_bytes("x", b"x")


def test_one_client_per_settings(bucket, monkeypatch, s3_server):
    assert s3_client() is s3_client()
    first = s3_client()
    monkeypatch.setenv("MLFLOW_S3_IGNORE_TLS", "true")
    assert s3_client() is not first
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", s3_server.endpoint_url + "/")
    assert s3_client().meta.endpoint_url.startswith(s3_server.endpoint_url)


def test_credentials_from_a_profile(bucket, monkeypatch, tmp_path):
    credentials = tmp_path / "credentials"
    credentials.write_text("[team]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_PROFILE", "team")
    repository = S3ArtifactRepository(f"s3://{bucket}/p")
    repository.write_bytes("a.txt", b"a")
    assert s3_client().get_object(Bucket=bucket, Key="p/a.txt")["Body"].read() == b"a"
    assert s3_client().meta.region_name == "us-east-1"  # AWS_DEFAULT_REGION


def test_clear_errors(repo, bucket, monkeypatch, tmp_path):
    with pytest.raises(MlcaskException, match=f"s3://{bucket}/exp/run/artifacts/missing.txt") as missing:
        repo.read_bytes("missing.txt")
    assert missing.value.error_code == RESOURCE_DOES_NOT_EXIST
    with pytest.raises(MlcaskException, match="No artifact at") as absent:
        repo.download_artifacts("missing/folder", tmp_path)
    assert absent.value.error_code == RESOURCE_DOES_NOT_EXIST
    nowhere = S3ArtifactRepository("s3://no-such-bucket-here/x")
    for call in (lambda: nowhere.write_bytes("a", b"a"), lambda: nowhere.list_artifacts(),
                 lambda: nowhere.read_bytes("a")):
        with pytest.raises(MlcaskException, match="the bucket 'no-such-bucket-here' does not exist") as error:
            call()
        assert error.value.error_code == RESOURCE_DOES_NOT_EXIST
    repo.check_bucket()
    with pytest.raises(MlcaskException, match="the bucket 'no-such-bucket-here' does not exist"):
        nowhere.check_bucket()
    monkeypatch.setenv("AWS_PROFILE", "no-such-profile-anywhere")
    with pytest.raises(InvalidArgumentError, match="no-such-profile-anywhere"):
        repo.read_bytes("a")


def test_bad_credentials_are_named(monkeypatch, tmp_path):
    server = start_s3_server(require_auth=True)
    try:
        server.apply_env(monkeypatch)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG1")
        repository = S3ArtifactRepository("s3://some-bucket/p")
        with pytest.raises(MlcaskException, match="AWS_ACCESS_KEY_ID") as refused:
            repository.write_bytes("a.txt", b"a")
        assert refused.value.error_code == PERMISSION_DENIED and "s3://some-bucket/p/a.txt" in refused.value.message
        with pytest.raises(MlcaskException, match="refused the credentials"):
            repository.check_bucket()
    finally:
        server.stop()


def test_traversal_payloads_are_refused(repo, s3_server, bucket, tree, tmp_path):
    for payload in PAYLOADS:
        for call in (lambda: repo.log_artifact(tree / "a.txt", payload), lambda: repo.log_artifacts(tree, payload),
                     lambda: repo.write_bytes(payload, b"x"), lambda: repo.read_bytes(payload),
                     lambda: repo.list_artifacts(payload), lambda: repo.download_artifacts(payload, tmp_path / "o"),
                     lambda: repo.delete_artifacts(payload)):
            with pytest.raises(InvalidArgumentError):
                call()
    assert s3_server.keys(bucket) == []


def test_keys_that_are_not_clean_paths_never_leave_dst(repo, s3_server, bucket, tmp_path):
    client = s3_server.client()
    for key in ("exp/run/artifacts/ok.txt", "exp/run/artifacts/../../../escape.txt", "exp/run/artifacts//x.txt",
                "exp/run/artifacts/d/%2e%2e/y.txt", "exp/run/artifacts/marker/"):
        client.put_object(Bucket=bucket, Key=key, Body=b"k")
    out = tmp_path / "deep" / "er" / "out"
    root = Path(repo.download_artifacts("", out))
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()) == [
        "deep/er/out/artifacts/ok.txt"]
    # 'd' holds only an unsafe key, 'marker/' is a folder marker: listed as folders, as S3 shows them
    assert [(f.path, f.is_dir) for f in repo.list_artifacts()] == [("d", True), ("marker", True), ("ok.txt", False)]
    assert repo.list_artifacts("d") == []
    assert root == out / "artifacts"


def test_downloads_never_write_through_links(repo, tree, tmp_path):
    repo.log_artifacts(tree, "model")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.txt").write_text("mine")
    dst = tmp_path / "dst"
    (dst / "model").mkdir(parents=True)
    (dst / "model" / "a.txt").symlink_to(outside / "a.txt")  # a planted link is replaced, not written through
    repo.download_artifacts("model", dst)
    assert (outside / "a.txt").read_text() == "mine"
    assert not (dst / "model" / "a.txt").is_symlink() and (dst / "model" / "a.txt").read_text() == "a"
    (dst / "model" / "sub").rename(tmp_path / "moved")
    (dst / "model" / "sub").symlink_to(outside, target_is_directory=True)  # a linked folder is refused
    with pytest.raises(InvalidArgumentError, match="symbolic link"):
        repo.download_artifacts("model", dst)
    assert sorted(p.name for p in outside.iterdir()) == ["a.txt"]


def test_uploads_follow_the_link_rule(repo, tree, tmp_path):
    (tmp_path / "secret.txt").write_text("secret")
    (tree / "leak").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(InvalidArgumentError, match="symbolic link"):
        repo.log_artifacts(tree)
    assert repo.list_artifacts() == []
    os.unlink(tree / "leak")
    (tree / "inside").symlink_to(tree / "a.txt")  # a link inside the folder is copied as its file
    repo.log_artifacts(tree)
    assert repo.read_bytes("inside") == b"a"


def test_mlcask_home_is_never_uploaded(repo, tmp_path):
    from mlcask.models.home import home_path

    home = home_path()
    home.mkdir(parents=True, exist_ok=True)
    (home / "probe.txt").write_text("x")
    with pytest.raises(InvalidArgumentError):
        repo.log_artifact(home / "probe.txt")
    with pytest.raises(InvalidArgumentError):
        repo.download_artifacts("", home)


# -- s3:// artifact roots of the local (SQLite) store -------------------------------------------------
def test_fluent_api_with_an_s3_artifact_root(tracking_state, tmp_path, bucket, s3_server, tree):
    tracking_state(f"sqlite:///{tmp_path}/t.db", f"s3://{bucket}/mlcask")
    mlcask.set_experiment("s3-exp")
    with mlcask.start_run() as run:
        mlcask.log_artifact(str(tree / "a.txt"))
        mlcask.log_artifacts(str(tree), "tree")
        mlcask.log_text("hello", "notes/hello.txt")
        mlcask.log_dict({"k": 1}, "config.yaml")
    assert run.info.artifact_uri.startswith(f"s3://{bucket}/mlcask/")
    prefix = run.info.artifact_uri.removeprefix(f"s3://{bucket}/") + "/"
    assert [k.removeprefix(prefix) for k in s3_server.keys(bucket, prefix)] == [
        "a.txt", "config.yaml", "notes/hello.txt", "tree/a.txt", "tree/sub/b.json", "tree/sub/deep/c.bin"]
    client = mlcask.MlflowClient()
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["a.txt", "config.yaml", "notes", "tree"]
    local = client.download_artifacts(run.info.run_id, "notes/hello.txt", str(tmp_path / "dl"))
    assert Path(local).read_text() == "hello"
    assert "k: 1" in Path(client.download_artifacts(run.info.run_id, "config.yaml")).read_text()


def test_experiment_with_an_s3_artifact_location(tracking, bucket, s3_server):
    experiment_id = mlcask.create_experiment("on-s3", artifact_location=f"s3://{bucket}/exp-root")
    assert mlcask.get_experiment(experiment_id).artifact_location == f"s3://{bucket}/exp-root"
    with mlcask.start_run(experiment_id=experiment_id) as run:
        mlcask.log_text("x", "x.txt")
    assert run.info.artifact_uri.startswith(f"s3://{bucket}/exp-root/")
    assert s3_server.keys(bucket) == [run.info.artifact_uri.removeprefix(f"s3://{bucket}/") + "/x.txt"]


def test_log_model_and_load_model_through_s3(tracking_state, tmp_path, bucket, s3_server, logistic_regression,
                                             breast_cancer):
    import numpy as np

    X, _ = breast_cancer
    tracking_state(f"sqlite:///{tmp_path}/t.db", f"s3://{bucket}/models")
    with mlcask.start_run() as run:
        info = mlcask.sklearn.log_model(logistic_regression, name="lr", input_example=X.head(2),
                                        registered_model_name="s3-lr")
    keys = s3_server.keys(bucket)
    assert any(k.endswith("/MLmodel") for k in keys) and any(k.endswith("model.skops") for k in keys)
    expected = logistic_regression.predict(X.head(10))
    for uri in (info.model_uri, f"runs:/{run.info.run_id}/lr", "models:/s3-lr/1"):
        np.testing.assert_array_equal(mlcask.pyfunc.load_model(uri).predict(X.head(10)), expected)
