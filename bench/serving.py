"""Scoring-server benchmark: the HTTP floor, ``mlflow models serve`` and ``mlcask models serve``, in one run.

    .venv/bin/python bench/serving.py [--duration S] [--connections N] [--workers N] [--only NAME] [--src TREE]
                                      [--markdown] [--json PATH]

An XGBoost breast-cancer classifier (100 trees) is saved once by each tool (MLflow in its
own venv, ``bench.mlflow_env``, when that venv is already built; mlcask with this
interpreter). The floor is a bare Starlette app on uvicorn that reads the body and
returns a constant reply. Each server is started in turn on 127.0.0.1, checked (/ping,
then one request whose predictions are compared across the model servers), and loaded
with ``wrk`` (2 threads, 8 connections) for ``--duration`` seconds per payload: a 1-row
and a 100-row ``dataframe_split`` JSON request. Besides wrk's figures, each row shows
the server's CPU time per request (all its processes), which a busy machine disturbs
far less than requests per second. See ``bench/README.md``. Every server is killed at
the end, also on errors and Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.mlflow_env import ensure_mlflow_python, run_in_mlflow  # noqa: E402
from bench.tables import render_table  # noqa: E402

HOST = "127.0.0.1"
PAYLOADS = {"1 row": 1, "100 rows": 100}
TARGETS = {"1 row": (20.0, 25.0), "100 rows": (10.0, None)}  # (min req/s ratio vs MLflow, max p99 ms)
FLOOR_TARGETS = {"1 row": (0.35, 10.0), "100 rows": (None, 10.0)}  # (min req/s share of the floor, max p99 ms)

FLOOR_APP = """
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route


async def invocations(request):
    await request.body()
    return Response(b'{"predictions": [0]}', media_type="application/json")


async def ping(request):
    return Response("\\n", media_type="application/json")


app = Starlette(routes=[Route("/invocations", invocations, methods=["POST"]), Route("/ping", ping)])
"""

SAVE_WITH_MLFLOW = """
import os
os.environ.setdefault("OMP_NUM_THREADS", "1")
import mlflow
from mlflow.models import infer_signature
from sklearn.datasets import load_breast_cancer
from xgboost import XGBClassifier

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
model = XGBClassifier(n_estimators=100, random_state=0).fit(X, y)
mlflow.xgboost.save_model(model, {path!r}, signature=infer_signature(X, y), input_example=X.head(1))
"""

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = assert(io.open("{body}", "rb"))
wrk.body = f:read("*a")
f:close()
"""


@dataclass
class Server:
    name: str  # the table's label
    tool: str  # "mlflow" or "mlcask"
    argv: list[str]
    env: dict[str, str]
    proc: subprocess.Popen | None = None
    port: int = 0
    log: Path | None = None
    startup_s: float | None = None
    error: str | None = None


@dataclass
class Result:
    server: str
    payload: str
    requests_per_s: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    requests: int = 0
    non_2xx: int = 0
    socket_errors: int = 0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    cpu_us: float | None = None  # the server's CPU time per request (all its processes)


# -- processes --------------------------------------------------------------------------------
_RUNNING: list[subprocess.Popen] = []


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _clean_env(bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MLCASK_", "MLFLOW_"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def _stop(proc: subprocess.Popen | None) -> None:
    """Stop a server and everything it started (it runs in its own process group)."""
    if proc is None or proc.poll() is not None:
        if proc in _RUNNING:
            _RUNNING.remove(proc)
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    if proc in _RUNNING:
        _RUNNING.remove(proc)


def _stop_all(*_: Any) -> None:
    for proc in list(_RUNNING):
        _stop(proc)


def _request(port: int, path: str, body: bytes | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://{HOST}:{port}{path}", data=body,
                                 headers={"Content-Type": "application/json"} if body else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def start(server: Server, folder: Path, timeout: float = 180.0) -> None:
    server.port = _free_port()
    argv = [a.replace("{port}", str(server.port)) for a in server.argv]
    server.log = folder / f"{server.name.replace(' ', '_')}.log"
    started = time.perf_counter()
    with open(server.log, "wb") as log:
        server.proc = subprocess.Popen(argv, env=server.env, cwd=folder, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
    _RUNNING.append(server.proc)
    deadline = started + timeout
    while time.perf_counter() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited with code {server.proc.returncode} before answering /ping:\n"
                               + server.log.read_text(errors="replace")[-3000:])
        try:
            status, _ = _request(server.port, "/ping", timeout=2)
            if status == 200:
                server.startup_s = time.perf_counter() - started
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not answer /ping within {timeout:.0f}s:\n"
                       + server.log.read_text(errors="replace")[-3000:])


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) used so far by the live processes of process group ``pgid``."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields[2] is the process group; [11], [12]: utime, stime
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


