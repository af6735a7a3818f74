"""Symbolic links planted in the artifacts, model artifact names and code paths, and the
sources the model registry accepts (see ``mlcask.tracking.registry.source_policy``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import mlcask
import mlcask.pyfunc
from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking.client import MlcaskClient

SECRET = "TOP-SECRET-SENTINEL"


class Echo(mlcask.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


def _tree(folder: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


@pytest.fixture
def planted(tracking, tmp_path):
    """A run whose artifacts hold links out of the root: to a file, a folder, nowhere, and itself."""
    outside = tmp_path / "outside"
    (outside / "secret_dir").mkdir(parents=True)
    (outside / "secret.txt").write_text(SECRET)
    (outside / "secret_dir" / "secret.txt").write_text(SECRET)
    run = mlcask.start_run()
    mlcask.log_text("fine", "ok.txt")
    root = Path(run.info.artifact_uri)
    (root / "link_file").symlink_to(outside / "secret.txt")
    (root / "link_dir").symlink_to(outside / "secret_dir")
    (root / "dangling").symlink_to(outside / "missing.txt")
    (root / "loop").symlink_to(root / "loop")
    (root / "inner").symlink_to(root / "ok.txt")  # inside the root: an ordinary entry
    (tmp_path / "data.txt").write_text("data")
    before = _tree(outside)
    yield run.info.run_id, root, outside, MlcaskClient()
    assert _tree(outside) == before, "something outside the artifact root changed"


def test_links_out_of_the_root_are_not_listed(planted):
    run_id, _, _, client = planted
    assert [(f.path, f.is_dir) for f in client.list_artifacts(run_id)] == [("inner", False), ("ok.txt", False)]


@pytest.mark.parametrize("path", ["link_file", "link_dir", "link_dir/secret.txt", "dangling", "loop", "loop/x"])
def test_links_out_of_the_root_are_neither_read_nor_downloaded(planted, path, tmp_path):
    run_id, _, _, client = planted
    with pytest.raises(InvalidArgumentError, match="outside the artifact root through the symbolic link"):
        client.download_artifacts(run_id, path)
    with pytest.raises(InvalidArgumentError, match="outside the artifact root"):
        client.download_artifacts(run_id, path, str(tmp_path / "dst"))
    with pytest.raises(InvalidArgumentError, match="outside the artifact root"):
        client.list_artifacts(run_id, path)
    with pytest.raises(InvalidArgumentError, match="outside the artifact root"):
        mlcask.pyfunc.load_model(f"runs:/{run_id}/{path}")
    assert not (tmp_path / "dst").exists()


@pytest.mark.parametrize("call", [
    lambda d: mlcask.log_artifact(str(d / "data.txt"), "link_dir"),
    lambda d: mlcask.log_artifact(str(d / "data.txt"), "link_dir/new/deeper"),
    lambda d: mlcask.log_artifacts(str(d / "outside"), "link_dir/new"),
    lambda d: mlcask.log_artifacts(str(d / "outside"), "link_dir"),
    lambda d: mlcask.log_text("overwritten", "link_file"),
    lambda d: mlcask.log_text("new", "link_dir/new.txt"),
    lambda d: mlcask.log_text("new", "dangling"),
    lambda d: mlcask.log_dict({"a": 1}, "link_dir/sub/new.json"),
    lambda d: mlcask.log_table({"a": [1]}, "link_dir/secret.json"),
], ids=["file-into-link", "file-under-link", "folder-under-link", "folder-into-link", "text-over-link",
        "text-into-link", "text-over-dangling", "dict-under-link", "table-into-link"])
def test_nothing_is_written_through_a_link(planted, call, tmp_path):
    with pytest.raises(InvalidArgumentError, match="outside the artifact root"):
        call(tmp_path)


def test_downloading_the_root_leaves_the_links_out(planted, tmp_path):
    run_id, _, _, client = planted
    copied = Path(client.download_artifacts(run_id, "", str(tmp_path / "dst")))
    assert sorted(p.name for p in copied.iterdir()) == ["inner", "ok.txt"]
    assert not any(SECRET.encode() in p.read_bytes() for p in copied.rglob("*") if p.is_file())


def test_logging_a_folder_refuses_its_links_out_and_special_files(tracking, tmp_path):
    """Links leading out and special files are refused, naming them (mlcask 0.1 skipped them silently;
    MLflow follows the links); a link staying inside the folder is copied as a file."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text(SECRET)
    source = tmp_path / "source"
    (source / "sub").mkdir(parents=True)
    (source / "a.txt").write_text("a")
    (source / "sub" / "b.txt").write_text("b")
    (source / "sub" / "inner").symlink_to("b.txt")
    planted = [(source / "to_file", tmp_path / "outside" / "secret.txt"),
               (source / "sub" / "to_dir", tmp_path / "outside")]
    with mlcask.start_run() as run:
        for link, target in planted:
            link.symlink_to(target)
            with pytest.raises(InvalidArgumentError, match=f"holds the symbolic link '{link}' -> '{target}', which "
                                                           "leads outside"):
                mlcask.log_artifacts(str(source), "logged")
            link.unlink()
        os.mkfifo(source / "pipe")
        with pytest.raises(InvalidArgumentError, match="a named pipe"):
            mlcask.log_artifacts(str(source), "logged")
        (source / "pipe").unlink()
        mlcask.log_artifacts(str(source), "logged")
        mlcask.log_artifacts(str(source), "logged")  # the second time merges into the existing folder
    root = Path(run.info.artifact_uri) / "logged"
    assert {p.relative_to(root).as_posix() for p in root.rglob("*")} == {"a.txt", "sub", "sub/b.txt", "sub/inner"}
    assert not any(p.is_symlink() for p in root.rglob("*")) and (root / "sub" / "inner").read_text() == "b"


