"""mlcask.deployments.run_local (MLflow's run_local) and ``mlcask deployments run-local``: the command it
runs from a deployment's config, its refusals, and a model served by it answering as the model predicts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from click.testing import CliRunner

from mlcask.cli_deployments import deployments
from mlcask.deployments.local import run_local, run_local_argv
from mlcask.exceptions import InvalidArgumentError
from tests.support import free_port


def test_argv_from_config():
    argv = run_local_argv("iris", "models:/iris/1", config={"port": 6001, "host": "0.0.0.0", "max_batch_size": "8",
                                                            "timeout": 5, "batching": False})
    assert argv[:3] == [sys.executable, "-m", "mlcask"]
    assert argv[3:] == ["models", "serve", "-m", "models:/iris/1", "--host", "0.0.0.0", "--port", "6001", "--name",
                        "iris", "--max-batch-size", "8", "--timeout", "5.0", "--no-batching"]
    assert run_local_argv("iris", "/m", "python_function", {"env_manager": "uv"})[-2:] == ["--env-manager", "uv"]
    assert "--env-manager" not in run_local_argv("iris", "/m", None, {"env_manager": "local"})


@pytest.mark.parametrize(("name", "flavor", "config", "match"), [
    ("iris", None, {"port": "http"}, "port='http': expected an integer from 1 to 65535"),
    ("iris", None, {"port": 70000}, "expected an integer from 1 to 65535"),
    ("iris", None, {"port": True}, "expected an integer"),
    ("iris", None, {"traffic": 50}, "traffic applies to a deployment of an endpoint"),
    ("iris", None, {"colour": "red"}, "Unknown deployment config key"),
    ("iris", None, {"env_manager": "conda"}, "conda environments are not supported"),
    ("iris", "sklearn", None, "python_function flavor"),
    ("no spaces", None, None, "Invalid deployment name"),
])
def test_refusals(name, flavor, config, match):
    with pytest.raises(InvalidArgumentError, match=match):
        run_local("mlcask", name, "models:/iris/1", flavor, config)


def test_cli_refusal():
    result = CliRunner().invoke(deployments, ["run-local", "--name", "iris", "-m", "/m", "-C", "port=http"])
    assert result.exit_code == 2 and "port='http'" in result.output


@pytest.mark.slow
def test_serves_the_model(tmp_path, iris_classifier):
    import mlcask

    X, model = iris_classifier
    folder = tmp_path / "iris"
    mlcask.sklearn.save_model(model, folder, input_example=X.head(2))
    port = free_port()
    code = (f"from mlcask.deployments.local import run_local; "
            f"run_local('mlcask', 'iris', {str(folder)!r}, config={{'port': {port}}})")
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        rows = X.iloc[[0, 60, 120]]
        answer = httpx.post(f"http://127.0.0.1:{port}/invocations", timeout=10,
                            json={"dataframe_split": rows.to_dict(orient="split", index=False)})
        assert answer.status_code == 200 and answer.json()["predictions"] == model.predict(rows).tolist()
        assert httpx.get(f"http://127.0.0.1:{port}/v2/models/iris", timeout=5).status_code == 200
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
