"""mlcask's model-view endpoints on a real ``mlcask server``: model details (signature, environment,
integrity, input example) and scoring a model version in the server's worker process."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

import mlcask
from tests.server.conftest import launch
from tests.support import Doubler, point_fluent_at, reset_fluent

MLCASK = "/api/2.0/mlcask"
ROOT = str(Path(__file__).resolve().parents[2])


def server_env(**extra: str) -> dict[str, str]:
    # The server trusts this session's signing key (same MLCASK_HOME); its download cache is the session's.
    return {"MLCASK_HOME": os.environ["MLCASK_HOME"], "MLCASK_MODEL_CACHE": os.environ["MLCASK_MODEL_CACHE"],
            "PYTHONPATH": ROOT, **extra}


@pytest.fixture(scope="module")
def served(tmp_path_factory, iris_classifier):
    """A server with iris registered twice (v1 to score, a copy to tamper with) and an unsigned pickle."""
    X, model = iris_classifier
    server = launch(tmp_path_factory.mktemp("model-views"), env=server_env())
    point_fluent_at(server.url)
    try:
        with mlcask.start_run() as run:
            info = mlcask.sklearn.log_model(model, name="model", input_example=X.head(3),
                                            registered_model_name="iris")
            mlcask.sklearn.log_model(model, name="copy", input_example=X.head(2), registered_model_name="tampered")
            os.environ["MLCASK_SIGNING"] = "0"
            try:
                mlcask.pyfunc.log_model(name="doubler", python_model=Doubler(), registered_model_name="doubler")
            finally:
                os.environ.pop("MLCASK_SIGNING")
        server.run_id, server.model_id = run.info.run_id, info.model_id
        yield server
    finally:
        reset_fluent()
        server.stop()


def details(server, name, version="1"):
    return server.client.get(f"{MLCASK}/model-versions/details", params={"name": name, "version": version})


def score(server, name, request, version="1"):
    return server.client.post(f"{MLCASK}/model-versions/score",
                              json={"name": name, "version": version, "request": request})


def test_model_version_details(served):
    from mlcask.models.signing import local_key

    answer = details(served, "iris")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body["flavors"]) == {"python_function", "sklearn"}
    signature = body["signature"]
    assert signature["inputs_kind"] == "columns"
    assert [spec["name"] for spec in signature["inputs"]] == list(served_columns())
    assert all(spec["type"] == "double" for spec in signature["inputs"])
    assert signature["outputs"][0]["type"] == "long" and signature["params"] is None  # MLflow infers [long]
    assert body["input_example"]["dataframe_split"]["columns"] == list(served_columns())
    assert len(body["input_example"]["dataframe_split"]["data"]) == 3
    env = body["environment"]
    assert any(line.startswith("scikit-learn==") for line in env["requirements"])
    assert env["python"].count(".") == 2 and env["build_dependencies"] and "dependencies:" in env["conda"]
    integrity = body["integrity"]
    assert integrity["status"] == "verified" and integrity["trusted"] is True
    assert integrity["signed_by"] == local_key().key_id and integrity["files_checked"] >= 5
    assert body["size_bytes"] > 1000 and body["files"] >= 6 and body["mlflow_version"].startswith("3.")
    assert body["utc_time_created"] and body["run_id"] == served.run_id


def served_columns():
    return ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


def test_logged_model_details_and_errors(served):
    answer = served.client.get(f"{MLCASK}/logged-models/details", params={"model_id": served.model_id})
    assert answer.status_code == 200 and answer.json()["integrity"]["status"] == "verified"
    assert answer.json()["model_id"] == served.model_id
    assert served.client.get(f"{MLCASK}/logged-models/details", params={"model_id": "m-nope"}).status_code == 404
    assert details(served, "iris", "9").status_code == 404
    assert details(served, "no-such-model").status_code == 404
    assert served.client.get(f"{MLCASK}/model-versions/details", params={"name": "iris"}).status_code == 400
    # A logged model whose folder holds no MLmodel (never uploaded): a clear 400.
    empty = served.api("POST", "/logged-models", json={"experiment_id": "0", "name": "empty"}).json()["model"]["info"]
    refused = served.client.get(f"{MLCASK}/logged-models/details", params={"model_id": empty["model_id"]})
    assert refused.status_code == 400 and "no MLmodel file" in refused.json()["message"]


def test_the_ajax_twin_answers_too(served):
    answer = served.client.get("/ajax-api/2.0/mlcask/model-versions/details", params={"name": "iris", "version": "1"})
    assert answer.status_code == 200 and answer.json()["name"] == "iris"


def test_score_a_model_version(served, iris_classifier):
    X, model = iris_classifier
    example = details(served, "iris").json()["input_example"]
    answer = score(served, "iris", example)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["predictions"] == model.predict(X.head(3)).tolist()
    assert body["latency_ms"] > 0 and body["model"] == {"name": "iris", "version": "1"}
    records = [dict(zip(served_columns(), X.iloc[i].tolist())) for i in (50, 149)]
    again = score(served, "iris", {"dataframe_records": records}).json()
    assert again["predictions"] == model.predict(X.iloc[[50, 149]]).tolist() and again["from_cache"] is True


def test_bad_input_is_a_400_never_a_500(served):
    missing = score(served, "iris", {"dataframe_records": [{"sepal length (cm)": 1.0}]})
    assert missing.status_code == 400 and "missing required input columns" in missing.json()["message"]
    text = score(served, "iris", {"dataframe_split": {"columns": served_columns(), "data": [["x", 1, 2, 3]]}})
    assert text.status_code == 400 and "sepal length (cm)" in text.json()["message"]
    shape = score(served, "iris", {"rows": [1, 2]})
    assert shape.status_code == 400
    not_object = score(served, "iris", [1, 2, 3])
    assert not_object.status_code == 400 and "JSON object" in not_object.json()["message"]
    assert served.client.post(f"{MLCASK}/model-versions/score", json={"name": "iris"}).status_code == 400
    assert score(served, "iris", {"inputs": [[1, 2, 3, 4]]}, version="5").status_code == 404


def test_an_untrusted_pickle_is_refused_with_how_to_allow_it(served):
    assert details(served, "doubler").json()["integrity"]["status"] == "unsigned"
    refused = score(served, "doubler", {"inputs": [[1.0, 2.0]]})
    assert refused.status_code == 403, refused.text
    message = refused.json()["message"]
    assert "can run arbitrary code" in message and "--allow-pickle" in message and "MLCASK_ALLOW_PICKLE=1" in message


def test_a_tampered_model_fails_its_integrity_check_and_is_not_scored(served):
    uri = details(served, "tampered").json()["artifact_uri"]
    folder = served.folder / "artifacts" / uri.removeprefix("mlflow-artifacts:/")
    requirements = folder / "requirements.txt"
    requirements.write_text(requirements.read_text().rstrip("\n") + "\nevil-package==6.6.6\n")
    body = details(served, "tampered").json()
    assert body["integrity"]["status"] == "failed"
    assert "changed file 'requirements.txt'" in body["integrity"]["reason"]
    assert "evil-package==6.6.6" in body["environment"]["requirements"]
    refused = score(served, "tampered", {"dataframe_split": {"columns": served_columns(), "data": [[1, 2, 3, 4]]}})
    assert refused.status_code == 400 and "integrity manifest" in refused.json()["message"]


def worker_pids(server) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if parent == server.process.pid and b"mlcask.server.scoring_worker" in command:
            pids.append(int(entry))
    return pids


def test_scoring_runs_in_a_worker_process_restarted_when_it_dies(served, iris_classifier):
    X, model = iris_classifier
    request = {"dataframe_split": {"columns": served_columns(), "data": [X.iloc[100].tolist()]}}
    assert score(served, "iris", request).status_code == 200
    [pid] = worker_pids(served)
    os.kill(pid, 9)
    time.sleep(0.2)
    answer = score(served, "iris", request)
    assert answer.status_code == 200 and answer.json()["predictions"] == model.predict(X.iloc[[100]]).tolist()
    [new_pid] = worker_pids(served)
    assert new_pid != pid


def test_concurrent_scores(served, iris_classifier):
    X, model = iris_classifier
    expected = model.predict(X).tolist()
    outcomes = []

    def client(start: int) -> None:
        for i in range(start, 150, 30):
            answer = score(served, "iris", {"dataframe_split": {"columns": served_columns(),
                                                                "data": [X.iloc[i].tolist()]}})
            outcomes.append(answer.status_code == 200 and answer.json()["predictions"] == [expected[i]])

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(outcomes) == 30 and all(outcomes)


def test_allow_pickle_server_scores_the_pickle_and_stops_its_worker(tmp_path, iris_classifier):
    # --allow-pickle sets MLCASK_ALLOW_PICKLE=1 for the server, which its scoring workers inherit.
    server = launch(tmp_path / "allowing", args=["--allow-pickle"],
                    env=server_env(MLCASK_HOME=str(tmp_path / "other-home")))
    point_fluent_at(server.url)
    try:
        with mlcask.start_run():
            mlcask.pyfunc.log_model(name="doubler", python_model=Doubler(), registered_model_name="doubler")
        # Signed with this session's key, which this server (another mlcask home) does not trust.
        assert details(server, "doubler").json()["integrity"]["status"] == "signed_untrusted"
        answer = score(server, "doubler", {"inputs": [[1.0, 2.5]]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"] == [[2.0, 5.0]]
        [pid] = worker_pids(server)
    finally:
        reset_fluent()
        server.stop()
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{pid}")