# -- model artifact names and code paths ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["a/b", "..", ".", "", "x\x00y", "..%2f", "%2e%2e", "\uff0e\uff0e", "a\\b", "~"])
def test_model_artifact_names_must_be_plain_names(tmp_path, name):
    (tmp_path / "weights.bin").write_bytes(b"w")
    with pytest.raises(InvalidArgumentError, match="artifact name"):
        mlcask.pyfunc.save_model(tmp_path / "model", python_model=Echo(), pip_requirements=[],
                                 artifacts={name: str(tmp_path / "weights.bin")})
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("source", ["/", ".", ".."])
def test_model_artifact_sources_need_a_base_name(tmp_path, source, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidArgumentError, match="file name of artifact|another artifact is already saved"):
        mlcask.pyfunc.save_model(tmp_path / "model", python_model=Echo(), pip_requirements=[],
                                 artifacts={"weights": source})
    assert not (tmp_path / "model").exists()


def test_plain_model_artifacts_still_work(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"w")
    mlcask.pyfunc.save_model(tmp_path / "model", python_model=Echo(), pip_requirements=[],
                             artifacts={"my weights": str(tmp_path / "weights.bin")})
    assert (tmp_path / "model" / "artifacts" / "weights.bin").read_bytes() == b"w"


@pytest.mark.parametrize("entry", ["/", ".", ".."])
def test_code_paths_need_a_base_name(tmp_path, entry, monkeypatch):
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    with pytest.raises(InvalidArgumentError, match="no file or folder name to save it under"):
        mlcask.pyfunc.save_model(tmp_path / "model", python_model=Echo(), pip_requirements=[], code_paths=[entry])
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("link", ["outside", "dangling", "loop"])
def test_code_paths_refuse_links_out_of_the_package(tmp_path, link):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (tmp_path / "secret.txt").write_text(SECRET)
    target = {"outside": tmp_path / "secret.txt", "dangling": tmp_path / "missing", "loop": package}[link]
    (package / "link").symlink_to(target)
    with pytest.raises(InvalidArgumentError, match="holds the symbolic link"):
        mlcask.pyfunc.save_model(tmp_path / "model", python_model=Echo(), pip_requirements=[],
                                 code_paths=[str(package)])
    assert not (tmp_path / "model").exists()


