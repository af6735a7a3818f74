"""The SparkSession the Spark ML flavor works in: the active one, or a local one it starts."""

from __future__ import annotations

import logging
from typing import Any

from mlcask.exceptions import MlcaskException

_logger = logging.getLogger(__name__)

# What a session started only to load and score a model runs with (MLflow starts a similar
# one): one local core, no UI, the driver on the loopback address.
LOCAL_SESSION_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.python.worker.reuse": "true",
    "spark.executor.allowSparkContext": "true",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


def require_pyspark() -> Any:
    """The ``pyspark`` module, or a clear error naming the extra that installs it."""
    try:
        import pyspark
    except ImportError:
        raise MlcaskException("The Spark ML flavor (mlcask.spark) needs pyspark: pip install 'mlcask[spark]'") \
            from None
    return pyspark


def active_session() -> Any | None:
    """The active SparkSession, or None."""
    require_pyspark()
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


def session() -> Any:
    """The active SparkSession, else a local one started for the model (``local[1]``)."""
    spark = active_session()
    if spark is not None:
        return spark
    from pyspark.sql import SparkSession

    _logger.info("No active SparkSession: starting a local one (local[1]) to load the Spark ML model.")
    builder = SparkSession.builder.master("local[1]").appName("mlcask-spark-model")
    for key, value in LOCAL_SESSION_CONF.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def error_summary(exc: Exception) -> str:
    """A JVM error's message and root cause, without the stack traces Py4J carries."""
    java = getattr(exc, "java_exception", None)
    if java is None:
        text = str(exc).strip()
        return text.splitlines()[0] if text else type(exc).__name__
    summary, cause = str(java.toString()), java
    while cause.getCause() is not None and cause.getCause() != cause:
        cause = cause.getCause()
    if cause != java:
        summary += f" (caused by {cause.toString()})"
    return summary
