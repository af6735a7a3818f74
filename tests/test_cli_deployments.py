"""``mlcask deployments``: -C and --traffic parsing, the refusals found before any request, and the
whole cycle against a real ``mlcask server`` (create-endpoint, create, predict, update-endpoint, list,
get, delete) with MLflow's messages."""

from __future__ import annotations

import json
import os
import signal

import click
import pytest
from click.testing import CliRunner

from mlcask.cli_deployments import deployments, parse_config, parse_traffic
from tests.deployments.test_client import _gone, register_models, server_env
from tests.support import free_port


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(deployments, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_config_values_are_json_when_they_parse():
    config = parse_config(["env_manager=uv", "traffic=10", "timeout=2.5", "batching=false", "x=", "y=null",
                           "split={\"a\": 90, \"b\": 10}", "expr=a=b", "quoted=\"10\""])
    assert config == {"env_manager": "uv", "traffic": 10, "timeout": 2.5, "batching": False, "x": "", "y": None,
                      "split": {"a": 90, "b": 10}, "expr": "a=b", "quoted": "10"}


@pytest.mark.parametrize(("pairs", "match"), [(["env_manager"], "expected NAME=VALUE"), (["=uv"], "NAME=VALUE"),
                                              (["a=1", "a=2"], "'a' is given twice")])
def test_config_refusals(pairs, match):
    with pytest.raises(click.BadParameter, match=match):
        parse_config(pairs)


def test_traffic():
    assert parse_traffic(["blue=90", "green=10%"]) == {"blue": 90, "green": 10}
    for pairs, match in [(["blue"], "DEPLOYMENT=PERCENT"), (["blue=ninety"], "an integer"),
                         (["blue=101"], "from 0 to 100"), (["blue=1", "blue=2"], "given twice")]:
        with pytest.raises(click.BadParameter, match=match):
            parse_traffic(pairs)


def test_bad_config_is_a_usage_error():
    code, out = invoke("create", "-t", "http://127.0.0.1:1", "--name", "blue", "-m", "models:/m/1",
                       "-C", "env_manager")
    assert code == 2 and "Invalid value for '-C' / '--config'" in out and "expected NAME=VALUE" in out


def test_target_that_is_not_http(tracking_state):
    code, out = invoke("list", "-t", "sqlite:///x.db")
    assert code == 2 and "Invalid value for '-t' / '--target'" in out and "not an http(s):// server URL" in out
    code, out = invoke("list-endpoints", env={"MLFLOW_TRACKING_URI": "sqlite:///t.db", "MLCASK_TRACKING_URI": "",
                                              "MLFLOW_DEPLOYMENTS_TARGET": ""})
    assert code == 2 and "the tracking URI is 'sqlite:///t.db'" in out


def test_refusals_before_any_request():
    target = ["-t", "http://127.0.0.1:1"]
    code, out = invoke("predict", *target, "-I", __file__)
    assert code == 2 and "Give --endpoint" in out
    code, out = invoke("update-endpoint", *target, "--endpoint", "e", "--traffic", "a=100", "-C",
                       "traffic={\"a\": 100}")
    assert code == 2 and "given twice, by --traffic and by -C traffic" in out
    code, out = invoke("update-endpoint", *target, "--endpoint", "e")
    assert code == 2 and "Nothing to update" in out
    code, out = invoke("update", *target, "--name", "blue")
    assert code == 2 and "Nothing to update" in out
    code, out = invoke("create", *target, "--name", "blue")
    assert code == 2 and "Missing option '--model-uri'" in out


def test_bad_input_file(tmp_path):
    bad = tmp_path / "in.json"
    bad.write_text("{not json")
    code, out = invoke("predict", "-t", "http://127.0.0.1:1", "--endpoint", "e", "-I", str(bad))
    assert code == 2 and "Invalid value for '-I' / '--input-path'" in out and "is not valid JSON" in out


def test_server_not_there_is_one_line():
    port = free_port()
    code, out = invoke("list-endpoints", "-t", f"http://127.0.0.1:{port}",
                       env={"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"})
    assert code == 1 and out.startswith("Error: ") and "Traceback" not in out and f"127.0.0.1:{port}" in out


def test_help():
    code, out = invoke("help")
    assert code == 0 and "mlcask:/http://host:port" in out and "env_manager=local|uv|virtualenv" in out
    code, out = invoke("--help")
    for command in ("create", "update", "delete", "list", "get", "predict", "explain", "create-endpoint",
                    "update-endpoint", "delete-endpoint", "list-endpoints", "get-endpoint", "help"):
        assert f"  {command} " in out or f"  {command}\n" in out, command
    code, out = invoke("predict", "--help")
    for option in ("-t, --target", "--name", "--endpoint", "-I, --input-path", "-O, --output-path"):
        assert option in out
    code, out = invoke("create", "--help")
    for option in ("-t, --target", "--name", "-m, --model-uri", "-f, --flavor", "-C, --config", "--endpoint"):
        assert option in out


# -- against a real mlcask server ----------------------------------------------------------------
@pytest.fixture(scope="module")
def cli_server(tmp_path_factory, iris_classifier):
    from sklearn.datasets import load_iris

    from tests.server.conftest import launch

    X, model = iris_classifier
    folder = tmp_path_factory.mktemp("deployments-cli")
    server = launch(folder, env=server_env(folder))
    server.workers = set()
    try:
        server.models = register_models(server.url, X, load_iris(as_frame=True).target, model)
        yield server
    finally:
        server.stop()
        left = _gone(server.workers)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert not left, f"workers {left} outlived the server"


@pytest.mark.slow
def test_cycle(cli_server, iris_classifier, tmp_path):
    from mlcask.deployments.client import get_deploy_client

    X, _ = iris_classifier
    v1, _ = cli_server.models
    rows = X.iloc[[0, 60, 120]]
    target = ["-t", cli_server.url]
    code, out = invoke("create-endpoint", *target, "--endpoint", "cli")
    assert (code, out) == (0, "\nEndpoint cli is created\n")
    code, out = invoke("create", *target, "--name", "blue", "-m", "models:/iris/1", "--endpoint", "cli",
                       "-C", "env_manager=local", "-C", "max_batch_size=8")
    assert code == 0, out
    assert out.startswith("\npython_function deployment blue is created\n")
    assert f"{cli_server.url}/endpoints/cli/invocations" in out
    deployment = get_deploy_client(cli_server.url).get_deployment("blue", endpoint="cli")
    cli_server.workers.add(deployment["pid"])
    assert deployment["config"]["max_batch_size"] == 8  # -C values are JSON when they parse

    records = tmp_path / "records.json"
    records.write_text(rows.to_json(orient="records"))
    code, out = invoke("predict", *target, "--endpoint", "cli", "-I", str(records))
    assert code == 0 and json.loads(out) == {"predictions": v1.predict(rows).tolist()}
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}))
    written = tmp_path / "out.json"
    code, out = invoke("predict", *target, "--name", "blue", "-I", str(payload), "-O", str(written))
    assert code == 0 and out == "" and json.loads(written.read_text())["predictions"] == v1.predict(rows).tolist()

    code, out = invoke("list", *target)
    lines = out.splitlines()
    assert code == 0 and lines[0] == "List of all deployments:" and lines[1].split()[:3] == ["NAME", "ENDPOINT",
                                                                                            "STATE"]
    assert lines[3].split()[:5] == ["blue", "cli", "ready", "100%", "models:/iris/1"]
    code, out = invoke("get", *target, "--name", "blue")
    assert code == 0 and "state: ready\n" in out and "model_uri: models:/iris/1\n" in out and "endpoint: cli\n" in out
    code, out = invoke("get", *target, "--name", "blue", "--output", "json")
    assert code == 0 and json.loads(out)["name"] == "blue"

    code, out = invoke("update-endpoint", *target, "--endpoint", "cli", "--traffic", "blue=100")
    assert code == 0 and out == "\nEndpoint cli is updated\nTraffic: blue=100%\n"
    code, out = invoke("update-endpoint", *target, "--endpoint", "cli", "--traffic", "blue=60")
    assert code == 2 and "must sum to 100" in out
    code, out = invoke("list-endpoints", *target)
    assert code == 0 and out.splitlines()[0] == "List of all endpoints:" and "/endpoints/cli" in out
    assert "blue=100%" in out
    code, out = invoke("get-endpoint", *target, "--endpoint", "cli")
    assert code == 0 and "name: cli\n" in out and 'deployments: ["blue"]\n' in out
    code, out = invoke("update", *target, "--name", "blue", "-C", "traffic=100")
    assert code == 0 and out == "Deployment blue is updated (with flavor python_function)\n"

    code, out = invoke("delete", *target, "--name", "blue")
    assert (code, out) == (0, "Deployment blue is deleted\n")
    code, out = invoke("delete-endpoint", *target, "--endpoint", "cli")
    assert (code, out) == (0, "\nEndpoint cli is deleted\n")
    assert not _gone({deployment["pid"]})


