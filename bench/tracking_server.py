"""Tracking-server benchmark: ``mlflow server`` vs ``mlcask server``, raw HTTP, in one run.

    .venv/bin/python bench/tracking_server.py [--duration S] [--repeat N] [--workers N] [--markdown] [--json PATH]

Each server gets a fresh SQLite database, seeded before it starts by its own tool's
client (the same code, ``import mlflow`` in MLflow's venv, ``import mlcask as mlflow``
here): 2,000 runs with 20 metrics and 10 params each in one experiment, and one run to
log into. Then ``wrk`` (2 threads, 8 connections) loads, for ``--duration`` seconds,
``--repeat`` times each:

- ``POST /api/2.0/mlflow/runs/log-batch`` with 100 metrics per request (every request a
  new step, so nothing is a duplicate);
- ``POST /api/2.0/mlflow/runs/search`` over the 2,000 runs with a filter and an order_by,
  ``max_results`` 100.

The table shows the medians of wrk's requests/s, p50 and p99 over the repetitions, and
mlcask / MLflow. See ``bench/README.md``. Every server is stopped at the end, also on
errors and Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.mlflow_env import ensure_mlflow_python  # noqa: E402
from bench.serving import _RUNNING as RUNNING  # noqa: E402
from bench.serving import (  # noqa: E402
    HOST,
    _clean_env,
    _free_port,
    _request,
    _stop,
    _stop_all,
    ensure_wrk,
    parse_wrk,
)
from bench.tables import render_table  # noqa: E402

RUNS, METRICS_PER_RUN, PARAMS_PER_RUN, BATCH_METRICS = 2000, 20, 10, 100
SEARCH = {"filter": "metrics.m0 > 0.5 and params.p1 != 'v3'", "order_by": ["metrics.m1 DESC"], "max_results": 100}
ENDPOINTS = {"log-batch": "/api/2.0/mlflow/runs/log-batch", "search": "/api/2.0/mlflow/runs/search"}
TARGET_RATIO = 10.0

# Run by both tools' python: ``{tool}`` is ``mlflow`` or ``mlcask`` (the same API).
SEED = """
import json
from {tool}.entities import Metric, Param
from {tool}.tracking import MlflowClient

client = MlflowClient(tracking_uri={uri!r})
search_exp = client.create_experiment("search", artifact_location={artifacts!r} + "/search")
log_exp = client.create_experiment("log", artifact_location={artifacts!r} + "/log")
state = 12345
def value():
    global state
    state = (1103515245 * state + 12345) % 2 ** 31
    return state / 2 ** 31
for i in range({runs}):
    run = client.create_run(search_exp, run_name=f"run-{{i}}", start_time=1_700_000_000_000 + i)
    client.log_batch(run.info.run_id,
                     metrics=[Metric(f"m{{j}}", value(), 1_700_000_000_000 + i, 0) for j in range({metrics})],
                     params=[Param(f"p{{j}}", f"v{{(i + j) % 10}}") for j in range({params})])