# -- wrk --------------------------------------------------------------------------------------
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise ValueError(f"cannot read wrk's latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", output)
    out["requests_per_s"] = float(m.group(1)) if m else None
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+(\S+)", output, re.M)
        out[f"p{pct}_ms"] = _ms(m.group(1)) if m else None
    m = re.search(r"(\d+) requests in", output)
    out["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    out["non_2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    out["socket_errors"] = sum(int(g) for g in m.groups()) if m else 0
    return out


def run_wrk(wrk: str, port: int, script: Path, duration: float, connections: int, threads: int) -> dict[str, Any]:
    argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
            "--latency", "-s", str(script), f"http://{HOST}:{port}/invocations"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout[-500:]}")
    parsed = parse_wrk(proc.stdout)
    parsed["raw"] = proc.stdout
    return parsed


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, stdout=subprocess.DEVNULL)
        found = shutil.which("wrk")
        if found:
            return found
    raise SystemExit("bench/serving.py needs wrk (Debian/Ubuntu: apt-get install wrk; macOS: brew install wrk).")


# -- models and payloads ---------------------------------------------------------------------------
def save_models(folder: Path, with_mlflow: bool = True) -> tuple[Path | None, Path]:
    mlflow_path = folder / "model-mlflow" if with_mlflow else None
    mlcask_path = folder / "model-mlcask"
    if mlflow_path is not None:
        run_in_mlflow(SAVE_WITH_MLFLOW.format(path=str(mlflow_path)), cwd=folder)

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from sklearn.datasets import load_breast_cancer
    from xgboost import XGBClassifier

    import mlcask
    from mlcask.models import infer_signature

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = XGBClassifier(n_estimators=100, random_state=0).fit(X, y)
    warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
    mlcask.xgboost.save_model(model, mlcask_path, signature=infer_signature(X, y), input_example=X.head(1))
    return mlflow_path, mlcask_path


def write_payloads(folder: Path) -> dict[str, tuple[Path, Path]]:
    """For each payload: (the JSON body, the wrk Lua script that posts it)."""
    from sklearn.datasets import load_breast_cancer

    X, _ = load_breast_cancer(return_X_y=True, as_frame=True)
    files = {}
    for label, rows in PAYLOADS.items():
        frame = X.sample(n=rows, random_state=rows) if rows <= len(X) else X.sample(n=rows, replace=True)
        body = folder / f"body-{rows}.json"
        body.write_text(json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}))
        script = folder / f"post-{rows}.lua"
        script.write_text(LUA.format(body=str(body).replace("\\", "\\\\").replace('"', '\\"')))
        files[label] = (body, script)
    return files


def mlflow_venv_ready() -> bool:
    """Whether the pinned MLflow venv is built (the benchmark uses it as it is; it builds nothing)."""
    from bench.mlflow_env import _requirements_digest, venv_dir

    marker = venv_dir() / ".mlcask-requirements-sha256"
    return (venv_dir() / "bin" / "python").exists() and marker.exists() \
        and marker.read_text().strip() == _requirements_digest()


def _mlcask_servers(label: str, cmd: list[str], base: list[str], env: dict[str, str]) -> list[Server]:
    return [Server(label, "mlcask", cmd + base, env),
            Server(f"{label} --no-batching", "mlcask", cmd + base + ["--no-batching"], env)]


