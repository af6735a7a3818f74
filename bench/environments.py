"""Model-environment benchmark: ``mlcask models serve --env-manager uv`` vs ``mlflow models serve --env-manager uv``.

    .venv/bin/python bench/environments.py [--cold N] [--warm N] [--fresh-uv-cache] [--markdown] [--json PATH]

One scikit-learn model (a breast-cancer LogisticRegression pipeline, saved by mlcask with its
default requirements) is served by each tool from the same folder, with the model's own
environment built by uv:

- cold: no environment built yet (a fresh ``MLCASK_HOME`` / ``MLFLOW_ENV_ROOT`` each time),
  uv's download cache as it is (``--fresh-uv-cache``: an empty one, for both tools);
- warm: the environment exists (the second and later starts).

Each figure is the wall time from starting the command to the first 200 from ``/ping``;
the first prediction is checked to be the same for both. MLflow runs from its pinned venv
(``bench.mlflow_env``, built on first use), with this venv's ``uv`` on its PATH. Every server
is stopped (its process group) at the end, also on errors and Ctrl-C.
Targets: cold no slower than MLflow, warm under 5 s.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.mlflow_env import ensure_mlflow_python  # noqa: E402
from bench.tables import render_table  # noqa: E402

HOST = "127.0.0.1"
PING_TIMEOUT = 600.0
WARM_TARGET_S = 5.0
_RUNNING: list[subprocess.Popen] = []


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _become_subreaper() -> None:
    """Orphans of the servers' processes become ours (Linux), so their CPU time is counted when reaped."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _reap_orphans(timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.05)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=wait)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # what is left of its process group
    except ProcessLookupError:
        pass
    _reap_orphans()
    if proc in _RUNNING:
        _RUNNING.remove(proc)


def _stop_all(*_: Any) -> None:
    for proc in list(_RUNNING):
        _stop(proc)
    sys.exit(130)


