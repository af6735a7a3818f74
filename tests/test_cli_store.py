"""What the read-only ``mlcask`` commands do with the store they are pointed at: never create
one, refuse unknown experiments, take --experiment-name beside --experiment-id, and name
their own options in errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import mlcask
from mlcask.cli import cli

READ_ONLY = [
    ["experiments", "list"],
    ["runs", "list"],
    ["runs", "list", "--experiment-name", "x"],
    ["runs", "describe", "--run-id", "0" * 32],
    ["models", "list"],
    ["models", "list", "--registered"],
    ["models", "describe", "-m", "models:/cancer/1"],
    ["models", "describe", "-m", "runs:/0123456789abcdef0123456789abcdef/model"],
]


@pytest.fixture
def no_store(monkeypatch, tmp_path):
    """A working folder with no store, and no tracking URI set anywhere."""
    from tests.support import reset_fluent

    for name in ("MLCASK_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLCASK_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.chdir(tmp_path)
    reset_fluent()
    yield tmp_path
    reset_fluent()


def invoke(*args: str, env: dict | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_read_only_commands_never_create_the_default_store(no_store, args):
    code, out = invoke(*args)
    database = no_store / "mlcask.db"
    assert code == 1 and f"No tracking database at 'sqlite:///{database}': the file '{database}' does not exist" in out
    assert "That is the default store (mlcask.db in the working folder)" in out
    assert "--tracking-uri <uri> or MLCASK_TRACKING_URI" in out and "Traceback" not in out
    assert not database.exists() and not (no_store / "artifacts").exists()


@pytest.mark.parametrize("args", READ_ONLY[:2] + READ_ONLY[6:7], ids=" ".join)
def test_a_missing_store_named_by_option_or_environment_is_not_created(no_store, args):
    given = f"sqlite:///{no_store / 'typo.db'}"
    code, out = invoke(*args, "--tracking-uri", given)
    assert code == 1 and f"That is the store --tracking-uri names ('{given}')" in out
    folder = no_store / "team-store"
    code, out = invoke(*args, env={"MLCASK_TRACKING_URI": str(folder)})
    assert code == 1 and f"No tracking database at 'sqlite:///{folder / 'mlcask.db'}'" in out
    assert f"That is the store $MLCASK_TRACKING_URI names ('{folder}')" in out
    assert not (no_store / "typo.db").exists() and not folder.exists()


def test_an_empty_database_file_is_left_empty(no_store):
    (no_store / "mlcask.db").touch()
    code, out = invoke("runs", "list")
    assert code == 1 and "is empty: nothing has been logged there yet" in out
    assert (no_store / "mlcask.db").stat().st_size == 0


def test_the_installed_command_says_so_without_a_traceback(no_store):
    command = Path(sys.executable).parent / "mlcask"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(no_store)}
    if os.environ.get("PYTHONPATH"):  # the same mlcask as this test process
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    result = subprocess.run([str(command), "experiments", "list"], cwd=no_store, capture_output=True, text=True,
                            env=env)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("Error: No tracking database at") and "Traceback" not in result.stderr
    assert list(no_store.iterdir()) == []


@pytest.fixture
def store(tracking_state, tmp_path):
    uri = tracking_state(f"sqlite:///{tmp_path / 'cli.db'}", tmp_path / "artifacts")
    experiment = mlcask.set_experiment("breast-cancer")
    with mlcask.start_run(run_name="baseline") as run:
        mlcask.log_metric("acc", 0.93)
    return uri, experiment.experiment_id, run.info.run_id


def test_experiment_name_or_id(store):
    uri, experiment_id, run_id = store
    by_name = invoke("runs", "list", "--experiment-name", "breast-cancer", "--tracking-uri", uri)
    by_id = invoke("runs", "list", "--experiment-id", experiment_id, "--tracking-uri", uri)
    assert by_name == by_id and by_name[0] == 0 and run_id in by_name[1]
    code, out = invoke("models", "list", "--experiment-name", "breast-cancer", "--tracking-uri", uri)
    assert code == 0 and out.startswith("MODEL ID")
    code, out = invoke("runs", "list", "--tracking-uri", uri)  # neither: the Default experiment
    assert code == 0 and run_id not in out


@pytest.mark.parametrize("args, message", [
    (["runs", "list", "--experiment-id", "42"], "Invalid value for '--experiment-id': no experiment has id '42' in "),
    (["models", "list", "--experiment-id", "42"], "Invalid value for '--experiment-id': no experiment has id '42'"),
    (["runs", "list", "--experiment-name", "nope"], "Invalid value for '--experiment-name': no experiment is named "
                                                    "'nope'"),
    (["models", "list", "--experiment-name", "nope"], "Invalid value for '--experiment-name': no experiment is named"),
    (["runs", "list", "--experiment-id", "abc"], "Invalid value for '--experiment-id': Invalid experiment id 'abc'"),
    (["runs", "list", "--experiment-id", "0", "--experiment-name", "breast-cancer"],
     "--experiment-id and --experiment-name are mutually exclusive"),
    (["models", "list", "--registered", "--experiment-id", "0"], "--registered lists the registry"),
    (["runs", "list", "--max-results", "0"], "Invalid value for '--max-results': 0 is not in the range x>=1"),
    (["runs", "list", "--filter", "bogus"], "Invalid value for '--filter': Invalid filter \"bogus\""),
    (["runs", "describe", "--run-id", "0" * 32], f"Invalid value for '--run-id': no run has id '{'0' * 32}'"),
    (["runs", "describe", "--run-id", "bad id"], "Invalid value for '--run-id': no run has id 'bad id'"),
    (["models", "describe", "-m", "models:/a/b/c"], "Invalid value for '--model-uri': Invalid models URI"),
])
def test_usage_errors_name_the_options(store, args, message):
    uri, _, _ = store
    code, out = invoke(*args, "--tracking-uri", uri)
    assert code == 2 and message in out and "Traceback" not in out, out
    for python_spelling in ("experiment_ids", "max_results", "run_id=", "id=", "filter_string"):
        assert python_spelling not in out


@pytest.mark.parametrize("command", [["models", "verify"], ["models", "sign"]])
def test_verify_and_sign_create_no_store_for_a_registry_uri(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    for name in ("MLCASK_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, [*command, "-m", "models:/cancer-classifier/1"])
    assert result.exit_code == 1, result.output
    assert "No tracking database" in result.output and "never create a store" in result.output
    assert list(tmp_path.iterdir()) == []


def test_models_predict_creates_no_store_for_a_registry_uri(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("MLCASK_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "in.csv").write_text("x\n1\n")
    result = CliRunner().invoke(cli, ["models", "predict", "-m", "models:/cancer-classifier@champion",
                                      "-i", "in.csv", "-o", "out.csv"])
    assert result.exit_code == 1, result.output
    assert "No tracking database" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]
