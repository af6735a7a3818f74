"""Checks on names and values logged to the tracking store, with MLflow's rules and limits.

The store, the registry and the fluent API all call these, so a bad key or value is
refused with the same message wherever it comes from. Each ``validate_*`` function
raises :class:`~mlcask.exceptions.InvalidArgumentError` (``INVALID_PARAMETER_VALUE``)
naming the offending key or value and what is allowed.

Over-long param and tag *values* are truncated with a warning, as MLflow does by
default; set ``MLCASK_TRUNCATE_LONG_VALUES=false`` (or MLflow's
``MLFLOW_TRUNCATE_LONG_VALUES=false``) to refuse them instead. Over-long keys and
names are always refused.
"""

from __future__ import annotations

import functools
import logging
import math
import numbers
import os
import posixpath
import re
import sys
from collections.abc import Iterable
from typing import Any

from mlcask.environment_variables import MLFLOW_TRUNCATE_LONG_VALUES
from mlcask.exceptions import InvalidArgumentError

_logger = logging.getLogger(__name__)

# MLflow 3.17's limits (mlflow/utils/validation.py).
MAX_ENTITY_KEY_LENGTH = 250
MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_ENTITIES_PER_BATCH = 1000
MAX_DATASET_NAME_SIZE = 500
MAX_DATASET_DIGEST_SIZE = 36
MAX_DATASET_SOURCE_SIZE = 65535
MAX_DATASET_SCHEMA_SIZE = 1048575
MAX_DATASET_PROFILE_SIZE = 16777215
MAX_INPUT_TAG_KEY_SIZE = 255
MAX_INPUT_TAG_VALUE_SIZE = 500
MAX_RESULTS_THRESHOLD = 50000
# MLflow validates experiment names up to 500 characters and experiment tag values up to
# 20,000, but its own ``experiments.name`` column is VARCHAR(256) (a longer name fails on
# PostgreSQL). We refuse at the column sizes of our schema instead of failing in the database.
MAX_EXPERIMENT_NAME_LENGTH = 256
MAX_EXPERIMENT_TAG_KEY_LENGTH = 250
MAX_EXPERIMENT_TAG_VAL_LENGTH = 5000
MAX_RUN_NAME_LENGTH = 250
MAX_USER_ID_LENGTH = 256
MAX_ARTIFACT_LOCATION_LENGTH = 1000
MAX_LOGGED_MODEL_NAME_LENGTH = 500

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_WINDOWS = sys.platform == "win32"
# Alphanumerics (any script), underscores, dashes, periods, spaces, slashes, and colons
# except on Windows, where keys can become file names.
_KEY_RE = re.compile(r"^[/\w.\- ]*$" if _WINDOWS else r"^[/\w.\- :]*$")
_KEY_CHARS = ("alphanumerics, underscores (_), dashes (-), periods (.), spaces ( )"
              + ("" if _WINDOWS else ", colons (:)") + " and slashes (/)")
_RUN_ID_RE = re.compile(r"^[a-zA-Z0-9][\w\-]{0,255}$")
_LOGGED_MODEL_NAME_BAD_CHARS = ("/", ":", ".", "%", '"', "'")


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _truncation_enabled() -> bool:
    setting = os.environ.get("MLCASK_TRUNCATE_LONG_VALUES", MLFLOW_TRUNCATE_LONG_VALUES.get_raw() or "true")
    return setting.strip().lower() not in ("false", "0", "no", "off")


def validate_length(what: str, value: str, limit: int, *, truncate: bool = False) -> str:
    """``value`` if at most ``limit`` characters; else truncated (when allowed) or refused."""
    if len(value) <= limit:
        return value
    if truncate and _truncation_enabled():
        _logger.warning("%s '%s...' (%d characters) is truncated to %d characters, the maximum length.",
                        what, value[:100], len(value), limit)
        return value[:limit]
    raise InvalidArgumentError(f"{what} '{value[:100]}...' is {len(value)} characters long; the maximum is {limit}.")


@functools.lru_cache(maxsize=4096)
def _key_problem(key: str, max_length: int) -> str | None:
    # Cached: a program logs the same few keys over and over, and a valid key stays valid.
    if not _KEY_RE.match(key):
        return "characters"
    normalized = posixpath.normpath(key)
    if normalized != key or normalized == "." or normalized.startswith(("..", "/")):
        return "path"
    if len(key) > max_length:
        return "length"
    return None


