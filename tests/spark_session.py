"""The one local SparkSession configuration of the test suite (and of interop children).

Spark runs in local mode on 127.0.0.1 with no UI, two shuffle partitions and Arrow on, so
a session starts in a few seconds and a small job takes well under one. Its Python
workers run this interpreter (``PYSPARK_PYTHON``), so they import the same mlcask.
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest

# Given as a dict so an interop child (real MLflow's venv) can build the same session.
SPARK_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.memory": "1g",
    "spark.sql.session.timeZone": "UTC",
}


def need_spark() -> None:
    """Skip when pyspark or Java is missing, except in CI, where that is a failure."""
    problem = None
    try:
        import pyspark  # noqa: F401
    except ImportError:
        problem = "pyspark is not installed (pip install 'mlcask[spark]')"
    if problem is None and shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        problem = "Java is not installed (Spark needs Java 17: apt-get install openjdk-17-jre-headless)"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)


def start_spark(master: str = "local[2]", app_name: str = "mlcask-tests"):
    """A SparkSession with :data:`SPARK_CONF` whose Python workers run this interpreter."""
    need_spark()
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def child_session_code(master: str = "local[2]") -> str:
    """Python source that builds the same session in another interpreter (``spark = ...``)."""
    lines = ["import os, sys\nos.environ['PYSPARK_PYTHON'] = sys.executable",
             "from pyspark.sql import SparkSession",
             f"_b = SparkSession.builder.master({master!r}).appName('mlcask-interop')"]
    lines += [f"_b = _b.config({key!r}, {value!r})" for key, value in SPARK_CONF.items()]
    lines += ["spark = _b.getOrCreate()", "spark.sparkContext.setLogLevel('ERROR')"]
    return "\n".join(lines) + "\n"
