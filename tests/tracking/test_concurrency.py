"""Many processes logging to one store at once, and a process killed while logging."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from mlcask.entities import Metric, Param
from mlcask.tracking.store import schema
from mlcask.tracking.store.db import engine_for
from mlcask.tracking.store.sql_store import SqlTrackingStore

pytestmark = pytest.mark.slow

WORKERS = 8
PER_WORKER = 1000

# Each worker logs 1,000 metrics to the shared run: 500 with log_metric and 500 in five
# log_batch calls. Keys are its own ("w3.single", "w3.batch") plus "shared", which every
# worker logs at steps that interleave (worker w at steps w, w+8, ...).
_LOGGER = r"""
import sys
from mlcask.entities import Metric, Param
from mlcask.tracking.store.sql_store import SqlTrackingStore

uri, root, run_id, worker = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = SqlTrackingStore(uri, root)
print("ready", flush=True)
sys.stdin.readline()
shared = 0
for i in range(500):
    if i % 5 == 0:
        step = shared * 8 + worker
        shared += 1
        store.log_metric(run_id, Metric("shared", float(step), 1000 + step, step))
    else:
        store.log_metric(run_id, Metric(f"w{worker}.single", float(i), 1000 + i, i))
for b in range(5):
    store.log_batch(run_id, metrics=[Metric(f"w{worker}.batch", float(b * 100 + j), 1000, b * 100 + j)
                                     for j in range(100)])
print("done", flush=True)
"""

# Logs step after step (every tenth step as a 50-metric batch) and reports each commit.
_ENDLESS = r"""
import sys
from mlcask.entities import Metric, Param
from mlcask.tracking.store.sql_store import SqlTrackingStore

store = SqlTrackingStore(sys.argv[1], sys.argv[2])
run_id = sys.argv[3]
step = 0
while True:
    if step % 10 == 9:
        store.log_batch(run_id, metrics=[Metric("m", float(step), 1000 + step, step)]
                        + [Metric(f"b{j}", float(step), 1000 + step, step) for j in range(49)])
    else:
        store.log_metric(run_id, Metric("m", float(step), 1000 + step, step))
    print(step, flush=True)
    step += 1
"""


def _spawn(code: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.Popen([sys.executable, "-c", code, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _count(uri: str, table: sa.Table, *where) -> int:
    with engine_for(uri).connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()


def test_eight_processes_log_to_one_store(store_uri, artifact_root):
    store = SqlTrackingStore(store_uri, str(artifact_root))
    run_id = store.create_run("0", "u", 1, [], "shared").info.run_id
    workers = [_spawn(_LOGGER, store_uri, str(artifact_root), run_id, str(w)) for w in range(WORKERS)]
    try:
        for worker in workers:
            assert worker.stdout.readline().strip() == "ready", worker.stderr.read()
        for worker in workers:  # all start together
            worker.stdin.write("go\n")
            worker.stdin.flush()
        for worker in workers:
            out, err = worker.communicate(timeout=120)
            assert worker.returncode == 0 and out.strip() == "done", err
    finally:
        for worker in workers:
            worker.kill()

    m = schema.metrics
    assert _count(store_uri, m) == WORKERS * PER_WORKER
    for w in range(WORKERS):
        assert _count(store_uri, m, m.c.key == f"w{w}.single") == 400
        assert _count(store_uri, m, m.c.key == f"w{w}.batch") == 500
    assert _count(store_uri, m, m.c.key == "shared") == WORKERS * 100
    metrics = store.get_run(run_id).data.metrics
    expected = {"shared": float(WORKERS * 100 - 1)}
    for w in range(WORKERS):
        expected[f"w{w}.single"] = 499.0
        expected[f"w{w}.batch"] = 499.0
    assert metrics == expected
    history = store.get_metric_history(run_id, "shared")
    assert [h.step for h in history] == list(range(WORKERS * 100))


def test_killed_process_leaves_store_intact(tmp_path):
    path = tmp_path / "killed.db"
    uri = f"sqlite:///{path}"
    root = str(tmp_path / "artifacts")
    store = SqlTrackingStore(uri, root)
    run_id = store.create_run("0", "u", 1, [], "victim").info.run_id
    worker = _spawn(_ENDLESS, uri, root, run_id)
    committed = -1
    deadline = time.monotonic() + 30
    while committed < 400 and time.monotonic() < deadline:
        line = worker.stdout.readline()
        if not line:
            pytest.fail(f"the logging process died: {worker.stderr.read()}")
        committed = int(line)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    assert worker.returncode == -signal.SIGKILL
    # The worker kept logging while we read: the pipe still holds the steps it reported
    # after the one we stopped reading at. The last line is the last commit it confirmed.
    for line in worker.stdout.read().split():
        committed = int(line)
    assert committed >= 400

    with sqlite3.connect(path) as check:
        assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    fresh = SqlTrackingStore(uri, root)
    history = fresh.get_metric_history(run_id, "m")
    steps = [h.step for h in history]
    # Every reported step is there, in one piece, and nothing beyond the one in flight.
    assert steps[:committed + 1] == list(range(committed + 1))
    assert len(steps) in (committed + 1, committed + 2) and steps == list(range(len(steps)))
    assert all(h.value == float(h.step) for h in history)
    run = fresh.get_run(run_id)
    assert run.info.status == "RUNNING"
    assert run.data.metrics["m"] == float(steps[-1])
    batches = [s for s in steps if s % 10 == 9]
    for j in (0, 48):  # batches are all or nothing
        assert [h.step for h in fresh.get_metric_history(run_id, f"b{j}")] == batches
    fresh.log_metric(run_id, Metric("m", -1.0, 1, 10**6))  # and it takes new data
    assert fresh.get_run(run_id).data.metrics["m"] == -1.0


def test_threads_share_one_store(store_uri, artifact_root):
    from concurrent.futures import ThreadPoolExecutor

    store = SqlTrackingStore(store_uri, str(artifact_root))
    run_ids = [store.create_run("0", "u", 1, [], f"t{t}").info.run_id for t in range(4)]

    def log(thread: int) -> None:
        for i in range(200):
            store.log_metric(run_ids[thread], Metric("m", float(i), 1, i))
            store.log_metric(run_ids[0], Metric("all", float(thread * 1000 + i), 1, thread * 1000 + i))
        store.log_param(run_ids[thread], Param("thread", str(thread)))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(log, range(4)))
    for thread, run_id in enumerate(run_ids):
        run = store.get_run(run_id)
        assert run.data.metrics["m"] == 199.0 and run.data.params == {"thread": str(thread)}
        assert len(store.get_metric_history(run_id, "m")) == 200
    assert store.get_run(run_ids[0]).data.metrics["all"] == 3199.0
    assert len(store.get_metric_history(run_ids[0], "all")) == 800
