"""``TrackingStore.get_metric_history_extremes``: mlcask's min/max sample of a metric's history.

The SQL store (SQLite and PostgreSQL) scans the rows in the database and must give what the
in-memory algorithm gives over the full history; the REST store asks an ``mlcask server`` to sample,
and samples the full history itself on an ``mlflow server`` (which ignores ``sampling=min_max``).
"""

from __future__ import annotations

import math
import random

import pytest

from mlcask.entities import Metric
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.tracking.metric_sampling import sample_min_max_metrics
from mlcask.tracking.store.sql_store import SqlTrackingStore
from tests.server.conftest import launch

CASES = ((300, None, None), (5, None, None), (3, None, None), (1, None, None), (100, 5000, 9000),
         (2, 6000, 6000), (10_000, None, None), (50, 30_000, 40_000))


def _history(length: int = 10_000, seed: int = 7) -> list[Metric]:
    """Every other step from 0, Gaussian noise, a spike, a NaN and two values at one step."""
    rng = random.Random(seed)
    history = [Metric("loss", rng.gauss(0, 1), 10_000 + s, s) for s in range(0, 2 * length, 2)]
    history[length // 3] = Metric("loss", 1e6, history[length // 3].timestamp, history[length // 3].step)
    history.append(Metric("loss", math.nan, 30_000, 2 * length - 2))
    history.append(Metric("loss", -3.5, 5, 4))
    return history


def _log(store, run_id: str, history: list[Metric]) -> None:
    for start in range(0, len(history), 1000):
        store.log_batch(run_id, history[start:start + 1000])


def _shape(metrics: list[Metric]) -> list[tuple]:
    """What a sample is, with NaN comparable."""
    return [(m.key, m.step, m.timestamp, "nan" if math.isnan(m.value) else m.value, m.run_id) for m in metrics]


def _check_extremes(store, run_id: str, history: list[Metric]) -> None:
    for max_results, start, end in CASES:
        got = store.get_metric_history_extremes(run_id, "loss", max_results, start, end)
        expected = sample_min_max_metrics(history, run_id, "loss", max_results, start, end)
        assert _shape(got) == _shape(expected), (max_results, start, end)
        assert len(got) <= max_results
        assert [(m.step, m.timestamp) for m in got] == sorted((m.step, m.timestamp) for m in got)
    whole = store.get_metric_history_extremes(run_id, "loss", 300)
    assert 1e6 in [m.value for m in whole]  # the spike survives
    assert (whole[0].step, whole[-1].step) == (0, max(m.step for m in history))
    assert math.isnan(whole[-1].value)  # the last value, a NaN, is kept as NaN
    assert all(not math.isnan(m.value) for m in whole[:-1])
    assert store.get_metric_history_extremes(run_id, "never-logged", 100) == []
    assert store.get_metric_history_extremes(run_id, "loss", 100, 1, 1) == []  # no value at odd steps


def _check_errors(store, run_id: str) -> None:
    with pytest.raises(MlcaskException, match="not found") as unknown:
        store.get_metric_history_extremes("0" * 32, "loss", 100)
    assert unknown.value.error_code == RESOURCE_DOES_NOT_EXIST
    for max_results, start, end, fragment in ((0, None, None, "positive integer"),
                                              (100, 3, None, "both must be specified"),
                                              (100, None, 3, "both must be specified"),
                                              (100, 5, 1, "end_step must be greater")):
        with pytest.raises(InvalidArgumentError, match=fragment):
            store.get_metric_history_extremes(run_id, "loss", max_results, start, end)


# -- the SQL store ---------------------------------------------------------------------------------------------------

@pytest.fixture
def sql_run(store_uri, artifact_root):
    store = SqlTrackingStore(store_uri, artifact_root)
    run_id = store.create_run(store.create_experiment("extremes"), "u", 0, [], "r").info.run_id
    history = _history()
    _log(store, run_id, history)
    return store, run_id, history


def test_the_sql_scan_equals_the_in_memory_sample(sql_run):
    store, run_id, history = sql_run
    # The reference is the store's own history, as it came back from the database.
    assert len(store.get_metric_history(run_id, "loss")) == len(history)
    _check_extremes(store, run_id, list(store.get_metric_history(run_id, "loss")))


def test_sql_store_errors(sql_run):
    store, run_id, _ = sql_run
    _check_errors(store, run_id)


def test_sql_store_keeps_a_short_history_whole_with_ties_in_logging_order(store_uri, artifact_root):
    store = SqlTrackingStore(store_uri, artifact_root)
    run_id = store.create_run(store.create_experiment("short"), "u", 0, [], "r").info.run_id
    store.log_batch(run_id, [Metric("m", 2.0, 7, 1), Metric("m", 1.0, 7, 1), Metric("m", math.nan, 3, 0)])
    got = store.get_metric_history_extremes(run_id, "m", 3)
    assert _shape(got) == [("m", 0, 3, "nan", run_id), ("m", 1, 7, 2.0, run_id), ("m", 1, 7, 1.0, run_id)]


# -- the REST store --------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mlcask_server(tmp_path_factory):
    server = launch(tmp_path_factory.mktemp("extremes-server"))
    yield server
    server.stop()


def _rest_run(url: str, history: list[Metric]):
    from mlcask.tracking.rest import RestTrackingStore

    store = RestTrackingStore(url)
    experiment = store.create_experiment(f"extremes-{random.random()}")
    run_id = store.create_run(experiment, "u", None, [], "r").info.run_id
    _log(store, run_id, history)
    return store, run_id


def test_rest_store_on_mlcask_server_samples_on_the_server(mlcask_server):
    history = _history(4000, seed=11)
    store, run_id = _rest_run(mlcask_server.url, history)
    assert store._is_mlcask_server() is True
    # The server samples what its SQL store holds: the same as sampling that history here.
    _check_extremes(store, run_id, list(store.get_metric_history(run_id, "loss")))
    _check_errors(store, run_id)
    # More values than get-history-bulk-interval answers (2,500): sampled from the full history here.
    full = list(store.get_metric_history(run_id, "loss"))
    many = store.get_metric_history_extremes(run_id, "loss", 3000)
    assert _shape(many) == _shape(sample_min_max_metrics(full, run_id, "loss", 3000)) and 2500 < len(many) <= 3000


@pytest.mark.interop
@pytest.mark.slow
def test_rest_store_on_mlflow_server_samples_the_full_history(tmp_path):
    from tests.support import free_port
    from tests.tracking.rest.conftest import mlflow_server_command, start_server

    port = free_port()
    server = start_server("mlflow", mlflow_server_command(tmp_path, port), tmp_path, port)
    try:
        history = _history(3000, seed=5)
        store, run_id = _rest_run(server.url, history)
        assert store._is_mlcask_server() is False
        _check_extremes(store, run_id, list(store.get_metric_history(run_id, "loss")))
        _check_errors(store, run_id)
    finally:
        server.stop()
