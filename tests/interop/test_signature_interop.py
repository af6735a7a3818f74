"""infer_signature and the signature JSON agree with real MLflow, case by case, both ways."""

from __future__ import annotations

import json
import warnings

import pytest

pytestmark = pytest.mark.interop

# Runs in both interpreters (mlcask's and MLflow's venv): needs numpy and pandas only.
CASES_SRC = r'''
import datetime as dt

import numpy as np
import pandas as pd


def build_cases():
    cases = []

    def add(name, model_input=None, model_output=None, params=None):
        cases.append((name, {"model_input": model_input, "model_output": model_output, "params": params}))

    n = 6
    ints = np.arange(n)
    floats = np.linspace(0.0, 1.0, n)
    add("df_float64", pd.DataFrame({"mean radius": floats, "mean texture": floats * 2}))
    add("df_int64", pd.DataFrame({"a": ints}))
    add("df_int32", pd.DataFrame({"a": ints.astype(np.int32)}))
    add("df_int16", pd.DataFrame({"a": ints.astype(np.int16)}))
    add("df_uint8", pd.DataFrame({"a": ints.astype(np.uint8)}))
    add("df_uint32", pd.DataFrame({"a": ints.astype(np.uint32)}))
    add("df_uint64", pd.DataFrame({"a": ints.astype(np.uint64)}))
    add("df_float32", pd.DataFrame({"a": floats.astype(np.float32)}))
    add("df_float16", pd.DataFrame({"a": floats.astype(np.float16)}))
    add("df_bool", pd.DataFrame({"a": ints % 2 == 0}))
    add("df_str", pd.DataFrame({"a": [f"s{i}" for i in range(n)]}))
    add("df_str_object", pd.DataFrame({"a": pd.Series([f"s{i}" for i in range(n)], dtype=object)}))
    add("df_str_none", pd.DataFrame({"a": ["x", None, "y", "z", "w", "v"]}))
    add("df_str_all_nan", pd.DataFrame({"a": pd.Series([np.nan] * 3, dtype="str")}))
    add("df_bytes", pd.DataFrame({"a": [b"x", b"y"]}))
    add("df_datetime", pd.DataFrame({"a": pd.to_datetime(["2020-01-01", "2021-06-30"])}))
    add("df_datetime_nat", pd.DataFrame({"a": pd.to_datetime(["2020-01-01", None])}))
    add("df_datetime_ns", pd.DataFrame({"a": pd.to_datetime(["2020-01-01"]).astype("datetime64[ns]")}))
    add("df_int_with_nan", pd.DataFrame({"a": [1, None, 3]}))
    add("df_float_with_nan", pd.DataFrame({"a": [1.5, np.nan], "b": [1.0, 2.0]}))
    add("df_object_ints", pd.DataFrame({"a": pd.Series([1, 2], dtype=object)}))
    add("df_object_int_none", pd.DataFrame({"a": pd.Series([1, None], dtype=object)}))
    add("df_object_bool_none", pd.DataFrame({"a": pd.Series([True, None], dtype=object)}))
    add("df_object_mixed", pd.DataFrame({"a": pd.Series([1, "x"], dtype=object)}))
    add("df_object_all_none", pd.DataFrame({"a": pd.Series([None, None], dtype=object)}))
    add("df_category", pd.DataFrame({"a": pd.Categorical(["u", "v", "u"])}))
    add("df_Int64", pd.DataFrame({"a": pd.array([1, None], dtype="Int64")}))
    add("df_Int64_full", pd.DataFrame({"a": pd.array([1, 2], dtype="Int64")}))
    add("df_boolean_ext", pd.DataFrame({"a": pd.array([True, None], dtype="boolean")}))
    add("df_list_col", pd.DataFrame({"a": [[1, 2], [3]]}))
    add("df_list_str_col", pd.DataFrame({"a": [["x"], ["y", None]]}))
    add("df_dict_col", pd.DataFrame({"a": [{"x": 1}, {"x": 2, "y": "s"}]}))
    add("df_int_labels", pd.DataFrame(np.zeros((2, 3))))
    add("df_unicode_name", pd.DataFrame({"temp\u00e9rature": floats}))
    add("df_mixed", pd.DataFrame({"f": floats, "i": ints, "s": [str(i) for i in ints], "b": ints > 2,
                                  "d": pd.date_range("2020-01-01", periods=n)}))
    add("df_wide", pd.DataFrame(np.arange(500 * 30, dtype=np.float64).reshape(500, 30),
                                columns=[f"feature {i}" for i in range(30)]))
    add("series_unnamed", pd.Series(floats))
    add("series_named", pd.Series(ints, name="target"))
    add("series_str", pd.Series(["a", "b"], name="text"))
    add("ndarray_2d_float32", np.zeros((3, 4), dtype=np.float32))
    add("ndarray_1d_int", ints)
    add("ndarray_3d", np.zeros((2, 3, 4)))
    add("ndarray_str", np.array(["a", "bb"]))
    add("ndarray_bytes", np.array([b"a", b"bb"]))
    add("ndarray_object", np.array(["a", 1], dtype=object))
    add("ndarray_bool", np.array([[True, False]]))
    add("dict_of_arrays", {"a": np.zeros((2, 3)), "b": np.array(["x", "y"]), "c": np.arange(2, dtype=np.int32)})
    add("dict_of_values", {"a": 1, "b": "x", "c": 1.5, "d": None, "e": [1, 2], "f": ["a", None],
                           "g": {"k": 1, "l": [True]}, "h": b"raw", "i": True})
    add("list_of_dicts", [{"a": 1, "b": "x"}, {"a": 2, "c": None}, {"a": 3, "b": "y", "c": 1.5}])
    add("list_of_nested_dicts", [{"q": {"x": 1, "y": ["a"]}}, {"q": {"x": 2}}])
    add("list_str", ["a", "b", "c"])
    add("list_str_none", ["a", None])
    add("list_int", [1, 2, 3])
    add("list_float", [1.5, 2.5])
    add("list_int_float", [1, 2.0])
    add("list_mixed", [1, "a"])
    add("list_lists", [[1, 2], [3, 4]])
    add("list_bool", [True, False])
    add("list_empty", [])
    add("scalar_int", 5)
    add("scalar_float", 1.5)
    add("scalar_str", "hello")
    add("scalar_bytes", b"x")
    add("scalar_bool", True)
    add("scalar_np_float32", np.float32(1.0))
    add("scalar_np_int32", np.int32(1))
    add("scalar_datetime", dt.datetime(2020, 1, 1))
    add("scalar_date", dt.date(2020, 1, 1))
    add("unsupported_set", {1, 2})
    add("io_df_ndarray", pd.DataFrame({"x": floats}), ints)
    add("io_df_series", pd.DataFrame({"x": floats}), pd.Series(ints, name="target"))
    add("io_df_list", pd.DataFrame({"x": floats}), [0, 1])
    add("io_df_df", pd.DataFrame({"x": floats}), pd.DataFrame({"p0": floats, "p1": floats}))
    add("io_ndarray_ndarray", np.zeros((2, 30)), np.zeros(2, dtype=np.int64))
    add("io_df_str_output", pd.DataFrame({"x": floats}), np.array(["yes", "no"]))
    add("output_only", None, pd.Series(floats))
    add("params_only", None, None, {"k": 3, "f": 0.5, "s": "x", "b": True, "l": [1, 2], "lf": [0.5],
                                    "ls": ["a"], "lb": [True], "d": dt.datetime(2020, 1, 1, 3),
                                    "day": dt.date(2021, 2, 3), "ld": [dt.date(2020, 1, 1)],
                                    "np32": np.float32(0.1), "npi": np.int64(7), "arr": np.array([1, 2]),
                                    "e": [], "o": {"a": 1, "b": [1.0]}, "uni": "\u00e9t\u00e9"})
    add("params_with_input", pd.DataFrame({"x": floats}), ints, {"temperature": 0.7, "top_k": 10})
    add("params_err_bytes", None, None, {"b": b"x"})
    add("params_err_none", None, None, {"b": None})
    add("params_err_2d", None, None, {"b": [[1]]})
    add("params_err_mixed_list", None, None, {"b": [1, "a"]})
    return cases
'''