log_run = client.create_run(log_exp, run_name="log-batch")
print(json.dumps({{"search_experiment_id": search_exp, "log_run_id": log_run.info.run_id}}))
"""

LOG_BATCH_LUA = """
local counter = 0
local id = 0
local threads = {{}}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  id = wrk.thread:get("id")
end
request = function()
  counter = counter + 1
  local step = counter * 64 + id
  local parts = {{}}
  for j = 0, {n} - 1 do
    parts[#parts + 1] = string.format('{{"key":"b%d","value":%d.5,"timestamp":%d,"step":%d}}', j, j + step, 1700000000000 + step, step)
  end
  local body = '{{"run_id":"{run_id}","metrics":[' .. table.concat(parts, ",") .. ']}}'
  return wrk.format("POST", "{path}", {{["Content-Type"] = "application/json"}}, body)
end
"""

SEARCH_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{body}'
"""


@dataclass
class Server:
    tool: str  # "mlflow" or "mlcask"
    argv: list[str]
    env: dict[str, str]
    proc: subprocess.Popen | None = None
    port: int = 0
    log: Path | None = None
    seeded: dict[str, str] = field(default_factory=dict)
    seed_s: float | None = None


@dataclass
class Result:
    server: str
    endpoint: str
    samples: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    def median(self, key: str) -> float | None:
        values = [s[key] for s in self.samples if s.get(key) is not None]
        return statistics.median(values) if values else None


def seed(tool: str, folder: Path) -> tuple[dict[str, str], float]:
    """Create the runs in the tool's fresh database with its own client; returns the ids and the seconds taken."""
    db, artifacts = folder / f"{tool}.db", folder / f"{tool}-artifacts"
    artifacts.mkdir()
    code = SEED.format(tool=tool, uri=f"sqlite:///{db}", artifacts=str(artifacts), runs=RUNS,
                       metrics=METRICS_PER_RUN, params=PARAMS_PER_RUN)
    python = Path(sys.executable) if tool == "mlcask" else ensure_mlflow_python()
    started = time.perf_counter()
    proc = subprocess.run([str(python), "-c", code], cwd=folder, env=_clean_env(python.parent), capture_output=True,
                          text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"seeding {tool}'s database failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), time.perf_counter() - started


def servers(folder: Path, workers: int, only: list[str] | None) -> list[Server]:
    mlflow_bin = ensure_mlflow_python().parent
    project_bin = Path(sys.executable).parent
    mlcask_cmd = ([str(project_bin / "mlcask")] if (project_bin / "mlcask").exists()
                  else [sys.executable, "-m", "mlcask.cli"])
    common = ["--host", HOST, "--port", "{port}", "--workers", str(workers)]
    found = [
        Server("mlflow", [str(mlflow_bin / "mlflow"), "server", "--backend-store-uri", f"sqlite:///{folder}/mlflow.db",
                          "--artifacts-destination", str(folder / "mlflow-proxied"), *common],
               _clean_env(mlflow_bin)),
        Server("mlcask", [*mlcask_cmd, "server", "--backend-store-uri", f"sqlite:///{folder}/mlcask.db",
                          "--artifacts-destination", str(folder / "mlcask-proxied"), *common],
               _clean_env(project_bin)),
    ]
    return [s for s in found if not only or s.tool in only]


def start(server: Server, folder: Path, timeout: float = 180.0) -> None:
    server.port = _free_port()
    argv = [a.replace("{port}", str(server.port)) for a in server.argv]
    server.log = folder / f"{server.tool}.log"
    with open(server.log, "wb") as log:
        server.proc = subprocess.Popen(argv, env=server.env, cwd=folder, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
    RUNNING.append(server.proc)
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.tool} server exited with code {server.proc.returncode}:\n"
                               + server.log.read_text(errors="replace")[-3000:])
        try:
            if _request(server.port, "/health", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{server.tool} server did not answer /health within {timeout:.0f}s:\n"
                       + server.log.read_text(errors="replace")[-3000:])


def scripts(server: Server, folder: Path) -> dict[str, Path]:
    body = json.dumps({"experiment_ids": [server.seeded["search_experiment_id"]], **SEARCH})
    files = {"log-batch": LOG_BATCH_LUA.format(n=BATCH_METRICS, run_id=server.seeded["log_run_id"],
                                               path=ENDPOINTS["log-batch"]),
             "search": SEARCH_LUA.format(body=body.replace("'", "\\'"))}
    written = {}
    for name, text in files.items():
        written[name] = folder / f"{server.tool}-{name}.lua"
        written[name].write_text(text)
    return written


def check(server: Server) -> dict[str, Any]:
    """One request of each kind, outside the timing: both must answer 200; returns what search found."""
    body = {"run_id": server.seeded["log_run_id"],
            "metrics": [{"key": f"check{j}", "value": j, "timestamp": 1, "step": 0} for j in range(BATCH_METRICS)]}
    status, answer = _request(server.port, ENDPOINTS["log-batch"], json.dumps(body).encode(), timeout=60)
    if status != 200:
        raise RuntimeError(f"log-batch answered HTTP {status}: {answer[:300]!r}")
    query = {"experiment_ids": [server.seeded["search_experiment_id"]], **SEARCH}
    status, answer = _request(server.port, ENDPOINTS["search"], json.dumps(query).encode(), timeout=60)
    if status != 200:
        raise RuntimeError(f"runs/search answered HTTP {status}: {answer[:300]!r}")
    found = json.loads(answer)
    runs = found.get("runs", [])
    names = [next((t["value"] for t in r["data"].get("tags", []) if t["key"] == "mlflow.runName"),
                  r["info"].get("run_name")) for r in runs]
    return {"count": len(runs), "names": names, "next_page_token": bool(found.get("next_page_token"))}


def run_wrk(wrk: str, port: int, path: str, script: Path, duration: float, args: argparse.Namespace) -> dict[str, Any]:
    argv = [wrk, f"-t{args.threads}", f"-c{args.connections}", f"-d{max(1, round(duration))}s", "--timeout", "30s",
            "--latency", "-s", str(script), f"http://{HOST}:{port}{path}"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 120)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout[-500:]}")
    parsed = parse_wrk(proc.stdout)
    parsed["raw"] = proc.stdout
    return parsed


def measure(wrk: str, server: Server, folder: Path, args: argparse.Namespace) -> list[Result]:
    results = []
    for name, script in scripts(server, folder).items():
        if args.endpoint and name not in args.endpoint:
            continue
        result = Result(server.tool, name)
        print(f"  {server.tool}: {name} ...", file=sys.stderr)
        try:
            if args.warmup > 0:
                run_wrk(wrk, server.port, ENDPOINTS[name], script, args.warmup, args)
            for _ in range(args.repeat):
                result.samples.append(run_wrk(wrk, server.port, ENDPOINTS[name], script, args.duration, args))
        except Exception as exc:  # noqa: BLE001 - a failing row is reported, the run goes on
            result.error = str(exc)
        results.append(result)
    return results


