"""The web UI's scoring worker pool (mlcask.server.scoring_worker): scores in a separate process,
caches models LRU within a memory budget, survives a crash and a timeout, serves threads at once."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import numpy as np
import pytest

import mlcask
from mlcask.server.scoring_worker import ScoringError, ScoringPool

COLUMNS = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]


class Crasher(mlcask.pyfunc.PythonModel):
    """Returns its input; kills its own process on a negative value, sleeps on a value over 100."""

    def predict(self, context, model_input, params=None):
        values = np.asarray(model_input, dtype=float)
        if (values < 0).any():
            os.kill(os.getpid(), signal.SIGKILL)
        if (values > 100).any():
            time.sleep(30)
        return values


@pytest.fixture(scope="module")
def iris_folder(iris_classifier, tmp_path_factory):
    X, model = iris_classifier
    folder = tmp_path_factory.mktemp("models") / "iris"
    mlcask.sklearn.save_model(model, str(folder), input_example=X.head(3))
    return folder


def split(rows):
    return {"dataframe_split": {"columns": COLUMNS, "data": rows}}


@pytest.fixture
def pool():
    pools = []

    def make(**options):
        pools.append(ScoringPool(**options))
        return pools[-1]

    yield make
    for item in pools:
        item.close()


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_scores_in_another_process_and_caches_the_model(pool, iris_classifier, iris_folder):
    X, model = iris_classifier
    scoring = pool(workers=1)
    assert scoring.worker_pids() == []  # started lazily
    rows = X.iloc[[0, 60, 120]].values.tolist()
    first = scoring.score("iris@1", iris_folder, split(rows))
    assert first["predictions"] == model.predict(X.iloc[[0, 60, 120]]).tolist()
    assert first["from_cache"] is False and first["load_ms"] > 0
    [pid] = scoring.worker_pids()
    assert pid != os.getpid() and alive(pid)
    again = scoring.score("iris@1", iris_folder, {"dataframe_records": [dict(zip(COLUMNS, rows[1]))]})
    assert again["from_cache"] is True and again["predictions"] == first["predictions"][1:2]
    [stats] = scoring.stats()
    assert stats["cached"] == ["iris@1"] and stats["rss_bytes"] > 0
    scoring.close()
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)
    with pytest.raises(ScoringError) as refused:
        scoring.score("iris@1", iris_folder, split(rows))
    assert refused.value.http_status == 503


def test_bad_input_is_a_400_with_the_scorers_message(pool, iris_folder):
    scoring = pool()
    with pytest.raises(ScoringError) as missing:
        scoring.score("iris@1", iris_folder, {"dataframe_records": [{"sepal length (cm)": 1.0}]})
    assert missing.value.http_status == 400 and "missing required input columns" in missing.value.message
    with pytest.raises(ScoringError) as shape:
        scoring.score("iris@1", iris_folder, {"rows": [[1, 2, 3, 4]]})
    assert shape.value.http_status == 400 and "dataframe_split" in shape.value.message
    with pytest.raises(ScoringError) as text:
        scoring.score("iris@1", iris_folder, split([["a", 1, 2, 3]]))
    assert text.value.http_status == 400
    pid = scoring.worker_pids()
    assert scoring.score("iris@1", iris_folder, split([[5.1, 3.5, 1.4, 0.2]]))["predictions"] == [0]
    assert scoring.worker_pids() == pid  # bad input does not cost the worker


def save_crasher(folder, monkeypatch, signed: bool) -> None:
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    if not signed:
        monkeypatch.setenv("MLCASK_SIGNING", "0")
    try:
        mlcask.pyfunc.save_model(str(folder), python_model=Crasher())
    finally:
        monkeypatch.delenv("MLCASK_SIGNING", raising=False)
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_an_untrusted_pickle_is_refused_and_loads_when_allowed(pool, tmp_path, monkeypatch):
    folder = tmp_path / "crasher"
    save_crasher(folder, monkeypatch, signed=False)
    with pytest.raises(ScoringError) as refused:
        pool().score("crasher@1", folder, {"inputs": [[1.0, 2.0]]})
    assert refused.value.http_status == 403 and refused.value.error_code == "PERMISSION_DENIED"
    assert "MLCASK_ALLOW_PICKLE=1" in refused.value.message and "not signed by a trusted key" in refused.value.message
    monkeypatch.setenv("MLCASK_ALLOW_PICKLE", "1")  # the server's environment, which its workers inherit
    assert pool().score("crasher@1", folder, {"inputs": [[1.0, 2.0]]})["predictions"] == [[1.0, 2.0]]


def test_a_trusted_signature_lets_a_pickle_load(pool, tmp_path, monkeypatch):
    folder = tmp_path / "crasher"
    save_crasher(folder, monkeypatch, signed=True)  # signed with this session's local key, trusted here
    assert pool().score("crasher@1", folder, {"inputs": [[3.0]]})["predictions"] == [[3.0]]


def test_a_crash_mid_request_is_a_clear_error_and_the_next_request_works(pool, tmp_path, monkeypatch):
    folder = tmp_path / "crasher"
    save_crasher(folder, monkeypatch, signed=True)
    scoring = pool()
    assert scoring.score("c@1", folder, {"inputs": [[1.0]]})["predictions"] == [[1.0]]
    [first] = scoring.worker_pids()
    with pytest.raises(ScoringError) as crash:
        scoring.score("c@1", folder, {"inputs": [[-1.0]]})
    assert crash.value.http_status == 503 and "died while scoring" in crash.value.message
    assert "SIGKILL" in crash.value.message
    assert scoring.score("c@1", folder, {"inputs": [[2.0]]})["predictions"] == [[2.0]]
    [second] = scoring.worker_pids()
    assert second != first
    os.kill(second, signal.SIGKILL)  # killed between requests (the OOM killer): restarted too
    time.sleep(0.2)
    assert scoring.score("c@1", folder, {"inputs": [[4.0]]})["predictions"] == [[4.0]]


def test_a_request_over_the_timeout_stops_its_worker(pool, tmp_path, monkeypatch):
    folder = tmp_path / "crasher"
    save_crasher(folder, monkeypatch, signed=True)
    scoring = pool(timeout_s=3)
    scoring.score("c@1", folder, {"inputs": [[1.0]]})  # loaded (imports are not timed against the slow request)
    [pid] = scoring.worker_pids()
    started = time.monotonic()
    with pytest.raises(ScoringError) as slow:
        scoring.score("c@1", folder, {"inputs": [[500.0]]})
    assert slow.value.http_status == 504 and "3 s" in slow.value.message
    assert time.monotonic() - started < 10
    assert not alive(pid)
    assert scoring.score("c@1", folder, {"inputs": [[1.0]]})["predictions"] == [[1.0]]


def big_model(folder, seed: int) -> None:
    """A linear model with 1M coefficients (8 MB), built without fitting."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression()
    model.coef_ = np.random.default_rng(seed).normal(size=(1, 1_000_000))
    model.intercept_ = np.zeros(1)
    model.classes_ = np.array([0, 1])
    model.n_features_in_ = 1_000_000
    mlcask.sklearn.save_model(model, str(folder))