MLFLOW_SCRIPT = r'''
import json, logging, warnings
warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)
from mlflow.models import infer_signature
from mlflow.models.signature import ModelSignature

{cases_src}

mlcask_dicts = json.load(open({dicts_path!r}))
inferred = {{}}
for name, kwargs in build_cases():
    try:
        inferred[name] = infer_signature(**kwargs).to_dict()
    except Exception as exc:
        inferred[name] = {{"error": type(exc).__name__}}
reread = {{}}
for name, d in mlcask_dicts.items():
    try:
        reread[name] = ModelSignature.from_dict(d).to_dict()
    except Exception as exc:
        reread[name] = {{"error": repr(exc)}}
print(json.dumps({{"inferred": inferred, "reread": reread}}))
'''


def _mlcask_cases():
    namespace: dict = {}
    exec(CASES_SRC, namespace)
    return namespace["build_cases"]()


def _hand_built_signatures() -> dict[str, dict]:
    """Signatures with every type mlcask writes, for MLflow to read back."""
    import numpy as np

    from mlcask.models.signature import ModelSignature
    from mlcask.types import AnyType, Array, ColSpec, Map, Object, ParamSchema, ParamSpec, Property, Schema, TensorSpec

    obj = Object([Property("b", "string"), Property("a", Array("long"), required=False)])
    sigs = {
        "hand_compound": ModelSignature(
            Schema([ColSpec("double", "x"), ColSpec(Array("string"), "tags"), ColSpec(obj, "meta", required=False),
                    ColSpec(Map("double"), "scores"), ColSpec(AnyType(), "anything", required=False),
                    ColSpec(Array(Array(obj)), "nested")]),
            Schema([ColSpec("long")]),
        ),
        "hand_tensors": ModelSignature(
            Schema([TensorSpec(np.dtype("float32"), (-1, 28, 28), "image"), TensorSpec(np.dtype("str"), (-1,), "id")]),
            Schema([TensorSpec(np.dtype("float64"), (-1, 10))]),
        ),
        "hand_params": ModelSignature(
            None, None,
            ParamSchema([ParamSpec("k", "long", 3), ParamSpec("ks", "long", [1, 2], (-1,)),
                         ParamSpec("when", "datetime", "2024-05-06T07:08:09"),
                         ParamSpec("opt", obj, {"b": "x"})]),
        ),
    }
    return {name: sig.to_dict() for name, sig in sigs.items()}


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    from bench.mlflow_env import run_in_mlflow
    from mlcask.models.signature import infer_signature

    ours: dict[str, dict] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, kwargs in _mlcask_cases():
            try:
                ours[name] = infer_signature(**kwargs).to_dict()
            except Exception as exc:
                ours[name] = {"error": type(exc).__name__}
    hand = _hand_built_signatures()
    folder = tmp_path_factory.mktemp("signature_interop")
    dicts_path = folder / "mlcask_dicts.json"
    dicts_path.write_text(json.dumps({**{k: v for k, v in ours.items() if "error" not in v}, **hand}))
    script = MLFLOW_SCRIPT.format(cases_src=CASES_SRC, dicts_path=str(dicts_path))
    theirs = json.loads(run_in_mlflow(script, cwd=folder))
    return ours, hand, theirs


