"""Asynchronous logging: ``synchronous=False`` on the fluent and client calls, RunOperations,
flush_async_logging, MLFLOW_ENABLE_ASYNC_LOGGING, batching, and errors surfaced on wait()."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

import mlcask
from mlcask.entities import Metric, Param, RunTag
from mlcask.exceptions import MlcaskException
from mlcask.tracking import async_logging


def _hold_the_worker():
    """Occupy the queue's worker until the returned event is set; returns once it is busy."""
    started, gate = threading.Event(), threading.Event()

    def hold(*args):
        started.set()
        gate.wait(10)

    operations = async_logging.submit(hold, "held")
    assert started.wait(10)
    return operations, gate


def test_fluent_calls_return_run_operations_and_land_by_wait(tracking):
    with mlcask.start_run() as run:
        operations = [mlcask.log_metric("single", i, step=i, synchronous=False) for i in range(100)]
        operations.append(mlcask.log_metrics({f"batch {i}": i for i in range(100)}, step=1, synchronous=False))
        operations.append(mlcask.log_param("p", "1", synchronous=False))
        operations.append(mlcask.log_params({f"param {i}": i for i in range(100)}, synchronous=False))
        operations.append(mlcask.set_tag("t", 1, synchronous=False))
        operations.append(mlcask.set_tags({f"tag {i}": i for i in range(100)}, synchronous=False))
    assert all(isinstance(op, mlcask.RunOperations) for op in operations)
    for op in operations:
        op.wait()
    data = mlcask.get_run(run.info.run_id).data
    assert data.metrics["single"] == 99 and all(data.metrics[f"batch {i}"] == i for i in range(100))
    assert data.params["p"] == "1" and all(data.params[f"param {i}"] == str(i) for i in range(100))
    assert data.tags["t"] == "1" and all(data.tags[f"tag {i}"] == str(i) for i in range(100))
    assert len(mlcask.MlflowClient().get_metric_history(run.info.run_id, "single")) == 100


def test_end_run_and_flush_wait_for_what_was_queued(tracking):
    with mlcask.start_run() as run:
        for i in range(200):
            mlcask.log_metric("queued", i, step=i, synchronous=False)
        mlcask.flush_async_logging()
        assert len(mlcask.MlflowClient().get_metric_history(run.info.run_id, "queued")) == 200
        for i in range(200, 300):
            mlcask.log_metric("queued", i, step=i, synchronous=False)
    # end_run flushed before ending the run (an ended run refuses nothing, but the values are there)
    assert len(mlcask.MlflowClient().get_metric_history(run.info.run_id, "queued")) == 300


def test_errors_are_raised_by_wait_with_the_stores_message(tracking):
    with mlcask.start_run():
        with pytest.raises(MlcaskException, match="following failures occurred while performing one or more async "
                                                  "logging operations.*'bad' value must be a number"):
            mlcask.log_metric("bad", "not a number", synchronous=False).wait()
        mlcask.log_param("fixed", "1", synchronous=False)
        with pytest.raises(MlcaskException, match="Changing param values is not allowed"):
            mlcask.log_param("fixed", "2", synchronous=False).wait()
        mlcask.log_params({"batch": "2"}, synchronous=False)
        with pytest.raises(MlcaskException, match="Changing param values is not allowed"):
            mlcask.log_params({"batch": "3"}, synchronous=False).wait()


def test_a_failing_request_does_not_fail_the_ones_merged_with_it(tracking):
    client = mlcask.MlflowClient()
    with mlcask.start_run() as run:
        run_id = run.info.run_id
        blocker, gate = _hold_the_worker()  # the requests below queue up behind it
        good = [client.log_metric(run_id, "ok", i, step=i, synchronous=False) for i in range(5)]
        bad = client.log_metric(run_id, "ok", "x", synchronous=False)
        more = client.set_tag(run_id, "after", "yes", synchronous=False)
        gate.set()
        blocker.wait()
        for op in [*good, more]:
            op.wait()
        with pytest.raises(MlcaskException, match="must be a number"):
            bad.wait()
    assert len(client.get_metric_history(run_id, "ok")) == 5
    assert mlcask.get_run(run_id).data.tags["after"] == "yes"


