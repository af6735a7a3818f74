"""mlcask.artifacts (MLflow's mlflow.artifacts): download_artifacts, list_artifacts, load_text,
load_dict and load_image over runs:/, models:/ and artifact-location URIs, with MLflow's layout
of what lands in dst_path and its argument checks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import mlcask
import mlcask.artifacts as artifacts
from mlcask.exceptions import BAD_REQUEST, INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, MlcaskException
from mlcask.tracking import fluent_artifacts as fa


@pytest.fixture
def run(tracking):
    with mlcask.start_run() as active:
        mlcask.log_text("hi", "a/b.txt")
        mlcask.log_text("x", "c.txt")
        mlcask.log_dict({"k": [1, 2]}, "conf/d.json")
    return active


@pytest.mark.parametrize("kwargs, message", [
    ({}, "Exactly one of `run_id` or `artifact_uri` must be specified"),
    ({"run_id": "r", "artifact_uri": "runs:/r/x"}, "Exactly one of `run_id` or `artifact_uri` must be specified"),
    ({"artifact_uri": "runs:/r/x", "artifact_path": "y"},
     "`artifact_path` cannot be specified if `artifact_uri` is specified"),
])
@pytest.mark.parametrize("function", [artifacts.download_artifacts, artifacts.list_artifacts])
def test_argument_combinations_are_checked_first(function, kwargs, message):
    with pytest.raises(MlcaskException, match=f"^{message}$") as caught:
        function(**kwargs)
    assert caught.value.error_code == INVALID_PARAMETER_VALUE


def test_a_file_lands_as_dst_path_slash_its_name(run, tmp_path):
    run_id = run.info.run_id
    for index, kwargs in enumerate([{"run_id": run_id, "artifact_path": "a/b.txt"},
                                    {"artifact_uri": f"runs:/{run_id}/a/b.txt"},
                                    {"artifact_uri": f"{run.info.artifact_uri}/a/b.txt"}]):
        dst = tmp_path / f"out{index}"
        local = artifacts.download_artifacts(dst_path=str(dst), **kwargs)
        assert local == str(dst / "b.txt") and Path(local).read_text() == "hi"


def test_a_folder_lands_whole_and_a_run_as_its_entries(run, tmp_path):
    folder = artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="a", dst_path=str(tmp_path / "f"))
    assert folder == str(tmp_path / "f" / "a") and os.listdir(folder) == ["b.txt"]
    everything = artifacts.download_artifacts(run_id=run.info.run_id, dst_path=str(tmp_path / "all"))
    assert everything == str(tmp_path / "all") and sorted(os.listdir(everything)) == ["a", "c.txt", "conf"]


def test_without_dst_path_a_runs_uri_gives_a_copy(run):
    stored = Path(run.info.artifact_uri.removeprefix("file://")) / "a" / "b.txt"
    local = artifacts.download_artifacts(f"runs:/{run.info.run_id}/a/b.txt")
    assert Path(local).read_text() == "hi" and Path(local) != stored
    os.remove(local)
    assert stored.read_text() == "hi"
    root = artifacts.download_artifacts(run_id=run.info.run_id)  # the run's own folder, as MLflow gives it
    assert sorted(os.listdir(root)) == ["a", "c.txt", "conf"]


def test_a_missing_path_is_resource_does_not_exist(run, tmp_path):
    with pytest.raises(MlcaskException, match="^Failed to download artifacts from path 'nope.txt', please ensure "
                                              "that the path is correct.$") as caught:
        artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="nope.txt", dst_path=str(tmp_path))
    assert caught.value.error_code == RESOURCE_DOES_NOT_EXIST


def test_list_artifacts_paths_are_mlflows(run):
    run_id = run.info.run_id
    assert [(f.path, f.is_dir) for f in artifacts.list_artifacts(run_id=run_id)] == [
        ("a", True), ("c.txt", False), ("conf", True)]
    assert [f.path for f in artifacts.list_artifacts(run_id=run_id, artifact_path="a")] == ["a/b.txt"]
    assert [f.path for f in artifacts.list_artifacts(artifact_uri=f"runs:/{run_id}/a")] == ["a/b.txt"]
    mlcask.MlflowClient().log_text(run_id, "deep", "a/sub/d.txt")
    # relative to the folder holding the URI's last part, as MLflow lists
    assert [f.path for f in artifacts.list_artifacts(artifact_uri=f"runs:/{run_id}/a/sub")] == ["sub/d.txt"]
    assert [f.path for f in artifacts.list_artifacts(artifact_uri=f"runs:/{run_id}/a")] == ["a/b.txt", "a/sub"]
    # an artifact location lists relative to its parent folder, as MLflow's does
    listed = artifacts.list_artifacts(artifact_uri=run.info.artifact_uri)
    assert [f.path for f in listed] == ["artifacts/a", "artifacts/c.txt", "artifacts/conf"]
    assert artifacts.list_artifacts(run_id=run_id, artifact_path="missing") == []


def test_load_text_and_load_dict(run):
    assert artifacts.load_text(f"runs:/{run.info.run_id}/a/b.txt") == "hi"
    assert artifacts.load_text(f"{run.info.artifact_uri}/c.txt") == "x"
    assert artifacts.load_dict(f"runs:/{run.info.run_id}/conf/d.json") == {"k": [1, 2]}
    with pytest.raises(MlcaskException, match="^Unable to form a JSON object from file content$") as caught:
        artifacts.load_dict(f"runs:/{run.info.run_id}/a/b.txt")
    assert caught.value.error_code == BAD_REQUEST


def test_load_text_of_bytes_that_are_not_utf8(tracking):
    with mlcask.start_run() as active:
        import io

        fa.log_stream(io.BytesIO(b"\xff\xfe\x00"), "bin/blob.dat")
    with pytest.raises(MlcaskException, match="is not valid UTF-8") as caught:
        artifacts.load_text(f"runs:/{active.info.run_id}/bin/blob.dat")
    assert caught.value.error_code == BAD_REQUEST


def test_load_image(tracking):
    pytest.importorskip("PIL")
    image = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    with mlcask.start_run() as active:
        fa.log_image(image, "img/x.png")
        mlcask.log_text("not an image", "img/y.png")
    loaded = artifacts.load_image(f"runs:/{active.info.run_id}/img/x.png")
    np.testing.assert_array_equal(np.asarray(loaded), image)
    with pytest.raises(MlcaskException, match="^Unable to form a PIL Image object from file content$"):
        artifacts.load_image(f"runs:/{active.info.run_id}/img/y.png")


def test_log_stream_writes_the_bytes(tracking, tmp_path):
    source = tmp_path / "big.bin"
    source.write_bytes(os.urandom(3 * 1024 * 1024 + 5))
    with mlcask.start_run() as active, open(source, "rb") as stream:
        fa.log_stream(stream, "deep/dir/big.bin")
    local = artifacts.download_artifacts(run_id=active.info.run_id, artifact_path="deep/dir/big.bin",
                                         dst_path=str(tmp_path / "out"))
    assert Path(local).read_bytes() == source.read_bytes()


def test_models_uris_reach_a_logged_model_and_a_registered_version(tracking, tmp_path, iris_classifier):
    _, model = iris_classifier
    with mlcask.start_run() as active:
        info = mlcask.sklearn.log_model(model, name="clf", registered_model_name="iris")
    names = {f.path for f in artifacts.list_artifacts(artifact_uri=f"models:/{info.model_id}")}
    assert "MLmodel" in names
    local = artifacts.download_artifacts("models:/iris/1/MLmodel", dst_path=str(tmp_path / "v1"))
    assert local == str(tmp_path / "v1" / "MLmodel") and "flavors:" in Path(local).read_text()
    # runs:/<run>/<model name>/... reaches the model the run logged under that name
    assert "flavors:" in artifacts.load_text(f"runs:/{active.info.run_id}/clf/MLmodel")
    whole = artifacts.download_artifacts(f"models:/{info.model_id}", dst_path=str(tmp_path / "m"))
    assert "MLmodel" in os.listdir(whole)


def test_tracking_uri_selects_another_store(tracking, tmp_path):
    other = f"sqlite:///{tmp_path}/other.db"
    client = mlcask.MlflowClient(other)
    run_id = client.create_run("0").info.run_id
    client.log_text(run_id, "elsewhere", "f.txt")
    with pytest.raises(MlcaskException):  # the current store has no such run
        artifacts.load_text(f"runs:/{run_id}/f.txt")
    local = artifacts.download_artifacts(run_id=run_id, artifact_path="f.txt", dst_path=str(tmp_path / "o"),
                                         tracking_uri=other)
    assert Path(local).read_text() == "elsewhere"
    assert [f.path for f in artifacts.list_artifacts(run_id=run_id, tracking_uri=other)] == ["f.txt"]


def test_log_dict_writes_yaml_for_yaml_names_and_json_otherwise(tracking):
    client = mlcask.MlflowClient()
    run_id = client.create_run("0").info.run_id
    data = {"b": [1, 2], "a": {"nested": "x"}, "when": __import__("datetime").date(2024, 1, 2)}
    client.log_dict(run_id, data, "conf/params.yaml")
    client.log_dict(run_id, data, "conf/params")
    read = artifacts.load_text
    assert read(f"runs:/{run_id}/conf/params.yaml") == "a:\n  nested: x\nb:\n- 1\n- 2\nwhen: 2024-01-02\n"
    assert read(f"runs:/{run_id}/conf/params") == (
        '{\n  "b": [\n    1,\n    2\n  ],\n  "a": {\n    "nested": "x"\n  },\n  "when": "2024-01-02"\n}')


def test_log_figure_refuses_what_is_not_a_figure(tracking):
    client = mlcask.MlflowClient()
    run_id = client.create_run("0").info.run_id
    with pytest.raises(TypeError, match="^Unsupported figure object type: '<class 'str'>'$"):
        client.log_figure(run_id, "not a figure", "fig.png", save_kwargs={"dpi": 10})
    assert client.list_artifacts(run_id) == []


def test_log_figure_saves_a_matplotlib_figure_with_save_kwargs(tracking, tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(2, 1))
    figure.add_subplot().plot([0, 1], [1, 0])
    with mlcask.start_run() as active:
        fa.log_figure(figure, "plots/line.png", save_kwargs={"dpi": 50})
    PIL = pytest.importorskip("PIL.Image")
    image = PIL.open(artifacts.download_artifacts(run_id=active.info.run_id, artifact_path="plots/line.png",
                                                  dst_path=str(tmp_path)))
    assert image.size == (100, 50)
