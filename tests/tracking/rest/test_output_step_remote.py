"""``log_model(step=...)`` through a tracking server (``mlflow server`` and ``mlcask server``): the run's
values at the step are linked to the logged model (MLflow's client protocol: logged again with the
model's id), the run's history is unchanged, and the model's metrics come back over REST."""

from __future__ import annotations

import uuid

import mlcask
from mlcask.tracking import MlflowClient


class Echo(mlcask.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


def _log(remote):
    mlcask.set_experiment(f"step-{uuid.uuid4().hex[:10]}")
    with mlcask.start_run() as run:
        mlcask.log_metric("acc", 0.5, step=0, timestamp=100)
        mlcask.log_metric("acc", 0.7, step=3, timestamp=200)
        mlcask.log_metric("loss", 1.5, step=3, timestamp=201)
        first = mlcask.pyfunc.log_model(name="a", python_model=Echo(), step=3)
        second = mlcask.pyfunc.log_model(name="b", python_model=Echo(), step=3)
    return run.info.run_id, first, second


def test_the_values_at_the_step_are_linked_over_rest(remote):
    run_id, first, second = _log(remote)
    client = MlflowClient()
    for info in (first, second):
        metrics = sorted(client.get_logged_model(info.model_id).metrics, key=lambda m: m.key)
        assert [(m.key, m.value, m.step, m.timestamp, m.run_id, m.model_id) for m in metrics] == [
            ("acc", 0.7, 3, 200, run_id, info.model_id), ("loss", 1.5, 3, 201, run_id, info.model_id)]
    assert [(m.value, m.step) for m in client.get_metric_history(run_id, "acc")] == [(0.5, 0), (0.7, 3)]
    assert [(m.value, m.step) for m in client.get_metric_history(run_id, "loss")] == [(1.5, 3)]


def test_the_output_step_is_kept_over_rest(remote):
    run_id, first, second = _log(remote)
    outputs = MlflowClient().get_run(run_id).outputs.model_outputs
    assert sorted((o.model_id, o.step) for o in outputs) == sorted([(first.model_id, 3), (second.model_id, 3)])
