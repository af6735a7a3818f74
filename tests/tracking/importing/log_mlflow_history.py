"""A realistic MLflow 3 history, logged by REAL MLflow (run with the pinned MLflow venv's python).

The test prepends ``TRACKING_URI = "..."`` and ``LOG_HISTORY = True`` (False: only a run with an
artifact through the server's proxy, to a store that holds the history already). The script prints one JSON line: the ids it logged, and everything the
store then holds as MLflow's client reads it back (``dump``), which the test compares with the import.
"""
import hashlib
import json
import os
import tempfile

import mlflow
import numpy as np
from mlflow import MlflowClient
from mlflow.entities import Metric, ViewType
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

mlflow.set_tracking_uri(TRACKING_URI)  # noqa: F821 (prepended by the test)
client = MlflowClient()
X, y = load_iris(return_X_y=True, as_frame=True)


def log_history():
    experiment_id = mlflow.create_experiment("iris", tags={"team": "vision", "mlflow.note.content": "Iris models"})
    other_id = mlflow.create_experiment("scratch")
    mlflow.set_experiment(experiment_id=experiment_id)

    with mlflow.start_run(run_name="parent", tags={"stage": "search"}) as parent:
        mlflow.log_params({"solver": "lbfgs", "cv": 3})
        client.log_batch(parent.info.run_id, metrics=[
            Metric("loss", 1.0 / (step + 1), 1_700_000_000_000 + step, step) for step in range(120)])
        mlflow.log_metric("weird", float("nan"), step=0)
        mlflow.log_metric("weird", float("inf"), step=1)
        train = mlflow.data.from_pandas(X.assign(target=y), name="iris-train", targets="target")
        mlflow.log_input(train, context="training", tags={"split": "train"})
        evaluation = mlflow.data.from_numpy(np.asarray(X.iloc[:20]), name="iris-eval")
        mlflow.log_input(evaluation, context="evaluation")
        mlflow.log_text("hello", "notes/readme.txt")
        mlflow.log_dict({"a": [1, 2, 3]}, "nested/deeper/config.json")
        with mlflow.start_run(run_name="child-fit", nested=True) as child:
            model = LogisticRegression(max_iter=300).fit(X, y)
            mlflow.log_param("C", 1.0)
            mlflow.log_metrics({"accuracy": 0.5})
            client.log_batch(child.info.run_id, metrics=[
                Metric("accuracy", 0.5 + step / 100, 1_700_000_100_000 + step, step) for step in range(1, 30)])
            info = mlflow.sklearn.log_model(model, name="model", input_example=X.iloc[:3],
                                            registered_model_name="iris-classifier",
                                            params={"max_iter": "300"}, tags={"flavor": "sklearn"})
            mlflow.log_metric("val_accuracy", 0.97, model_id=info.model_id, dataset=train)
            mlflow.log_metric("val_accuracy", 0.95, model_id=info.model_id, dataset=train, step=1)
        with mlflow.start_run(run_name="child-second", nested=True) as second:
            model2 = LogisticRegression(max_iter=200, C=0.5).fit(X, y)
            info2 = mlflow.sklearn.log_model(model2, name="model", registered_model_name="iris-classifier", step=4)
            mlflow.log_metric("accuracy", 0.91)

    with mlflow.start_run(run_name="doomed", experiment_id=other_id) as doomed:
        mlflow.log_param("x", "1")
        mlflow.log_metric("m", 3.0)
    client.delete_run(doomed.info.run_id)
    with mlflow.start_run(run_name="failed", experiment_id=other_id) as failed_run:
        mlflow.set_tag("why", "it broke")
    client.set_terminated(failed_run.info.run_id, status="FAILED")

    client.update_registered_model("iris-classifier", description="Classifies irises")
    client.set_registered_model_tag("iris-classifier", "owner", "ml-team")
    client.set_model_version_tag("iris-classifier", "1", "validated", "yes")
    client.update_model_version("iris-classifier", "2", description="smaller C")
    client.set_registered_model_alias("iris-classifier", "champion", "1")
    client.set_registered_model_alias("iris-classifier", "challenger", "2")
    client.create_registered_model("empty-model", tags={"k": "v"}, description="nothing yet")
    deleted_experiment = mlflow.create_experiment("abandoned", tags={"gone": "yes"})
    client.delete_experiment(deleted_experiment)
    return {"experiment_id": experiment_id, "other_id": other_id, "parent": parent.info.run_id,
            "child": child.info.run_id, "second": second.info.run_id, "doomed": doomed.info.run_id,
            "failed": failed_run.info.run_id, "model_id": info.model_id, "model_id2": info2.model_id,
            "deleted_experiment": deleted_experiment}


