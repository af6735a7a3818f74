"""The signature a save infers from its input example (predicting on it) is MLflow's, case by case.

A custom model returns a fixed prediction per case; both venvs save it with that case's input
example and no signature, and the MLmodel signatures must be identical. Where MLflow turns the
prediction into a column (1-D arrays for table inputs) or a tensor, so must mlcask.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bench.mlflow_env import run_in_mlflow

pytestmark = pytest.mark.interop

CASES_SRC = r'''
try:
    import mlflow
except ImportError:
    import mlcask as mlflow
import numpy as np
import pandas as pd

frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.5, 1.5, 2.5]})
ints = pd.DataFrame({"a": [1, 2, 3]})
CASES = {
    "df_1d_int_predictions": (frame, np.array([0, 1, 0])),
    "df_1d_int32_predictions": (frame, np.array([0, 1, 0], dtype=np.int32)),
    "df_1d_float_predictions": (frame, np.array([0.1, 0.2, 0.3])),
    "df_1d_str_predictions": (frame, np.array(["x", "y", "z"])),
    "df_1d_bool_predictions": (frame, np.array([True, False, True])),
    "df_2d_predictions": (frame, np.array([[0.1, 0.9], [0.8, 0.2], [0.5, 0.5]])),
    "df_list_predictions": (frame, [0, 1, 0]),
    "df_series_predictions": (frame, pd.Series([1, 2, 3], name="target")),
    "df_frame_predictions": (frame, pd.DataFrame({"p0": [0.1, 0.2, 0.3], "p1": [0.9, 0.8, 0.7]})),
    "int_df_1d_predictions": (ints, np.array([1.5, 2.5, 3.5])),
    "ndarray_1d_predictions": (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0, 1])),
    "ndarray_2d_predictions": (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.5], [0.5]])),
    "list_input_1d_predictions": (["a", "b"], np.array([1, 2])),
    "dict_input_1d_predictions": ({"a": 1.0, "b": "x"}, np.array([7])),
    "params_example": ((frame, {"k": 3, "t": 0.5}), np.array([0, 1, 0])),
    "dict_predictions": (frame, {"label": "x", "score": 0.5}),
    "scalar_predictions": (frame, 3),
}


class Fixed(mlflow.pyfunc.PythonModel):
    def __init__(self, output):
        self.output = output

    def predict(self, context, model_input, params=None):
        return self.output
'''

CHILD = '''
import json, logging, os, warnings
warnings.simplefilter("ignore")
logging.disable(logging.CRITICAL)
import mlflow
namespace = {{"__name__": "__main__"}}
exec({source!r}, namespace)
root = {root!r}
for name, (example, output) in namespace["CASES"].items():
    try:
        mlflow.pyfunc.save_model(os.path.join(root, "mlflow", name), python_model=namespace["Fixed"](output),
                                 input_example=example, pip_requirements=["numpy"])
    except Exception as exc:
        open(os.path.join(root, "mlflow-" + name + ".error"), "w").write(repr(exc))
'''


def _signature(folder: Path) -> dict | None:
    return yaml.safe_load((folder / "MLmodel").read_text()).get("signature")


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    import mlcask

    root = tmp_path_factory.mktemp("save_signatures")
    cwd = root / "cwd"
    cwd.mkdir()
    namespace = {"__name__": "__main__"}
    exec(CASES_SRC, namespace)  # noqa: S102 (the test's own cases)
    for name, (example, output) in namespace["CASES"].items():
        mlcask.pyfunc.save_model(root / "mlcask" / name, python_model=namespace["Fixed"](output),
                                 input_example=example, pip_requirements=["numpy"])  # no inference: fast
    run_in_mlflow(CHILD.format(source=CASES_SRC, root=str(root)), cwd=cwd)
    return root, sorted(namespace["CASES"])


CASE_NAMES = [
    "df_1d_int_predictions", "df_1d_int32_predictions", "df_1d_float_predictions", "df_1d_str_predictions",
    "df_1d_bool_predictions", "df_2d_predictions", "df_list_predictions", "df_series_predictions",
    "df_frame_predictions", "int_df_1d_predictions", "ndarray_1d_predictions", "ndarray_2d_predictions",
    "list_input_1d_predictions", "dict_input_1d_predictions", "params_example", "dict_predictions",
    "scalar_predictions",
]


def test_the_case_table_is_complete(saved):
    _, names = saved
    assert names == sorted(CASE_NAMES)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_saved_signature_matches_mlflow(saved, name):
    root, _ = saved
    error = root / f"mlflow-{name}.error"
    assert not error.exists(), error.read_text() if error.exists() else ""
    assert _signature(root / "mlcask" / name) == _signature(root / "mlflow" / name)


def test_one_dimensional_integer_predictions_of_a_table_are_a_long_column(saved):
    root, _ = saved
    assert json.loads(_signature(root / "mlcask" / "df_1d_int_predictions")["outputs"]) == [
        {"type": "long", "required": True}]
