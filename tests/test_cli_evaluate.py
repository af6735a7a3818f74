"""``mlcask models evaluate`` (mlcask.cli_evaluate): reads CSV/Parquet/JSON, logs a run, prints the
metrics, writes the report; bad input is one line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

import mlcask
from mlcask.cli_evaluate import evaluate_command


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_evaluate")
    X, y = make_classification(n_samples=300, n_features=4, random_state=1)
    frame = pd.DataFrame(X, columns=list("abcd"))
    model = LogisticRegression().fit(frame, y)
    mlcask.sklearn.save_model(model, folder / "model", serialization_format="skops")
    data = frame.assign(label=y, group=np.where(X[:, 0] > 0, "x", "y"))
    data.to_csv(folder / "data.csv", index=False)
    data.to_parquet(folder / "data.parquet")
    data.to_json(folder / "data.json", orient="records")
    return folder, model, data


def _invoke(tmp_path, *args):
    uri = f"sqlite:///{tmp_path}/cli.db"
    result = CliRunner().invoke(evaluate_command, [*args, "--tracking-uri", uri], catch_exceptions=False,
                                env={"MLCASK_ARTIFACT_ROOT": str(tmp_path / "artifacts")})
    return result, uri


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_prints_the_metrics_of_each_format(saved, tmp_path, fmt, tracking_state):
    folder, model, data = saved
    tracking_state(f"sqlite:///{tmp_path}/cli.db", tmp_path / "artifacts")
    result, uri = _invoke(tmp_path, "-m", str(folder / "model"), "--data", str(folder / f"data.{fmt}"),
                          "--targets", "label", "--model-type", "classifier", "--json",
                          "--evaluator-config", '{"log_model_explainability": false}')
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    X = data[list("abcd")]
    assert metrics["accuracy_score"] == pytest.approx(float((model.predict(X) == data["label"]).mean()))
    run_id = result.stderr.split("Logged to run ")[1].split(".")[0]
    assert mlcask.tracking.MlflowClient(uri).get_run(run_id).data.metrics["example_count"] == len(data)


def test_sensitive_feature_and_report_file(saved, tmp_path, tracking_state):
    folder, _, _ = saved
    tracking_state(f"sqlite:///{tmp_path}/cli.db", tmp_path / "artifacts")
    report = tmp_path / "report.html"
    result, _ = _invoke(tmp_path, "-m", str(folder / "model"), "-d", str(folder / "data.csv"), "--targets", "label",
                        "--model-type", "classifier", "--sensitive-feature", "group", "-o", str(report),
                        "--evaluator-config", '{"log_model_explainability": false}')
    assert result.exit_code == 0, result.output
    assert "accuracy_score_difference/group" in result.stdout
    assert report.read_text().lstrip().lower().startswith("<!doctype html")


@pytest.mark.parametrize(("args", "expected"), [
    (["--targets", "nope"], "targets column 'nope'"),
    (["--targets", "label", "--sensitive-feature", "missing"], "missing"),
    (["--targets", "label", "--evaluator-config", "{not json"], "not valid JSON"),
])
def test_bad_input_is_one_clear_line(saved, tmp_path, tracking_state, args, expected):
    folder, _, _ = saved
    tracking_state(f"sqlite:///{tmp_path}/cli.db", tmp_path / "artifacts")
    result, _ = _invoke(tmp_path, "-m", str(folder / "model"), "-d", str(folder / "data.csv"),
                        "--model-type", "classifier", *args)
    assert result.exit_code in (1, 2)
    assert expected in result.output
    assert "Traceback" not in result.output


def test_missing_data_file(saved, tmp_path, tracking_state):
    folder, _, _ = saved
    tracking_state(f"sqlite:///{tmp_path}/cli.db", tmp_path / "artifacts")
    result, _ = _invoke(tmp_path, "-m", str(folder / "model"), "-d", str(tmp_path / "none.csv"), "--targets", "label",
                        "--model-type", "regressor")
    assert result.exit_code == 1
    assert "does not exist" in result.output and "Traceback" not in result.output
