"""Where a Spark scoring UDF's time goes, per Arrow batch, without Spark's executors.

    .venv/bin/python bench/spark_profile.py [--batches N] [--only LEG] [--cprofile N]

Makes ``N`` x 10,000 rows and the model as ``bench/spark.py`` does, then, for each leg
(``mlcask``, ``mlflow`` in MLflow's venv, ``floor``; one fresh process each), builds the
leg's UDF on a ``local[1]`` session and calls its Python function directly, in the process,
on the batches a Python worker would get: Arrow record batches of 10,000 rows turned into
pandas by pyspark's own ``ArrowStreamPandasUDFSerializer``; the UDF's output goes back
through the same serializer. Each step is timed per batch (wall and thread CPU time,
medians over the batches of a second pass; the first pass loads the model). For mlcask
the UDF's own steps are timed too, by calling the same public functions it calls
(DataFrame building, ``enforce_schema``, ``predict_enforced``, ``to_spark_values``).
``--cprofile N`` also prints each leg's N most expensive functions (cProfile, own time).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import io
import json
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.spark_worker import floor_udf, start_session  # noqa: E402

RESULT_MARKER = "SPARK_PROFILE_RESULT "
BATCH_ROWS = 10_000


class Clock:
    """Per-batch wall and CPU (this thread) times of named steps, in milliseconds."""

    def __init__(self) -> None:
        self.wall: dict[str, list[float]] = {}
        self.cpu: dict[str, list[float]] = {}

    def time(self, step: str, fn: Callable[[], Any]) -> Any:
        w, c = time.perf_counter_ns(), time.thread_time_ns()
        out = fn()
        self.cpu.setdefault(step, []).append((time.thread_time_ns() - c) / 1e6)
        self.wall.setdefault(step, []).append((time.perf_counter_ns() - w) / 1e6)
        return out

    def medians(self) -> dict[str, dict[str, float]]:
        return {step: {"wall_ms": statistics.median(self.wall[step]), "cpu_ms": statistics.median(self.cpu[step])}
                for step in self.wall}


def serializer() -> Any:
    """The serializer a Python worker uses for an iterator pandas UDF (Spark's defaults)."""
    from pyspark.sql.pandas.serializers import ArrowStreamPandasUDFSerializer

    return ArrowStreamPandasUDFSerializer(timezone="UTC", safecheck=False, assign_cols_by_name=False,
                                          arrow_cast=True)


def arrow_batches(data: str, columns: list[str], batches: int) -> list[bytes]:
    """Each batch of ``BATCH_ROWS`` rows as its own Arrow IPC stream (what the JVM sends)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(data, columns=columns).slice(0, batches * BATCH_ROWS)
    out = []
    for batch in table.to_batches(max_chunksize=BATCH_ROWS):
        sink = io.BytesIO()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_batch(batch)
        out.append(sink.getvalue())
    return out


def udf_function(udf: Any) -> Callable[[Iterator[Any]], Iterator[Any]]:
    """The Python function behind a pandas UDF as each tool returns it (a profiler may look
    inside: MLflow wraps it with functools.wraps, mlcask in an object holding it)."""
    for candidate in (udf, getattr(udf, "__wrapped__", None), getattr(udf, "_udf", None)):
        if candidate is not None and hasattr(candidate, "func"):
            return candidate.func
    raise TypeError(f"cannot find the Python function of {udf!r}")


def make_leg_udf(leg: str, spark: Any, config: dict[str, Any]) -> Any:
    if leg == "floor":
        return floor_udf(str(Path(config["model"]) / "model.ubj"), config["columns"])
    return importlib.import_module(leg).pyfunc.spark_udf(spark, config["model"], env_manager="local")


def run_pass(function: Callable, streams: list[bytes], result_type: Any, clock: Clock) -> list[Any]:
    """One pass over the batches: Arrow -> pandas, the UDF's next(), pandas -> Arrow, each timed."""
    ser = serializer()
    inputs = [clock.time("spark: Arrow -> pandas Series", lambda s=s: next(iter(ser.load_stream(io.BytesIO(s)))))
              for s in streams]
    outputs = iter(function(iter(tuple(cols) for cols in inputs)))
    results = [clock.time("udf: one batch (whole)", lambda: next(outputs)) for _ in inputs]
    for result in results:
        clock.time("spark: result -> Arrow", lambda r=result: ser.dump_stream(iter([(r, result_type)]), io.BytesIO()))
    return inputs


def mlcask_steps(config: dict[str, Any], inputs: list[Any], clock: Clock) -> None:
    """The steps of mlcask's UDF for one batch, through the public functions it calls."""
    import pandas as pd

    import mlcask.pyfunc
    from mlcask.models.enforcement import enforce_schema
    from mlcask.pyfunc.spark_results import to_spark_values
    from mlcask.pyfunc.spark_types import infer_result_type

    model = mlcask.pyfunc.load_model(config["model"])
    schema = model.metadata.get_input_schema()
    result_type = infer_result_type(model.metadata.get_output_schema())
    names = [str(n) for n in schema.input_names()]
    for columns in inputs:
        frame = clock.time("mlcask: DataFrame from the Series", lambda c=columns: pd.DataFrame(
            dict(zip(names, c)), copy=False))
        data = clock.time("mlcask: enforce_schema", lambda f=frame: enforce_schema(f, schema))
        result = clock.time("mlcask: predict_enforced", lambda d=data: model.predict_enforced(
            d, None, strict_params=False))
        clock.time("mlcask: to_spark_values", lambda r=result: to_spark_values(r, result_type))
        array = clock.time("  inside predict: frame.to_numpy(float32)", lambda d=data: d.to_numpy(dtype="float32"))
        native = model.get_raw_model()
        clock.time("  inside predict: XGBClassifier.predict(array)", lambda a=array: native.predict(a))


def child(argv: list[str] | None = None) -> None:
    leg, config_json = (argv or sys.argv[1:])[:2]
    config = json.loads(config_json)
    spark = start_session(config)
    udf = make_leg_udf(leg, spark, config)
    function = udf_function(udf)
    result_type = getattr(udf, "returnType", None) or udf.__wrapped__.returnType
    streams = arrow_batches(config["data"], config["columns"], config["batches"])
    run_pass(function, streams, result_type, Clock())  # warm-up: loads the model
    clock = Clock()
    profile = cProfile.Profile() if config["cprofile"] else None
    if profile:
        profile.enable()
    inputs = run_pass(function, streams, result_type, clock)
    if profile:
        profile.disable()
    if leg == "mlcask":
        mlcask_steps(config, inputs, clock)
    out: dict[str, Any] = {"leg": leg, "steps": clock.medians()}
    if profile:
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(config["cprofile"])
        out["cprofile"] = text.getvalue()
    spark.stop()
    print(RESULT_MARKER + json.dumps(out), flush=True)


def main(argv: list[str] | None = None) -> int:
    from bench.mlflow_env import ensure_mlflow_python
    from bench.spark import LEGS, leg_env, make_data
    from bench.tables import render_table

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=30, help="batches of 10,000 rows (default 30)")
    parser.add_argument("--only", action="append", choices=LEGS, help="profile only this leg (repeatable)")
    parser.add_argument("--cprofile", type=int, default=0, metavar="N", help="print the N costliest functions")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="mlcask-bench-spark-profile-"))
    data, model, names = make_data(args.batches * BATCH_ROWS, folder)
    config = {"master": "local[1]", "spark_conf": {"spark.ui.enabled": "false", "spark.driver.host": "127.0.0.1",
                                                   "spark.driver.bindAddress": "127.0.0.1"},
              "data": str(data), "model": str(model), "columns": names, "batches": args.batches,
              "cprofile": args.cprofile}
    rows, profiles = [], []
    for leg in [leg for leg in LEGS if not args.only or leg in args.only]:
        python = ensure_mlflow_python() if leg == "mlflow" else Path(sys.executable)
        env = leg_env(python)
        env["OMP_NUM_THREADS"] = "1"  # as Spark sets it for its Python workers
        proc = subprocess.run([str(python), "-c", "from bench.spark_profile import child; child()", leg,
                               json.dumps(config)], cwd=folder, env=env, capture_output=True, text=True)
        lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_MARKER)]
        if proc.returncode or not lines:
            rows.append([leg, "error: " + (proc.stderr.strip().splitlines() or ["?"])[-1][:150], "", ""])
            continue
        result = json.loads(lines[-1][len(RESULT_MARKER):])
        for step, t in result["steps"].items():
            rows.append([leg, step, f"{t['wall_ms']:.2f}", f"{t['cpu_ms']:.2f}"])
        if "cprofile" in result:
            profiles.append(f"--- {leg}\n{result['cprofile']}")
    print(f"{args.batches} batches of {BATCH_ROWS:,} rows x {len(names)} doubles; medians per batch, "
          "second pass (OMP_NUM_THREADS=1, as in Spark's Python workers)\n")
    print(render_table(["leg", "step", "wall ms/batch", "CPU ms/batch"], rows, args.markdown))
    for text in profiles:
        print("\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
