"""One leg of the Spark benchmark, run in a fresh process: ``bench/spark.py`` starts it.

    python -c "from bench.spark_worker import main; main()" LEG CONFIG_JSON

LEG is ``mlcask``, ``mlflow`` or ``floor``. CONFIG_JSON gives the Parquet folder, the
model folder, the column names, the rounds, the partitions and the Spark settings (the
same for every leg; ``bench/spark.py`` holds them). The leg builds its SparkSession,
reads the Parquet, repartitions, caches and counts it (not timed), runs one unmeasured
warm-up job that also checks the predictions (count and sum), then times ``rounds``
jobs ``df.select(udf(*cols)).write.format("noop")``. It prints one line
``SPARK_BENCH_RESULT {json}`` on stdout.

``bench`` must be importable by Spark's Python workers (``PYTHONPATH`` holds the repo
root): the floor's model cache lives in this module, so each worker loads the model once.
This module uses only the standard library, pandas, pyarrow, pyspark and xgboost
(it also runs in MLflow's virtual environment, which has no mlcask).
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
import time
from importlib import metadata
from typing import Any, Iterator, Tuple

import pandas as pd
import pyarrow as pa

RESULT_MARKER = "SPARK_BENCH_RESULT "
PACKAGES = ("mlflow", "mlcask", "pyspark", "xgboost", "pandas", "pyarrow", "numpy")


@functools.lru_cache(maxsize=None)
def native_model(model_file: str) -> Any:
    """The XGBoost classifier in ``model_file``, loaded once per Python worker process."""
    import xgboost

    model = xgboost.XGBClassifier()
    model.load_model(model_file)
    return model


def floor_udf(model_file: str, names: list[str]) -> Any:
    """The floor: a hand-written iterator pandas UDF calling the native model's predict."""
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("long")
    def predict(batches: Iterator[Tuple[pd.Series, ...]]) -> Iterator[pd.Series]:  # noqa: UP006
        model = native_model(model_file)
        for columns in batches:
            frame = pd.DataFrame(dict(zip(names, columns)))
            yield pd.Series(model.predict(frame))

    return predict


def plumbing_udf(kind: str) -> Any:
    """A reference: Spark's own work alone, a UDF on the same columns that returns zeros
    without a model, as a pandas UDF or (pyspark >= 4.1) an Arrow UDF."""
    import numpy as np

    if kind == "pandas":
        from pyspark.sql.functions import pandas_udf

        @pandas_udf("long")
        def zeros(batches: Iterator[Tuple[pd.Series, ...]]) -> Iterator[pd.Series]:  # noqa: UP006
            for columns in batches:
                yield pd.Series(np.zeros(len(columns[0]), dtype="int64"))

        return zeros
    from pyspark.sql.functions import arrow_udf

    @arrow_udf("long")
    def arrow_zeros(batches: Iterator[Tuple[pa.Array, ...]]) -> Iterator[pa.Array]:  # noqa: UP006
        for columns in batches:
            yield pa.array(np.zeros(len(columns[0]), dtype="int64"))

    return arrow_zeros


def make_udf(leg: str, spark: Any, config: dict[str, Any]) -> Any:
    if leg.startswith("spark-"):
        return plumbing_udf(leg.removeprefix("spark-"))
    if leg == "floor":
        return floor_udf(os.path.join(config["model"], "model.ubj"), config["columns"])
    # mlcask is drop-in: both tools run the very same call, imported as ``mlflow``.
    mlflow = importlib.import_module(leg)
    return mlflow.pyfunc.spark_udf(spark, config["model"], env_manager="local")


def start_session(config: dict[str, Any]) -> Any:
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(config["master"]).appName("mlcask-bench-spark")
    for key, value in config["spark_conf"].items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


def _processes() -> dict[int, tuple[int, str, float]]:
    """Every process: pid -> (parent pid, command name, CPU seconds of it and its reaped children)."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        cpu = sum(int(x) for x in fields[11:15]) / ticks  # utime, stime, cutime, cstime
        found[int(entry)] = (int(fields[1]), stat[stat.index("(") + 1:stat.rindex(")")], cpu)
    return found


def _descendants(procs: dict[int, tuple[int, str, float]]) -> list[int]:
    todo, found = [os.getpid()], []
    while todo:
        pid = todo.pop()
        children = [child for child, (ppid, _, _) in procs.items() if ppid == pid]
        found += children
        todo += children
    return found


def tree_cpu() -> dict[str, float]:
    """CPU seconds used so far by this process's descendants: the JVM and the Python workers
    (Spark's daemon, which also holds the time of the workers it has reaped)."""
    procs = _processes()
    out = {"jvm": 0.0, "python": 0.0}
    for pid in _descendants(procs):
        _, name, cpu = procs[pid]
        out["jvm" if name == "java" else "python"] += cpu
    return out


def worker_threads_setting() -> str | None:
    """``OMP_NUM_THREADS`` as Spark's Python workers see it (None when unset)."""
    procs = _processes()
    for pid in _descendants(procs):
        if procs[pid][1] != "java":
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
            except OSError:
                continue
            value = env.get(b"OMP_NUM_THREADS")
            return value.decode() if value is not None else None
    return None


def run_leg(leg: str, config: dict[str, Any]) -> dict[str, Any]:
    from pyspark.sql import functions as F

    started = time.perf_counter()
    spark = start_session(config)
    session_s = time.perf_counter() - started
    df = spark.read.parquet(config["data"]).repartition(config["partitions"]).cache()
    rows = df.count()
    udf = make_udf(leg, spark, config)
    predictions = df.select(udf(*config["columns"]).alias("prediction"))

    t0 = time.perf_counter()
    check = predictions.agg(F.count("prediction").alias("n"), F.sum("prediction").alias("s")).first()
    warmup_s = time.perf_counter() - t0
    rounds, jvm_cpu, python_cpu = [], [], []
    for _ in range(config["rounds"]):
        cpu = tree_cpu()
        t0 = time.perf_counter_ns()
        predictions.write.format("noop").mode("overwrite").save()
        rounds.append((time.perf_counter_ns() - t0) / 1e9)
        after = tree_cpu()
        jvm_cpu.append(after["jvm"] - cpu["jvm"])
        python_cpu.append(after["python"] - cpu["python"])
    result = {
        "leg": leg, "rows": rows, "rounds": rounds, "warmup_s": warmup_s, "session_s": session_s,
        "jvm_cpu": jvm_cpu, "python_cpu": python_cpu, "worker_omp_num_threads": worker_threads_setting(),
        "predicted": check["n"], "positives": check["s"], "partitions": df.rdd.getNumPartitions(),
        "result_type": predictions.schema["prediction"].dataType.simpleString(),
        "python": sys.version.split()[0], "executable": sys.executable, "packages": versions(),
    }
    spark.stop()
    return result


def main(argv: list[str] | None = None) -> None:
    leg, config_json = (argv or sys.argv[1:])[:2]
    result = run_leg(leg, json.loads(config_json))
    print(RESULT_MARKER + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
