"""The ``runs:/<run_id>/<path>`` grammar: one parser for every caller (loading, registering, the registry's
source rules, the server)."""

from __future__ import annotations

from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking.validation import validate_run_id
from mlcask.utils.paths import clean_relative_path

__all__ = ["split_runs_uri"]


def split_runs_uri(uri: str) -> tuple[str, str]:
    """The run id and the checked relative artifact path of ``runs:/<run_id>/<path>``."""
    if uri[:len("runs:/")].lower() != "runs:/":
        raise InvalidArgumentError(f"Invalid runs URI {uri!r}: expected runs:/<run_id>/<path>.")
    rest = uri[len("runs:/"):].lstrip("/")
    run_id, _, path = rest.partition("/")
    if not run_id:
        raise InvalidArgumentError(f"Invalid runs URI {uri!r}: expected runs:/<run_id>/<path>.")
    validate_run_id(run_id)
    return run_id, clean_relative_path(path, "artifact path of the runs:/ URI")
