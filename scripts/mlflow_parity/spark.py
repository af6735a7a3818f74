"""The Spark set (``scripts/mlflow-parity --spark``): its modules and the Spark configuration.

MLflow's Spark modules build their own sessions in their fixtures (``SparkSession.builder`` with
``local-cluster[2, 1, 1024]`` from ``SPARK_MASTER``, ``local[*]``, or no master at all). The harness
lets them, and makes every one of those sessions the test suite's own configuration
(``tests/spark_session.py``: 127.0.0.1, no UI, small shuffles) through Spark's usual channels,
never by editing MLflow's code. The settings that change what a test *sees* are the ones MLflow's
tests were written for (:data:`AS_MLFLOW_TESTS_EXPECT`): Arrow off for ``toPandas()`` /
``createDataFrame`` (Spark's default before 4.1; pyspark 4.2 turns it on, and then array columns
come back as numpy arrays where MLflow's assertions compare lists). Pandas UDFs, ``spark_udf``
among them, use Arrow either way.

- ``SPARK_CONF_DIR`` points at a ``spark-defaults.conf`` written in the working copy (read by the
  JVM that pyspark starts), with ``spark.master`` for the fixtures that give none;
- ``SPARK_MASTER`` (MLflow's ``tests/pyfunc/test_spark.py`` reads it) is the ``--spark-master``
  given, ``local[2]`` by default (the machine is shared; ``local-cluster[2,1,1024]`` is MLflow's);
- ``SPARK_LOCAL_IP`` binds Spark to 127.0.0.1; ``PYSPARK_PYTHON`` is the harness's interpreter,
  so the Python workers import mlcask under the ``mlflow`` alias (``site/sitecustomize.py`` is on
  their ``PYTHONPATH`` too).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# MLflow's own tests of spark_udf, the Spark ML flavor and pyspark.ml autologging.
SPARK_MODULES = [
    "tests/pyfunc/test_spark.py",
    "tests/spark/test_spark_model_export.py",
    "tests/spark/autologging/ml/test_pyspark_ml_autologging.py",
    "tests/pyfunc/test_pyfunc_schema_enforcement_pyspark.py",
]
DEFAULT_MASTER = "local[2]"
# Settings MLflow's tests assume (they override the suite's configuration).
AS_MLFLOW_TESTS_EXPECT = {"spark.sql.execution.arrow.pyspark.enabled": "false"}
# A Spark test phase waits for a busy shared machine: the session start, a model shipped to workers.
TIMEOUT = 240.0
MODULE_TIMEOUT = 3600.0


def suite_conf() -> dict[str, str]:
    """The test suite's Spark configuration (``tests/spark_session.SPARK_CONF``), read from its file
    so that the harness and the suite cannot drift apart."""
    path = REPO / "tests" / "spark_session.py"
    spec = importlib.util.spec_from_file_location("_parity_spark_session", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"expected the suite's Spark configuration at {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.SPARK_CONF)


def defaults_text(master: str, conf: dict[str, str] | None = None) -> str:
    """``spark-defaults.conf``: the suite's configuration, :data:`AS_MLFLOW_TESTS_EXPECT` and ``spark.master``."""
    settings = {**(suite_conf() if conf is None else conf), **AS_MLFLOW_TESTS_EXPECT, "spark.master": master}
    return "".join(f"{key} {value}\n" for key, value in sorted(settings.items()))


def write_conf_dir(workdir: Path, master: str) -> Path:
    """Write ``<workdir>/spark-conf/spark-defaults.conf``; return the folder (``SPARK_CONF_DIR``)."""
    conf_dir = workdir / "spark-conf"
    conf_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "spark-defaults.conf").write_text(defaults_text(master), encoding="utf-8")
    return conf_dir


def environment(workdir: Path, master: str, python: str) -> dict[str, str]:
    """The variables a pytest process of a ``--spark`` run gets (see the module docstring)."""
    from mlflow_parity.rules import SPARK_ENV

    return {SPARK_ENV: "1", "SPARK_CONF_DIR": str(write_conf_dir(workdir, master)), "SPARK_MASTER": master,
            "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": python, "PYSPARK_DRIVER_PYTHON": python}
