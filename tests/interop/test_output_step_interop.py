"""``log_model(step=...)`` against real MLflow 3.17: the same history logged by each gives the same
``get_logged_model(model_id).metrics`` (keys, values, steps, run), the same output steps on the run,
and the same run history (MLflow does not copy the linked values into it; neither does mlcask)."""

from __future__ import annotations

import json

import pytest

from bench.mlflow_env import run_in_mlflow

pytestmark = [pytest.mark.interop, pytest.mark.slow]

# Runs as is with ``mlflow`` (MLflow's venv) and with ``mlcask as mlflow``; prints what both must agree on.
SCENARIO = '''
import json
import math

{imports}


class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


def metrics_of(model_id):
    found = mlflow.MlflowClient().get_logged_model(model_id).metrics
    if found is None:
        return None
    return sorted([m.key, "nan" if math.isnan(m.value) else m.value, m.step, m.timestamp, m.run_id == run_id,
                   m.model_id == model_id, m.dataset_name] for m in found)


mlflow.set_tracking_uri({uri!r})
with mlflow.start_run() as run:
    run_id = run.info.run_id
    mlflow.log_metric("acc", 0.5, step=0, timestamp=100)
    mlflow.log_metric("acc", 0.7, step=3, timestamp=200)
    mlflow.log_metric("acc", 0.71, step=3, timestamp=201)
    mlflow.log_metric("loss", float("nan"), step=3, timestamp=202)
    mlflow.log_metric("loss", 2.0, step=4, timestamp=300)
    models = {{
        "at_3": mlflow.pyfunc.log_model(name="a", python_model=Echo(), step=3).model_id,
        "also_at_3": mlflow.pyfunc.log_model(name="b", python_model=Echo(), step=3).model_id,
        "default_step": mlflow.pyfunc.log_model(name="c", python_model=Echo()).model_id,
        "empty_step": mlflow.pyfunc.log_model(name="d", python_model=Echo(), step=9).model_id,
    }}
client = mlflow.MlflowClient()
names = {{model_id: name for name, model_id in models.items()}}
print(json.dumps({{
    "metrics": {{name: metrics_of(model_id) for name, model_id in models.items()}},
    "outputs": sorted([names[o.model_id], o.step] for o in client.get_run(run_id).outputs.model_outputs),
    "history": {{key: [[("nan" if math.isnan(m.value) else m.value), m.step, m.timestamp]
                      for m in client.get_metric_history(run_id, key)] for key in ("acc", "loss")}},
}}))
'''


def test_log_model_at_a_step_gives_mlflows_model_metrics(tmp_path, tracking_state):
    mlflow_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    theirs = json.loads(run_in_mlflow(SCENARIO.format(imports="import mlflow", uri=mlflow_uri), cwd=tmp_path)
                        .strip().splitlines()[-1])
    mlcask_uri = f"sqlite:///{tmp_path / 'mlcask.db'}"
    tracking_state(mlcask_uri, tmp_path / "artifacts")
    printed: dict = {}
    code = SCENARIO.format(imports="import mlcask as mlflow", uri=mlcask_uri).replace("print(json.dumps(",
                                                                                     "printed.update((")
    exec(compile(code, "scenario", "exec"), {"__name__": "scenario", "printed": printed})
    ours = json.loads(json.dumps(printed))
    at_3 = [["acc", 0.7, 3, 200, True, True, None], ["acc", 0.71, 3, 201, True, True, None]]
    # One deliberate difference: MLflow's logged_model_metrics table has no is_nan column, so a NaN it
    # links reads back as 0.0 (the value its SQL store writes for NaN); mlcask gives the NaN the run logged.
    assert theirs["metrics"]["at_3"] == theirs["metrics"]["also_at_3"] == [*at_3, ["loss", 0.0, 3, 202, True, True, None]]
    assert ours["metrics"]["at_3"] == ours["metrics"]["also_at_3"] == [*at_3, ["loss", "nan", 3, 202, True, True, None]]
    assert {k: v for k, v in ours["metrics"].items() if not k.endswith("at_3")} == {
        k: v for k, v in theirs["metrics"].items() if not k.endswith("at_3")} == {
        "default_step": [["acc", 0.5, 0, 100, True, True, None]], "empty_step": None}
    assert ours["outputs"] == theirs["outputs"] == [["also_at_3", 3], ["at_3", 3], ["default_step", 0],
                                                    ["empty_step", 9]]
    assert ours["history"] == theirs["history"]