def validate_key(kind: str, key: Any, max_length: int = MAX_ENTITY_KEY_LENGTH) -> None:
    """Check a metric, param or tag key (``kind`` is e.g. ``"metric"``): a non-empty string of
    allowed characters that stays the same name when treated as a relative file path."""
    if key is None:
        raise InvalidArgumentError(f"A {kind} key must be provided, got None.")
    if not isinstance(key, str):
        raise InvalidArgumentError(f"A {kind} key must be a string, got {_describe(key)}.")
    problem = _key_problem(key, max_length)
    if problem is None:
        return
    if problem == "characters":
        raise InvalidArgumentError(f"Invalid {kind} key {key!r}: names may only contain {_KEY_CHARS}.")
    if problem == "path":
        raise InvalidArgumentError(
            f"Invalid {kind} key {key!r}: names may be used as file paths and must not resolve to another "
            f"name (this one resolves to {posixpath.normpath(key)!r}); no leading '/', no '.' or '..' segments, "
            "no '//' and no trailing '/'.")
    raise InvalidArgumentError(
        f"Invalid {kind} key '{key[:100]}...': it is {len(key)} characters long; the maximum is {max_length}.")


def validate_metric_key(key: Any) -> None:
    """Check a metric key (see :func:`validate_key`)."""
    validate_key("metric", key)


def _as_int64(what: str, value: Any) -> int:
    # Floats are accepted (and truncated) as MLflow accepts any number here.
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InvalidArgumentError(f"{what} must be an integer (64-bit), got {_describe(value)}.")
    number = int(value)
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise InvalidArgumentError(f"{what} must fit in a 64-bit integer, got {number}.")
    return number


def validate_timestamp(what: str, value: Any) -> int:
    """A non-negative time in milliseconds since the epoch, as an int (``what`` names it in errors)."""
    number = _as_int64(what, value)
    if number < 0:
        raise InvalidArgumentError(f"{what} must be a non-negative number of milliseconds since the epoch, "
                                   f"got {number}.")
    return number


def validate_metric(key: Any, value: Any, timestamp: Any, step: Any) -> None:
    """Check a metric: valid key, a real number as value (not bool, not a string), a
    non-negative integer timestamp in milliseconds and an integer step."""
    validate_key("metric", key)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        got = "None" if value is None else _describe(value)
        # The last sentence is MLflow's wording, which its users and tests match on.
        raise InvalidArgumentError(f"Metric '{key}' value must be a number (a 64-bit float), got {got} "
                                   f"(timestamp={timestamp}). Please specify value as a valid double "
                                   "(64-bit floating point).")
    validate_timestamp(f"Metric '{key}' timestamp", timestamp)
    _as_int64(f"Metric '{key}' step", step)


def sanitize_metric_value(value: float) -> tuple[bool, float]:
    """``(is_nan, stored_value)`` as MLflow stores a metric value: NaN becomes 0 with the
    ``is_nan`` flag; +/-inf becomes the largest finite double of that sign."""
    value = float(value)
    if math.isnan(value):
        return True, 0.0
    if math.isinf(value):
        return False, sys.float_info.max if value > 0 else -sys.float_info.max
    return False, value


def validate_param(key: Any, value: Any) -> str:
    """Check a param; returns its value (truncated to 6,000 characters if longer, with a warning)."""
    validate_key("param", key)
    if not isinstance(value, str):
        raise InvalidArgumentError(f"Param '{key}' value must be a string, got {_describe(value)}.")
    return validate_length(f"Param '{key}' value", value, MAX_PARAM_VAL_LENGTH, truncate=True)


def validate_tag(key: Any, value: Any) -> str:
    """Check a run tag; returns its value (truncated to 8,000 characters if longer, with a warning)."""
    validate_key("tag", key)
    if not isinstance(value, str):
        raise InvalidArgumentError(f"Tag '{key}' value must be a string, got {_describe(value)}.")
    return validate_length(f"Tag '{key}' value", value, MAX_TAG_VAL_LENGTH, truncate=True)


def validate_experiment_tag(key: Any, value: Any) -> None:
    """Check an experiment tag (key as a run tag's; value at most 5,000 characters)."""
    validate_key("experiment tag", key, MAX_EXPERIMENT_TAG_KEY_LENGTH)
    if not isinstance(value, str):
        raise InvalidArgumentError(f"Experiment tag '{key}' value must be a string, got {_describe(value)}.")
    validate_length(f"Experiment tag '{key}' value", value, MAX_EXPERIMENT_TAG_VAL_LENGTH)


def validate_experiment_name(name: Any) -> None:
    """Check an experiment name: a non-empty string of at most 256 characters."""
    if name is None or name == "":
        raise InvalidArgumentError(f"Invalid experiment name {name!r}: an experiment needs a non-empty name.")
    if not isinstance(name, str):
        raise InvalidArgumentError(f"Invalid experiment name: expected a string, got {_describe(name)}.")
    validate_length("Experiment name", name, MAX_EXPERIMENT_NAME_LENGTH)


def validate_experiment_id(experiment_id: Any) -> int:
    """The integer behind an experiment id (``"0"``, ``"12"`` or an int)."""
    if isinstance(experiment_id, int) and not isinstance(experiment_id, bool):
        return experiment_id
    if isinstance(experiment_id, str) and experiment_id.strip().isascii() and experiment_id.strip().isdigit():
        return int(experiment_id)
    raise InvalidArgumentError(f"Invalid experiment id {experiment_id!r}: experiment ids are integers such as '0' "
                               "or '12'.")


