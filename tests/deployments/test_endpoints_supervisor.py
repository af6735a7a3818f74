"""The supervisor of managed deployments' workers, with real processes: a tiny HTTP server answering /ping
stands in for ``mlcask models serve`` (the REST tests run the real one)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mlcask.deployments.supervisor import Launch, Supervisor, Worker

WORKER = textwrap.dedent("""
    import http.server, os, signal, subprocess, sys
    port, mode, folder = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    if mode == "crash":
        print("the model cannot load: boom", file=sys.stderr)
        sys.exit(3)
    if mode == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(os.path.join(folder, f"child-{os.getpid()}"), "w") as f:
        f.write(str(child.pid))

    class Ping(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/ping" else 404)
            self.end_headers()
            if mode == "freeze":  # answers once, then hangs (as a deadlocked model would)
                os.kill(os.getpid(), signal.SIGSTOP)

        def log_message(self, *args):
            pass

    http.server.HTTPServer(("127.0.0.1", port), Ping).serve_forever()
""")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")


def wait_for(condition, timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def make_worker(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    supervisor = Supervisor(lambda: None)
    supervisor.start()

    def make(mode: str = "ok", prepare=None) -> Worker:
        def default_prepare() -> Launch:
            return Launch(lambda port: [sys.executable, str(script), str(port), mode, str(tmp_path)], {},
                          tmp_path / f"{mode}.log")
        worker = Worker(f"test/{mode}", "models:/m/1", prepare or default_prepare)
        supervisor.add(worker)
        return worker

    yield make
    supervisor.stop()


def child_of(tmp_path: Path, pid: int) -> int:
    file = tmp_path / f"child-{pid}"
    wait_for(file.exists, what="the worker's child")
    return int(file.read_text())


def test_a_worker_gets_ready_and_is_restarted_after_it_dies(make_worker, tmp_path):
    worker = make_worker()
    wait_for(lambda: worker.state == "ready", what="ready")
    first = worker.pid
    assert worker.restarts == 0 and worker.port and worker.health["consecutive_failures"] == 0
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: worker.state == "ready" and worker.pid != first, what="restarted")
    assert worker.restarts == 1
    assert (tmp_path / "ok.log").read_text().count("starting:") == 2


def test_a_crashing_worker_backs_off_doubling(make_worker):
    worker = make_worker("crash")
    wait_for(lambda: worker.restarts >= 2 and worker.state == "failed", what="two restarts")
    # exits after starts 1, 2, 3 wait 0.5, 1, then 2 s
    assert "exit code 3" in worker.message and "restarting in 2 s" in worker.message
    assert "the model cannot load: boom" in worker.message  # the log's last line says why
    assert worker.status()["state"] == "failed" and worker.pid is None


def test_a_failed_preparation_is_reported_and_nothing_starts(make_worker):
    def prepare() -> Launch:
        raise ValueError("no interpreter for Python 3.7")

    worker = make_worker(prepare=prepare)
    wait_for(lambda: worker.state == "failed", what="failed")
    assert worker.message == "Cannot start: ValueError: no interpreter for Python 3.7"
    time.sleep(0.3)
    assert worker.pid is None and worker.restarts == 0


def test_stop_ends_the_whole_process_group(make_worker, tmp_path):
    worker = make_worker()
    wait_for(lambda: worker.state == "ready", what="ready")
    pid = worker.pid
    child = child_of(tmp_path, pid)
    worker.stop()
    assert worker.state == "stopped" and worker.pid is None
    assert not alive(pid)
    wait_for(lambda: not alive(child), 5, "the worker's child to die")


def test_a_worker_ignoring_sigterm_is_killed_after_the_grace(make_worker):
    worker = make_worker("stubborn")
    wait_for(lambda: worker.state == "ready", what="ready")
    pid = worker.pid
    started = time.monotonic()
    worker.stop(grace=0.5)
    assert 0.4 < time.monotonic() - started < 5 and not alive(pid)


@pytest.mark.slow
def test_a_ready_worker_that_stops_answering_is_killed_and_started_again(make_worker, tmp_path):
    worker = make_worker("freeze")
    wait_for(lambda: worker.state == "ready", what="ready")
    first = worker.pid
    child = child_of(tmp_path, first)
    wait_for(lambda: worker.restarts >= 1, 30, "a restart")
    assert not alive(first) and not alive(child)
    assert worker.pid != first
    assert (tmp_path / "freeze.log").read_text().count("starting:") >= 2


DIES_WITH_SERVER = textwrap.dedent("""
    import sys, time
    from mlcask.deployments.supervisor import Launch, Supervisor, Worker
    script, folder = sys.argv[1], sys.argv[2]
    supervisor = Supervisor(lambda: None)
    worker = Worker("t", "x", lambda: Launch(lambda p: [sys.executable, script, str(p), "stubborn", folder], {},
                                           __import__("pathlib").Path(folder) / "w.log"))
    supervisor.add(worker)
    supervisor.start()
    while worker.state != "ready":
        time.sleep(0.02)
    print(worker.pid, flush=True)
    time.sleep(600)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_when_the_server_process_dies(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    server = subprocess.Popen([sys.executable, "-c", DIES_WITH_SERVER, str(script), str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    pid = child = None
    try:
        pid = int(server.stdout.readline())
        child = child_of(tmp_path, pid)
        assert alive(pid)
        server.kill()  # no shutdown: SIGKILL, the worker even ignores SIGTERM
        server.wait(10)
        wait_for(lambda: not alive(pid), 5, "the orphaned worker to die")
    finally:
        server.kill()
        for leftover in (pid, child):  # the worker's own child is its business (mlcask models serve has none)
            if leftover is not None and alive(leftover):
                os.kill(leftover, signal.SIGKILL)
