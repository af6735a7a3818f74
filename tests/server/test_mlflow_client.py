"""The real MLflow 3.17 client runs its usual workflow against ``mlcask server``, unchanged.

Each test is one script run by the pinned MLflow venv's python (``bench.mlflow_env``)
with ``MLFLOW_TRACKING_URI`` pointing at the session's ``mlcask server``; the script
prints what it saw as JSON, and the test checks it (importing mlflow is slow, so the
steps of a workflow share one script).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.mlflow_env import run_in_mlflow  # noqa: E402

pytestmark = [pytest.mark.interop, pytest.mark.slow]

PRELUDE = """
import json, os, tempfile, warnings
os.environ["MLFLOW_TRACKING_URI"] = {url!r}
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
warnings.filterwarnings("ignore")
import mlflow
from mlflow import MlflowClient
client = MlflowClient()
out = {{}}
"""

TRACKING = """
experiment_id = mlflow.create_experiment({experiment!r}, tags={{"team": "fraud"}})
mlflow.set_experiment({experiment!r})
with mlflow.start_run(run_name="train", tags={{"kind": "baseline"}}) as run:
    mlflow.log_param("alpha", 0.5)
    mlflow.log_params({{"depth": 3, "solver": "lbfgs"}})
    for step in range(30):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
    mlflow.log_metrics({{"accuracy": 0.93, "f1": 0.9}})
    mlflow.set_tag("owner", "ana")
    mlflow.set_tags({{"a": "1", "b": "2"}})
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_metric("accuracy", 0.5)
with mlflow.start_run(run_name="other"):
    mlflow.log_metric("accuracy", 0.7)
client.delete_tag(run.info.run_id, "b")
experiment = mlflow.get_experiment_by_name({experiment!r})
finished = client.get_run(run.info.run_id)
history = client.get_metric_history(run.info.run_id, "loss")
runs = mlflow.search_runs(experiment_ids=[experiment_id], filter_string="metrics.accuracy > 0.6",
                          order_by=["metrics.accuracy DESC"])
paged = client.search_runs([experiment_id], max_results=1)
second = client.search_runs([experiment_id], max_results=1, page_token=paged.token)
client.rename_experiment(experiment_id, {experiment!r} + "-renamed")
client.set_experiment_tag(experiment_id, "phase", "2")
out.update(
    experiment_tags=experiment.tags, experiment_name=client.get_experiment(experiment_id).name,
    experiment_phase=client.get_experiment(experiment_id).tags.get("phase"),
    status=finished.info.status, run_name=finished.info.run_name, params=finished.data.params,
    metrics=finished.data.metrics, tags={{k: v for k, v in finished.data.tags.items() if not k.startswith("mlflow.")}},
    parent=client.get_run(child.info.run_id).data.tags.get("mlflow.parentRunId"),
    history=[[m.step, m.value] for m in history],
    searched=[[r["tags.mlflow.runName"], r["metrics.accuracy"]] for _, r in runs.iterrows()],
    pages=[len(paged), bool(paged.token), len(second)], run_id=run.info.run_id,
)
print(json.dumps(out))
"""

ARTIFACTS = """
mlflow.set_experiment({experiment!r})
folder = tempfile.mkdtemp()
with open(os.path.join(folder, "data.csv"), "w") as f:
    f.write("a,b\\n1,2\\n")
os.makedirs(os.path.join(folder, "tree", "deep"))
with open(os.path.join(folder, "tree", "deep", "leaf.txt"), "w") as f:
    f.write("leaf")
with mlflow.start_run() as run:
    mlflow.log_artifact(os.path.join(folder, "data.csv"))
    mlflow.log_artifact(os.path.join(folder, "data.csv"), artifact_path="inputs")
    mlflow.log_artifacts(os.path.join(folder, "tree"), artifact_path="tree")
    mlflow.log_dict({{"lr": 0.1, "layers": [1, 2]}}, "config/params.json")
    mlflow.log_text("hello", "notes.txt")
run_id = run.info.run_id
top = sorted((f.path, f.is_dir) for f in client.list_artifacts(run_id))
inner = sorted(f.path for f in client.list_artifacts(run_id, "tree/deep"))
dst = tempfile.mkdtemp()
config = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="config/params.json", dst_path=dst)
whole = mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=tempfile.mkdtemp())
files = sorted(os.path.relpath(os.path.join(d, n), whole) for d, _, names in os.walk(whole) for n in names)
out.update(top=top, inner=inner, config=json.load(open(config)), files=files,
           notes=mlflow.artifacts.load_text(f"runs:/{{run_id}}/notes.txt"),
           loaded_dict=mlflow.artifacts.load_dict(f"runs:/{{run_id}}/config/params.json"),
           artifact_uri=run.info.artifact_uri)
print(json.dumps(out))
"""

MODELS = """
import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from mlflow.models import infer_signature

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
model = LogisticRegression(max_iter=5000).fit(X, y)
experiment_id = mlflow.set_experiment({experiment!r}).experiment_id
with mlflow.start_run() as run:
    mlflow.log_metric("accuracy", float(model.score(X, y)))
    info = mlflow.sklearn.log_model(model, name="model", signature=infer_signature(X, model.predict(X)),
                                    input_example=X.head(3), registered_model_name={name!r})
