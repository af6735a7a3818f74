"""``mlcask.evaluate`` against real MLflow 3.17's ``mlflow.evaluate``, end to end: the same saved models
and data through both (MLflow in ONE child process, explainability off there to keep it quick), and
every shared metric equal to 1e-9 relative, the same artifact names and files, the same
``per_class_metrics.csv``, the same dataset digest on the metrics and the same ``mlflow.datasets`` hash.
Cases: binary (default, pos_label, sample_weights, metric_prefix), multiclass (with MLflow's sklearn
``score``), regressor, and predictions without a model."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from bench.mlflow_env import run_in_mlflow

pytestmark = [pytest.mark.interop, pytest.mark.slow]

# The cases: (name, model folder or None, data file, evaluate kwargs besides model and data).
CASES = {
    "binary": ("binary", "binary.parquet", {"targets": "label", "model_type": "classifier"}),
    "binary_pos_label": ("binary", "binary.parquet", {"targets": "label", "model_type": "classifier",
                                                      "evaluator_config": {"pos_label": 0}}),
    "binary_weights": ("binary", "binary.parquet", {"targets": "label", "model_type": "classifier",
                                                    "evaluator_config": {"sample_weights": "WEIGHTS"}}),
    "binary_prefix": ("binary", "binary.parquet", {"targets": "label", "model_type": "classifier",
                                                   "evaluator_config": {"metric_prefix": "val_"}}),
    "multiclass": ("multiclass", "multiclass.parquet", {"targets": "label", "model_type": "classifier"}),
    "regressor": ("regressor", "regressor.parquet", {"targets": "y", "model_type": "regressor"}),
    "predictions": (None, "predictions.parquet", {"targets": "label", "predictions": "pred",
                                                  "model_type": "classifier"}),
    "binary_model_id": ("binary", "binary.parquet", {"targets": "label", "model_type": "classifier",
                                                     "model_id": "NEW"}),
}

# Runs with `import mlflow` (MLflow's venv) and with `import mlcask as mlflow` (this one).
SCENARIO = '''
import json, os, warnings
warnings.filterwarnings("ignore")
import numpy as np
import pandas as pd
{imports}

mlflow.set_tracking_uri({uri!r})
root = {root!r}
cases = json.loads({cases!r})
weights = np.load(os.path.join(root, "weights.npy"))
client = mlflow.MlflowClient()
out = {{}}
for name, (folder, data_file, kwargs) in cases.items():
    config = dict(kwargs.get("evaluator_config", {{}}), log_model_explainability=False)
    if config.get("sample_weights") == "WEIGHTS":
        config["sample_weights"] = weights
    kwargs = dict(kwargs, evaluator_config=config)
    if kwargs.get("model_id") == "NEW":
        kwargs["model_id"] = mlflow.create_external_model(name="evaluated").model_id
    data = pd.read_parquet(os.path.join(root, data_file))
    model = os.path.join(root, folder) if folder else None
    with mlflow.start_run() as run:
        result = mlflow.evaluate(model, data, **kwargs)
    run = client.get_run(run.info.run_id)
    key = sorted(result.metrics)[0]
    metric = client.get_metric_history(run.info.run_id, key)[-1]
    tables = {{n: a.content.to_csv(index=False) for n, a in result.artifacts.items()
              if type(a).__name__ == "CsvEvaluationArtifact"}}
    out[name] = {{
        "metrics": {{k: float(v) for k, v in result.metrics.items()}},
        "artifacts": sorted(result.artifacts),
        "files": sorted(f.path for f in client.list_artifacts(run.info.run_id)),
        "dataset": [metric.dataset_name, metric.dataset_digest],
        "inputs": [[i.dataset.name, i.dataset.digest, sorted((t.key, t.value) for t in i.tags)]
                   for i in run.inputs.dataset_inputs],
        "datasets_tag": [{{k: v for k, v in e.items() if k != "model"}}
                         for e in json.loads(run.data.tags.get("mlflow.datasets", "[]"))],
        "tables": tables,
        "model_metrics": sorted([m.key, m.value, m.dataset_name, m.dataset_digest, m.run_id == run.info.run_id]
                                for m in client.get_logged_model(kwargs["model_id"]).metrics or [])
                         if kwargs.get("model_id") else None,
        "model_inputs": [getattr(m, "model_id", m) == kwargs.get("model_id")
                         for m in (run.inputs.model_inputs or [])],
        "run_id": run.info.run_id,
        "model_id": kwargs.get("model_id"),
    }}
print("RESULT " + json.dumps(out))
'''


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The models (saved by mlcask) and the data files both sides read."""
    import xgboost as xgb
    from sklearn.datasets import make_classification, make_regression
    from sklearn.linear_model import LinearRegression, LogisticRegression

    import mlcask

    root = tmp_path_factory.mktemp("evaluate_interop")
    X, y = make_classification(n_samples=600, n_features=6, n_informative=4, random_state=0)
    binary = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    mlcask.xgboost.save_model(xgb.XGBClassifier(n_estimators=15, max_depth=3, n_jobs=1).fit(binary, y),
                              root / "binary")
    binary.assign(label=y).to_parquet(root / "binary.parquet")
    np.save(root / "weights.npy", np.random.default_rng(0).uniform(0.2, 3.0, len(y)))
    pd.DataFrame({"label": y, "pred": (X[:, 0] > 0).astype(int)}).to_parquet(root / "predictions.parquet")
    Xm, ym = make_classification(n_samples=450, n_features=5, n_informative=4, n_redundant=0, n_classes=3,
                                 random_state=1)
    multi = pd.DataFrame(Xm, columns=list("abcde"))
    mlcask.sklearn.save_model(LogisticRegression(max_iter=500).fit(multi, ym), root / "multiclass",
                              serialization_format="skops")
    multi.assign(label=ym).to_parquet(root / "multiclass.parquet")
    Xr, yr = make_regression(n_samples=300, n_features=4, noise=3.0, random_state=2)
    reg = pd.DataFrame(Xr, columns=list("pqrs"))
    mlcask.sklearn.save_model(LinearRegression().fit(reg, yr + 50), root / "regressor", serialization_format="skops")
    reg.assign(y=yr + 50).to_parquet(root / "regressor.parquet")
    return root


