"""mlcask.data as MLflow's package: the submodules, sources, digests, schema and profile JSON."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import mlcask
import mlcask.data
from mlcask.data.code_dataset_source import CodeDatasetSource
from mlcask.data.dataset_source import DatasetSource
from mlcask.data.dataset_source_registry import get_dataset_source_from_json, get_source, resolve_dataset_source
from mlcask.data.digest_utils import compute_pandas_digest
from mlcask.data.filesystem_dataset_source import LocalArtifactDatasetSource
from mlcask.data.http_dataset_source import HTTPDatasetSource
from mlcask.data.meta_dataset import MetaDataset
from mlcask.data.numpy_dataset import NumpyDataset, from_numpy
from mlcask.data.pandas_dataset import PandasDataset, from_pandas
from mlcask.data.schema import TensorDatasetSchema
from mlcask.exceptions import INVALID_PARAMETER_VALUE, RESOURCE_DOES_NOT_EXIST, MlcaskException
from mlcask.types import ColSpec, Schema


def _frame(rows=3):
    return pd.DataFrame({"a": np.arange(rows), "b": np.linspace(0, 1, rows), "s": [f"v{i}" for i in range(rows)]})


def test_the_package_import_loads_no_submodule_and_no_pandas():
    code = ("import sys, mlcask.data; loaded = [m for m in sys.modules if m.startswith('mlcask.data.')]; "
            "print(loaded, 'pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] False"


def test_top_level_names_are_the_submodules_functions():
    assert mlcask.data.from_pandas is from_pandas and mlcask.data.from_numpy is from_numpy
    assert mlcask.data.pandas_dataset.PandasDataset is PandasDataset
    assert mlcask.data.http_dataset_source.HTTPDatasetSource is HTTPDatasetSource
    assert mlcask.data.DatasetSource is DatasetSource


def test_pandas_dataset_fields():
    df = _frame()
    dataset = from_pandas(df, source="data/train.csv", targets="a", name="train")
    fields = dataset.to_dict()
    assert fields["name"] == "train" and fields["source_type"] == "local"
    assert json.loads(fields["source"]) == {"uri": "data/train.csv"}
    assert json.loads(fields["schema"]) == {"mlflow_colspec": [
        {"type": "long", "name": "a", "required": True}, {"type": "double", "name": "b", "required": True},
        {"type": "string", "name": "s", "required": True}]}  # the targets column too, as in MLflow
    assert json.loads(fields["profile"]) == {"num_rows": 3, "num_elements": 9}
    assert dataset.profile == {"num_rows": 3, "num_elements": 9} and isinstance(dataset.schema, Schema)
    assert dataset.df is df and dataset.targets == "a" and json.loads(dataset.to_json()) == fields
    entity = dataset._to_mlflow_entity()
    assert (entity.name, entity.digest, entity.schema, entity.profile) == (
        "train", dataset.digest, fields["schema"], fields["profile"])


def test_the_digest_follows_the_data_only():
    df = _frame()
    assert from_pandas(df).digest == from_pandas(df.copy(), source="s3://b/k", name="x").digest
    changed = df.copy()
    changed.loc[0, "b"] = 0.5
    assert from_pandas(changed).digest != from_pandas(df).digest
    assert from_pandas(df.rename(columns={"s": "t"})).digest != from_pandas(df).digest
    assert from_pandas(df, digest="cafe0001").digest == "cafe0001"
    assert len(from_pandas(df).digest) == 8


def test_only_numeric_and_all_string_columns_enter_the_digest():
    df = _frame()
    with_objects = df.assign(o=[[1], [2], [3]])  # lists: not hashed, but the column name counts
    assert compute_pandas_digest(with_objects) != compute_pandas_digest(df)
    assert compute_pandas_digest(with_objects) == compute_pandas_digest(df.assign(o=[[4], [5], [6]]))
    mixed = df.assign(s=["x", 1, "z"])  # not all strings: left out
    assert compute_pandas_digest(mixed) == compute_pandas_digest(df.assign(s=["q", 2, "r"]))


def test_rows_past_ten_thousand_count_by_number_only():
    df = pd.DataFrame({"x": np.arange(10_005, dtype=float)})
    tail_changed = df.copy()
    tail_changed.loc[10_004, "x"] = -1.0
    assert compute_pandas_digest(df) == compute_pandas_digest(tail_changed)
    assert compute_pandas_digest(df) != compute_pandas_digest(df.iloc[:-1])


def test_bad_targets_and_data_are_refused():
    with pytest.raises(MlcaskException, match="does not contain the specified targets column 'nope'") as caught:
        from_pandas(_frame(), targets="nope")
    assert caught.value.error_code == INVALID_PARAMETER_VALUE
    with pytest.raises(MlcaskException, match="predictions column 'p'"):
        from_pandas(_frame(), predictions="p")
    with pytest.raises(MlcaskException, match="from_pandas takes a pandas DataFrame, got list"):
        from_pandas([1, 2])


def test_numpy_dataset_fields():
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    y = np.array([0, 1, 0, 1])
    dataset = from_numpy(X, targets=y)
    fields = dataset.to_dict()
    spec = json.loads(fields["schema"])["mlflow_tensorspec"]
    assert json.loads(spec["features"]) == [{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}]
    assert json.loads(spec["targets"]) == [{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]
    assert json.loads(fields["profile"]) == {"features_shape": [4, 3], "features_size": 12, "features_nbytes": 96,
                                             "targets_shape": [4], "targets_size": 4, "targets_nbytes": 32}
    assert json.loads(from_numpy(X).to_dict()["schema"])["mlflow_tensorspec"]["targets"] is None
    assert from_numpy(X).digest != dataset.digest and from_numpy(X.copy()).digest == from_numpy(X).digest
    assert isinstance(dataset, NumpyDataset) and dataset.features is X and dataset.targets is y
    assert isinstance(dataset.schema, TensorDatasetSchema)
    assert TensorDatasetSchema.from_dict(dataset.schema.to_dict()) == dataset.schema


def test_numpy_dicts_of_arrays():
    X = {"b": np.zeros((2, 2)), "a": np.ones(2, dtype=np.int32)}
    dataset = from_numpy(X)
    assert json.loads(dataset.to_dict()["profile"])["features_shape"] == {"b": [2, 2], "a": [2]}
    assert from_numpy({"a": X["a"], "b": X["b"]}).digest == dataset.digest  # keys hashed in sorted order


@pytest.mark.parametrize("raw, source_type, document", [
    ("data/train.csv", "local", {"uri": "data/train.csv"}),
    ("file:///tmp/x.parquet", "local", {"uri": "file:///tmp/x.parquet"}),
    ("s3://bucket/key.csv", "s3", {"uri": "s3://bucket/key.csv"}),
    ("gs://bucket/key.csv", "gs", {"uri": "gs://bucket/key.csv"}),
    ("https://example.com/a.csv", "http", {"url": "https://example.com/a.csv"}),
])
def test_sources_resolve_as_mlflows(raw, source_type, document):
    source = resolve_dataset_source(raw)
    assert source._get_source_type() == source_type and source.to_dict() == document
    back = get_dataset_source_from_json(source.to_json(), source_type)
    assert type(back) is type(source) and back == source


def test_class_names_are_mlflows():
    assert type(resolve_dataset_source("s3://b/k")).__name__ == "S3ArtifactDatasetSource"
    assert type(resolve_dataset_source("gs://b/k")).__name__ == "GCSArtifactDatasetSource"
    assert type(resolve_dataset_source("x.csv")) is LocalArtifactDatasetSource


def test_unresolvable_sources():
    with pytest.raises(MlcaskException, match="Could not find a source information resolver for the specified "
                                              "dataset source: runs:/abc/x.") as caught:
        resolve_dataset_source("runs:/abc/x")
    assert caught.value.error_code == RESOURCE_DOES_NOT_EXIST
    with pytest.raises(MlcaskException, match="unrecognized source type: nope"):
        get_dataset_source_from_json("{}", "nope")
    with pytest.raises(MlcaskException, match='Missing expected key: "url"'):
        HTTPDatasetSource.from_json("{}")


def test_code_source_holds_the_run_context_tags():
    source = from_pandas(_frame()).source
    assert isinstance(source, CodeDatasetSource) and source._get_source_type() == "code"
    assert set(source.to_dict()["tags"]) == {"mlflow.user", "mlflow.source.name", "mlflow.source.type"}
    assert source.to_dict()["tags"]["mlflow.source.type"] == "LOCAL"


def test_get_source_of_a_logged_input(tracking):
    dataset = from_pandas(_frame(), source="s3://bucket/train.csv", name="train")
    with mlcask.start_run() as run:
        mlcask.log_input(dataset, context="training")
    [logged] = mlcask.get_run(run.info.run_id).inputs.dataset_inputs
    assert get_source(logged) == dataset.source and get_source(logged.dataset).uri == "s3://bucket/train.csv"
    assert get_source(dataset) is dataset.source
    with pytest.raises(MlcaskException, match="Unrecognized dataset type"):
        get_source("x")


def test_a_local_source_loads_its_file(tracking, tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("a\n1\n")
    source = resolve_dataset_source(str(path))
    assert open(source.load(dst_path=str(tmp_path / "copy"))).read() == "a\n1\n"


def test_meta_dataset_digest_and_fields():
    plain = MetaDataset(HTTPDatasetSource("https://x/y"), name="m")
    assert plain.to_dict() == {"name": "m", "digest": plain.digest, "source": '{"url": "https://x/y"}',
                               "source_type": "http"}
    typed = MetaDataset(HTTPDatasetSource("https://x/y"), schema=Schema([ColSpec("long", "a")]))
    assert json.loads(typed.to_dict()["schema"]) == {"mlflow_colspec": [{"type": "long", "name": "a",
                                                                         "required": True}]}
    assert typed.digest != plain.digest


def test_polars_frames():
    pl = pytest.importorskip("polars")
    df = pl.DataFrame({"a": [1, 2, None], "b": [1.0, 2.0, 3.0], "s": ["x", "y", "z"], "l": [[1], [2], [3]]})
    dataset = mlcask.data.from_polars(df, name="p", targets="b")
    fields = dataset.to_dict()
    assert fields["digest"] == str(df.hash_rows().sum())
    assert json.loads(fields["schema"]) == {"mlflow_colspec": [
        {"type": "long", "name": "a", "required": True}, {"type": "double", "name": "b", "required": True},
        {"type": "string", "name": "s", "required": True},
        {"type": "array", "items": {"type": "long"}, "name": "l", "required": True}]}
    assert json.loads(fields["profile"]) == {"num_rows": 3, "num_elements": 12}
    with pytest.raises(MlcaskException, match="DataFrame does not contain specified targets column: 'q'"):
        mlcask.data.from_polars(df, targets="q")
    unknown = mlcask.data.from_polars(pl.DataFrame({"t": [None, None]}))
    assert unknown.schema is None and unknown.to_dict()["schema"] == "null"


def test_log_input_refuses_other_objects(tracking):
    with mlcask.start_run(), pytest.raises(MlcaskException, match="log_input takes a dataset from mlcask.data"):
        mlcask.log_input(_frame())
