"""Managed endpoints' definitions: names, deployment config, traffic splits, and their persistence."""

from __future__ import annotations

import json
import random
import threading

import pytest

from mlcask.deployments.endpoints import DeploymentSpec, EndpointSpec, check_deployment_config, check_name
from mlcask.deployments.state import DefinitionStore, RuntimeFile, SupervisorLock
from mlcask.deployments.traffic import check_traffic, choose, with_deployment, without_deployment
from mlcask.exceptions import InvalidArgumentError


@pytest.mark.parametrize("name", ["a", "blue-2", "v1.0_x", "A" * 64])
def test_good_names(name):
    assert check_name(name, "deployment name") == name


@pytest.mark.parametrize("name", ["", "-x", "a b", "a/b", "A" * 65, "é", None, 3])
def test_bad_names_say_what_is_expected(name):
    with pytest.raises(InvalidArgumentError, match="Invalid deployment name .*expected 1-64 characters"):
        check_name(name, "deployment name")


def test_deployment_config_is_checked_and_converted():
    assert check_deployment_config(None) == {}
    config = check_deployment_config({"env_manager": "uv", "traffic": "20", "max_batch_size": "8",
                                      "timeout": 2, "batching": "false", "max_wait_ms": None})
    assert config == {"env_manager": "uv", "traffic": 20, "max_batch_size": 8, "timeout": 2.0, "batching": False}
    spec = DeploymentSpec("d", "e", "models:/m/1", config={k: v for k, v in config.items() if k != "traffic"})
    assert spec.env_manager == "uv"
    assert spec.serve_options() == ["--max-batch-size", "8", "--timeout", "2.0", "--no-batching"]


@pytest.mark.parametrize("config, problem", [
    ({"gpus": 1, "zones": 2}, r"Unknown deployment config key\(s\) 'gpus', 'zones': the known keys are env_manager"),
    ({"env_manager": "conda"}, "env_manager='conda': expected one of local, uv, virtualenv .conda"),
    ({"traffic": 101}, "traffic=101: expected an integer percentage"),
    ({"traffic": 2.5}, "traffic=2.5"),
    ({"max_batch_size": 0}, "max_batch_size=0: expected a positive integer"),
    ({"timeout": "soon"}, "timeout='soon'"),
    ({"batching": "maybe"}, "batching='maybe': expected true or false"),
    ([1], "expected an object, got list"),
])
def test_bad_deployment_config_names_the_key(config, problem):
    with pytest.raises(InvalidArgumentError, match=problem):
        check_deployment_config(config)


def test_traffic_must_be_whole_and_known():
    assert check_traffic({"a": 80, "b": 20}, ["a", "b"], "e") == {"a": 80, "b": 20}
    assert check_traffic({"a": 100}, ["a", "b"], "e") == {"a": 100, "b": 0}
    assert check_traffic({}, [], "e") == {}
    with pytest.raises(InvalidArgumentError, match="must sum to 100, got 90 .a=80, b=10."):
        check_traffic({"a": 80, "b": 10}, ["a", "b"], "e")
    with pytest.raises(InvalidArgumentError, match="no deployment named 'c' .its deployments: a, b."):
        check_traffic({"c": 100}, ["a", "b"], "e")
    with pytest.raises(InvalidArgumentError, match="deployment 'a' of endpoint 'e': expected an integer"):
        check_traffic({"a": -5, "b": 105}, ["a", "b"], "e")
    with pytest.raises(InvalidArgumentError, match="expected an object"):
        check_traffic([("a", 100)], ["a"], "e")


def test_traffic_stays_whole_as_deployments_come_and_go():
    first = with_deployment({}, "blue", None)
    assert first == {"blue": 100}
    assert with_deployment(first, "green", None) == {"blue": 100, "green": 0}  # blue/green: shift later
    canary = with_deployment(first, "green", 10)
    assert canary == {"blue": 90, "green": 10}
    three = with_deployment({"a": 50, "b": 50}, "c", 33)
    assert three["c"] == 33 and sum(three.values()) == 100 and abs(three["a"] - three["b"]) <= 1
    assert without_deployment({"a": 60, "b": 30, "c": 10}, "a") == {"b": 75, "c": 25}
    assert without_deployment({"a": 100, "b": 0, "c": 0}, "a") == {"b": 50, "c": 50}
    assert without_deployment({"a": 100}, "a") == {}


def test_choice_follows_the_weights_among_available_deployments():
    rng = random.Random(7)
    picks = [choose({"a": 80, "b": 20, "c": 0}, {"a", "b", "c"}, rng) for _ in range(10_000)]
    assert picks.count("c") == 0
    assert 0.18 < picks.count("b") / len(picks) < 0.22
    assert choose({"a": 80, "b": 20}, {"a"}, rng) == "a"  # b is not ready: a takes everything
    assert choose({"a": 80, "b": 20}, set(), rng) is None
    assert choose({"a": 0}, {"a"}, rng) is None


def test_definitions_round_trip_and_edits_are_atomic(tmp_path):
    store = DefinitionStore(tmp_path / "endpoints")
    assert store.load() == {} and store.stamp() is None
    with store.edit() as defs:
        deployment = DeploymentSpec("d", "e", "models:/m@champion", config={"env_manager": "uv"})
        defs["e"] = EndpointSpec("e", traffic={"d": 100}, deployments={"d": deployment})
    loaded = store.load()
    assert loaded["e"].deployments["d"] == deployment and loaded["e"].traffic == {"d": 100}
    assert json.loads(store.path.read_text())["format"] == 1
    before = store.stamp()
    with pytest.raises(RuntimeError):
        with store.edit() as defs:
            defs.clear()
            raise RuntimeError("half-done")
    assert store.stamp() == before and "e" in store.load()  # a failed edit saves nothing

    def add(index: int) -> None:
        with store.edit() as defs:
            defs[f"x{index}"] = EndpointSpec(f"x{index}")

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(store.load()) == {"e", *(f"x{i}" for i in range(8))}  # no edit lost
    assert [p.name for p in store.folder.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_unreadable_definitions_say_which_file(tmp_path):
    store = DefinitionStore(tmp_path)
    store.path.write_text("{nope")
    with pytest.raises(ValueError, match="endpoints.json' are not valid JSON"):
        store.load()


def test_runtime_file_and_supervisor_lock(tmp_path):
    runtime = RuntimeFile(tmp_path)
    assert runtime.read() == {}
    runtime.write({"endpoints": {"e": {"d": {"port": 1}}}})
    assert RuntimeFile(tmp_path).read()["endpoints"]["e"]["d"]["port"] == 1
    first, second = SupervisorLock(tmp_path), SupervisorLock(tmp_path)
    assert first.try_acquire() and first.held
    assert not second.try_acquire()  # flock: another open file description is refused
    first.release()
    assert second.try_acquire()
    second.release()
