"""The ``mlcask`` command, run through click's test runner against a real store."""

import pytest
from click.testing import CliRunner

import mlcask
from mlcask.cli import cli, table


@pytest.fixture
def logged(tracking_state, tmp_path, logistic_regression):
    uri = tracking_state(f"sqlite:///{tmp_path / 'cli.db'}", tmp_path / "artifacts")
    experiment = mlcask.set_experiment("cli-demo")
    with mlcask.start_run(run_name="baseline") as run:
        mlcask.log_param("C", 1.0)
        mlcask.log_metric("acc", 0.93)
        info = mlcask.sklearn.log_model(logistic_regression, name="lr", registered_model_name="cancer")
    return uri, experiment, run, info


def invoke(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_experiments_list_and_create(logged):
    uri, experiment, _, _ = logged
    code, out = invoke("experiments", "create", "-n", "second", "--tracking-uri", uri)
    assert code == 0 and "Created experiment 'second' with id" in out
    code, out = invoke("experiments", "list", "--tracking-uri", uri)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "STAGE", "CREATED", "ARTIFACT", "LOCATION"]
    assert any(line.split()[1] == "cli-demo" for line in lines[2:]) and "second" in out


def test_runs_list_and_describe(logged):
    uri, experiment, run, info = logged
    code, out = invoke("runs", "list", "--experiment-id", experiment.experiment_id, "--tracking-uri", uri)
    assert code == 0 and run.info.run_id in out and "baseline" in out and "acc=0.93" in out
    code, out = invoke("runs", "describe", "--run-id", run.info.run_id, "--tracking-uri", uri)
    assert code == 0 and "FINISHED" in out and "C" in out and info.model_id in out


def test_models_list_and_describe(logged):
    uri, _, run, info = logged
    code, out = invoke("models", "list", "--tracking-uri", uri)
    assert code == 0 and info.model_id in out and "READY" in out
    code, out = invoke("models", "list", "--registered", "--tracking-uri", uri)
    assert code == 0 and "cancer" in out
    code, out = invoke("models", "describe", "-m", "models:/cancer/1", "--tracking-uri", uri)
    assert code == 0 and "python_function, sklearn" in out and "scikit-learn==" in out


def test_errors_are_one_line_and_exit_1(logged):
    uri, _, _, _ = logged
    code, out = invoke("models", "describe", "-m", "models:/cancer/7", "--tracking-uri", uri)
    assert code == 1 and "Error:" in out and "Traceback" not in out
    code, out = invoke("runs", "describe", "--run-id", "0" * 32, "--tracking-uri", uri)
    assert code == 2 and "Invalid value for '--run-id': no run has id" in out and "Traceback" not in out


def test_table_aligns_columns():
    assert table(["A", "LONGER"], [["x", 1], ["yyyy", None]]) == "A     LONGER\n----  ------\nx     1\nyyyy"


def test_python_dash_m_mlcask_runs_the_command():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "mlcask", "experiments", "--help"], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert out.startswith("Usage: mlcask experiments") and "search" in out