def test_models_are_evicted_least_recently_used_within_the_memory_budget(pool, iris_folder, tmp_path):
    scoring = pool(memory_budget_mb=100_000)
    scoring.score("warm@1", iris_folder, split([[5.1, 3.5, 1.4, 0.2]]))  # sklearn and skops imported
    folders = {}
    for name, seed in (("a", 1), ("b", 2), ("c", 3)):
        folders[name] = tmp_path / name
        big_model(folders[name], seed)
    row = {"inputs": [[0.0] * 1_000_000]}
    for name in ("a", "b"):
        assert scoring.score(f"{name}@1", folders[name], row)["predictions"] == [0]
    [stats] = scoring.stats()
    charges = stats["charges"]
    assert list(charges) == ["warm@1", "a@1", "b@1"] and all(charges[k] >= 8_000_000 for k in ("a@1", "b@1"))
    # Room for a and b and a little more: c (8 MB at least) pushes out the least recently used models first.
    scoring.memory_budget_bytes = charges["a@1"] + charges["b@1"] + (1 << 20)
    used = ["warm@1", "a@1", "b@1", "c@1"]
    scoring.score("c@1", folders["c"], row)
    [stats] = scoring.stats()
    cached = stats["cached"]
    assert "c@1" in cached and "warm@1" not in cached and "a@1" not in cached
    assert cached == used[-len(cached):]  # what is left is the most recently used
    assert sum(stats["charges"].values()) <= scoring.memory_budget_bytes
    again = scoring.score("b@1", folders["b"], row) if "b@1" in cached else None
    assert again is None or again["from_cache"] is True
    # A budget no model fits: the worker answers, then is recycled (its memory given back).
    [pid] = scoring.worker_pids()
    scoring.memory_budget_bytes = 1
    assert scoring.score("a@1", folders["a"], row)["predictions"] == [0]
    assert scoring.worker_pids() == []
    time.sleep(0.2)
    assert not alive(pid)
    assert scoring.score("warm@1", iris_folder, split([[5.1, 3.5, 1.4, 0.2]]))["predictions"] == [0]


def test_concurrent_requests_from_many_threads(pool, iris_classifier, iris_folder):
    X, model = iris_classifier
    scoring = pool(workers=2)
    expected = model.predict(X).tolist()
    errors, results = [], []

    def client(offset: int) -> None:
        try:
            for i in range(offset, len(X), 15):
                answer = scoring.score("iris@1", iris_folder, split([X.iloc[i].tolist()]))
                results.append(answer["predictions"] == [expected[i]])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors and len(results) == 60 and all(results)
    assert 1 <= len(scoring.worker_pids()) <= 2
