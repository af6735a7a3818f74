"""The mlcask home folder (``MLCASK_HOME``: the signing key and the digest cache) is never an
artifact location, an artifact root, an upload source or a download destination: not the
folder itself, nothing inside it and nothing holding it, in any spelling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import mlcask
from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking.artifacts import LocalArtifactRepository
from mlcask.tracking.client import MlcaskClient

KEY = b"0123456789abcdef0123456789abcdef\n"
REFUSED = "the mlcask home folder"


@pytest.fixture
def home(tmp_path, monkeypatch):
    folder = tmp_path / "mlcask-home"
    folder.mkdir(mode=0o700)
    (folder / "signing.key").write_bytes(KEY)
    (folder / "signing.key").chmod(0o600)
    monkeypatch.setenv("MLCASK_HOME", str(folder))
    yield folder
    assert sorted(p.name for p in folder.iterdir()) == ["signing.key"], "something was written in MLCASK_HOME"
    assert (folder / "signing.key").read_bytes() == KEY


def _spellings(tmp_path: Path, home: Path) -> dict[str, str]:
    return {
        "plain": str(home),
        "trailing-slash": f"{home}/",
        "inside": str(home / "artifacts"),
        "file-uri": f"file://{home}/artifacts",
        "file-uri-localhost": f"file://localhost{home}",
        "file-colon": f"file:{home}",
        "dot-dot": f"{tmp_path}/elsewhere/../mlcask-home/runs",
        "dot-dot-through-missing": f"{tmp_path}/missing/deeper/../../mlcask-home",
        "percent-encoded-uri": f"file://{tmp_path}/mlcask%2Dhome/x",
        "double-encoded": f"{tmp_path}/mlcask%252Dhome",
        "encoded-slashes": f"file://{tmp_path}%2Fmlcask-home",
        "relative": "mlcask-home/artifacts",
        "relative-dot": "./mlcask-home",
        "tilde": "~/mlcask-home/a",
        "symlink": f"{tmp_path}/alias/artifacts",
        "symlinked-ancestor": f"{tmp_path}/up/mlcask-home",
        "contains": str(tmp_path),
        "contains-root": "/",
    }


@pytest.fixture
def spelled(tmp_path, home, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "alias").symlink_to(home)
    (tmp_path / "up").symlink_to(tmp_path)
    return _spellings(tmp_path, home)


@pytest.mark.parametrize("spelling", list(_spellings(Path("/t"), Path("/t/h"))))
def test_create_experiment_refuses_locations_touching_the_home_folder(tracking, spelled, spelling):
    client = MlcaskClient()
    before = len(client.search_experiments())
    with pytest.raises(InvalidArgumentError, match=rf"Experiment artifact_location '.*' is refused: it.* {REFUSED} "
                                                   r"'.*mlcask-home' \(MLCASK_HOME\).*Give an artifact_location"):
        client.create_experiment("exp", artifact_location=spelled[spelling])
    assert len(client.search_experiments()) == before


@pytest.mark.parametrize("location", ["mlcask-home2", "mlcask-hom", "mlcask-home.d/x", "s3://bucket/mlcask-home"])
def test_locations_beside_the_home_folder_are_accepted(tracking, home, tmp_path, location):
    given = location if "://" in location else str(tmp_path / location)
    experiment_id = MlcaskClient().create_experiment("exp", artifact_location=given)
    assert MlcaskClient().get_experiment(experiment_id).artifact_location == given


def test_a_relation_is_named(tracking, home, tmp_path):
    client = MlcaskClient()
    for location, relation in [(home, "is the"), (home / "x", "is inside the"), (tmp_path, "contains the")]:
        with pytest.raises(InvalidArgumentError, match=f"it {relation} mlcask home folder"):
            client.create_experiment("exp", artifact_location=str(location))


def test_an_artifact_root_in_the_home_folder_is_refused_when_the_store_opens(tracking_state, home, tmp_path):
    tracking_state(f"sqlite:///{tmp_path}/t.db", home / "artifacts")
    with pytest.raises(InvalidArgumentError, match=r"tracking store's artifact root '.*' is refused: it is inside "
                                                   r"the mlcask home folder.*MLCASK_ARTIFACT_ROOT"):
        MlcaskClient()


def test_a_folder_store_inside_the_home_folder_is_refused(tracking_state, home, tmp_path, monkeypatch):
    import shutil

    from tests.support import point_fluent_at

    tracking_state(f"sqlite:///{tmp_path}/t.db", tmp_path / "artifacts")
    monkeypatch.delenv("MLCASK_ARTIFACT_ROOT")
    point_fluent_at(str(home / "store"))  # a folder store: mlcask.db and artifacts/ in MLCASK_HOME/store
    with pytest.raises(InvalidArgumentError, match=f"artifact root '.*' is refused: it is inside {REFUSED}"):
        MlcaskClient()
    assert not (home / "store" / "artifacts").exists()
    # The database file is made before the store checks its artifact root (the store's base class opens it
    # first); it is no key, but it is a leftover:
    shutil.rmtree(home / "store")


def test_a_location_stored_earlier_in_the_home_folder_is_refused_at_use(tracking, home, tmp_path):
    import sqlalchemy as sa

    from mlcask.tracking.store.db import engine_for
    from mlcask.tracking.store.schema import experiments

    client = MlcaskClient()
    experiment_id = client.create_experiment("exp")
    with engine_for(client.tracking_uri).begin() as connection:  # as an older mlcask, or MLflow, could have
        connection.execute(sa.update(experiments).where(experiments.c.experiment_id == int(experiment_id))
                           .values(artifact_location=str(home)))
    run = client.create_run(experiment_id)
    (tmp_path / "data.txt").write_text("data")
    with pytest.raises(InvalidArgumentError, match=f"Artifact root '.*' is refused: it is inside {REFUSED}"):
        client.log_artifact(run.info.run_id, str(tmp_path / "data.txt"))
    with pytest.raises(InvalidArgumentError, match=REFUSED):
        client.log_text(run.info.run_id, "x", "signing.key")
    with pytest.raises(InvalidArgumentError, match=REFUSED):
        client.list_artifacts(run.info.run_id)


def test_uploads_from_the_home_folder_are_refused(home, tmp_path):
    repository = LocalArtifactRepository(tmp_path / "root")
    (tmp_path / "link-to-key").symlink_to(home / "signing.key")
    (tmp_path / "link-to-home").symlink_to(home)
    calls = [
        (repository.log_artifacts, home, "log_artifacts: the folder '.*' is refused: it is"),
        (repository.log_artifacts, tmp_path, "log_artifacts: the folder '.*' is refused: it contains"),
        (repository.log_artifacts, tmp_path / "link-to-home", r"it \(read as '.*/mlcask-home'\) is"),
        (repository.log_artifact, home / "signing.key", "log_artifact: the file '.*' is refused: it is inside"),
        (repository.log_artifact, tmp_path / "link-to-key", r"it \(read as '.*/signing.key'\) is inside"),
    ]
    for call, source, message in calls:
        with pytest.raises(InvalidArgumentError, match=f"{message} {REFUSED}.*must not leave this machine"):
            call(source)
    assert not repository.root.exists() or not any(repository.root.rglob("*"))


def test_a_hard_link_to_the_signing_key_is_not_uploaded(home, tmp_path):
    """A hard link is the file itself: mlcask compares it with the files of the home folder."""
    source = tmp_path / "source"
    source.mkdir()
    os.link(home / "signing.key", source / "innocent.txt")
    repository = LocalArtifactRepository(tmp_path / "root")
    for call, given in [(repository.log_artifacts, source), (repository.log_artifact, source / "innocent.txt")]:
        with pytest.raises(InvalidArgumentError, match="hard link to a file of the mlcask home folder"):
            call(given)
    assert not any(KEY in p.read_bytes() for p in repository.root.rglob("*") if p.is_file())


def test_downloads_into_the_home_folder_are_refused(home, tmp_path):
    repository = LocalArtifactRepository(tmp_path / "root")
    repository.write_bytes("signing.key", b"attacker's key")
    repository.write_bytes("mlcask-home/signing.key", b"attacker's key")
    for path, dst, relation in [("signing.key", home, "is inside"), ("mlcask-home", tmp_path, "is"),
                                ("mlcask-home", f"{tmp_path}/x/..", "is"), ("", home / "sub", "is inside")]:
        with pytest.raises(InvalidArgumentError, match=f"download_artifacts: the destination '.*' is refused: it.* "
                                                       f"{relation} {REFUSED}.*Choose a dst_path outside it"):
            repository.download_artifacts(path, dst)


def test_the_fluent_api_refuses_too(tracking, home, tmp_path):
    with pytest.raises(InvalidArgumentError, match=REFUSED):
        mlcask.create_experiment("exp", artifact_location=f"file://{home}")
    with mlcask.start_run() as run:
        mlcask.log_text("k", "mlcask-home/signing.key")
        with pytest.raises(InvalidArgumentError, match=REFUSED):
            mlcask.log_artifacts(str(home))
        with pytest.raises(InvalidArgumentError, match=REFUSED):
            MlcaskClient().download_artifacts(run.info.run_id, "mlcask-home", str(tmp_path))


def test_code_paths_holding_the_home_folder_are_refused(home, tmp_path):
    import mlcask.pyfunc

    class Echo(mlcask.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input

    for entry in (home, tmp_path):
        with pytest.raises(InvalidArgumentError, match=f"code_paths entry '.*' is refused: it .* {REFUSED}"):
            mlcask.pyfunc.save_model(tmp_path / "model", python_model=Echo(), pip_requirements=[],
                                     code_paths=[str(entry)])
        assert not (tmp_path / "model").exists()