@pytest.mark.slow
def test_errors_and_the_tracking_target(cli_server, tracking_state, tmp_path):
    env = {"MLFLOW_TRACKING_URI": cli_server.url, "MLCASK_TRACKING_URI": "", "MLFLOW_DEPLOYMENTS_TARGET": ""}
    code, out = invoke("list-endpoints", env=env)  # no --target: the tracking server
    assert code == 0 and out.startswith("List of all endpoints:")
    code, out = invoke("get", "--name", "nope", env=env)
    assert code == 2 and f"No deployment named 'nope' on the server at {cli_server.url}" in out
    code, out = invoke("get-endpoint", "--endpoint", "nope", env=env)
    assert code == 2 and "No endpoint named 'nope'" in out
    code, out = invoke("create", "--name", "red", "-m", "models:/iris/1", "-C", "colour=red", env=env)
    assert code == 2 and "Unknown deployment config key(s) 'colour'" in out
    code, out = invoke("create", "--name", "red", "-m", "models:/iris/1", "-C", "traffic=lots", env=env)
    assert code == 2 and "Invalid deployment config traffic='lots'" in out
    code, out = invoke("explain", "--endpoint", "nope", "-I", __file__, env=env)
    assert code == 2 and "is not valid JSON" in out
    rows = tmp_path / "rows.json"
    rows.write_text('[{"a": 1}]')
    code, out = invoke("explain", "--endpoint", "nope", "-I", str(rows), env=env)
    assert code == 1 and "do not explain predictions" in out and "Traceback" not in out