def log_through_proxy():
    """A run whose artifacts go through the server's artifact proxy (mlflow-artifacts:/...)."""
    mlflow.set_experiment("proxied")
    with mlflow.start_run(run_name="remote") as run:
        mlflow.log_metric("remote_metric", 2.5, step=3)
        mlflow.log_text("through the proxy", "proxy/hello.txt")
    return {"remote": run.info.run_id, "remote_artifact_uri": run.info.artifact_uri}


def _digests(artifact_uri):
    if not mlflow.artifacts.list_artifacts(artifact_uri=artifact_uri):
        return {}
    folder = mlflow.artifacts.download_artifacts(artifact_uri=artifact_uri, dst_path=tempfile.mkdtemp())
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = hashlib.sha256(open(path, "rb").read()).hexdigest()
    return found


def _dump():
    experiments = client.search_experiments(view_type=ViewType.ALL)
    ids = [e.experiment_id for e in experiments]
    runs = client.search_runs(ids, run_view_type=ViewType.ALL, max_results=5000)
    models = client.search_logged_models(ids)
    registered = client.search_registered_models()
    return {
        "experiments": {e.experiment_id: {"name": e.name, "lifecycle_stage": e.lifecycle_stage,
                                          "creation_time": e.creation_time, "last_update_time": e.last_update_time,
                                          "tags": e.tags} for e in experiments},
        "runs": {r.info.run_id: {
            "experiment_id": r.info.experiment_id, "run_name": r.info.run_name, "user_id": r.info.user_id,
            "status": r.info.status, "start_time": r.info.start_time, "end_time": r.info.end_time,
            "lifecycle_stage": r.info.lifecycle_stage, "params": r.data.params, "tags": r.data.tags,
            "metrics": sorted([m.key, repr(m.value), m.timestamp, m.step] for key in r.data.metrics
                              for m in client.get_metric_history(r.info.run_id, key)),
            "datasets": sorted([d.dataset.name, d.dataset.digest, d.dataset.source_type, d.dataset.source,
                                d.dataset.schema, d.dataset.profile, {t.key: t.value for t in d.tags}]
                               for d in r.inputs.dataset_inputs),
            "outputs": sorted([o.model_id, o.step] for o in (r.outputs.model_outputs if r.outputs else [])),
            "artifacts": _digests(r.info.artifact_uri),
        } for r in runs},
        "logged_models": {m.model_id: {
            "experiment_id": m.experiment_id, "name": m.name, "creation_timestamp": m.creation_timestamp,
            "last_updated_timestamp": m.last_updated_timestamp, "status": str(m.status),
            "source_run_id": m.source_run_id, "model_type": m.model_type or None, "tags": m.tags, "params": m.params,
            "metrics": sorted([x.key, repr(x.value), x.timestamp, x.step, x.dataset_name, x.dataset_digest]
                              for x in m.metrics or []),
            "artifacts": _digests(m.artifact_location)} for m in models},
        "registered_models": {rm.name: {
            "creation_timestamp": rm.creation_timestamp, "last_updated_timestamp": rm.last_updated_timestamp,
            "description": rm.description, "tags": rm.tags, "aliases": {a: str(v) for a, v in rm.aliases.items()},
            "versions": {v.version: {
                "creation_timestamp": v.creation_timestamp, "last_updated_timestamp": v.last_updated_timestamp,
                "description": v.description, "user_id": v.user_id or None, "current_stage": v.current_stage,
                "source": v.source, "run_id": v.run_id, "status": v.status, "tags": v.tags}
                for v in client.search_model_versions(f"name='{rm.name}'")}} for rm in registered},
    }


ids = log_history() if LOG_HISTORY else log_through_proxy()  # noqa: F821 (prepended by the test)
print(json.dumps({**ids, "dump": _dump()}))
