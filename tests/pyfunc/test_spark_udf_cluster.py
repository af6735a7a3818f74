"""spark_udf on a local-cluster master: executors are other processes, so the model folder is
zipped and shipped to them through SparkContext.addFile (a real cluster's path). Runs in a child
process: the test session's own SparkSession is local[2], and a process has one SparkContext."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = [pytest.mark.spark, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import json, shutil, sys
import numpy as np, pandas as pd
from sklearn.linear_model import LinearRegression
import mlcask
from mlcask.models import infer_signature
from tests.spark_session import start_spark

root = sys.argv[1]
X = pd.DataFrame(np.random.default_rng(1).random((40, 3)), columns=["a", "b", "c"])
model = LinearRegression().fit(X, X.a * 3 - X.c)
mlcask.sklearn.save_model(model, root + "/model", signature=infer_signature(X, (X.a * 3).rename("y")))
spark = start_spark(master="local-cluster[1,1,1024]")
udf = mlcask.pyfunc.spark_udf(spark, root + "/model")
again = mlcask.pyfunc.spark_udf(spark, root + "/model")
# The driver's folder goes away: the executor can only score from the shipped archive.
shutil.move(root + "/model", root + "/moved")
out = spark.createDataFrame(X).repartition(3).select(udf().alias("p"), again().alias("q")).toPandas()
print(json.dumps({"error": float(np.abs(np.sort(out.p) - np.sort(model.predict(X))).max()),
                  "same": bool((out.p == out.q).all()), "master": spark.sparkContext.master,
                  "added": spark.sparkContext._jsc.sc().listFiles().size()}))
spark.stop()
"""


def test_model_folder_reaches_executors_through_spark(tmp_path):
    from tests.spark_session import need_spark

    need_spark()
    child = subprocess.run([sys.executable, "-c", textwrap.dedent(CHILD), str(tmp_path)], cwd=REPO,
                           capture_output=True, text=True, timeout=600)
    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["master"] == "local-cluster[1,1,1024]"
    assert result["error"] < 1e-9
    assert result["same"]
    assert result["added"] == 1  # two udfs on one folder ship it once