def _scenario(imports: str, uri: str, root) -> str:
    return SCENARIO.format(imports=imports, uri=uri, root=str(root), cases=json.dumps(CASES))


# In the same MLflow child, after its own evaluations: what MLflow's client reads of the runs mlcask
# logged, through an mlcask tracking server on mlcask's store.
READ_BACK = '''
ours = mlflow.MlflowClient(tracking_uri={server!r})
read = {{}}
for name, (run_id, model_id) in json.loads({runs!r}).items():
    run = ours.get_run(run_id)
    read[name] = {{"metrics": run.data.metrics,
                   "model_metrics": sorted([m.key, m.value, m.dataset_name, m.dataset_digest]
                                           for m in ours.get_logged_model(model_id).metrics or [])
                   if model_id else None}}
print("READ " + json.dumps(read))
'''


@pytest.fixture(scope="module")
def both(saved, tmp_path_factory):
    """What mlcask (this process) and MLflow (one child process) logged for every case, and what
    MLflow's client reads back of mlcask's runs (through an mlcask server)."""
    import os

    import mlcask
    from tests.server.conftest import launch
    from tests.support import point_fluent_at, reset_fluent

    work = tmp_path_factory.mktemp("evaluate_interop_runs")
    uri = f"sqlite:///{work}/mlcask.db"
    point_fluent_at(uri)
    os.environ["MLCASK_ARTIFACT_ROOT"] = str(work / "mlcask-artifacts")
    try:
        captured: dict = {}
        code = _scenario("import mlcask as mlflow", uri, saved).replace('print("RESULT " + json.dumps(out))',
                                                                       "captured.update(out)")
        exec(compile(code, "scenario", "exec"), {"__name__": "scenario", "captured": captured, "mlcask": mlcask})
    finally:
        os.environ.pop("MLCASK_ARTIFACT_ROOT", None)
        reset_fluent()
    ours = json.loads(json.dumps(captured))
    runs = {name: [case["run_id"], case["model_id"]] for name, case in ours.items()}
    server = launch(work / "server", backend_store_uri=uri, artifacts_destination=str(work / "mlcask-artifacts"))
    try:
        code = _scenario("import mlflow", f"sqlite:///{work}/mlflow.db", saved)
        printed = run_in_mlflow(code + READ_BACK.format(server=server.url, runs=json.dumps(runs)), cwd=work)
    finally:
        server.stop()
    theirs = json.loads(printed.split("RESULT ", 1)[1].split("\n", 1)[0])
    read = json.loads(printed.split("READ ", 1)[1].split("\n", 1)[0])
    return theirs, ours, read


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("case", list(CASES))
def test_same_metrics_and_artifacts_as_mlflow(both, case):
    theirs, ours = both[0][case], both[1][case]
    assert set(ours["metrics"]) == set(theirs["metrics"])
    different = {k: (ours["metrics"][k], v) for k, v in theirs["metrics"].items() if not _close(ours["metrics"][k], v)}
    assert different == {}
    assert ours["artifacts"] == theirs["artifacts"]
    assert ours["files"] == theirs["files"]


