"""The environment variables mlcask reads, as MLflow's ``mlflow.environment_variables`` objects:
each has its ``name``, ``defined``, ``get()`` (typed, else the default), ``set()`` and ``unset()``;
in an f-string it is its name."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

__all__ = [
    "MLFLOW_ACTIVE_MODEL_ID", "MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE", "MLFLOW_DFS_TMP", "MLFLOW_DISABLE_SCHEMA_DETAILS",
    "MLFLOW_ENABLE_ASYNC_LOGGING",
    "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
    "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", "MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT",
    "MLFLOW_LOG_MODEL_COMPRESSION",
    "MLFLOW_REGISTRY_URI", "MLFLOW_RUN_ID", "MLFLOW_S3_ENDPOINT_URL", "MLFLOW_S3_IGNORE_TLS",
    "MLFLOW_S3_UPLOAD_EXTRA_ARGS", "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "MLFLOW_TRACKING_CLIENT_CERT_PATH",
    "MLFLOW_TRACKING_INSECURE_TLS", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_SERVER_CERT_PATH",
    "MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRUNCATE_LONG_VALUES",
    "BooleanEnvironmentVariable", "EnvironmentVariable",
]


class EnvironmentVariable:
    """An environment variable holding a value of type ``type_`` (``default`` when it is not set)."""

    def __init__(self, name: str, type_: Callable[[str], Any], default: Any) -> None:
        self.name = name
        self.type = type_
        self.default = default

    @property
    def defined(self) -> bool:
        return self.name in os.environ

    def is_set(self) -> bool:
        return self.defined

    def get_raw(self) -> str | None:
        return os.environ.get(self.name)

    def get(self) -> Any:
        raw = self.get_raw()
        if raw is None:
            return self.default
        try:
            return self.type(raw)
        except Exception as exc:
            raise ValueError(f"Failed to convert {raw!r} for {self.name}: {exc}") from None

    def set(self, value: Any) -> None:
        os.environ[self.name] = str(value)

    def unset(self) -> None:
        os.environ.pop(self.name, None)

    def __str__(self) -> str:
        return f"{self.name} (default: {self.default})"

    def __repr__(self) -> str:
        return repr(self.name)

    def __format__(self, format_spec: str) -> str:
        return self.name.__format__(format_spec)


class BooleanEnvironmentVariable(EnvironmentVariable):
    """A boolean variable: ``true``/``false`` or ``1``/``0``, any case."""

    def __init__(self, name: str, default: bool | None) -> None:
        super().__init__(name, bool, default)

    def get(self) -> bool | None:
        raw = self.get_raw()
        if raw is None:
            return self.default
        value = raw.strip().lower()
        if value not in ("true", "false", "1", "0"):
            raise ValueError(f"{self.name} should be one of 'true', 'false', '1' or '0' (any case), got {raw!r}.")
        return value in ("true", "1")

    def set(self, value: Any) -> None:
        os.environ[self.name] = "true" if value else "false"


MLFLOW_TRACKING_URI = EnvironmentVariable("MLFLOW_TRACKING_URI", str, None)
"""The tracking URI (``MLCASK_TRACKING_URI`` wins over it); ``set_tracking_uri`` sets both."""
MLFLOW_REGISTRY_URI = EnvironmentVariable("MLFLOW_REGISTRY_URI", str, None)
MLFLOW_EXPERIMENT_NAME = EnvironmentVariable("MLFLOW_EXPERIMENT_NAME", str, None)
"""The experiment of new runs when none is active (created if missing); wins over MLFLOW_EXPERIMENT_ID."""
MLFLOW_EXPERIMENT_ID = EnvironmentVariable("MLFLOW_EXPERIMENT_ID", str, None)
"""The experiment of new runs when none is active; ``set_experiment`` sets it for child processes."""
MLFLOW_RUN_ID = EnvironmentVariable("MLFLOW_RUN_ID", str, None)
"""A run for the next ``start_run()`` to resume (it is then removed)."""
MLFLOW_ENABLE_ASYNC_LOGGING = BooleanEnvironmentVariable("MLFLOW_ENABLE_ASYNC_LOGGING", False)
"""Whether logging calls without a ``synchronous`` argument are asynchronous."""
MLFLOW_ACTIVE_MODEL_ID = EnvironmentVariable("MLFLOW_ACTIVE_MODEL_ID", str, None)
"""The active model of threads that have not set one (``mlcask.set_active_model``)."""

# -- talking to a tracking server (mlcask.tracking.rest.http) -----------------------------------
MLFLOW_TRACKING_USERNAME = EnvironmentVariable("MLFLOW_TRACKING_USERNAME", str, None)
"""With ``MLFLOW_TRACKING_PASSWORD``: HTTP Basic credentials for the tracking server."""
MLFLOW_TRACKING_PASSWORD = EnvironmentVariable("MLFLOW_TRACKING_PASSWORD", str, None)
MLFLOW_TRACKING_TOKEN = EnvironmentVariable("MLFLOW_TRACKING_TOKEN", str, None)
"""A Bearer token for the tracking server (used when no username and password are set)."""
MLFLOW_TRACKING_INSECURE_TLS = BooleanEnvironmentVariable("MLFLOW_TRACKING_INSECURE_TLS", False)
"""Skip verifying the server's TLS certificate (excludes ``MLFLOW_TRACKING_SERVER_CERT_PATH``)."""
MLFLOW_TRACKING_SERVER_CERT_PATH = EnvironmentVariable("MLFLOW_TRACKING_SERVER_CERT_PATH", str, None)
"""A CA bundle file or folder to verify the tracking server with."""
MLFLOW_TRACKING_CLIENT_CERT_PATH = EnvironmentVariable("MLFLOW_TRACKING_CLIENT_CERT_PATH", str, None)
"""A PEM file with the client certificate (and its key) to present to the tracking server."""
MLFLOW_HTTP_REQUEST_MAX_RETRIES = EnvironmentVariable("MLFLOW_HTTP_REQUEST_MAX_RETRIES", int, 7)
MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR = EnvironmentVariable("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", int, 2)
MLFLOW_HTTP_REQUEST_BACKOFF_JITTER = EnvironmentVariable("MLFLOW_HTTP_REQUEST_BACKOFF_JITTER", float, 1.0)
MLFLOW_HTTP_REQUEST_TIMEOUT = EnvironmentVariable("MLFLOW_HTTP_REQUEST_TIMEOUT", int, 120)
"""Seconds to wait for the tracking server's answer to one request."""
MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT = BooleanEnvironmentVariable("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", False)
"""Do not print the links of a finished run on a tracking server."""

