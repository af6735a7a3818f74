"""Batch scoring on Spark: mlcask's ``spark_udf`` vs MLflow's vs a hand-written floor, in one run.

    .venv/bin/python bench/spark.py [--rows N] [--rounds N] [--partitions N] [--only LEG] [--markdown]

Makes ``--rows`` rows x 30 double columns (seeded), trains an XGBoost binary classifier
on a sample, saves it with ``mlcask.xgboost.save_model`` (with a signature) and writes
the data once to Parquet, in a temporary folder. Then three processes, one after the
other, each with its own SparkSession of the same configuration (:data:`SPARK_CONF`,
``local[2]``), read the Parquet, cache and count it, and time
``df.select(udf(*cols)).write.format("noop")`` over ``--rounds`` rounds:

- ``mlcask``: ``mlcask.pyfunc.spark_udf(spark, folder, env_manager="local")`` (this venv);
- ``mlflow``: ``mlflow.pyfunc.spark_udf(spark, folder, env_manager="local")`` (MLflow's venv);
- ``floor``: an iterator ``pandas_udf`` calling the native ``XGBClassifier.predict`` (this venv).

See ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.mlflow_env import ensure_mlflow_python  # noqa: E402
from bench.spark_worker import RESULT_MARKER  # noqa: E402
from bench.tables import render_table  # noqa: E402

LEGS = ("mlcask", "mlflow", "floor", "spark-pandas", "spark-arrow")
REFERENCES = ("spark-pandas", "spark-arrow")  # no model: Spark's own share of the work
TITLES = {"mlcask": "mlcask pyfunc.spark_udf", "mlflow": "MLflow pyfunc.spark_udf",
          "floor": "floor: native predict in a pandas_udf",
          "spark-pandas": "reference: Spark alone, pandas_udf returning 0s",
          "spark-arrow": "reference: Spark alone, arrow_udf returning 0s"}
MASTER = "local[2]"
# The one Spark configuration of every leg. Arrow batches of 10,000 rows and Python worker
# reuse are Spark's defaults, spelled out because the figures depend on them.
SPARK_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.memory": "3g",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "10000",
    "spark.python.worker.reuse": "true",
    "spark.sql.session.timeZone": "UTC",
}
N_COLUMNS = 30
TRAIN_ROWS = 50_000
TARGET_VS_MLFLOW = 2.0  # mlcask rows/s >= 2x MLflow's
TARGET_VS_FLOOR = 1.25  # mlcask time <= 1.25x the floor's


# ---------------------------------------------------------------- data and model

def make_data(rows: int, folder: Path, seed: int = 0) -> tuple[Path, Path, list[str]]:
    """Write ``rows`` x 30 seeded doubles to Parquet and save an XGBoost model trained on a sample."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    from xgboost import XGBClassifier

    import mlcask.xgboost
    from mlcask.models import infer_signature

    rng = np.random.default_rng(seed)
    names = [f"f{i:02d}" for i in range(N_COLUMNS)]
    X = pd.DataFrame(rng.standard_normal((rows, N_COLUMNS)), columns=names)
    weights = rng.standard_normal(N_COLUMNS)
    logit = X.to_numpy() @ weights + X["f00"] * X["f01"] + rng.standard_normal(rows)
    y = (logit > 0).astype("int64")
    data = folder / "data.parquet"
    pq.write_table(pa.Table.from_pandas(X, preserve_index=False), data, row_group_size=100_000)

    sample = rng.choice(rows, size=min(rows, TRAIN_ROWS), replace=False)
    model = XGBClassifier(n_estimators=100, max_depth=6, random_state=0, n_jobs=2)
    model.fit(X.iloc[sample], y.iloc[sample])
    path = folder / "model"
    head = sample[:1000]  # a column output (long), so both spark_udfs infer a LongType result
    with warnings.catch_warnings():  # the hint that integer columns cannot hold missing values
        warnings.simplefilter("ignore", UserWarning)
        signature = infer_signature(X.iloc[head], y.iloc[head])
    mlcask.xgboost.save_model(model, path, signature=signature)
    return data, path, names


# ---------------------------------------------------------------- running the legs

