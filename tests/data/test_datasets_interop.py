"""The same data gives the same dataset in mlcask and in real MLflow 3.17: digest, schema, profile,
source type and source JSON (for every source but the code one, whose tags name the script)."""

from __future__ import annotations

import json
import warnings

import pytest

pytestmark = pytest.mark.interop

# Runs in both interpreters: builds the same datasets from the same data.
CASES = r'''
import json
import warnings

import numpy as np
import pandas as pd


def cases(data):
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({"a": np.arange(6), "b": np.linspace(0, 1, 6), "s": list("uvwxyz"),
                          "o": [[1], [2], [3], [4], [5], [6]], "t": [0, 1, 0, 1, 0, 1]})
    big = pd.DataFrame({"x": np.arange(20_000), "y": rng.normal(size=20_000), "z": ["q"] * 20_000})
    nulls = pd.DataFrame({"f": [1.5, None, 2.5], "mixed": ["a", 1, None], "flag": [True, False, True]})
    strings = pd.DataFrame({"missing": pd.Series(["a", None, "c"], dtype="string"),
                            "full": pd.Series(["x", "y", "z"], dtype="string"), "plain": ["p", "q", "r"]})
    X = rng.normal(size=(50, 4))
    y = rng.integers(0, 3, size=50)
    built = {
        "frame_local": data.from_pandas(frame, source="data/train.csv", targets="t", name="train"),
        "frame_s3": data.from_pandas(frame, source="s3://bucket/train.parquet"),
        "frame_http": data.from_pandas(frame, source="https://example.com/train.csv", name="web"),
        "big": data.from_pandas(big, source="big.csv"),
        "nulls": data.from_pandas(nulls, source="n.csv"),
        "strings": data.from_pandas(strings, source="s.csv"),
        "indexed": data.from_pandas(frame.set_index("s"), source="i.csv"),
        "numpy": data.from_numpy(X, targets=y, source="x.npy"),
        "numpy_features": data.from_numpy(X.astype(np.float32), source="gs://b/x.npy"),
        "numpy_dict": data.from_numpy({"b": X, "a": y}, targets={"t": y}, source="d.npz"),
        "numpy_3d": data.from_numpy(np.ones((2, 3, 4), dtype=np.int32), source="t.npy"),
        "numpy_str": data.from_numpy(np.array(["a", "b", "c"]), source="s.npy"),
        "numpy_code": data.from_numpy(X),
    }
    out = {}
    for name, dataset in built.items():
        fields = dataset.to_dict()
        if fields["source_type"] == "code":
            fields["source"] = sorted(json.loads(fields["source"])["tags"])
        out[name] = fields
    return out
'''

MLFLOW_SCRIPT = CASES + r'''
import mlflow.data
warnings.simplefilter("ignore")
print(json.dumps(cases(mlflow.data)))
'''


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    from bench.mlflow_env import run_in_mlflow

    namespace: dict = {}
    exec(CASES, namespace)
    import mlcask.data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = json.loads(json.dumps(namespace["cases"](mlcask.data)))
    theirs = json.loads(run_in_mlflow(MLFLOW_SCRIPT, cwd=tmp_path_factory.mktemp("data_interop")))
    return ours, theirs


CASE_NAMES = ["frame_local", "frame_s3", "frame_http", "big", "nulls", "strings", "indexed", "numpy", "numpy_features",
              "numpy_dict", "numpy_3d", "numpy_str", "numpy_code"]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_dataset_fields_match_mlflow(both, name):
    ours, theirs = both
    assert ours[name] == theirs[name]


def test_every_case_was_compared(both):
    ours, theirs = both
    assert sorted(ours) == sorted(theirs) == sorted(CASE_NAMES)
