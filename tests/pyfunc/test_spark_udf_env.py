"""spark_udf(env_manager="uv"|"virtualenv") and ``models predict --spark --env-manager uv``: scoring
in the model's own environment, which pins an older scikit-learn (1.6.1) than the one installed here.

The environment is built once for the module (uv, under the test session's MLCASK_HOME, so any
other test building the same requirements reuses it); both models pin the same requirement
files, so they share it. Each Python worker of the session's local[2] Spark starts the model's
scoring server in it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mlcask
from mlcask.exceptions import MlcaskException
from mlcask.models import infer_signature

pytestmark = [pytest.mark.spark, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PINNED = "1.6.1"
REQUIREMENTS = [f"scikit-learn=={PINNED}"]

VERSION_MODEL = """
import pandas as pd
import sklearn

import mlcask as mlflow


class SklearnVersion(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        scale = float((params or {}).get("scale", 1.0))
        return pd.DataFrame({"y": model_input["a"].to_numpy() * scale, "sklearn": sklearn.__version__})


mlflow.models.set_model(SklearnVersion())
"""


@pytest.fixture(scope="module")
def frame():
    return pd.DataFrame(np.random.default_rng(3).random((40, 3)), columns=["a", "b", "c"])


@pytest.fixture(scope="module")
def models(frame, tmp_path_factory):
    """A LinearRegression (cloudpickle, which scikit-learn 1.6.1 reads) and a model reporting the
    scikit-learn it runs with, both pinning scikit-learn 1.6.1; the environment built for them."""
    from sklearn.linear_model import LinearRegression

    from mlcask.environments import prepare_environment

    root = tmp_path_factory.mktemp("spark-env")
    y = (frame.a * 2 - frame.c + 0.5).rename("y")
    regressor = LinearRegression().fit(frame, y)
    mlcask.sklearn.save_model(regressor, root / "regressor", signature=infer_signature(frame, y),
                              pip_requirements=REQUIREMENTS, serialization_format="cloudpickle")
    (root / "version_model.py").write_text(VERSION_MODEL)
    output = pd.DataFrame({"y": frame.a, "sklearn": "x"})
    mlcask.pyfunc.save_model(root / "version", python_model=root / "version_model.py", pip_requirements=REQUIREMENTS,
                             signature=infer_signature(frame[["a"]], output, params={"scale": 1.0}))
    prepared = prepare_environment(root / "regressor", "uv")
    return root, regressor, prepared


def test_uv_scores_in_the_models_environment_like_local(spark, frame, models):
    from pyspark.sql.functions import col, struct

    root, regressor, prepared = models
    env_sklearn = subprocess.run([str(prepared.python), "-I", "-c", "import sklearn; print(sklearn.__version__)"],
                                 capture_output=True, text=True, check=True).stdout.strip()
    assert env_sklearn == PINNED
    import sklearn

    assert sklearn.__version__ != PINNED  # else the test proves nothing

    started = time.perf_counter()
    in_env = mlcask.pyfunc.spark_udf(spark, str(root / "regressor"), env_manager="uv")
    driver_seconds = time.perf_counter() - started
    local = mlcask.pyfunc.spark_udf(spark, str(root / "regressor"))
    version = mlcask.pyfunc.spark_udf(spark, str(root / "version"), env_manager="uv", params={"scale": 3.0})
    assert version.returnType.simpleString() == "struct<y:double,sklearn:string>"
    df = spark.createDataFrame(frame).repartition(3)  # both Python workers, one of them twice
    out = df.select("a", "b", "c", in_env().alias("env"), local().alias("local"),
                    version(struct(col("a"))).alias("v")).toPandas()
    np.testing.assert_allclose(out.env.to_numpy(), out.local.to_numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(out.env.to_numpy(), regressor.predict(out[["a", "b", "c"]]), atol=1e-12)
    assert {row["sklearn"] for row in out.v} == {PINNED}  # the workers scored in the pinned environment
    np.testing.assert_allclose([row["y"] for row in out.v], out.a * 3.0)  # params reach the server
    assert mlcask.pyfunc.load_model(root / "version").predict(frame[["a"]]).sklearn.iloc[0] == sklearn.__version__
    assert driver_seconds < 30, driver_seconds  # a reused environment: the driver only checks it serves


def test_bad_input_is_a_one_line_task_error(spark, frame, models):
    from pyspark.errors import PythonException

    udf = mlcask.pyfunc.spark_udf(spark, str(models[0] / "regressor"), env_manager="uv")
    strings = spark.createDataFrame(frame.head(4).assign(b="not a number"))
    with pytest.raises(PythonException) as info:
        strings.select(udf("a", "b", "c")).collect()
    last = str(info.value).strip().splitlines()[-1]
    assert "spark_udf: the input columns do not match the model's signature" in last, last
    assert "column b" in last and "double" in last, last


def _jobs(spark) -> int:
    return len(spark.sparkContext.statusTracker().getJobIdsForGroup(None))


def test_driver_errors_before_any_task(spark, frame, models, tmp_path):
    from mlcask.environments import PythonNotFoundError

    root = models[0]
    with pytest.raises(MlcaskException, match=r"env_manager 'conda' is not supported by mlcask: use 'uv'"):
        mlcask.pyfunc.spark_udf(spark, str(root / "regressor"), env_manager="conda")
    with pytest.raises(MlcaskException, match=r"'model_config' is not supported"):
        mlcask.pyfunc.spark_udf(spark, str(root / "regressor"), env_manager="uv", model_config={"k": 1})
    # An unresolvable requirement: the build fails on the driver, naming it, and leaves no environment.
    from sklearn.linear_model import LinearRegression

    mlcask.sklearn.save_model(LinearRegression().fit(frame, frame.a), tmp_path / "broken",
                              pip_requirements=["mlcask-no-such-package-h6==1.0"], serialization_format="cloudpickle")
    envs = Path(os.environ["MLCASK_HOME"]) / "envs"
    before, jobs = sorted(p.name for p in envs.iterdir()), _jobs(spark)
    with pytest.raises(MlcaskException, match=r"mlcask-no-such-package-h6"):
        mlcask.pyfunc.spark_udf(spark, str(tmp_path / "broken"), env_manager="uv", result_type="double")
    assert sorted(p.name for p in envs.iterdir()) == before
    # virtualenv is accepted: an MLflow-saved folder asking for a Python this machine lacks is refused, naming it.
    mlflow_like = tmp_path / "py39"
    mlflow_like.mkdir()
    for name in ("MLmodel", "model.pkl", "requirements.txt", "conda.yaml"):
        (mlflow_like / name).write_bytes((root / "regressor" / name).read_bytes())
    (mlflow_like / "python_env.yaml").write_text("python: 3.9.1\nbuild_dependencies:\n- pip\ndependencies:\n"
                                                 "- -r requirements.txt\n")
    with pytest.raises(PythonNotFoundError, match=r"3\.9"):
        mlcask.pyfunc.spark_udf(spark, str(mlflow_like), env_manager="virtualenv")
    assert _jobs(spark) == jobs  # no Spark job ran for any of them


CHILD = """
import os, sys
from pathlib import Path
from mlcask.environments import prepare_environment
from mlcask.pyfunc.spark_env import ScoringServer
prepared = prepare_environment(sys.argv[1], "uv")
server = ScoringServer.start(prepared, Path(sys.argv[1]), "uv")
print(server.process.pid, flush=True)
os._exit(0)  # as pyspark's daemon ends a worker: no atexit
"""


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_scoring_server_dies_with_its_worker(models):
    child = subprocess.run([sys.executable, "-c", textwrap.dedent(CHILD), str(models[0] / "regressor")],
                           capture_output=True, text=True, timeout=120, cwd=REPO)
    assert child.returncode == 0, child.stderr[-2000:]
    pid = int(child.stdout.split()[-1])
    deadline = time.monotonic() + 10
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(pid)


def test_models_predict_spark_with_env_manager_uv(frame, models, tmp_path):
    from tests.spark_session import SPARK_CONF, need_spark

    need_spark()
    root, regressor, _ = models
    frame.assign(id=np.arange(len(frame))).to_parquet(tmp_path / "in.parquet", index=False)
    conf = [item for key, value in SPARK_CONF.items() for item in ("--spark-conf", f"{key}={value}")]
    command = [sys.executable, "-m", "mlcask", "models", "predict", "--spark", "--spark-master", "local[1]", *conf,
               "--env-manager", "uv", "-m", str(root / "regressor"), "-i", str(tmp_path / "in.parquet"),
               "-o", str(tmp_path / "out"), "--keep-columns", "id"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO,
                         env={**os.environ, "PYSPARK_PYTHON": sys.executable})
    assert run.returncode == 0, run.stderr[-3000:]
    out = pd.read_parquet(tmp_path / "out").sort_values("id")
    np.testing.assert_allclose(out.y.to_numpy(), regressor.predict(frame), atol=1e-12)


def test_batches_and_predictions_cross_as_json_without_losing_types():
    from mlcask.pyfunc.spark_env import decode_predictions, encode_batch

    mixed = pd.DataFrame({"a": [1.5, np.nan], "n": [1, 2], "t": pd.to_datetime(["2024-01-02", None]),
                          "s": ["x", None], "raw": [b"ab", b"c"], "v": [np.arange(2), np.arange(3)]})
    # NaN stays the NaN literal the server reads (not null, which a double column refuses).
    assert encode_batch(mixed, {"k": 1}) == (
        b'{"dataframe_split":{"columns":["a","n","t","s","raw","v"],"data":[[1.5,1,"2024-01-02T00:00:00","x",'
        b'"YWI=",[0,1]],[NaN,2,null,null,"Yw==",[0,1,2]]]},"params":{"k":1}}')
    numeric = pd.DataFrame(np.arange(6, dtype=np.float32).reshape(3, 2), columns=["x", "y"])
    assert encode_batch(numeric, None) == b'{"dataframe_split":{"columns":["x","y"],"data":[[0.0,1.0],[2.0,3.0],[4.0,5.0]]}}'
    floats = decode_predictions(b'{"predictions": [1, null, 2.5]}')
    assert floats.dtype == np.float64 and np.isnan(floats[1])
    assert decode_predictions(b'{"predictions": [3, 4]}').dtype == np.int64
    assert decode_predictions(b'{"predictions": [[1, 2], [3, 4]]}').shape == (2, 2)
    positional = decode_predictions(b'{"predictions": [{"0": 0.2, "1": 0.8}]}')
    assert isinstance(positional.columns, pd.RangeIndex)  # a 2-D output's columns, by position as locally
    assert list(decode_predictions(b'{"predictions": [{"label": "a", "p": 0.5}]}').columns) == ["label", "p"]
    assert decode_predictions(b'{"predictions": {"a": [1, 2]}}')["a"].tolist() == [1, 2]


def test_an_executor_without_the_environment_builds_the_same_one(models, capfd):
    from mlcask.environments import PreparedEnvironment
    from mlcask.pyfunc.spark_env import ServedEnvironment

    root, _, prepared = models
    driver_only = PreparedEnvironment(path=Path("/nonexistent/env"), python=Path("/nonexistent/env/bin/python"),
                                      env_manager="uv", reused=True, seconds=0.0)
    found = ServedEnvironment("uv", driver_only, None)._environment(root / "regressor")
    assert found.python.exists() and found.path.parent == prepared.path.parent  # $MLCASK_HOME/envs, by key
    assert "is not on this executor; building it with uv" in capfd.readouterr().err
    assert ServedEnvironment("uv", prepared, None)._environment(root / "regressor") is prepared