def servers(mlflow_path: Path | None, mlcask_path: Path, workers: int, only: list[str] | None,
            folder: Path, sources: list[Path] | None = None) -> list[Server]:
    project_bin = Path(sys.executable).parent
    mlcask_cmd = ([str(project_bin / "mlcask")] if (project_bin / "mlcask").exists()
                  else [sys.executable, "-m", "mlcask.cli"])
    base = ["models", "serve", "-m", str(mlcask_path), "-p", "{port}", "--host", HOST, "--workers", str(workers)]
    (folder / "floor_app.py").write_text(FLOOR_APP)
    found = [Server("floor", "floor", [sys.executable, "-m", "uvicorn", "floor_app:app", "--host", HOST, "--port",
                                       "{port}", "--workers", str(workers), "--no-access-log", "--log-level",
                                       "warning"], _clean_env(project_bin))]
    if mlflow_path is not None:
        mlflow_bin = ensure_mlflow_python().parent
        found.append(Server("mlflow", "mlflow", [str(mlflow_bin / "mlflow"), "models", "serve", "-m",
                                                 str(mlflow_path), "--env-manager", "local", "-p", "{port}",
                                                 "--host", HOST, "-w", str(workers)], _clean_env(mlflow_bin)))
    found += _mlcask_servers("mlcask", mlcask_cmd, base, _clean_env(project_bin))
    for source in sources or []:  # the same servers run from other source trees (before/after comparisons)
        env = _clean_env(project_bin)
        env["PYTHONPATH"] = str(source.resolve() / "src")
        found += _mlcask_servers(f"mlcask@{source.name}", [sys.executable, "-m", "mlcask.cli"], base, env)
    if only:
        wanted = {name.replace(" ", "") for name in only}
        # by name, a --src tree's rows by the name without "@tree"; the floor always: every ratio needs it
        found = [s for s in found if s.tool == "floor" or s.name.replace(" ", "") in wanted
                 or re.sub(r"@\S+", "", s.name).replace(" ", "") in wanted]
    return found


# -- reporting ------------------------------------------------------------------------------------
def _fmt(value: float | None, digits: int = 1, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}{unit}"


def _target(r: Result, ratio: float | None, share: float | None) -> str:
    goals, met = [], True
    if r.server != "mlflow" and r.payload in TARGETS and ratio is not None:
        min_ratio, max_p99 = TARGETS[r.payload]
        goals.append(f">= {min_ratio:g}x MLflow")
        met = met and ratio >= min_ratio
    if r.payload in FLOOR_TARGETS:
        min_share, max_p99 = FLOOR_TARGETS[r.payload]
        if min_share is not None:
            goals.append(f">= {min_share:.0%} of the floor")
            met = met and share is not None and share >= min_share
        goals.append(f"p99 < {max_p99:g} ms")
        met = met and (r.p99_ms or 1e9) < max_p99
    return f"{', '.join(goals)}: {'met' if met else 'NOT met'}" if goals else ""


def table_rows(results: list[Result]) -> list[list[str]]:
    base = {r.payload: r for r in results if r.server == "mlflow" and r.requests_per_s}
    floor = {r.payload: r for r in results if r.server == "floor" and r.requests_per_s}
    rows = []
    for r in results:
        if r.error:
            rows.append([r.server, r.payload, f"n/a (error: {r.error.splitlines()[0][:60]})", "", "", "", "", "", ""])
            continue
        ref, low = base.get(r.payload), floor.get(r.payload)
        ratio = r.requests_per_s / ref.requests_per_s if ref and r.requests_per_s else None
        share = r.requests_per_s / low.requests_per_s if low and r.requests_per_s else None
        cpu_share = low.cpu_us / r.cpu_us if low and low.cpu_us and r.cpu_us else None
        errors = r.non_2xx + r.socket_errors
        rows.append([r.server, r.payload, _fmt(r.requests_per_s, 0) + (f" ({errors} errors)" if errors else ""),
                     _fmt(r.p50_ms, 2, " ms"), _fmt(r.p99_ms, 2, " ms"), _fmt(r.cpu_us, 0, " us"),
                     "-" if r.server == "floor" else f"{_fmt(share and share * 100, 0, '%')} "
                                                     f"(CPU: {_fmt(cpu_share and cpu_share * 100, 0, '%')})",
                     "1.0x (baseline)" if r.server == "mlflow" else ("-" if r.server == "floor" else _fmt(ratio, 1, "x")),
                     "" if r.server in ("floor", "mlflow") else _target(r, ratio, share)])
    return rows


HEADERS = ["server", "payload", "req/s", "p50", "p99", "CPU/request", "of the floor (req/s; CPU)",
           "vs MLflow (req/s)", "target"]


def render(rows: list[list[str]], markdown: bool) -> str:
    return render_table(HEADERS, rows, markdown)


