"""The SQLite write gate: writers of all threads and processes queue on it, in turn."""

from __future__ import annotations

import multiprocessing
import threading
import time

from mlcask.entities import Metric
from mlcask.tracking.store import write_gate
from mlcask.tracking.store.sql_store import SqlTrackingStore


def test_a_write_takes_the_file_lock_beside_the_database(tmp_path):
    store = SqlTrackingStore(f"sqlite:///{tmp_path / 'g.db'}", tmp_path / "artifacts")
    store.create_run("0", "u", 1, [], "r")
    assert (tmp_path / "g.db.mlcask-write.lock").is_file()


def test_nested_holds_in_one_thread_do_not_deadlock(tmp_path):
    gate = write_gate.gate_for(str(tmp_path / "n.db"))
    with gate.held():
        with gate.held():
            pass
    done = threading.Event()
    threading.Thread(target=lambda: (gate.held().__enter__(), done.set()), daemon=True).start()
    assert done.wait(5)  # released fully after the outer hold


def _hold(path: str, ready, release) -> None:
    with write_gate.gate_for(path).held():
        ready.set()
        release.wait(30)


def test_another_process_holding_the_gate_makes_a_write_wait(tmp_path):
    database = tmp_path / "p.db"
    store = SqlTrackingStore(f"sqlite:///{database}", tmp_path / "artifacts")
    run_id = store.create_run("0", "u", 1, [], "r").info.run_id
    context = multiprocessing.get_context("spawn")
    ready, release = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(str(database), ready, release))
    holder.start()
    try:
        assert ready.wait(60)
        finished = threading.Event()
        writer = threading.Thread(target=lambda: (store.log_metric(run_id, Metric("m", 1.0, 1, 0)), finished.set()))
        writer.start()
        assert not finished.wait(0.5)  # queued behind the other process
        release.set()
        assert finished.wait(30)
        writer.join()
    finally:
        release.set()
        holder.join(30)
    assert [m.value for m in store.get_metric_history(run_id, "m")] == [1.0]


def test_eight_threads_lose_nothing_and_none_starves(tmp_path):
    store = SqlTrackingStore(f"sqlite:///{tmp_path / 't.db'}", tmp_path / "artifacts")
    runs = [store.create_run("0", "u", 1, [], f"r{i}").info.run_id for i in range(8)]
    slowest: list[float] = []

    def work(run_id: str) -> None:
        for step in range(20):
            started = time.perf_counter()
            store.log_batch(run_id, [Metric(f"m{j}", float(step), 1, step) for j in range(50)], [], [])
            slowest.append(time.perf_counter() - started)

    threads = [threading.Thread(target=work, args=(r,)) for r in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for run_id in runs:
        assert [m.step for m in store.get_metric_history(run_id, "m7")] == list(range(20))
    assert max(slowest) < 10  # SQLite's busy loop alone let a writer wait for seconds