def save_model(folder: Path) -> dict[str, Any]:
    """The model both tools serve, and a request for it."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import mlcask.sklearn

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    mlcask.sklearn.save_model(model, folder, input_example=X.head(2))
    return {"dataframe_split": X.head(5).to_dict(orient="split")}


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("PYTHON", "MLCASK_", "MLFLOW_", "VIRTUAL_ENV"))}


def _mlcask_has_option() -> bool:
    done = subprocess.run([sys.executable, "-m", "mlcask", "models", "serve", "--help"], capture_output=True,
                          text=True, timeout=120)
    return "--env-manager" in done.stdout


def mlcask_argv(folder: Path, port: int, wired: bool) -> list[str]:
    if wired:
        return [sys.executable, "-m", "mlcask", "models", "serve", "-m", str(folder), "--env-manager", "uv",
                "--host", HOST, "--port", str(port)]
    # Before the option is on the command: the same code path, called directly.
    code = ("import sys; from mlcask.cli_env import run_in_model_environment; "
            f"sys.exit(run_in_model_environment({str(folder)!r}, 'uv', ['models', 'serve'], "
            f"['--host', {HOST!r}, '--port', '{port}']))")
    return [sys.executable, "-c", code]


def mlflow_argv(python: Path, folder: Path, port: int) -> list[str]:
    return [str(python), "-m", "mlflow", "models", "serve", "-m", str(folder), "--env-manager", "uv",
            "--host", HOST, "--port", str(port)]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_to_ping(argv: list[str], port: int, env: dict[str, str], log: Path,
                 request: dict[str, Any]) -> tuple[float, float, Any]:
    """Seconds from start to the first /ping 200, CPU seconds of the process tree (start to stop: a
    figure the machine's load barely changes), and the predictions of one request."""
    cpu_before = _children_cpu()
    with open(log, "ab") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    _RUNNING.append(proc)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv[:4]} exited ({proc.returncode}) before /ping; see {log}")
            try:
                with urllib.request.urlopen(f"http://{HOST}:{port}/ping", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.perf_counter() - started > PING_TIMEOUT:
                raise RuntimeError(f"no /ping in {PING_TIMEOUT:.0f} s; see {log}")
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        body = json.dumps(request).encode()
        call = urllib.request.Request(f"http://{HOST}:{port}/invocations", data=body,
                                      headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(call, timeout=60) as reply:
            predictions = json.loads(reply.read())["predictions"]
    finally:
        _stop(proc)
    return seconds, _children_cpu() - cpu_before, predictions


def run_tool(tool: str, folder: Path, request: dict[str, Any], cold: int, warm: int, scratch: Path,
             fresh_uv_cache: bool, wired: bool) -> dict[str, Any]:
    mlflow_python = ensure_mlflow_python() if tool == "mlflow" else None
    times: dict[str, list[float]] = {"cold": [], "warm": [], "cold_cpu": [], "warm_cpu": []}
    predictions = None
    for attempt in range(cold):
        root = scratch / f"{tool}-root-{attempt}"
        root.mkdir(mode=0o700)
        env = _base_env()
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        if fresh_uv_cache:
            env["UV_CACHE_DIR"] = str(scratch / f"{tool}-uv-cache-{attempt}")
        if tool == "mlflow":
            env["MLFLOW_ENV_ROOT"] = str(root)
            env["PATH"] = os.pathsep.join([str(mlflow_python.parent), env["PATH"]])
        else:
            env["MLCASK_HOME"] = str(root)
        for phase, count in (("cold", 1), ("warm", warm if attempt == cold - 1 else 0)):
            if phase == "warm" and tool == "mlcask":
                # The wheel the cold start packed: files of mlcask edited meanwhile do not make a new environment.
                env["MLCASK_RUNTIME_WHEEL"] = str(next((root / "cache" / "runtime-wheels").glob("*/*.whl")))
            for _ in range(count):
                port = _free_port()
                argv = (mlflow_argv(mlflow_python, folder, port) if tool == "mlflow"
                        else mlcask_argv(folder, port, wired))
                seconds, cpu, predictions = time_to_ping(argv, port, env, scratch / f"{tool}.log", request)
                times[phase].append(seconds)
                times[f"{phase}_cpu"].append(cpu)
                print(f"  {tool:7s} {phase}: {seconds:6.2f} s to /ping, {cpu:6.2f} CPU s", flush=True)
    return {"times": times, "predictions": predictions}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cold", type=int, default=3, help="cold starts per tool (each builds an environment)")
    parser.add_argument("--warm", type=int, default=5, help="warm starts per tool")
    parser.add_argument("--fresh-uv-cache", action="store_true", help="an empty uv cache for every cold start")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    _become_subreaper()
    signal.signal(signal.SIGINT, _stop_all)
    signal.signal(signal.SIGTERM, _stop_all)
    scratch = Path(tempfile.mkdtemp(prefix="mlcask-bench-envs-"))
    try:
        folder = scratch / "model"
        request = save_model(folder)
        wired = _mlcask_has_option()
        print(f"model: {folder}; mlcask {'models serve --env-manager uv' if wired else 'run_in_model_environment'}")
        results = {tool: run_tool(tool, folder, request, args.cold, args.warm, scratch, args.fresh_uv_cache, wired)
                   for tool in ("mlcask", "mlflow")}
    finally:
        for proc in list(_RUNNING):
            _stop(proc)
        shutil.rmtree(scratch, ignore_errors=True)
    same = results["mlcask"]["predictions"] == results["mlflow"]["predictions"]
    rows, summary = [], {}
    for phase in ("cold", "warm"):
        ours, theirs = (statistics.median(results[t]["times"][phase]) for t in ("mlcask", "mlflow"))
        summary[phase] = {"mlcask_s": ours, "mlflow_s": theirs, "speedup": theirs / ours}
        target = "no slower than MLflow" if phase == "cold" else f"< {WARM_TARGET_S:.0f} s"
        met = ours <= theirs if phase == "cold" else ours < WARM_TARGET_S
        rows.append([f"{phase} start to /ping", f"{ours:.2f} s", f"{theirs:.2f} s", f"{theirs / ours:.1f}x",
                     target, "met" if met else "MISSED"])
        ours_cpu, theirs_cpu = (statistics.median(results[t]["times"][f"{phase}_cpu"]) for t in ("mlcask", "mlflow"))
        summary[phase].update(mlcask_cpu_s=ours_cpu, mlflow_cpu_s=theirs_cpu)
        rows.append([f"{phase}: CPU s, all processes", f"{ours_cpu:.2f}", f"{theirs_cpu:.2f}",
                     f"{theirs_cpu / ours_cpu:.1f}x", "", ""])
    print(render_table(["measure (median)", "mlcask", "MLflow", "MLflow / mlcask", "target", ""], rows,
                       args.markdown))
    print(f"same predictions: {same}; {platform.python_version()}, {os.cpu_count()} cpus, load average "
          f"{os.getloadavg()[0]:.1f}; "
          f"{'fresh' if args.fresh_uv_cache else 'existing'} uv cache")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "same_predictions": same,
                                         "times": {t: r["times"] for t, r in results.items()}}, indent=1))


if __name__ == "__main__":
    main()
