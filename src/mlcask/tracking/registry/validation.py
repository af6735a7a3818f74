"""Argument checks of the model registry, with MLflow's rules and clear messages.

Names become parts of URIs (``models:/<name>@<alias>``) and of file paths in some
stores, so the rules keep them unambiguous: a registered model name holds no ``/`` or
``:`` and does not change under path normalisation; an alias is word characters and
dashes, and may not look like a version (``v3``) or be ``latest``.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from mlcask.exceptions import InvalidArgumentError
from mlcask.models.uri import MODEL_STAGES
from mlcask.tracking.validation import validate_key

# Column sizes of the registry tables (schema.py); longer values are refused up front
# rather than failing (PostgreSQL) or being stored silently (SQLite).
MAX_NAME_LENGTH = 256
MAX_ALIAS_LENGTH = 255
MAX_TAG_KEY_LENGTH = 250
MAX_TAG_VALUE_LENGTH = 5000
MAX_DESCRIPTION_LENGTH = 5000
MAX_SOURCE_LENGTH = 500
MAX_RUN_ID_LENGTH = 32
MAX_MODEL_ID_LENGTH = 64

ALL_STAGES = MODEL_STAGES  # one list: the models:/ grammar and the registry agree by construction
STAGE_NONE, STAGE_STAGING, STAGE_PRODUCTION, STAGE_ARCHIVED = ALL_STAGES
STAGE_DELETED_INTERNAL = "Deleted_Internal"
ACTIVE_STAGES = (STAGE_STAGING, STAGE_PRODUCTION)
_CANONICAL_STAGES = {stage.lower(): stage for stage in ALL_STAGES}

LATEST_ALIAS = "latest"
_ALIAS_RE = re.compile(r"^[\w\-]+$")
_VERSION_LIKE_ALIAS_RE = re.compile(r"^[vV]\d+$")


def invalid(message: str) -> InvalidArgumentError:
    """An INVALID_PARAMETER_VALUE error with ``message``."""
    return InvalidArgumentError(message)


def _resolves_elsewhere(name: str) -> bool:
    normalised = posixpath.normpath(name)
    return normalised != name or normalised == "." or normalised.startswith(("..", "/"))


def check_length(what: str, value: str | None, limit: int) -> None:
    """Refuse a ``value`` longer than ``limit`` characters."""
    if value is not None and len(value) > limit:
        raise invalid(f"{what} is {len(value)} characters long; the limit is {limit}.")


def validate_model_name(name: Any, parameter: str = "name") -> str:
    """Check a registered model name and return it."""
    if name is None or not isinstance(name, str) or not name.strip():
        raise invalid(f"Missing value for required parameter '{parameter}': a registered model name must be a "
                      f"non-empty string, got {name!r}.")
    if "/" in name or ":" in name:
        raise invalid(f"Invalid registered model name {name!r}: names cannot contain '/' or ':'.")
    if _resolves_elsewhere(name):
        raise invalid(f"Invalid registered model name {name!r}: as a path it would resolve to "
                      f"{posixpath.normpath(name)!r}; use a name that normalises to itself.")
    check_length(f"Registered model name {name[:50]!r}...", name, MAX_NAME_LENGTH)
    return name


def validate_version(version: Any) -> int:
    """A model version number as an int (``"3"`` and ``3`` are both accepted)."""
    if isinstance(version, bool):
        raise invalid(f"Parameter 'version' must be an integer, got {version!r}.")
    try:
        return int(version)
    except (TypeError, ValueError):
        raise invalid(f"Parameter 'version' must be an integer, got '{version}'.") from None


def validate_alias(alias: Any) -> str:
    """Check the characters and length of an alias (any use: set, get, delete)."""
    if alias is None or alias == "":
        raise invalid("Registered model alias name cannot be empty.")
    if not isinstance(alias, str) or not _ALIAS_RE.match(alias):
        raise invalid(f"Invalid alias name: {alias!r}. Aliases may only contain alphanumerics, underscores (_) "
                      "and dashes (-).")
    check_length(f"Registered model alias {alias[:50]!r}...", alias, MAX_ALIAS_LENGTH)
    return alias


def validate_alias_settable(alias: str) -> None:
    """Refuse the aliases that ``models:/name@alias`` resolves by itself: ``latest`` and ``v<digits>``."""
    if alias.lower() == LATEST_ALIAS:
        raise invalid(f"The alias name {alias!r} is reserved: '@latest' (any case) always means the highest "
                      "version.")
    if _VERSION_LIKE_ALIAS_RE.match(alias):
        raise invalid(f"The alias name {alias!r} is reserved: names like 'v<digits>' would read as a version "
                      "number.")


def validate_tag_key(key: Any) -> str:
    """Check a registered model or model version tag key (the tracking store's rules for tag keys)."""
    validate_key("tag", key, MAX_TAG_KEY_LENGTH)
    return key


def validate_tag_value(key: str, value: Any, *, allow_none: bool) -> str | None:
    """Check a tag value (model version tags need one; registered model tags may be None)."""
    if value is None:
        if allow_none:
            return None
        raise invalid(f"The value of tag {key!r} cannot be None.")
    if not isinstance(value, str):
        raise invalid(f"The value of tag {key!r} must be a string, got {type(value).__name__}.")
    check_length(f"The value of tag {key!r}", value, MAX_TAG_VALUE_LENGTH)
    return value


def canonical_stage(stage: str) -> str:
    """``"production"`` -> ``"Production"``; unknown stages are refused."""
    canonical = _CANONICAL_STAGES.get(str(stage).lower())
    if canonical is None:
        raise invalid(f"Invalid model version stage: {stage!r}. It must be one of {', '.join(ALL_STAGES)} "
                      "(case-insensitive).")
    return canonical
