"""``mlcask models predict --spark``: the options, the checks made before Spark starts, and two real runs.

The checks run in-process through click's runner with Spark's session start replaced by a
failure (they must answer before any Spark). Each real run is one ``mlcask`` subprocess on
``local[2]`` (it pays Spark's start-up): one scoring a folder, one failing mid-way.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import mlcask
from mlcask.cli import cli
from mlcask.models import infer_signature
from tests.spark_session import SPARK_CONF, need_spark
from tests.support import reset_fluent

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer")]


@pytest.fixture(scope="module")
def scored(tmp_path_factory, breast_cancer, logistic_regression):
    """A model, its inputs in three Parquet files (with an id column) and pyfunc's predictions by id."""
    X, y = breast_cancer
    root = tmp_path_factory.mktemp("spark-cli")
    mlcask.sklearn.save_model(logistic_regression, root / "model", signature=infer_signature(X, y))
    frame = X.iloc[:90].copy()
    frame.insert(0, "id", np.arange(len(frame), dtype="int64") + 7000)
    (root / "in").mkdir()
    for i in range(3):
        frame.iloc[30 * i:30 * (i + 1)].to_parquet(root / "in" / f"day-{i}.parquet", index=False)
    pred = mlcask.pyfunc.load_model(root / "model").predict(frame.drop(columns="id"))
    return root, frame, dict(zip(frame["id"], np.asarray(pred)))


@pytest.fixture
def no_spark(monkeypatch):
    """Fail the test if the command starts Spark."""
    def refuse(*args, **kwargs):
        raise AssertionError("Spark was started")

    monkeypatch.setattr("mlcask.serving.spark_predict.start_session", refuse)


def invoke(*args):
    result = CliRunner().invoke(cli, ["models", "predict", *map(str, args)])
    return result.exit_code, result.output


def spark_command(*args):
    conf = [item for key, value in SPARK_CONF.items() for item in ("--spark-conf", f"{key}={value}")]
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    return subprocess.run([sys.executable, "-m", "mlcask", "models", "predict", "--spark", "--spark-master",
                           "local[2]", *conf, *map(str, args)], capture_output=True, text=True, env=env, timeout=300)


def test_spark_options_need_spark(scored, no_spark, tmp_path):
    root, _, _ = scored
    code, out = invoke("-m", root / "model", "-i", root / "in" / "day-0.parquet", "-o", tmp_path / "o.csv",
                       "--keep-columns", "id", "--with-row-number")
    assert code == 2 and "--keep-columns, --with-row-number apply only with --spark." in out
    code, out = invoke("-m", root / "model", "-o", tmp_path / "o.csv")
    assert code == 2 and "Missing option '--input-path' / '-i'." in out
    assert list(tmp_path.iterdir()) == []


def test_checks_before_spark_starts(scored, no_spark, tmp_path):
    root, _, _ = scored
    model, source = root / "model", root / "in"
    code, out = invoke("--spark", "-m", model, "-o", tmp_path / "out")
    assert code == 2 and "Missing option '--input-path' / '-i' (or --input-table with --spark)." in out
    code, out = invoke("--spark", "-m", model, "-i", source)
    assert code == 1 and "Error: --spark writes a folder of Parquet files: pass --output-path FOLDER." in out
    code, out = invoke("--spark", "-m", model, "-i", source / "*.csv", "-o", tmp_path / "out")
    assert code == 1 and f"Error: Input path '{source}/*.csv' matches no file." in out
    (tmp_path / "taken").mkdir()
    code, out = invoke("--spark", "-m", model, "-i", source, "-o", tmp_path / "taken")
    assert code == 1 and f"Output folder '{tmp_path / 'taken'}' already exists; pass --overwrite" in out
    code, out = invoke("--spark", "-m", model, "-i", source, "-o", tmp_path / "out", "-t", "json")
    assert code == 1 and "--spark reads Parquet and CSV input, not 'json'" in out
    code, out = invoke("--spark", "-m", model, "-i", source, "-o", tmp_path / "out", "--spark-conf", "nokey")
    assert code == 2 and "expected KEY=VALUE" in out
    code, out = invoke("--spark", "-m", tmp_path / "no-model", "-i", source, "-o", tmp_path / "out")
    assert code == 1 and "No model at" in out and "Traceback" not in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_a_registry_uri_creates_no_store(scored, no_spark, tmp_path, monkeypatch):
    root, _, _ = scored
    monkeypatch.chdir(tmp_path)
    reset_fluent()  # a URI an earlier test set in this process would point the command at its store
    for name in ("MLCASK_TRACKING_URI", "MLFLOW_TRACKING_URI", "MLCASK_REGISTRY_URI", "MLFLOW_REGISTRY_URI"):
        monkeypatch.delenv(name, raising=False)
    code, out = invoke("--spark", "-m", "models:/cancer@champion", "-i", root / "in", "-o", "out")
    assert code == 1 and "No tracking database" in out
    assert list(tmp_path.iterdir()) == []


def test_scores_a_folder_on_spark(scored, tmp_path):
    need_spark()
    root, frame, expected = scored
    out = tmp_path / "scores"
    result = spark_command("-m", root / "model", "-i", root / "in", "-o", out, "--keep-columns", "id",
                           "--with-file-name", "--with-row-number", "--chunk-size", "16")
    assert result.returncode == 0, result.stderr
    assert f"Wrote 90 predictions to {out} (" in result.stderr and "Parquet file" in result.stderr
    assert "\rScoring [" not in result.stderr  # stderr is not a terminal: no bar
    scores = pd.read_parquet(out)
    assert list(scores.columns) == ["id", "file_name", "row_number", "target"]
    assert sorted(scores["id"]) == sorted(frame["id"])
    np.testing.assert_array_equal(scores["target"], [expected[i] for i in scores["id"]])
    for name, rows in scores.groupby("file_name"):
        day = int(name.removeprefix("day-").removesuffix(".parquet"))
        assert sorted(rows["row_number"]) == list(range(30))
        assert (rows["id"] - rows["row_number"] == 7000 + 30 * day).all()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores"]


def test_a_failing_run_reports_the_cause_and_writes_nothing(scored, tmp_path):
    need_spark()
    root, frame, _ = scored
    (tmp_path / "in").mkdir()
    bad = frame.iloc[:20].copy()
    bad.to_csv(tmp_path / "in" / "good.csv", index=False)
    lines = bad.to_csv(index=False).splitlines()
    fields = lines[3].split(",")
    fields[5] = "n/a!"
    lines[3] = ",".join(fields)
    (tmp_path / "in" / "bad.csv").write_text("\n".join(lines) + "\n")
    result = spark_command("-m", root / "model", "-i", tmp_path / "in", "-o", tmp_path / "scores")
    assert result.returncode == 1, result.stderr
    assert "Error: Scoring on Spark failed: [FAILED_READ_FILE.NO_HINT] Encountered error while reading file " \
           f"file://{tmp_path}/in/bad.csv: [MALFORMED_RECORD_IN_PARSING" in result.stderr
    assert 'For input string: "n/a!"' in result.stderr
    assert "Traceback" not in result.stderr and "\tat org.apache" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]