def leg_env(python: Path) -> dict[str, str]:
    """The same environment for every leg: no ``PYTHON*``/``MLFLOW_*``/``MLCASK_*`` from here,
    the venv's ``bin`` first on ``PATH``, the repo root on ``PYTHONPATH`` (for ``bench``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "MLCASK_", "MLFLOW_"))}
    env["PATH"] = f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def run_leg(leg: str, config: dict[str, Any], folder: Path, timeout: float) -> dict[str, Any]:
    python = ensure_mlflow_python() if leg == "mlflow" else Path(sys.executable)
    env = leg_env(python)
    env["MLFLOW_TRACKING_URI"] = "sqlite:///" + str(folder / f"{leg}-tracking.db")
    code = "from bench.spark_worker import main; main()"
    load_start = os.getloadavg()[0]
    started = time.perf_counter()
    try:
        proc = subprocess.run([str(python), "-c", code, leg, json.dumps(config)], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"leg": leg, "error": f"timed out after {timeout:.0f} s"}
    out: dict[str, Any] = {"leg": leg, "load_start": load_start, "load_end": os.getloadavg()[0],
                           "process_s": time.perf_counter() - started}
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if proc.returncode != 0 or not lines:
        (folder / f"{leg}.stderr").write_text(proc.stderr)
        out["error"] = error_line(proc.stderr) or f"exit {proc.returncode}, no result"
        return out
    out.update(json.loads(lines[-1][len(RESULT_MARKER):]))
    return out


def error_line(stderr: str) -> str:
    """The most telling line of a failed child's stderr: the last exception line, else the last line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line.split(":", 1)[0] or "Exception" in line.split(":", 1)[0]:
            return line[:300]
    return lines[-1][:300] if lines else ""


# ---------------------------------------------------------------- the table

def rows_per_s(result: dict[str, Any]) -> float | None:
    if result.get("error") or not result.get("rounds"):
        return None
    return result["rows"] / statistics.median(result["rounds"])


def leg_row(result: dict[str, Any], floor: float | None) -> list[str]:
    leg = result["leg"]
    load = (f"{result['load_start']:.2f} -> {result['load_end']:.2f}" if "load_start" in result else "")
    if result.get("error"):
        return [TITLES[leg], f"n/a (error: {result['error'][:80]})", "", "", "", "", "", load]
    rate = rows_per_s(result)
    rounds = result["rounds"]
    spread = f"{min(rounds):.2f}-{max(rounds):.2f} s" if len(rounds) > 1 else ""
    vs_floor = f"{floor / rate:.2f}x" if floor and rate else ""
    cpu = f"{statistics.median(result['jvm_cpu']):.1f} + {statistics.median(result['python_cpu']):.1f} s"
    return [TITLES[leg], f"{rate:,.0f}", f"{statistics.median(rounds):.2f} s", spread, vs_floor, cpu,
            f"{result['warmup_s']:.2f} s", load]


def verdicts(results: dict[str, dict[str, Any]]) -> list[str]:
    rate = {leg: rows_per_s(r) for leg, r in results.items()}
    lines = []
    if rate.get("mlcask") and rate.get("mlflow"):
        ratio = rate["mlcask"] / rate["mlflow"]
        lines.append(f"mlcask vs MLflow: {ratio:.2f}x MLflow's rows/s (target >= {TARGET_VS_MLFLOW:g}x: "
                     f"{'met' if ratio >= TARGET_VS_MLFLOW else 'MISSED'})")
    if rate.get("mlcask") and rate.get("floor"):
        ratio = rate["floor"] / rate["mlcask"]
        lines.append(f"mlcask vs floor: {ratio:.2f}x the floor's time (target <= {TARGET_VS_FLOOR:g}x: "
                     f"{'met' if ratio <= TARGET_VS_FLOOR else 'MISSED'})")
    cpu = {leg: statistics.median(r["jvm_cpu"]) + statistics.median(r["python_cpu"])
           for leg, r in results.items() if not r.get("error")}
    if cpu.get("mlcask") and (cpu.get("mlflow") or cpu.get("floor")):
        parts = [f"MLflow / mlcask {cpu['mlflow'] / cpu['mlcask']:.2f}x" if cpu.get("mlflow") else "",
                 f"mlcask / floor {cpu['mlcask'] / cpu['floor']:.2f}x" if cpu.get("floor") else ""]
        lines.append("on CPU seconds per round (JVM + Python workers, steadier on a shared machine): "
                     + ", ".join(p for p in parts if p))
    scored = {leg: r for leg, r in results.items() if leg not in REFERENCES and not r.get("error")}
    checks = {(r["predicted"], r["positives"]) for r in scored.values()}
    if len(checks) == 1:
        predicted, positives = checks.pop()
        lines.append(f"every leg predicted {predicted:,} rows, {positives:,} of them positive")
    elif checks:
        lines.append("note: the legs predicted differently (rows, positives): "
                     + "; ".join(f"{leg} {r['predicted']}, {r['positives']}"
                                 for leg, r in scored.items()))
    return lines