def validate_artifact_location(location: str) -> None:
    """Check an experiment's artifact location: not a ``runs:/`` URI, at most 1,000 characters."""
    if not isinstance(location, str):
        raise InvalidArgumentError(f"An artifact location must be a string, got {_describe(location)}.")
    if location.startswith("runs:"):
        raise InvalidArgumentError(f"An experiment's artifact location cannot be a runs:/ URI, got {location!r}.")
    validate_length("Artifact location", location, MAX_ARTIFACT_LOCATION_LENGTH)


def validate_run_id(run_id: Any) -> None:
    """Check the shape of a run id (a letter or digit, then up to 255 of letters, digits, _ and -)."""
    if not isinstance(run_id, str) or not _RUN_ID_RE.match(run_id):
        raise InvalidArgumentError(f"Invalid run id {run_id!r}: run ids are strings of letters, digits, '_' and '-' "
                                   "such as 'a1b2c3...' (32 hexadecimal digits for runs mlcask creates).")


def validate_user_id(user_id: Any) -> None:
    """Check a run's user id: None, or a string of at most 256 characters."""
    if user_id is not None:
        if not isinstance(user_id, str):
            raise InvalidArgumentError(f"A user id must be a string, got {_describe(user_id)}.")
        validate_length("User id", user_id, MAX_USER_ID_LENGTH)


def validate_run_name(name: Any) -> None:
    """Check a run name: a string of at most 250 characters."""
    if not isinstance(name, str):
        raise InvalidArgumentError(f"A run name must be a string, got {_describe(name)}.")
    validate_length("Run name", name, MAX_RUN_NAME_LENGTH)


def validate_logged_model_name(name: Any) -> None:
    """Check a logged model's name (None lets the store pick one)."""
    if name is None:
        return
    if not isinstance(name, str) or not name or any(c in name for c in _LOGGED_MODEL_NAME_BAD_CHARS):
        raise InvalidArgumentError(
            f"Invalid model name {name!r}: a model name must be a non-empty string without any of "
            f"{' '.join(_LOGGED_MODEL_NAME_BAD_CHARS)}.")
    validate_length("Model name", name, MAX_LOGGED_MODEL_NAME_LENGTH)


def validate_batch_limits(n_metrics: int, n_params: int, n_tags: int) -> None:
    """Check a ``log_batch`` call's sizes (at most 1,000 metrics, 100 params, 100 tags, 1,000 in all)."""
    for what, count, limit in (("metrics", n_metrics, MAX_METRICS_PER_BATCH),
                               ("params", n_params, MAX_PARAMS_TAGS_PER_BATCH),
                               ("tags", n_tags, MAX_PARAMS_TAGS_PER_BATCH),
                               ("metrics, params and tags", n_metrics + n_params + n_tags, MAX_ENTITIES_PER_BATCH)):
        if count > limit:
            raise InvalidArgumentError(f"A batch can log at most {limit} {what}, got {count}: split them across "
                                       "several log_batch calls.")


def validate_param_keys_unique(keys: Iterable[str]) -> None:
    """Refuse a batch that gives the same param key twice."""
    seen: set[str] = set()
    duplicates = sorted({key for key in keys if key in seen or seen.add(key)})
    if duplicates:
        raise InvalidArgumentError(f"Duplicate param keys in one batch: {duplicates}. Give each param once.")


def validate_dataset(dataset: Any) -> None:
    """Check a dataset logged as a run input: name, digest, source type and source present and
    within MLflow's sizes."""
    if dataset is None:
        raise InvalidArgumentError("A dataset input needs a dataset, got None.")
    for field in ("name", "digest", "source_type", "source"):
        if getattr(dataset, field, None) is None:
            raise InvalidArgumentError(f"Dataset {field} must be given, got None.")
    for field, limit in (("name", MAX_DATASET_NAME_SIZE), ("digest", MAX_DATASET_DIGEST_SIZE),
                         ("source", MAX_DATASET_SOURCE_SIZE), ("schema", MAX_DATASET_SCHEMA_SIZE),
                         ("profile", MAX_DATASET_PROFILE_SIZE)):
        value = getattr(dataset, field, None)
        if value is not None:
            validate_length(f"Dataset {field}", value, limit)
    validate_length("Dataset source_type", dataset.source_type, 36)


def validate_input_tag(key: Any, value: Any) -> None:
    """Check a dataset input's tag (such as ``mlflow.data.context``)."""
    if not isinstance(key, str) or not isinstance(value, str):
        raise InvalidArgumentError(f"Input tag keys and values must be strings, got {key!r}: {value!r}.")
    validate_length("Input tag key", key, MAX_INPUT_TAG_KEY_SIZE)
    validate_length(f"Input tag '{key}' value", value, MAX_INPUT_TAG_VALUE_SIZE)
