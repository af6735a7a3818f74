"""``scripts/mlflow-parity``: run MLflow's test modules against mlcask and classify every test."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mlflow_parity import report, rules, spark, stage

SCRIPTS = Path(__file__).resolve().parent.parent
REPO = SCRIPTS.parent

# The set of public-behaviour modules (paths inside the tests folder).
DEFAULT_MODULES = [
    "tests/types/test_schema.py",
    "tests/types/test_type_hints.py",
    "tests/models/test_signature.py",
    "tests/models/test_model_input_examples.py",
    "tests/models/test_model.py",
    "tests/models/test_utils.py",
    "tests/pyfunc/test_model_export_with_class_and_artifacts.py",
    "tests/pyfunc/test_model_export_with_loader_module_and_data_path.py",
    "tests/pyfunc/test_pyfunc_schema_enforcement.py",
    "tests/pyfunc/test_pyfunc_model_with_type_hints.py",
    "tests/pyfunc/test_logged_models.py",
    "tests/sklearn/test_sklearn_model_export.py",
    "tests/sklearn/test_sklearn_autolog.py",
    "tests/xgboost/test_xgboost_model_export.py",
    "tests/xgboost/test_xgboost_autolog.py",
    "tests/lightgbm/test_lightgbm_model_export.py",
    "tests/lightgbm/test_lightgbm_autolog.py",
    "tests/tracking/fluent/test_fluent.py",
    "tests/tracking/test_client.py",
]
MAX_RESTARTS = 5


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mlflow-parity", description=__doc__)
    parser.add_argument("tests", nargs="?", default="/work/mlflow-tests", type=Path,
                        help="folder holding MLflow's tests/ (default: /work/mlflow-tests)")
    parser.add_argument("--out", type=Path,
                        help="where the summary, JSON and per-test report go (default: /work/notes/parity, "
                             "/work/notes/parity-spark with --spark)")
    parser.add_argument("--summary", default="summary.txt", help="file name of the summary (default: summary.txt)")
    parser.add_argument("--module", action="append", dest="modules",
                        help="a module to run (repeatable; default: the issue's set, or the Spark set with --spark)")
    parser.add_argument("--spark", action="store_true",
                        help="bring Spark into scope (mlflow.spark, mlflow.pyspark.ml, spark_udf) and run MLflow's "
                             "Spark modules (spark.SPARK_MODULES) unless --module is given")
    parser.add_argument("--spark-master", default=spark.DEFAULT_MASTER,
                        help=f"the master MLflow's Spark fixtures get (default {spark.DEFAULT_MASTER}; "
                             "MLflow's own is local-cluster[2, 1, 1024])")
    parser.add_argument("--python", default=str(REPO / ".venv" / "bin" / "python"),
                        help="the interpreter with mlcask installed (default: the repo's .venv)")
    parser.add_argument("--jobs", type=int, default=2, help="pytest processes at once (at most 2; default 2)")
    parser.add_argument("--timeout", type=float,
                        help=f"seconds per test phase (default 60; {spark.TIMEOUT:g} with --spark)")
    parser.add_argument("--module-timeout", type=float,
                        help=f"seconds per module process before it is stopped (default 900; "
                             f"{spark.MODULE_TIMEOUT:g} with --spark)")
    parser.add_argument("--serving", choices=("inprocess", "off"), default="inprocess",
                        help="MLflow's pyfunc_serve_and_score_model: score through mlcask's scoring app in-process "
                             "(default), or set the tests that call it aside")
    parser.add_argument("-k", dest="keyword", help="pytest -k expression, for a partial run")
    parser.add_argument("--stage", type=Path, help="where to build the working copy (default: a temporary folder)")
    parser.add_argument("--from-results", type=Path, metavar="WORKDIR",
                        help="classify the records of an earlier run's working copy again, without running")
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = Path("/work/notes/parity-spark" if args.spark else "/work/notes/parity")
    if args.timeout is None:
        args.timeout = spark.TIMEOUT if args.spark else 60.0
    if args.module_timeout is None:
        args.module_timeout = spark.MODULE_TIMEOUT if args.spark else 900.0
    return args


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a killed process
    return records


def _pytest_command(args: argparse.Namespace, module: str, deselect: list[str]) -> list[str]:
    command = [args.python, "-m", "pytest", "-p", "mlflow_parity.plugin", "-p", "no:cacheprovider",
               "-q", "--no-header", "-rN", "-W", "ignore", module]
    if args.keyword:
        command += ["-k", args.keyword]
    for nodeid in deselect:
        command += ["--deselect", nodeid]
    return command


def run_module(args: argparse.Namespace, workdir: Path, module: str) -> list[dict[str, Any]]:
    """Run one module (restarting after a crash, without the test that crashed); its records."""
    name = module.replace("/", "__")
    results = workdir / "results" / f"{name}.jsonl"
    env = {**os.environ, "PARITY_RESULTS": str(results), "PARITY_TIMEOUT": str(args.timeout),
           "PYTHONPATH": os.pathsep.join([str(SCRIPTS), str(workdir / "site"), str(workdir)]),
           "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg", "PARITY_SERVING": args.serving}
    env.pop(rules.SPARK_ENV, None)
    if args.spark:
        env.update(spark.environment(workdir, args.spark_master, args.python))
    deselect: list[str] = []
    for _attempt in range(MAX_RESTARTS + 1):
        with open(workdir / "logs" / f"{name}.log", "a", encoding="utf-8") as log:
            process = subprocess.Popen(_pytest_command(args, module, deselect), cwd=workdir, env=env,
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            try:
                process.wait(timeout=args.module_timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        records = _read_jsonl(results)
        done = {r["nodeid"] for r in records if r.get("event") == "result"}
        started = [r["nodeid"] for r in records if r.get("event") == "start"]
        collected = {n for r in records if r.get("event") == "collected" for n in r["nodeids"]}
        crashed = [n for n in started if n not in done]
        if not crashed or not (collected - done - set(crashed)):
            break
        _append(results, [{"event": "result", "nodeid": n, "outcome": "crashed", "phase": "call"} for n in crashed])
        deselect = sorted(done | set(crashed))
    records = _read_jsonl(results)
    done = {r["nodeid"] for r in records if r.get("event") == "result"}
    collected = {n for r in records if r.get("event") == "collected" for n in r["nodeids"]}
    extra = [{"event": "result", "nodeid": n, "outcome": "crashed", "phase": "call"}
             for n in sorted(collected - done)]
    return records + extra


def _append(path: Path, records: list[dict[str, Any]]) -> None:
    with open(path, "a", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record) + "\n")


def classify_records(module: str, records: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """(classified tests, collection errors) of one module's records; the last record of a test wins."""
    results: dict[str, dict[str, Any]] = {}
    errors = []
    for record in records:
        if record.get("event") == "result":
            results[record["nodeid"]] = record
        elif record.get("event") == "collect-error":
            errors.append({"nodeid": record["nodeid"], "reason": rules.classify(record).reason})
    tests = []
    for nodeid, record in results.items():
        verdict = rules.classify(record)
        tests.append({"id": nodeid, "module": module, "class": verdict.cls, "reason": verdict.reason,
                      "name": verdict.name})
    return tests, errors


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def _source_note(tests_dir: Path) -> str:
    note = tests_dir / "SOURCE.txt"
    if note.exists():
        return " ".join(note.read_text(encoding="utf-8").split()[:40])
    return str(tests_dir)


