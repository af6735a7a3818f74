"""A realistic MLflow 3 history, logged by REAL MLflow (run with the pinned MLflow venv's python).

The test prepends ``TRACKING_URI = "..."``; the script prints one JSON line describing what it
logged (ids the test checks against the import).
"""
import json
import os

import mlflow
import numpy as np
from mlflow import MlflowClient
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

mlflow.set_tracking_uri(TRACKING_URI)  # noqa: F821 (prepended by the test)
client = MlflowClient()
X, y = load_iris(return_X_y=True, as_frame=True)

experiment_id = mlflow.create_experiment("iris", tags={"team": "vision", "mlflow.note.content": "Iris models"})
other_id = mlflow.create_experiment("scratch")
mlflow.set_experiment(experiment_id=experiment_id)

with mlflow.start_run(run_name="parent", tags={"stage": "search"}) as parent:
    mlflow.log_params({"solver": "lbfgs", "cv": 3})
    for step in range(120):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step, timestamp=1_700_000_000_000 + step)
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
        for step in range(30):
            mlflow.log_metric("accuracy", 0.5 + step / 100, step=step)
        info = mlflow.sklearn.log_model(model, name="model", input_example=X.iloc[:3],
                                        registered_model_name="iris-classifier",
                                        params={"max_iter": "300"}, tags={"flavor": "sklearn"})
        mlflow.log_metric("val_accuracy", 0.97, model_id=info.model_id, dataset=train)
        mlflow.log_metric("val_accuracy", 0.95, model_id=info.model_id, dataset=train, step=1)
    with mlflow.start_run(run_name="child-second", nested=True) as second:
        model2 = LogisticRegression(max_iter=200, C=0.5).fit(X, y)
        info2 = mlflow.sklearn.log_model(model2, name="model", registered_model_name="iris-classifier")
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

print(json.dumps({"experiment_id": experiment_id, "other_id": other_id, "parent": parent.info.run_id,
                  "child": child.info.run_id, "second": second.info.run_id, "doomed": doomed.info.run_id,
                  "failed": failed_run.info.run_id, "model_id": info.model_id, "model_id2": info2.model_id,
                  "deleted_experiment": deleted_experiment, "cwd": os.getcwd()}))
