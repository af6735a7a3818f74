"""spark_udf both ways with real MLflow: MLflow's ``mlflow.pyfunc.spark_udf`` scores models saved
by mlcask as mlcask's spark_udf does, and mlcask's spark_udf scores models saved by MLflow.

One child process in the MLflow venv does every MLflow-side step (one Spark start-up)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import mlcask
from mlcask.models import infer_signature

pytestmark = [pytest.mark.interop, pytest.mark.spark]

CHILD = """
import json, os, sys
os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"  # MLflow 3.17 refuses skops models without it
import numpy as np, pandas as pd
import mlflow
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression
{session}
root = sys.argv[1] if len(sys.argv) > 1 else {root!r}
data = pd.read_parquet(root + "/data.parquet")
df = spark.createDataFrame(data)
# MLflow saves a classifier twice: labels (a column signature) and predict_proba (a tensor output).
y = (data.f0 + data.f1 > 1).astype("int64").rename("label")
model = LogisticRegression().fit(data, y)
mlflow.sklearn.save_model(model, root + "/mlflow_labels", signature=infer_signature(data, y))
mlflow.sklearn.save_model(model, root + "/mlflow_proba", pyfunc_predict_fn="predict_proba",
                          signature=infer_signature(data, model.predict_proba(data)))
out = {{"native_labels": model.predict(data).tolist(), "native_proba": model.predict_proba(data).tolist()}}
# MLflow's spark_udf on the models mlcask saved.
for name in ("mlcask_xgb", "mlcask_struct"):
    udf = mlflow.pyfunc.spark_udf(spark, root + "/" + name)
    rows = df.select(udf().alias("p")).toPandas().p.tolist()
    out[name] = {{"type": udf.returnType.simpleString(), "values": [dict(r) if isinstance(r, dict) else r for r in rows]}}
udf = mlflow.pyfunc.spark_udf(spark, root + "/mlcask_xgb", result_type="array<double>")
out["mlcask_xgb_array"] = [list(map(float, r)) for r in df.select(udf().alias("p")).toPandas().p]
udf = mlflow.pyfunc.spark_udf(spark, root + "/mlflow_proba", result_type="array<double>")
out["mlflow_proba_array"] = [list(map(float, r)) for r in df.select(udf().alias("p")).toPandas().p]
print(json.dumps(out, default=float))
"""


def test_spark_udf_both_ways(spark, tmp_path):
    from xgboost import XGBClassifier

    from bench.mlflow_env import run_in_mlflow
    from tests.spark_session import child_session_code

    rng = np.random.default_rng(3)
    data = pd.DataFrame(rng.random((50, 4)), columns=[f"f{i}" for i in range(4)])
    data.to_parquet(tmp_path / "data.parquet")
    labels = (data.f0 + data.f1 > 1).astype("int64").rename("label")
    xgb = XGBClassifier(n_estimators=5, max_depth=2, n_jobs=1).fit(data, labels)
    mlcask.xgboost.save_model(xgb, tmp_path / "mlcask_xgb", signature=infer_signature(data, labels))
    # A multi-output model (a struct in Spark), as a loader module saved with the model: its code
    # loads in both libraries, with no pickle.
    (tmp_path / "two_outputs_loader.py").write_text(LOADER)
    two = pd.DataFrame({"label": labels, "score": data.f2 * 2 + data.f3})
    mlcask.pyfunc.save_model(tmp_path / "mlcask_struct", loader_module="two_outputs_loader",
                             code_paths=[str(tmp_path / "two_outputs_loader.py")], signature=infer_signature(data, two))
    child = CHILD.format(session=child_session_code(), root=str(tmp_path))
    theirs = json.loads(run_in_mlflow(child, cwd=tmp_path).strip().splitlines()[-1])

    df = spark.createDataFrame(data)
    udfs = {name: mlcask.pyfunc.spark_udf(spark, str(tmp_path / name))
            for name in ("mlcask_xgb", "mlcask_struct", "mlflow_labels")}
    as_array = {name: mlcask.pyfunc.spark_udf(spark, str(tmp_path / name), result_type="array<double>")
                for name in ("mlcask_xgb", "mlflow_proba")}
    ours = df.select(*[u().alias(n) for n, u in udfs.items()],
                     *[u().alias(f"{n}_array") for n, u in as_array.items()]).toPandas()
    # MLflow's spark_udf on mlcask's models: the same types and predictions as mlcask's.
    for name in ("mlcask_xgb", "mlcask_struct"):
        assert theirs[name]["type"] == udfs[name].returnType.simpleString()
    assert theirs["mlcask_xgb"]["values"] == ours.mlcask_xgb.tolist() == xgb.predict(data).tolist()
    assert theirs["mlcask_struct"]["values"] == [dict(r) for r in ours.mlcask_struct]
    np.testing.assert_allclose(theirs["mlcask_xgb_array"], np.stack(ours.mlcask_xgb_array.to_numpy()))
    # mlcask's spark_udf on MLflow's models: MLflow's predictions.
    assert ours.mlflow_labels.tolist() == theirs["native_labels"]
    np.testing.assert_allclose(np.stack(ours.mlflow_proba_array.to_numpy()), theirs["native_proba"])
    np.testing.assert_allclose(theirs["mlflow_proba_array"], theirs["native_proba"])


LOADER = """
import pandas as pd


class TwoOutputs:
    def predict(self, data, params=None):
        return pd.DataFrame({"label": (data["f0"] + data["f1"] > 1).astype("int64"),
                             "score": data["f2"] * 2 + data["f3"]})


def _load_pyfunc(path):
    return TwoOutputs()
"""
