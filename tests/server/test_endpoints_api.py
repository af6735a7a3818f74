"""Managed endpoints on a real ``mlcask server``: the management REST API, scoring through an endpoint, the
traffic split, a killed worker restarted, an alias switch under load, and no worker left after shutdown.

One server per module (its workers are real ``mlcask models serve`` processes); two registered versions of
a LogisticRegression on iris, the second fitted on shifted labels so that its answers differ from the first's.
Every test but the auth rules' starts servers and workers: all are marked slow.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

import mlcask
from tests.server.conftest import launch
from tests.support import point_fluent_at, reset_fluent

MLCASK = "/api/2.0/mlcask"
ROOT = str(Path(__file__).resolve().parents[2])


def server_env(endpoints_dir: Path, **extra: str) -> dict[str, str]:
    # The server (and its workers) trust this session's signing key: same MLCASK_HOME.
    return {"MLCASK_HOME": os.environ["MLCASK_HOME"], "MLCASK_MODEL_CACHE": os.environ["MLCASK_MODEL_CACHE"],
            "MLCASK_ENDPOINTS_DIR": str(endpoints_dir), "MLCASK_ENDPOINTS_ALIAS_POLL_SECONDS": "0.5",
            "PYTHONPATH": ROOT, **extra}


@pytest.fixture(scope="module")
def models(iris_classifier):
    """(X, v1, v2): v2 predicts (v1's class + 1) % 3."""
    from sklearn.linear_model import LogisticRegression

    X, v1 = iris_classifier
    v2 = LogisticRegression(max_iter=300).fit(X, (v1.predict(X) + 1) % 3)
    return X, v1, v2


@pytest.fixture(scope="module")
def served(tmp_path_factory, models):
    X, v1, v2 = models
    folder = tmp_path_factory.mktemp("endpoints")
    server = launch(folder, env=server_env(folder / "endpoints-state"))
    server.endpoints_dir = folder / "endpoints-state"
    point_fluent_at(server.url)
    try:
        with mlcask.start_run():
            mlcask.sklearn.log_model(v1, name="v1", input_example=X.head(2), registered_model_name="clf")
            mlcask.sklearn.log_model(v2, name="v2", input_example=X.head(2), registered_model_name="clf")
        yield server
    finally:
        reset_fluent()
        server.stop()


def call(server, method, path, **kwargs) -> httpx.Response:
    return server.client.request(method, MLCASK + path, **kwargs)


def ok(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    return response.json()


def wait_ready(server, endpoint, name, timeout=60.0, restarts=None) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deployment = ok(call(server, "GET", "/deployments/get", params={"endpoint": endpoint, "name": name}))[
            "deployment"]
        if deployment["state"] == "ready" and (restarts is None or deployment["restarts"] >= restarts):
            return deployment
        time.sleep(0.1)
    raise AssertionError(f"{endpoint}/{name} not ready: {deployment}\n{server.log()[-3000:]}")


def payload(X, rows=5) -> dict:
    return {"dataframe_split": X.head(rows).to_dict(orient="split")}


@pytest.mark.slow
def test_create_list_get_delete_and_their_errors(served, models):
    X, v1, _ = models
    created = ok(call(served, "POST", "/endpoints/create", json={"name": "basic"}))["endpoint"]
    assert created["name"] == "basic" and created["url"] == "/endpoints/basic"
    assert created["traffic"] == {} and created["deployments"] == [] and created["created_at"] > 0
    assert set(created["metrics"]) == {"requests", "errors", "latency_ms_p50", "latency_ms_p99"}
    again = call(served, "POST", "/endpoints/create", json={"name": "basic"})
    assert again.status_code == 400 and "already exists" in again.json()["message"]
    # Scoring with no deployment: 503 saying why.
    empty = served.client.post("/endpoints/basic/invocations", json=payload(X))
    assert empty.status_code == 503 and "no deployment" in empty.json()["message"]

    deployment = ok(call(served, "POST", "/deployments/create", json={
        "endpoint": "basic", "name": "blue", "model_uri": "models:/clf/1"}))["deployment"]
    assert deployment["state"] in ("starting", "ready") and deployment["traffic"] == 100
    assert deployment["resolved_uri"] == "models:/clf/1" and deployment["env_manager"] == "local"
    names = [e["name"] for e in ok(call(served, "GET", "/endpoints/list"))["endpoints"]]
    assert "basic" in names
    listed = ok(call(served, "GET", "/deployments/list", params={"endpoint": "basic"}))["deployments"]
    assert [d["name"] for d in listed] == ["blue"]
    ready = wait_ready(served, "basic", "blue")
    assert ready["pid"] and ready["port"] and ready["health"]["consecutive_failures"] == 0

    answer = served.client.post("/endpoints/basic/invocations", json=payload(X))
    assert answer.status_code == 200, answer.text
    assert answer.headers["mlcask-deployment"] == "blue"
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["predictions"] == v1.predict(X.head(5)).tolist()
    assert served.client.get("/endpoints/basic/ping").status_code == 200
    assert served.client.get("/endpoints/basic/openapi.json").json()["openapi"].startswith("3.")
    v2_infer = served.client.post("/endpoints/basic/deployments/blue/invocations", json=payload(X, 1))
    assert v2_infer.status_code == 200 and v2_infer.headers["mlcask-deployment"] == "blue"
    many = X.sample(150_000, replace=True, random_state=0)  # answer over 256 KiB: streamed through
    big = served.client.post("/endpoints/basic/invocations",
                             json={"dataframe_split": many.to_dict(orient="split")})
    assert big.status_code == 200 and len(big.content) > 256 * 1024
    assert big.json()["predictions"] == v1.predict(many).tolist()
    bad_input = served.client.post("/endpoints/basic/invocations", json={"nonsense": 1})
    assert bad_input.status_code == 400  # the worker's own 400 comes through
    counted = ok(call(served, "GET", "/endpoints/get", params={"name": "basic"}))["endpoint"]["metrics"]
    assert counted["requests"] >= 5 and counted["latency_ms_p99"] >= counted["latency_ms_p50"] > 0

    ok(call(served, "POST", "/endpoints/delete", json={"name": "basic"}))
    assert call(served, "GET", "/endpoints/get", params={"name": "basic"}).status_code == 404
    gone = served.client.post("/endpoints/basic/invocations", json=payload(X))
    assert gone.status_code == 404 and "No endpoint named 'basic'" in gone.json()["message"]
    _wait_dead(ready["pid"])


def _wait_dead(pid: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            return  # a zombie: dead, not yet reaped
        time.sleep(0.05)
    raise AssertionError(f"worker pid {pid} still running")


def test_auth_rules_changing_is_for_admins_reading_and_scoring_by_the_default_permission():
    from mlcask.server.auth.rules import ADMIN_ONLY, Forbidden, find_rule
    from mlcask.server.auth.service import Identity
    from mlcask.server.auth.store import User

    none = frozenset()
    alice = Identity(User(2, "alice", "", False), "basic")
    admin = Identity(User(1, "admin", "", True), "basic")
    for path, method, admins_only in [
            ("/api/2.0/mlcask/deployments/create", "POST", True),
            ("/ajax-api/2.0/mlcask/endpoints/update", "POST", True),
            ("/api/2.0/mlcask/endpoints/delete", "POST", True), ("/api/2.0/mlcask/deployments/get", "GET", False),
            ("/api/2.0/mlcask/endpoints/list", "GET", False), ("/endpoints/e/invocations", "POST", False),
            ("/endpoints/e/v2/models/m/infer", "POST", False), ("/endpoints/e/deployments/d/ping", "GET", False)]:
        rule = find_rule(path, method, none, none, none)
        assert rule is not ADMIN_ONLY and not rule.reads_body and not rule.public, path
        if admins_only:
            rule.check(None, admin, None)
            with pytest.raises(Forbidden):
                rule.check(None, alice, None)
        # reading and scoring ask the server's default permission: tests/server/test_auth_e2e.py


@pytest.mark.slow
def test_bad_requests_are_400s_naming_the_problem(served):
    def message(method, path, expected_status=400, **kwargs) -> str:
        response = call(served, method, path, **kwargs)
        assert response.status_code == expected_status, response.text
        return response.json()["message"]

    assert "Unknown deployment config key(s) 'gpus'" in message("POST", "/deployments/create", json={
        "endpoint": "errs", "name": "d", "model_uri": "models:/clf/1", "config": {"gpus": 2}})
    assert "env_manager='conda'" in message("POST", "/deployments/create", json={
        "endpoint": "errs", "name": "d", "model_uri": "models:/clf/1", "config": {"env_manager": "conda"}})
    assert "Invalid endpoint name" in message("POST", "/endpoints/create", json={"name": "a b"})
    assert "Unknown endpoint config key(s) 'colour'" in message("POST", "/endpoints/create", json={
        "name": "errs", "config": {"colour": "red"}})
    assert "model_uri" in message("POST", "/deployments/create", json={"endpoint": "errs", "name": "d"})
    message("POST", "/deployments/create", 404, json={"endpoint": "errs", "name": "d",
                                                      "model_uri": "models:/no-such-model/1"})
    message("GET", "/endpoints/get", 404, params={"name": "nope"})
    message("GET", "/deployments/get", 404, params={"endpoint": "nope", "name": "d"})
    message("POST", "/endpoints/update", 404, json={"name": "nope", "config": {"traffic": {}}})
    ok(call(served, "POST", "/deployments/create", json={"endpoint": "errs", "name": "d",
                                                         "model_uri": "models:/clf/1"}))
    assert "must sum to 100, got 90" in message("POST", "/endpoints/update", json={
        "name": "errs", "config": {"traffic": {"d": 90}}})
    assert "no deployment named 'zz'" in message("POST", "/endpoints/update", json={
        "name": "errs", "config": {"traffic": {"d": 50, "zz": 50}}})
    assert "integer percentage" in message("POST", "/endpoints/update", json={
        "name": "errs", "config": {"traffic": {"d": "lots"}}})
    message("GET", "/deployments/get", 404, params={"endpoint": "errs", "name": "other"})
    unknown = served.client.post("/endpoints/errs/deployments/other/invocations", json={})
    assert unknown.status_code == 404 and "no deployment named 'other'" in unknown.json()["message"]
    assert served.client.get("/endpoints/errs/secret").status_code == 404
    ok(call(served, "POST", "/endpoints/delete", json={"name": "errs"}))


@pytest.mark.slow
def test_traffic_split_80_20_and_pinning(served, models):
    X, v1, v2 = models
    ok(call(served, "POST", "/deployments/create", json={"endpoint": "split", "name": "blue",
                                                         "model_uri": "models:/clf/1"}))
    green = ok(call(served, "POST", "/deployments/create", json={
        "endpoint": "split", "name": "green", "model_uri": "models:/clf/2", "config": {"traffic": 0}}))
    assert green["deployment"]["traffic"] == 0
    wait_ready(served, "split", "blue")
    wait_ready(served, "split", "green")
    endpoint = ok(call(served, "POST", "/endpoints/update", json={
        "name": "split", "config": {"traffic": {"blue": 80, "green": 20}}}))["endpoint"]
    assert endpoint["traffic"] == {"blue": 80, "green": 20}
    answered = {"blue": 0, "green": 0}
    expected = {"blue": v1.predict(X.head(1)).tolist(), "green": v2.predict(X.head(1)).tolist()}

    def send(count: int) -> list[tuple[str, list]]:
        with httpx.Client(base_url=served.url, timeout=30) as client:
            answers = [client.post("/endpoints/split/invocations", json=payload(X, 1)) for _ in range(count)]
        assert {a.status_code for a in answers} == {200}, [a.text for a in answers if a.status_code != 200]
        return [(a.headers["mlcask-deployment"], a.json()["predictions"]) for a in answers]

    with ThreadPoolExecutor(4) as pool:
        for batch in pool.map(send, [125] * 4):
            for name, predictions in batch:
                assert predictions == expected[name]
                answered[name] += 1
    # 500 draws at p=0.2: sd ~8.9; 4 sd either side.
    assert 64 <= answered["green"] <= 136, answered
    with httpx.Client(base_url=served.url, timeout=30) as client:
        for header in ("azureml-model-deployment", "mlcask-deployment"):
            pinned = [client.post("/endpoints/split/invocations", json=payload(X, 1),
                                  headers={header: "green"}).headers["mlcask-deployment"] for _ in range(20)]
            assert set(pinned) == {"green"}
    stats = ok(call(served, "GET", "/deployments/get", params={"endpoint": "split", "name": "green"}))
    assert stats["deployment"]["metrics"]["requests"] >= answered["green"] + 40
    ok(call(served, "POST", "/deployments/delete", json={"endpoint": "split", "name": "green"}))
    assert ok(call(served, "GET", "/endpoints/get", params={"name": "split"}))["endpoint"]["traffic"] == {
        "blue": 100}
    ok(call(served, "POST", "/endpoints/delete", json={"name": "split"}))


@pytest.mark.slow
def test_a_killed_worker_is_restarted(served, models):
    X, v1, _ = models
    ok(call(served, "POST", "/deployments/create", json={"endpoint": "phoenix", "name": "d",
                                                         "model_uri": "models:/clf/1"}))
    first = wait_ready(served, "phoenix", "d")
    assert first["restarts"] == 0
    os.kill(first["pid"], signal.SIGKILL)
    second = wait_ready(served, "phoenix", "d", restarts=1)
    assert second["pid"] != first["pid"] and second["restarts"] == 1
    answer = served.client.post("/endpoints/phoenix/invocations", json=payload(X))
    assert answer.status_code == 200 and answer.json()["predictions"] == v1.predict(X.head(5)).tolist()
    # deployments/update to another version: the new worker takes over once healthy, the old one stops.
    updated = ok(call(served, "POST", "/deployments/update", json={
        "endpoint": "phoenix", "name": "d", "model_uri": "models:/clf/2", "config": {"max_batch_size": 16}}))
    assert updated["deployment"]["model_uri"] == "models:/clf/2"
    assert updated["deployment"]["config"]["max_batch_size"] == 16
    deadline = time.monotonic() + 60
    while (current := wait_ready(served, "phoenix", "d"))["resolved_uri"] != "models:/clf/2":
        assert time.monotonic() < deadline, current
        time.sleep(0.1)
    answer = served.client.post("/endpoints/phoenix/invocations", json=payload(X))
    assert answer.json()["predictions"] == models[2].predict(X.head(5)).tolist()
    _wait_dead(second["pid"])
    ok(call(served, "POST", "/endpoints/delete", json={"name": "phoenix"}))


def _load(url: str, stop: threading.Event, results: list, X) -> None:
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            response = client.post("/endpoints/champ/invocations", json=payload(X, 1))
            results.append((response.status_code, response.json().get("predictions"),
                            response.headers.get("mlcask-deployment")))


@pytest.mark.slow
def test_alias_switch_under_load_fails_no_request(served, models):
    X, v1, v2 = models
    client = mlcask.MlcaskClient(served.url)
    client.set_registered_model_alias("clf", "champion", "1")
    created = ok(call(served, "POST", "/deployments/create", json={"endpoint": "champ", "name": "d",
                                                                   "model_uri": "models:/clf@champion"}))
    assert created["deployment"]["resolved_uri"] == "models:/clf/1"
    old = wait_ready(served, "champ", "d")
    stop, results = threading.Event(), []
    threads = [threading.Thread(target=_load, args=(served.url, stop, results, X)) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.5)
        client.set_registered_model_alias("clf", "champion", "2")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            deployment = ok(call(served, "GET", "/deployments/get", params={"endpoint": "champ", "name": "d"}))[
                "deployment"]
            if deployment["resolved_uri"] == "models:/clf/2" and deployment["state"] == "ready":
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"no switch: {deployment}")
        time.sleep(1.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
    assert deployment["pid"] != old["pid"]
    statuses = [status for status, _, _ in results]
    assert len(results) >= 200 and set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    first, last = v1.predict(X.head(1)).tolist(), v2.predict(X.head(1)).tolist()
    assert results[0][1] == first and results[-1][1] == last
    assert first in [r[1] for r in results] and last in [r[1] for r in results]
    _wait_dead(old["pid"])
    ok(call(served, "POST", "/endpoints/delete", json={"name": "champ"}))


@pytest.mark.slow
def test_shutdown_leaves_no_worker_and_a_restart_restores_the_endpoint(tmp_path, models):
    X, v1, _ = models
    folder = tmp_path / "model"
    mlcask.sklearn.save_model(v1, folder, input_example=X.head(2))
    pids = []
    for attempt in range(2):
        server = launch(tmp_path / f"srv{attempt}", env=server_env(tmp_path / "state"))
        try:
            if attempt == 0:
                ok(call(server, "POST", "/deployments/create", json={"endpoint": "e", "name": "d",
                                                                     "model_uri": str(folder)}))
            pids.append(wait_ready(server, "e", "d")["pid"])  # the second server restored it
            answer = server.client.post("/endpoints/e/invocations", json=payload(X))
            assert answer.json()["predictions"] == v1.predict(X.head(5)).tolist()
        finally:
            server.stop()
        _wait_dead(pids[-1], timeout=10)
    assert pids[0] != pids[1]


@pytest.mark.slow
def test_two_server_processes_share_one_set_of_workers(tmp_path, models):
    X, v1, _ = models
    folder = tmp_path / "model"
    mlcask.sklearn.save_model(v1, folder, input_example=X.head(2))
    server = launch(tmp_path / "srv", env=server_env(tmp_path / "state"), args=["--workers", "2"])
    try:
        # Each call on a new connection: the two processes take turns at random.
        def fresh(method, path, **kwargs) -> httpx.Response:
            with httpx.Client(base_url=server.url, timeout=30) as client:
                return client.request(method, path, **kwargs)

        ok(fresh("POST", f"{MLCASK}/deployments/create", json={"endpoint": "e", "name": "d",
                                                               "model_uri": str(folder)}))
        deadline, seen = time.monotonic() + 60, set()
        while time.monotonic() < deadline:
            deployment = ok(fresh("GET", f"{MLCASK}/deployments/get", params={"endpoint": "e", "name": "d"}))[
                "deployment"]
            if deployment["state"] == "ready":
                seen.add(deployment["pid"])
                if len(seen) == 1 and len([1 for _ in range(6) if ok(fresh(
                        "GET", f"{MLCASK}/deployments/get", params={"endpoint": "e", "name": "d"}))[
                        "deployment"]["state"] == "ready"]) == 6:
                    break
            time.sleep(0.1)
        else:
            raise AssertionError(f"not ready in every process: {deployment}\n{server.log()[-3000:]}")
        answers = [fresh("POST", "/endpoints/e/invocations", json=payload(X)) for _ in range(40)]
        assert {a.status_code for a in answers} == {200}, [a.text for a in answers if a.status_code != 200]
        assert all(a.json()["predictions"] == v1.predict(X.head(5)).tolist() for a in answers)
        pids = {ok(fresh("GET", f"{MLCASK}/deployments/get", params={"endpoint": "e", "name": "d"}))[
            "deployment"]["pid"] for _ in range(10)}
        assert pids == seen  # one worker, whichever process answers
        time.sleep(1.5)  # each process publishes its counts about once a second
        counts = {ok(fresh("GET", f"{MLCASK}/endpoints/get", params={"name": "e"}))["endpoint"]["metrics"][
            "requests"] for _ in range(6)}
        assert counts == {40}  # both processes' requests, whichever answers
        ok(fresh("POST", f"{MLCASK}/endpoints/delete", json={"name": "e"}))
        time.sleep(0.6)  # the other process reads the definitions again within 0.2 s
        assert {fresh("POST", "/endpoints/e/invocations", json=payload(X)).status_code for _ in range(10)} == {404}
        _wait_dead(pids.pop())
    finally:
        server.stop()


@pytest.mark.slow
def test_an_alias_set_through_the_server_switches_without_waiting_for_the_poll(tmp_path, models):
    X, v1, v2 = models
    server = launch(tmp_path / "srv", env=server_env(tmp_path / "state", MLCASK_ENDPOINTS_ALIAS_POLL_SECONDS="3600"))
    point_fluent_at(server.url)
    try:
        with mlcask.start_run():
            mlcask.sklearn.log_model(v1, name="v1", input_example=X.head(2), registered_model_name="fast")
            mlcask.sklearn.log_model(v2, name="v2", input_example=X.head(2), registered_model_name="fast")
        client = mlcask.MlcaskClient(server.url)
        client.set_registered_model_alias("fast", "champion", "1")
        ok(call(server, "POST", "/deployments/create", json={"endpoint": "e", "name": "d",
                                                             "model_uri": "models:/fast@champion"}))
        wait_ready(server, "e", "d")
        client.set_registered_model_alias("fast", "champion", "2")  # an hour before the next poll
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            answer = server.client.post("/endpoints/e/invocations", json=payload(X, 1))
            if answer.json()["predictions"] == v2.predict(X.head(1)).tolist():
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"the alias move was not followed: {server.log()[-3000:]}")
    finally:
        reset_fluent()
        server.stop()


@pytest.mark.slow
def test_a_deployment_runs_in_the_models_own_uv_environment(tmp_path, models):
    from tests.environments.conftest import OLD_PINS  # scikit-learn 1.5.2, older than the one installed

    X, v1, _ = models
    folder = tmp_path / "model"
    mlcask.sklearn.save_model(v1, folder, input_example=X.head(2), pip_requirements=OLD_PINS)
    server = launch(tmp_path / "srv", env=server_env(tmp_path / "state"))
    try:
        ok(call(server, "POST", "/deployments/create", json={"endpoint": "e", "name": "d", "model_uri": str(folder),
                                                             "config": {"env_manager": "uv"}}))
        deployment = wait_ready(server, "e", "d", timeout=300)
        assert deployment["env_manager"] == "uv"
        python = Path(f"/proc/{deployment['pid']}/cmdline").read_bytes().split(b"\0")[0].decode()
        assert Path(python).is_relative_to(Path(os.environ["MLCASK_HOME"]) / "envs"), python
        version = subprocess.run([python, "-I", "-c", "import sklearn; print(sklearn.__version__)"],
                                 capture_output=True, text=True, timeout=120).stdout.strip()
        assert version == "1.5.2"
        answer = server.client.post("/endpoints/e/invocations", json=payload(X))
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == v1.predict(X.head(5)).tolist()
    finally:
        server.stop()