# -- models (mlcask.models.enforcement) ---------------------------------------------------------
MLFLOW_DISABLE_SCHEMA_DETAILS = BooleanEnvironmentVariable("MLFLOW_DISABLE_SCHEMA_DETAILS", False)
"""Schema enforcement errors keep the model's schema out of their message (MLflow's generic wording)."""

MLFLOW_LOG_MODEL_COMPRESSION = EnvironmentVariable("MLFLOW_LOG_MODEL_COMPRESSION", str, None)
"""Compress a custom model's pickle when saving it: ``lzma``, ``bzip2`` or ``gzip`` (mlcask.pyfunc)."""

# -- the Spark ML flavor (mlcask.spark) ---------------------------------------------------------
MLFLOW_DFS_TMP = EnvironmentVariable("MLFLOW_DFS_TMP", str, "/tmp/mlflow")
"""Where a Spark ML model is written and read on the way when Spark's default file system is not local."""

# -- the model's own environments (mlcask.environments) ---------------------------------------------
MLCASK_ENV_ALLOW_SOURCE_BUILDS = BooleanEnvironmentVariable("MLCASK_ENV_ALLOW_SOURCE_BUILDS", False)
"""Let ``--env-manager uv|virtualenv`` build source distributions (their build code runs at install time);
by default a model's environment installs wheels only."""

# -- deployments (mlcask.deployments) -----------------------------------------------------------
MLFLOW_DEPLOYMENTS_TARGET = EnvironmentVariable("MLFLOW_DEPLOYMENTS_TARGET", str, None)
"""The deployment target ``get_deploy_client()`` and ``mlcask deployments`` use when none is given."""

# -- logging (mlcask.tracking.validation) -------------------------------------------------------
MLFLOW_TRUNCATE_LONG_VALUES = BooleanEnvironmentVariable("MLFLOW_TRUNCATE_LONG_VALUES", True)
"""Cut over-long param and tag values to the store's limit (with a warning) instead of refusing them."""

# -- S3 artifact stores (mlcask.tracking.s3) ----------------------------------------------------
MLFLOW_S3_ENDPOINT_URL = EnvironmentVariable("MLFLOW_S3_ENDPOINT_URL", str, None)
"""The endpoint of an S3-compatible store (MinIO, Ceph, ...)."""
MLFLOW_S3_IGNORE_TLS = BooleanEnvironmentVariable("MLFLOW_S3_IGNORE_TLS", False)
MLFLOW_S3_UPLOAD_EXTRA_ARGS = EnvironmentVariable("MLFLOW_S3_UPLOAD_EXTRA_ARGS", str, None)
"""A JSON object of extra upload arguments (``{"ServerSideEncryption": "aws:kms"}``)."""
MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE = EnvironmentVariable("MLFLOW_BOTO_CLIENT_ADDRESSING_STYLE", str, "auto")