@pytest.mark.parametrize("case", list(CASES))
def test_same_dataset_records_as_mlflow(both, case):
    theirs, ours = both[0][case], both[1][case]
    assert ours["inputs"] == theirs["inputs"]  # the run input (context = the metric prefix)
    assert ours["datasets_tag"] == theirs["datasets_tag"]  # the mlflow.datasets tag's name and hash
    # Every metric is sent with the dataset's name and digest (and the model id) by both; MLflow's SQL
    # store keeps them only for metrics linked to a logged model, mlcask's keeps them for run metrics too.
    assert ours["dataset"] == ours["inputs"][0][:2]
    assert theirs["dataset"] in ([None, None], ours["dataset"])
    assert ours["model_inputs"] == theirs["model_inputs"]
    if theirs["model_metrics"] is not None:  # linked to the logged model, with the dataset, as MLflow
        # MLflow logs each value twice (its evaluator, then evaluate() again for the model); mlcask once.
        theirs_once = [m for i, m in enumerate(theirs["model_metrics"]) if m not in theirs["model_metrics"][:i]]
        assert [m[:1] + m[2:] for m in ours["model_metrics"]] == [m[:1] + m[2:] for m in theirs_once]
        assert all(_close(a[1], b[1]) for a, b in zip(ours["model_metrics"], theirs_once))


def test_same_per_class_metrics_table(both):
    theirs = pd.read_csv(io.StringIO(both[0]["multiclass"]["tables"]["per_class_metrics"]))
    ours = pd.read_csv(io.StringIO(both[1]["multiclass"]["tables"]["per_class_metrics"]))
    assert list(ours.columns) == list(theirs.columns)
    pd.testing.assert_frame_equal(ours, theirs, check_dtype=False, rtol=1e-9)


@pytest.mark.parametrize("case", list(CASES))
def test_mlflow_reads_back_what_mlcask_logged(both, case):
    _, ours, read = both
    assert set(read[case]["metrics"]) == set(ours[case]["metrics"])
    assert all(_close(read[case]["metrics"][k], v) for k, v in ours[case]["metrics"].items())
    if ours[case]["model_id"]:  # the logged model's metrics, with the dataset they were measured on
        assert read[case]["model_metrics"] == [m[:4] for m in ours[case]["model_metrics"]]
