"""``mlcask deployments``: -C and --traffic parsing, and the refusals found before any request
(tests/deployments/test_client_server.py runs the commands against a real mlcask server)."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from mlcask.cli_deployments import deployments, parse_config, parse_traffic
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
