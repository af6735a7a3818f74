"""Request counts and latency percentiles of managed endpoints, within one process and across the processes
of ``mlcask server --workers N``."""

from __future__ import annotations

import os
import subprocess
import sys

from mlcask.deployments.metrics import RequestStats, StatsBook


def test_counts_errors_and_percentiles_over_a_bounded_window():
    stats = RequestStats(window=100)
    assert stats.snapshot() == {"requests": 0, "errors": 0, "latency_ms_p50": 0.0, "latency_ms_p99": 0.0}
    for value in range(1, 1001):
        stats.record(float(value), error=value % 10 == 0)
    snapshot = stats.snapshot()
    assert snapshot["requests"] == 1000 and snapshot["errors"] == 100
    assert 945 <= snapshot["latency_ms_p50"] <= 955  # the window holds the last 100: 901..1000
    assert snapshot["latency_ms_p99"] >= 998


def test_processes_add_up(tmp_path):
    here, other = StatsBook(tmp_path, pid=os.getpid()), StatsBook(tmp_path, pid=os.getppid())
    for _ in range(30):
        here.get("endpoint/e/1").record(10.0, False)
    for _ in range(10):
        other.get("endpoint/e/1").record(1000.0, True)
    other.publish()
    combined = here.snapshot("endpoint/e/1")
    assert combined["requests"] == 40 and combined["errors"] == 10
    assert combined["latency_ms_p50"] == 10.0 and combined["latency_ms_p99"] == 1000.0
    assert here.snapshot("endpoint/other/1")["requests"] == 0
    other.get("endpoint/e/1").record(1.0, False)
    other.publish()  # within a second of the last: not written again
    assert StatsBook(tmp_path, pid=1).snapshot("endpoint/e/1")["requests"] == 10
    other.publish(force=True)
    assert StatsBook(tmp_path, pid=1).snapshot("endpoint/e/1")["requests"] == 11


def test_files_of_processes_gone_are_forgotten(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    ghost = StatsBook(tmp_path, pid=gone.pid)
    ghost.get("k").record(1.0, False)
    ghost.publish()
    living = StatsBook(tmp_path, pid=os.getppid())
    living.get("k").record(1.0, False)
    living.publish()
    StatsBook(tmp_path).forget_dead()
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{os.getppid()}.json"]