def test_code_paths_copy_links_inside_the_package_as_files(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("X = 1\n")
    (package / "alias.py").symlink_to(package / "__init__.py")
    mlcask.pyfunc.save_model(tmp_path / "model", python_model=Echo(), pip_requirements=[], code_paths=[str(package)])
    copied = tmp_path / "model" / "code" / "pkg" / "alias.py"
    assert copied.read_text() == "X = 1\n" and not copied.is_symlink()


# -- registry sources ------------------------------------------------------------------------------------
@pytest.fixture
def registry(tracking, tmp_path):
    client = MlcaskClient()
    client.create_registered_model("m")
    with mlcask.start_run() as run:
        mlcask.log_text("x", "model/MLmodel")
        info = mlcask.pyfunc.log_model(name="logged", python_model=Echo(), pip_requirements=[])
    return client, run, info


def test_sources_the_registry_accepts(registry, tmp_path):
    client, run, info = registry
    run_id, root = run.info.run_id, Path(run.info.artifact_uri)
    logged = mlcask.MlcaskClient().get_logged_model(info.model_uri.split("/")[-1])
    accepted = [
        client.create_model_version("m", f"runs:/{run_id}/model"),
        client.create_model_version("m", info.model_uri),
        client.create_model_version("m", "models:/m/1"),
        client.create_model_version("m", "models:/m/latest"),
        client.create_model_version("m", str(root / "model"), run_id=run_id),
        client.create_model_version("m", f"file://{root}/model", run_id=run_id),
        client.create_model_version("m", logged.artifact_location, run_id=run_id),
        client.create_model_version("m", str(tmp_path / "anywhere")),  # no run claimed: the caller's own path
        client.create_model_version("m", "s3://bucket/models/model", run_id=run_id),
        client.create_model_version("m", str(tmp_path / "x"), run_id="not-a-run-here"),  # run unknown to this store
    ]
    assert [v.version for v in accepted] == [str(i) for i in range(1, 11)]


@pytest.mark.parametrize("source, message", [
    ("s3://bucket/a/../b", "'..' segments"),
    ("https://host/a/%2e%2e/b", "'..' segments"),
    ("https://host/a?p=../../b", "'..' segments"),
    ("file:///tmp#/../../etc/passwd", "'..' segments"),
    ("models:/a/b/c", "expected models:/"),
    ("runs:/bad id/model", "Invalid run id"),
    ("runs:/abc/../model", "'..' segments"),
    ("/models/x\x00.txt", "control character"),
    ("C:\\models\\x", "backslash"),
    ("/models/..;/x", "'..' segments"),
])
def test_sources_the_registry_refuses(registry, source, message):
    client, _, _ = registry
    with pytest.raises(InvalidArgumentError, match=message):
        client.create_model_version("m", source)


def test_a_local_source_claiming_a_run_must_hold_its_files(registry, tmp_path):
    client, run, _ = registry
    run_id, root = run.info.run_id, Path(run.info.artifact_uri)
    (tmp_path / "elsewhere").mkdir()
    (root / "escape").symlink_to(tmp_path / "elsewhere")
    for source in [str(tmp_path / "elsewhere"), str(root / "escape"), f"file://{root}/escape", "/etc",
                   str(root.parent)]:
        with pytest.raises(InvalidArgumentError, match="must lie inside that run's artifacts"):
            client.create_model_version("m", source, run_id=run_id)
    assert client.search_model_versions("name = 'm'") == []


def test_a_bad_source_already_stored_is_refused_at_load(registry):
    import sqlalchemy as sa

    from mlcask.tracking.store.db import engine_for
    from mlcask.tracking.store.schema import model_versions

    client, run, _ = registry
    client.create_model_version("m", f"runs:/{run.info.run_id}/model")
    with engine_for(client.tracking_uri).begin() as connection:  # as an older version or another tool could
        connection.execute(sa.update(model_versions).values(source="/models/%2e%2e/%2e%2e/etc"))
    with pytest.raises(InvalidArgumentError, match="'..' segments"):
        mlcask.pyfunc.load_model("models:/m/1")
