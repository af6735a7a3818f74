"""log_table and load_table: MLflow's files (.json split orient, .parquet), appends, image cells,
the mlflow.loggedArtifacts tag, and load_table across runs with extra_columns."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import mlcask
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, MlcaskException
from mlcask.tracking import fluent_artifacts as fa


def _read(run_id, path):
    with open(mlcask.MlflowClient().download_artifacts(run_id, path), "rb") as handle:
        return handle.read()


def test_json_tables_are_pandas_split_json_and_appended(tracking):
    with mlcask.start_run() as run:
        fa.log_table({"q": ["a", "b"], "score": [0.5, 1.0]}, "eval/results.json")
        fa.log_table(pd.DataFrame({"q": ["c"], "score": [2.0]}), "eval/results.json")
    content = _read(run.info.run_id, "eval/results.json")
    assert json.loads(content) == {"columns": ["q", "score"], "data": [["a", 0.5], ["b", 1.0], ["c", 2.0]]}
    assert content == pd.DataFrame({"q": ["a", "b", "c"], "score": [0.5, 1.0, 2.0]}).to_json(
        orient="split", index=False, date_format="iso").encode()
    tag = json.loads(mlcask.get_run(run.info.run_id).data.tags["mlflow.loggedArtifacts"])
    assert tag == [{"path": "eval/results.json", "type": "table"}]  # once, however often it is appended to


def test_parquet_tables(tracking):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"x": [1, 2], "when": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    with mlcask.start_run() as run:
        fa.log_table(frame, "t.parquet")
        fa.log_table(frame, "t.parquet")
        fa.log_table({"a": [1]}, "other.json", run_id=run.info.run_id)
    import io

    loaded = pd.read_parquet(io.BytesIO(_read(run.info.run_id, "t.parquet")))
    pd.testing.assert_frame_equal(loaded, pd.concat([frame, frame], ignore_index=True))
    tag = json.loads(mlcask.get_run(run.info.run_id).data.tags["mlflow.loggedArtifacts"])
    assert tag == [{"path": "t.parquet", "type": "table"}, {"path": "other.json", "type": "table"}]


def test_a_dict_of_scalars_is_one_row(tracking):
    with mlcask.start_run() as run:
        fa.log_table({"inputs": "What is MLflow?", "n": 1}, "one.json")
    assert json.loads(_read(run.info.run_id, "one.json"))["data"] == [["What is MLflow?", 1]]


@pytest.mark.parametrize("artifact_file, error, message", [
    ("table.csv", ValueError, "Invalid artifact file path 'table.csv'. Please ensure the file you are trying to log "
                              "as a table has a file name with either '.json' or '.parquet' extension."),
    ("a,b.json", ValueError, "The artifact_file contains forbidden character: ,"),
    ('x"y.json', ValueError, 'The artifact_file contains forbidden character: "'),
])
def test_bad_table_paths_are_refused(tracking, artifact_file, error, message):
    with mlcask.start_run(), pytest.raises(error, match=f"^{message.replace('(', '[(]').replace('.', '[.]')}$"):
        fa.log_table({"a": [1]}, artifact_file)


def test_data_must_be_a_frame_or_a_dict(tracking):
    with mlcask.start_run(), pytest.raises(MlcaskException, match="data must be a pandas.DataFrame or a dictionary"):
        fa.log_table([1, 2], "t.json")


def test_image_cells_are_stored_as_files(tracking):
    pytest.importorskip("PIL")
    image = mlcask.tracking.images.Image(np.zeros((4, 8, 3), dtype=np.uint8))
    with mlcask.start_run() as run:
        fa.log_table({"prompt": ["cat", "dog"], "picture": [image, image]}, "gen/images.json")
        with pytest.raises(ValueError, match="Column `mixed` contains a mix of images and non-images"):
            fa.log_table({"mixed": [image, "x"]}, "gen/mixed.json")
    table = json.loads(_read(run.info.run_id, "gen/images.json"))
    cells = [row[1] for row in table["data"]]
    assert [c["type"] for c in cells] == ["image", "image"]
    for cell in cells:
        assert cell["filepath"].startswith("table_images/gen/images/") and cell["filepath"].endswith(".png")
        assert cell["compressed_filepath"] == cell["filepath"].removesuffix(".png") + ".webp"
        assert _read(run.info.run_id, cell["filepath"]).startswith(b"\x89PNG")
        assert _read(run.info.run_id, cell["compressed_filepath"])[8:12] == b"WEBP"


def test_load_table_concatenates_the_runs_of_the_experiment(tracking):
    mlcask.set_experiment("tables")
    with mlcask.start_run() as first:
        fa.log_table({"a": [1, 2]}, "t.json")
    with mlcask.start_run() as second:
        fa.log_table({"a": [3]}, "t.json")
    with mlcask.start_run():
        fa.log_table({"a": [9]}, "other.json")
    loaded = fa.load_table("t.json", extra_columns=["run_id"])
    assert sorted(zip(loaded["a"], loaded["run_id"])) == [(1, first.info.run_id), (2, first.info.run_id),
                                                          (3, second.info.run_id)]
    only = fa.load_table("t.json", run_ids=[second.info.run_id], extra_columns=["tags.mlflow.runName", "status"])
    assert only.to_dict("records") == [{"a": 3, "tags.mlflow.runName": second.info.run_name, "status": "FINISHED"}]
    with pytest.raises(KeyError, match="nope"):
        fa.load_table("t.json", extra_columns=["nope"])


def test_an_extra_column_the_table_has_gets_an_underscore(tracking):
    with mlcask.start_run() as run:
        fa.log_table({"run_id": ["mine"]}, "t.json")
    loaded = fa.load_table("t.json", extra_columns=["run_id"])
    assert loaded.to_dict("records") == [{"run_id": "mine", "run_id_": run.info.run_id}]


def test_load_table_without_such_table_is_resource_does_not_exist(tracking):
    with mlcask.start_run():
        fa.log_table({"a": [1]}, "t.json")
    with pytest.raises(MlcaskException, match="^No runs found with the corresponding table artifact.$") as caught:
        fa.load_table("missing.json")
    assert caught.value.error_code == RESOURCE_DOES_NOT_EXIST


def test_load_table_of_a_tagged_run_whose_file_is_gone(tracking):
    with mlcask.start_run() as run:
        fa.log_table({"a": [1]}, "t.json")
    mlcask.MlflowClient().artifact_repository(run.info.run_id).delete_artifacts("t.json")
    with pytest.raises(MlcaskException, match=f"^Artifact t.json not found for run {run.info.run_id}.$") as caught:
        mlcask.MlflowClient().load_table("0", "t.json")
    assert caught.value.error_code == RESOURCE_DOES_NOT_EXIST
