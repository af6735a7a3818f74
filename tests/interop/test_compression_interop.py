"""MLFLOW_LOG_MODEL_COMPRESSION both ways: a compressed custom model saved by one loads in the other."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

import mlcask
from bench.mlflow_env import run_in_mlflow

pytestmark = [pytest.mark.interop, pytest.mark.slow]

# __main__ code in both venvs, so cloudpickle saves the class by value.
SAVE = '''
import os, sys
try:
    import mlflow
except ImportError:
    import mlcask as mlflow


class Plus(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input + 1


os.environ["MLFLOW_LOG_MODEL_COMPRESSION"] = "lzma"
mlflow.pyfunc.save_model(sys.argv[1] if len(sys.argv) > 1 else PATH, python_model=Plus())
'''

LOAD_IN_MLFLOW = '''
import json
import mlflow
import pandas as pd
print(json.dumps(mlflow.pyfunc.load_model(PATH).predict(pd.DataFrame({"a": [1, 2]}))["a"].tolist()))
'''


def test_mlflow_loads_a_compressed_model_mlcask_saved(tmp_path):
    path = tmp_path / "mlcask-model"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    subprocess.run([sys.executable, "-c", SAVE, str(path)], check=True, env=env, timeout=120)
    assert mlcask.models.Model.load(path).flavors["python_function"]["python_model"] == "python_model.pkl.xz"
    out = run_in_mlflow(f"PATH = {str(path)!r}\n" + textwrap.dedent(LOAD_IN_MLFLOW), cwd=tmp_path)
    assert json.loads(out.strip().splitlines()[-1]) == [2, 3]


def test_mlcask_loads_a_compressed_model_mlflow_saved(tmp_path):
    path = tmp_path / "mlflow-model"
    run_in_mlflow(f"PATH = {str(path)!r}\n" + textwrap.dedent(SAVE), cwd=tmp_path)
    conf = mlcask.models.Model.load(path).flavors["python_function"]
    assert (conf["python_model"], conf["python_model_compression"]) == ("python_model.pkl.xz", "lzma")
    loaded = mlcask.pyfunc.load_model(path, allow_pickle=True)
    assert loaded.predict(pd.DataFrame({"a": [1, 2]}))["a"].tolist() == [2, 3]
