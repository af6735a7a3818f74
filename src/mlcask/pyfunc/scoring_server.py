"""The scoring protocol's names at MLflow's path, ``mlflow.pyfunc.scoring_server``: the request
content types and payload keys that clients (and MLflow's tests) import. The server itself is
:mod:`mlcask.serving` (``mlcask models serve``), which takes these from here."""

from __future__ import annotations

from mlcask.models.serving_input import PAYLOAD_KEYS

__all__ = [
    "CONTENT_TYPES", "CONTENT_TYPE_CSV", "CONTENT_TYPE_JSON", "CONTENT_TYPE_PARQUET", "DF_RECORDS", "DF_SPLIT",
    "INPUTS", "INSTANCES", "SERVING_PARAMS_KEY", "SUPPORTED_FORMATS",
]

CONTENT_TYPE_CSV = "text/csv"
CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_PARQUET = "application/vnd.apache.parquet"
CONTENT_TYPES = [CONTENT_TYPE_CSV, CONTENT_TYPE_JSON, CONTENT_TYPE_PARQUET]

DF_SPLIT, DF_RECORDS, INSTANCES, INPUTS = PAYLOAD_KEYS
SUPPORTED_FORMATS = set(PAYLOAD_KEYS)
SERVING_PARAMS_KEY = "params"