def _fmt(value: float | None, digits: int = 1, unit: str = "") -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}{unit}"


HEADERS = ["server", "request", "req/s", "p50", "p99", "vs MLflow (req/s)", "vs MLflow (p50)", "target"]
TITLES = {"log-batch": "runs/log-batch, 100 metrics", "search": "runs/search, 2,000 runs, filter + order_by, 100 results"}


def table_rows(results: list[Result]) -> list[list[str]]:
    base = {r.endpoint: r for r in results if r.server == "mlflow" and not r.error}
    rows = []
    for r in results:
        title = TITLES[r.endpoint]
        if r.error:
            rows.append([r.server, title, f"n/a (error: {r.error.splitlines()[0][:60]})", "", "", "", "", ""])
            continue
        rps, p50, p99 = r.median("requests_per_s"), r.median("p50_ms"), r.median("p99_ms")
        errors = sum(s["non_2xx"] + s["socket_errors"] for s in r.samples)
        ref = base.get(r.endpoint)
        ratio = rps / ref.median("requests_per_s") if ref and rps and ref.median("requests_per_s") else None
        latency = ref.median("p50_ms") / p50 if ref and p50 and ref.median("p50_ms") else None
        target = ""
        if r.server != "mlflow":
            verdict = "n/a (no MLflow row)" if ratio is None else "met" if ratio >= TARGET_RATIO else "NOT met"
            target = f">= {TARGET_RATIO:g}x: {verdict}"
        rows.append([r.server, title, _fmt(rps, 1) + (f" ({errors} errors)" if errors else ""),
                     _fmt(p50, 1, " ms"), _fmt(p99, 1, " ms"),
                     "1.0x (baseline)" if r.server == "mlflow" else _fmt(ratio, 1, "x"),
                     "" if r.server == "mlflow" else _fmt(latency, 1, "x"), target])
    return rows


def render(rows: list[list[str]], markdown: bool) -> str:
    return render_table(HEADERS, rows, markdown)


def machine_line(wrk: str, args: argparse.Namespace) -> str:
    import os
    import platform

    version = subprocess.run([wrk, "-v"], capture_output=True, text=True).stdout.split("\n")[0].split(" [")[0]
    return (f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, {version.strip()}; "
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s x {args.repeat} (medians), "
            f"{args.workers} server worker(s), SQLite; load average {os.getloadavg()[0]:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per measured run")
    parser.add_argument("--repeat", type=int, default=3, help="measured runs per server and request (median shown)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load before the runs")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4, help="server processes, the same for both (MLflow's default)")
    parser.add_argument("--only", action="append", choices=["mlflow", "mlcask"], help="one server only (repeatable)")
    parser.add_argument("--endpoint", action="append", choices=list(ENDPOINTS), help="one request only (repeatable)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--json", type=Path, help="also write every sample (and wrk's output) as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (databases, logs, scripts)")
    args = parser.parse_args(argv)

    wrk = ensure_wrk()
    signal.signal(signal.SIGTERM, lambda *a: (_stop_all(), sys.exit(143)))
    folder = Path(tempfile.mkdtemp(prefix="mlcask-bench-tracking-"))
    results: list[Result] = []
    notes: list[str] = []
    found: dict[str, dict[str, Any]] = {}
    try:
        for server in servers(folder, args.workers, args.only):
            print(f"seeding {server.tool}'s database ({RUNS:,} runs) ...", file=sys.stderr)
            try:
                server.seeded, server.seed_s = seed(server.tool, folder)
                print(f"starting {server.tool} server ...", file=sys.stderr)
                start(server, folder)
                found[server.tool] = check(server)
            except Exception as exc:  # noqa: BLE001
                results += [Result(server.tool, name, error=str(exc)) for name in ENDPOINTS
                            if not args.endpoint or name in args.endpoint]
                _stop(server.proc)
                continue
            try:
                results += measure(wrk, server, folder, args)
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

    if len(found) == 2 and found["mlflow"] != found["mlcask"]:
        notes.append(f"the servers' search results differ: MLflow {found['mlflow']['count']} runs "
                     f"{found['mlflow']['names'][:5]}..., mlcask {found['mlcask']['count']} runs "
                     f"{found['mlcask']['names'][:5]}...")
    line = machine_line(wrk, args)
    print(("_" + line + "_" if args.markdown else line) + "\n")
    print(render(table_rows(results), args.markdown))
    for note in notes:
        print(f"note: {note}")
    for r in results:
        if r.error:
            print(f"\nerror ({r.server}, {r.endpoint}):\n{r.error}")
    if args.json:
        args.json.write_text(json.dumps({"machine": line, "search": SEARCH, "results": [asdict(r) for r in results]},
                                        indent=2))
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