def reclassify(args: argparse.Namespace) -> int:
    """Write the report from the records an earlier run left in ``args.from_results`` (in the Spark
    scope if that run was a ``--spark`` one, or ``--spark`` is given)."""
    files = sorted((args.from_results / "results").glob("*.jsonl"))
    if not files:
        raise SystemExit(f"no results/*.jsonl in {args.from_results}")
    meta = {"finished": datetime.datetime.fromtimestamp(max(p.stat().st_mtime for p in files),
                                                        datetime.timezone.utc).isoformat(timespec="seconds"),
            "mlcask_commit": "?", "tests_source": _source_note(args.tests), "modules_total": len(files)}
    saved = args.from_results / "meta.json"
    if saved.exists():
        meta.update(json.loads(saved.read_text(encoding="utf-8")))
    rules.use_spark_scope(args.spark or bool(meta.get("spark")))
    tests: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for path in files:
        module = path.name.removesuffix(".jsonl").replace("__", "/")
        module_tests, module_errors = classify_records(module, _read_jsonl(path))
        tests += module_tests
        errors += module_errors
    meta.update(modules_done=len(files), workdir=str(args.from_results), reclassified=True)
    report.write(args.out, sorted(tests, key=lambda t: t["id"]), meta, errors, args.summary)
    _print_summary(args)
    return 0


def _print_summary(args: argparse.Namespace) -> None:
    text = (args.out / args.summary).read_text(encoding="utf-8")
    print(text.split("\ntop missing names")[0], flush=True)
    print(f"full summary: {args.out / args.summary}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.from_results:
        return reclassify(args)
    if args.jobs > 2:
        raise SystemExit(f"--jobs is at most 2 (the machine is shared); given {args.jobs}")
    rules.use_spark_scope(args.spark)
    modules = args.modules or (spark.SPARK_MODULES if args.spark else DEFAULT_MODULES)
    absent = [m for m in modules if not (args.tests / m).is_file()]
    if absent:
        raise SystemExit(f"not in {args.tests}: {', '.join(absent)} (see docs/parity.md to get MLflow's tests)")
    workdir = args.stage or Path(tempfile.mkdtemp(prefix="mlflow-parity-"))
    stage.build(args.tests, workdir)
    (workdir / "results").mkdir()
    (workdir / "logs").mkdir()
    print(f"working copy: {workdir}", flush=True)
    started = time.time()
    meta = {"started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "mlcask_commit": _git_commit(), "tests_source": _source_note(args.tests),
            "modules_total": len(modules), "modules_done": 0, "workdir": str(workdir)}
    if args.spark:
        meta.update(spark=True, spark_master=args.spark_master)
    (workdir / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    all_tests: list[dict[str, Any]] = []
    all_errors: list[dict[str, Any]] = []
    lock = threading.Lock()
    by_size = sorted(modules, key=lambda m: -(args.tests / m).stat().st_size)

    def one(module: str) -> None:
        tests, errors = classify_records(module, run_module(args, workdir, module))
        with lock:
            all_tests.extend(tests)
            all_errors.extend(errors)
            meta["modules_done"] += 1
            meta["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
            meta["elapsed_s"] = round(time.time() - started)
            all_tests.sort(key=lambda t: t["id"])
            report.write(args.out, all_tests, meta, all_errors, args.summary)
            print(f"[{meta['modules_done']}/{len(modules)}] {module}: {len(tests)} tests "
                  f"({meta['elapsed_s']} s)", flush=True)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(one, by_size))
    _print_summary(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