def test_merging_respects_the_batch_limits_and_run_boundaries():
    calls = []
    blocker, gate = _hold_the_worker()
    log = lambda run_id, metrics, params, tags: calls.append((run_id, len(metrics), len(params), len(tags)))  # noqa: E731
    ops = [async_logging.submit(log, "a", metrics=[Metric(f"m{i}", 1.0, 0)] * 400) for i in range(3)]
    ops += [async_logging.submit(log, "a", params=[Param(f"p{i}", "v")] * 60) for i in range(2)]
    ops += [async_logging.submit(log, run, tags=[RunTag("t", "v")]) for run in ("b", "a")]
    ops += [async_logging.submit(log, "a", params=[Param("same", value)]) for value in ("1", "2")]
    gate.set()
    for op in [blocker, *ops]:
        op.wait()
    # 800 metrics fit one request, the third 400 do not; 60 + 60 params do not; run b breaks the run of a;
    # a param key repeated must fail or pass on its own
    assert calls == [("a", 800, 0, 0), ("a", 400, 60, 0), ("a", 0, 60, 0), ("b", 0, 0, 1), ("a", 0, 1, 1),
                     ("a", 0, 1, 0)]


def test_client_log_batch_asynchronous_splits_and_combines(tracking):
    client = mlcask.MlflowClient()
    with mlcask.start_run() as run:
        ops = client.log_batch(run.info.run_id, metrics=[Metric("m", float(i), 1, i) for i in range(2500)],
                               params=[Param(f"p{i}", i) for i in range(150)], synchronous=False)
        # 100 params with 900 metrics, 50 params with 950 metrics, 650 metrics
        assert isinstance(ops, mlcask.RunOperations) and len(ops._operation_futures) == 3
        ops.wait()
        assert client.log_batch(run.info.run_id, synchronous=False) is None  # nothing to log, nothing to wait for
    assert len(client.get_metric_history(run.info.run_id, "m")) == 2500
    assert mlcask.get_run(run.info.run_id).data.params["p149"] == "149"


def test_environment_variable_makes_calls_asynchronous(tracking, monkeypatch):
    monkeypatch.delenv("MLFLOW_ENABLE_ASYNC_LOGGING", raising=False)
    with mlcask.start_run():
        assert mlcask.log_param("sync", 1) == 1
        mlcask.config.enable_async_logging()
        assert mlcask.config.MLFLOW_ENABLE_ASYNC_LOGGING.get() is True
        operations = mlcask.log_param("async", 1)
        assert isinstance(operations, mlcask.RunOperations)
        operations.wait()
        assert mlcask.log_param("forced", 2, synchronous=True) == 2
        mlcask.config.enable_async_logging(False)
        assert mlcask.log_metric("m", 1.0) is None
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_LOGGING", "maybe")
    with pytest.raises(ValueError, match="MLFLOW_ENABLE_ASYNC_LOGGING should be one of"):
        async_logging.is_async(None)


def test_what_is_queued_at_exit_is_logged(tmp_path):
    code = f"""
import mlcask
mlcask.set_tracking_uri("sqlite:///{tmp_path}/exit.db")
run = mlcask.start_run()
for i in range(300):
    mlcask.log_metric("late", i, step=i, synchronous=False)
print(run.info.run_id)
"""
    env = {"MLCASK_ARTIFACT_ROOT": str(tmp_path / "artifacts"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120, check=True)
    client = mlcask.MlflowClient(f"sqlite:///{tmp_path}/exit.db")
    run = client.get_run(out.stdout.strip())
    assert run.info.status == "FINISHED" and len(client.get_metric_history(run.info.run_id, "late")) == 300