CASE_NAMES = [name for name, _ in _mlcask_cases()]


@pytest.mark.parametrize("name", CASE_NAMES)
def test_infer_signature_matches_mlflow(comparison, name):
    ours, _, theirs = comparison
    expected = theirs["inferred"][name]
    if "error" in expected:
        # MLflow refuses these params; mlcask must refuse them too.
        assert ours[name] == {"error": "InvalidArgumentError"}
    else:
        assert ours[name] == expected


@pytest.mark.parametrize("name", CASE_NAMES)
def test_mlflow_reads_mlcask_signature_unchanged(comparison, name):
    ours, _, theirs = comparison
    if "error" in ours[name]:
        pytest.skip("no signature for this case")
    assert theirs["reread"][name] == ours[name]


@pytest.mark.parametrize("name", ["hand_compound", "hand_tensors", "hand_params"])
def test_mlflow_reads_hand_built_signatures(comparison, name):
    _, hand, theirs = comparison
    assert theirs["reread"][name] == hand[name]


@pytest.mark.parametrize("name", CASE_NAMES + ["hand_compound", "hand_tensors", "hand_params"])
def test_mlcask_reads_mlflow_signature_unchanged(comparison, name):
    from mlcask.models.signature import ModelSignature

    _, hand, theirs = comparison
    written = theirs["inferred"].get(name) or theirs["reread"][name]
    if "error" in written:
        pytest.skip("MLflow writes no signature for this case")
    assert ModelSignature.from_dict(written).to_dict() == written
