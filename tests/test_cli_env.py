"""``--env-manager`` on models serve/predict and ``mlcask models prepare-env`` (src/mlcask/cli_env.py).

The option is mounted here on a test group the way cli.py mounts it on the real commands."""

from __future__ import annotations

import json
import os
import signal
import sys
import textwrap
import threading
import time

import click
import pytest
from click.testing import CliRunner

from mlcask.cli_env import (
    command_line_args,
    env_manager_option,
    prepare_env,
    run_forwarding_signals,
    run_in_model_environment,
)
from mlcask.cli_predict import predict
from tests.environments.conftest import old_sklearn_model, pinned_runtime_wheel, uv_env  # noqa: F401  (fixtures)


def _with_env_manager(command: click.Command) -> click.Command:
    """``command`` with mlcask's --env-manager in place of its own."""
    mounted = click.command(command.name)(env_manager_option(command.callback))
    mounted.params = [p for p in command.params if p.name != "env_manager"] + mounted.params
    return mounted


@click.group()
def cli() -> None:
    """A test group: models prepare-env and predict --env-manager."""


@cli.group()
def models() -> None:
    """models"""


models.add_command(prepare_env)
models.add_command(_with_env_manager(predict))


def _csv(tmp_path, X):
    path = tmp_path / "in.csv"
    X.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_prepare_env_reuses_the_built_environment(uv_env, old_sklearn_model):  # noqa: F811
    result = CliRunner().invoke(cli, ["models", "prepare-env", "-m", str(old_sklearn_model)])
    assert result.exit_code == 0, result.output
    assert "Reused the model's uv environment in " in result.output
    assert result.output.strip().endswith(str(uv_env.path))


def test_prepare_env_reports_a_bad_model_clearly(tmp_path):
    (tmp_path / "requirements.txt").write_text("-r ../../etc/passwd\n")
    result = CliRunner().invoke(cli, ["models", "prepare-env", "-m", str(tmp_path)])
    assert result.exit_code == 1 and "points outside the model folder" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_predict_in_the_models_environment(tmp_path, uv_env, old_sklearn_model, iris_classifier):  # noqa: F811
    X, model = iris_classifier
    out = tmp_path / "out.json"
    result = CliRunner().invoke(cli, ["models", "predict", "-m", str(old_sklearn_model), "-i",
                                      str(_csv(tmp_path, X.head(10))), "-o", str(out), "--env-manager", "uv"])
    assert result.exit_code == 0, result.output
    assert "Reused the model's uv environment" in result.output
    assert json.loads(out.read_text())["predictions"] == model.predict(X.head(10)).tolist()


@pytest.mark.slow
def test_exit_code_of_the_command_in_the_environment(tmp_path, uv_env, old_sklearn_model):  # noqa: F811
    code = run_in_model_environment(str(old_sklearn_model), "uv", ["models", "predict"],
                                    ["-i", str(tmp_path / "missing.csv")], log=None)
    assert code == 1  # the child's: predict's error for a missing input file


def test_local_warns_about_violated_pins(tmp_path, old_sklearn_model, iris_classifier):  # noqa: F811
    X, model = iris_classifier
    out = tmp_path / "out.json"
    result = CliRunner().invoke(cli, ["models", "predict", "-m", str(old_sklearn_model), "-i",
                                      str(_csv(tmp_path, X.head(3))), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "does not satisfy the model's requirements" in result.stderr
    assert "scikit-learn==1.5.2 (installed: " in result.stderr
    assert json.loads(out.read_text())["predictions"] == model.predict(X.head(3)).tolist()


def test_conda_is_refused(tmp_path):
    result = CliRunner().invoke(cli, ["models", "predict", "-m", str(tmp_path), "-i", "x.csv",
                                      "--env-manager", "conda"])
    assert result.exit_code == 2 and "conda is not supported" in result.output


def test_command_line_args_rebuild_what_was_given():
    seen = {}

    @click.command()
    @click.option("--model-uri", "-m")
    @click.option("--port", "-p", type=int, default=5000)
    @click.option("--timeout", type=float, default=60.0)
    @click.option("--batching/--no-batching", default=None)
    @click.option("--access-log", is_flag=True)
    @click.option("--keep", multiple=True)
    @click.option("--name", default=None)
    def command(**kwargs):
        seen["args"] = command_line_args(click.get_current_context())

    result = CliRunner().invoke(command, ["-m", "x", "-p", "8080", "--no-batching", "--access-log", "--keep", "a",
                                          "--keep", "b"])
    assert result.exit_code == 0, result.output
    assert seen["args"] == ["--port", "8080", "--no-batching", "--access-log", "--keep", "a", "--keep", "b"]


def test_signals_are_forwarded_and_the_exit_code_returned(tmp_path):
    ready = tmp_path / "ready"
    code = textwrap.dedent(f"""
        import pathlib, signal, sys, time
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(7))
        pathlib.Path({str(ready)!r}).touch()
        time.sleep(60)
    """)

    def terminate_when_ready():
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=terminate_when_ready)
    killer.start()
    try:
        assert run_forwarding_signals([sys.executable, "-c", code], dict(os.environ)) == 7
    finally:
        killer.join()
    assert signal.getsignal(signal.SIGTERM) is not None
    suicide = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]
    assert run_forwarding_signals(suicide, dict(os.environ)) == 128 + signal.SIGKILL


def test_help_text_can_be_given():
    @click.command()
    @click.option("--model-uri", "-m")
    @env_manager_option(help="Scores where you say.")
    def command(model_uri, env_manager):
        click.echo(env_manager)

    result = CliRunner().invoke(command, ["--help"])
    assert "Scores where you say." in result.output and "local|uv|virtualenv|conda" in result.output


SERVE_WITH_OPTION = """
import sys
import click
from mlcask.cli import models_serve
from mlcask.cli_env import env_manager_option

serve = click.command("serve")(env_manager_option(models_serve.callback))
serve.params = list(models_serve.params) + serve.params
group = click.Group("mlcask", commands={"models": click.Group("models", commands={"serve": serve})})
group(sys.argv[1:])
"""


@pytest.mark.slow
def test_serve_runs_in_the_environment_and_stops_with_its_parent(uv_env, old_sklearn_model, iris_classifier):  # noqa: F811
    import subprocess
    import urllib.request

    from tests.support import free_port

    X, model = iris_classifier
    port = free_port()
    parent = subprocess.Popen([sys.executable, "-c", SERVE_WITH_OPTION, "models", "serve", "-m",
                               str(old_sklearn_model), "--env-manager", "uv", "--port", str(port), "--no-batching"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while True:
            assert parent.poll() is None, parent.stderr.read()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "no /ping in 90 s"
                time.sleep(0.1)
        body = json.dumps({"dataframe_split": X.head(4).to_dict(orient="split")}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            assert json.loads(reply.read())["predictions"] == model.predict(X.head(4)).tolist()
        parent.send_signal(signal.SIGTERM)  # forwarded: the server in the environment shuts down
        assert parent.wait(timeout=30) in (0, 128 + signal.SIGTERM)
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1)
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        err = parent.stderr.read()
        parent.stderr.close()
    assert "Reused the model's uv environment" in err