def describe(results: dict[str, dict[str, Any]], args: argparse.Namespace, partitions: int) -> list[str]:
    ok = [r for r in results.values() if not r.get("error")]
    lines = [f"data: {args.rows:,} rows x {N_COLUMNS} doubles, Parquet, {partitions} cached partitions; "
             f"XGBClassifier(n_estimators=100, max_depth=6) trained on {min(args.rows, TRAIN_ROWS):,} rows, "
             f"saved by mlcask; master {MASTER}, Arrow batches of "
             f"{SPARK_CONF['spark.sql.execution.arrow.maxRecordsPerBatch']} rows; "
             f"{args.rounds} timed rounds after 1 warm-up job per leg; "
             f"machine: {len(os.sched_getaffinity(0))} CPUs"]
    for r in ok:
        packages = ", ".join(f"{k} {v}" for k, v in r["packages"].items())
        lines.append(f"{r['leg']}: Python {r['python']} ({r['executable']}); {packages}; "
                     f"result type {r['result_type']}; OMP_NUM_THREADS in Spark's Python workers: "
                     f"{r['worker_omp_num_threads']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of data (default 1,000,000)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per leg (default 5)")
    parser.add_argument("--partitions", type=int, default=4, help="cached partitions (default 4: 2 per core)")
    parser.add_argument("--only", action="append", choices=LEGS, help="run only this leg (repeatable)")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--json", metavar="PATH", help="also write every result as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (data, model, logs)")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.rounds < 1 or args.partitions < 1:
        parser.error("--rows, --rounds and --partitions must be at least 1")
    legs = [leg for leg in LEGS if not args.only or leg in args.only]

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    folder = Path(tempfile.mkdtemp(prefix="mlcask-bench-spark-"))
    log(f"making {args.rows:,} rows and the model in {folder} ...")
    data, model, names = make_data(args.rows, folder)
    config = {"master": MASTER, "spark_conf": SPARK_CONF, "data": str(data), "model": str(model),
              "columns": names, "rounds": args.rounds, "partitions": args.partitions}
    timeout = 600 + args.rows / 1_000_000 * args.rounds * 300
    results = {}
    for leg in legs:
        log(f"{leg}: running (load {os.getloadavg()[0]:.2f}) ...")
        results[leg] = r = run_leg(leg, config, folder, timeout)
        rate = rows_per_s(r)
        log(f"{leg}: " + (f"error: {r['error']}" if r.get("error") else
                          f"{rate:,.0f} rows/s, rounds {', '.join(f'{s:.2f}' for s in r['rounds'])} s, "
                          f"warm-up {r['warmup_s']:.2f} s ({r['process_s']:.0f} s in all)"))

    floor = rows_per_s(results["floor"]) if "floor" in results else None
    headers = ["leg", "rows/s (median)", "median round", "rounds", "time vs floor", "CPU/round: JVM + Python",
               "warm-up job", "load (1 min)"]
    table = render_table(headers, [leg_row(results[leg], floor) for leg in legs], args.markdown)
    partitions = next((r["partitions"] for r in results.values() if "partitions" in r), args.partitions)
    header = describe(results, args, partitions)
    print("\n".join(f"{line}  " if args.markdown else line for line in header))
    print()
    print(table)
    print()
    print("\n".join(verdicts(results)))
    if args.json:
        Path(args.json).write_text(json.dumps({"config": config, "results": results}, indent=2))
    if args.keep:
        print(f"\nkept {folder}")
    else:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    return 1 if any(r.get("error") for r in results.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