second = mlflow.register_model(info.model_uri, {name!r})
client.set_registered_model_alias({name!r}, "champion", "1")
client.set_registered_model_tag({name!r}, "task", "classification")
client.update_model_version({name!r}, "2", description="re-registered")
by_alias = client.get_model_version_by_alias({name!r}, "champion")
registered = client.get_registered_model({name!r})
logged = mlflow.search_logged_models(experiment_ids=[experiment_id], output_format="list")
versions = client.search_model_versions(f"name = '{name}'")
pyfunc = mlflow.pyfunc.load_model(f"models:/{name}@champion")
native = mlflow.sklearn.load_model(f"models:/{name}/2")
rows = X.head(20)
from mlflow.models import Model
mlmodel = Model.load(f"models:/{name}@champion")
client.delete_registered_model_alias({name!r}, "champion")
try:
    client.get_model_version_by_alias({name!r}, "champion")
    alias_after_delete = "still there"
except mlflow.exceptions.MlflowException as exc:
    alias_after_delete = exc.error_code
out.update(
    model_id=info.model_id, registered_version=info.registered_model_version, second_version=second.version,
    alias_version=by_alias.version, alias_source=by_alias.source,
    aliases=registered.aliases, tags=registered.tags,
    logged=[[m.model_id, m.name, m.source_run_id, str(m.status)] for m in logged],
    versions=sorted([v.version, v.description or None] for v in versions),
    predictions_match=bool((pyfunc.predict(rows) == model.predict(rows)).all()),
    native_match=bool((native.predict(rows) == model.predict(rows)).all()),
    signature_inputs=len(mlmodel.signature.inputs.inputs), has_example=mlmodel.saved_input_example_info is not None,
    run_id=run.info.run_id, alias_after_delete=alias_after_delete,
)
print(json.dumps(out))
"""


def run_workflow(server, tmp_path: Path, body: str, **fields) -> dict:
    code = PRELUDE.format(url=server.url) + body.format(**fields)
    output = run_in_mlflow(code, cwd=tmp_path, timeout=600)
    return json.loads(output.strip().splitlines()[-1])


def test_tracking_workflow(shared_server, tmp_path):
    got = run_workflow(shared_server, tmp_path, TRACKING, experiment="client-tracking")
    assert got["experiment_tags"] == {"team": "fraud"}
    assert got["experiment_name"] == "client-tracking-renamed" and got["experiment_phase"] == "2"
    assert got["status"] == "FINISHED" and got["run_name"] == "train"
    assert got["params"] == {"alpha": "0.5", "depth": "3", "solver": "lbfgs"}
    assert got["metrics"] == {"loss": 1.0 / 30, "accuracy": 0.93, "f1": 0.9}
    assert got["tags"] == {"kind": "baseline", "owner": "ana", "a": "1"}
    assert got["parent"] == got["run_id"]
    assert got["history"] == [[step, 1.0 / (step + 1)] for step in range(30)]
    assert got["searched"] == [["train", 0.93], ["other", 0.7]]
    assert got["pages"] == [1, True, 1]


def test_artifacts_workflow(shared_server, tmp_path):
    got = run_workflow(shared_server, tmp_path, ARTIFACTS, experiment="client-artifacts")
    assert got["artifact_uri"].startswith("mlflow-artifacts:/")
    assert got["top"] == [["config", True], ["data.csv", False], ["inputs", True], ["notes.txt", False],
                          ["tree", True]]
    assert got["inner"] == ["tree/deep/leaf.txt"]
    assert got["config"] == got["loaded_dict"] == {"lr": 0.1, "layers": [1, 2]}
    assert got["notes"] == "hello"
    assert got["files"] == ["config/params.json", "data.csv", "inputs/data.csv", "notes.txt", "tree/deep/leaf.txt"]


def test_log_model_register_alias_and_load(shared_server, tmp_path):
    got = run_workflow(shared_server, tmp_path, MODELS, experiment="client-models", name="client-classifier")
    assert got["registered_version"] == "1" and got["second_version"] == "2"
    assert got["alias_version"] == "1"
    # MLflow's ModelVersion entity drops model_id when parsing; the server has it.
    stored = shared_server.api("GET", "/model-versions/get", params={"name": "client-classifier", "version": "1"})
    assert stored.json()["model_version"]["model_id"] == got["model_id"]
    logged = shared_server.api("GET", f"/logged-models/{got['model_id']}").json()["model"]["info"]
    links = json.loads({t["key"]: t["value"] for t in logged["tags"]}["mlflow.modelVersions"])
    assert {"name": "client-classifier", "version": "1"} in links and {"name": "client-classifier", "version": "2"} in links
    assert got["alias_source"] == f"models:/{got['model_id']}"
    assert got["aliases"] == {"champion": "1"} and got["tags"] == {"task": "classification"}
    [(model_id, name, source_run_id, status)] = got["logged"]
    assert (model_id, name, source_run_id) == (got["model_id"], "model", got["run_id"]) and "READY" in status
    assert got["versions"] == [["1", None], ["2", "re-registered"]]
    assert got["predictions_match"] and got["native_match"]
    assert got["signature_inputs"] == 30 and got["has_example"]
    assert got["alias_after_delete"] in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")