def machine_line(wrk: str, args: argparse.Namespace) -> str:
    version = subprocess.run([wrk, "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    version = version.split(" [")[0].strip()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {version or 'wrk'}; "
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s per row, "
            f"{args.workers} server worker(s); load average {load:.2f}")


# -- main -------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per server and payload")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load before each run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="server worker processes, the same for every server")
    parser.add_argument("--only", action="append",
                        help="floor, mlflow, mlcask or 'mlcask --no-batching' (repeatable; with --src, also its rows)")
    parser.add_argument("--src", action="append", type=Path, default=[],
                        help="also run mlcask's servers from this source tree (its src/ first on PYTHONPATH; "
                             "repeatable), e.g. a `git archive` of an earlier commit, in the same run")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--json", type=Path, help="also write every result (and wrk's output) as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (models, logs, scripts)")
    args = parser.parse_args(argv)

    wrk = ensure_wrk()
    signal.signal(signal.SIGTERM, lambda *a: (_stop_all(), sys.exit(143)))
    folder = Path(tempfile.mkdtemp(prefix="mlcask-bench-serving-"))
    results: list[Result] = []
    first_predictions: dict[str, Any] = {}
    notes: list[str] = []
    try:
        print(f"saving the models in {folder} ...", file=sys.stderr)
        with_mlflow = mlflow_venv_ready() and (not args.only or "mlflow" in args.only)
        if not with_mlflow and (not args.only or "mlflow" in args.only):
            notes.append("the pinned MLflow venv is not built (bench/mlflow_env.py builds it): no mlflow row")
        mlflow_path, mlcask_path = save_models(folder, with_mlflow)
        payloads = write_payloads(folder)
        for server in servers(mlflow_path, mlcask_path, args.workers, args.only, folder, args.src):
            print(f"starting {server.name} ...", file=sys.stderr)
            try:
                start(server, folder)
            except Exception as exc:  # noqa: BLE001 - a failing server is a row, not the end of the run
                server.error = str(exc)
                results += [Result(server.name, label, error=str(exc)) for label in payloads]
                _stop(server.proc)
                continue
            try:
                for label, (body, script) in payloads.items():
                    status, answer = _request(server.port, "/invocations", body.read_bytes(), timeout=30)
                    if status != 200:
                        results.append(Result(server.name, label, error=f"HTTP {status}: {answer[:200]!r}"))
                        continue
                    predictions = json.loads(answer)["predictions"]
                    if server.tool == "floor":
                        pass  # a constant reply
                    elif label in first_predictions and predictions != first_predictions[label][1]:
                        notes.append(f"{server.name} and {first_predictions[label][0]} predict differently "
                                     f"on the {label} payload")
                    if server.tool != "floor":
                        first_predictions.setdefault(label, (server.name, predictions))
                    print(f"  {server.name}: {label} ...", file=sys.stderr)
                    try:
                        if args.warmup > 0:
                            run_wrk(wrk, server.port, script, args.warmup, args.connections, args.threads)
                        cpu_before = group_cpu_seconds(server.proc.pid)
                        got = run_wrk(wrk, server.port, script, args.duration, args.connections, args.threads)
                        cpu = group_cpu_seconds(server.proc.pid) - cpu_before
                    except Exception as exc:  # noqa: BLE001
                        results.append(Result(server.name, label, error=str(exc)))
                        continue
                    results.append(Result(server.name, label, got["requests_per_s"], got["p50_ms"], got["p99_ms"],
                                          got["requests"], got["non_2xx"], got["socket_errors"],
                                          extra={"p75_ms": got["p75_ms"], "p90_ms": got["p90_ms"],
                                                 "startup_s": server.startup_s, "wrk": got["raw"]},
                                          cpu_us=cpu * 1e6 / got["requests"] if got["requests"] else None))
            finally:
                _stop(server.proc)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        _stop_all()
        if args.keep:
            print(f"kept {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)

    rows = table_rows(results)
    line = machine_line(wrk, args)
    print(("_" + line + "_" if args.markdown else line) + "\n")
    print(render(rows, args.markdown))
    starts = {r.server: r.extra.get("startup_s") for r in results if r.extra.get("startup_s")}
    if starts:
        print("\nstartup to first /ping: " + ", ".join(f"{k} {v:.1f}s" for k, v in starts.items()))
    for note in notes:
        print(f"note: {note}")
    for r in results:
        if r.error:
            print(f"\nerror ({r.server}, {r.payload}):\n{r.error}")
    if args.json:
        args.json.write_text(json.dumps({"machine": line, "results": [asdict(r) for r in results]}, indent=2))
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
