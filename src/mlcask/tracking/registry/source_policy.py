"""Which model version sources the registry accepts.

A source tells later loads (``models:/<name>/<version>``) where the version's files are,
so a source that smuggles a path somewhere else is refused when the version is created,
and checked again when it is resolved. The rules, by the form of the source:

- ``models:/...``: a well-formed models URI (:func:`mlcask.models.uri.parse_models_uri`:
  a logged model id, or a registered model name with a version, stage, ``latest`` or
  alias), with no path inside the model.
- ``runs:/<run_id>/<path>``: a run id of the usual shape, and a plain relative path in the
  run's artifacts (:func:`mlcask.utils.paths.clean_relative_path`: no ``..`` in any
  encoding, not absolute, no backslash or control characters).
- Local paths and ``file:`` URIs: no ``..`` segment in any encoding (percent-encoded,
  fullwidth dots, ``..;`` path parameters, runs of dots), no NUL or other control
  characters, no backslash. With a ``run_id`` of a run in this database, the path, with
  its symbolic links resolved, must lie inside that run's artifact folder or inside the
  folder of a model logged by that run; otherwise it is refused. This is the rule MLflow
  adopted for CVE-2023-1177 and CVE-2023-2780: a version that claims to come from a run
  must hold that run's files.
- Other URIs (``s3://``, ``https://``, ...): kept as given, with the same ``..``, control
  character and backslash checks on their path.

Decision for local sources without a ``run_id`` (or with a run id this database does not
know: the registry can live apart from the runs): they are accepted, as MLflow's own
in-process stores accept ``register_model("/path/to/model", ...)``: used in the caller's
process with the caller's file permissions, such a source only points a later load at
files its user could read anyway. ``mlcask server`` (as MLflow's server) refuses local
sources from remote callers, since there the *server* would read them on their behalf.
"""

from __future__ import annotations

import re
import urllib.parse
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from mlcask.exceptions import InvalidArgumentError
from mlcask.tracking.runs_uri import split_runs_uri
from mlcask.utils.paths import decoded_forms, segment_problem, shown

_WHAT = "model version source"


def _scheme(source: str) -> str:
    scheme = urllib.parse.urlsplit(source).scheme.lower()
    return "" if len(scheme) <= 1 else scheme  # one letter is a Windows drive


def is_local(source: str) -> bool:
    """Whether ``source`` is a local path or ``file:`` URI."""
    return _scheme(source) in ("", "file")


def _check_text(source: str) -> None:
    """The ``..``, control character and backslash checks, on every decoded form of ``source``."""
    for form, how in decoded_forms(source, _WHAT):
        for char in form:
            if ord(char) < 32 or 0x7F <= ord(char) <= 0x9F:
                raise InvalidArgumentError(f"Invalid {_WHAT} {shown(source)}: it contains the control character "
                                           f"U+{ord(char):04X}{how}.")
        if "\\" in form:
            raise InvalidArgumentError(f"Invalid {_WHAT} {shown(source)}: it contains a backslash{how}; "
                                       "separate folders with '/'.")
        # Every segment, query and fragment included: some readers of a URI drop "?..." or "#..."
        # and some keep it (CVE-2024-1483, CVE-2024-1594).
        for segment in re.split(r"[/?#]", form):
            problem = segment_problem(segment, limit_length=False)
            if problem:
                raise InvalidArgumentError(f"Invalid {_WHAT} {shown(source)}: {problem}{how}.")


def check_source(source: str) -> None:
    """Refuse a source that could lead elsewhere than it says (see the module docstring)."""
    from mlcask.models.uri import parse_models_uri

    _check_text(source)
    scheme = _scheme(source)
    if scheme == "models":
        parsed = parse_models_uri(source)
        if parsed.path:
            raise InvalidArgumentError(f"Invalid {_WHAT} {shown(source)}: a source names a whole model, not a path "
                                       f"inside one ({parsed.path!r}); expected models:/<model_id>, "
                                       "models:/<name>/<version>, models:/<name>/<stage> or models:/<name>@<alias>.")
    if scheme == "runs":
        split_runs_uri(source)


def local_source_path(source: str) -> Path:
    """The absolute local path a local source names."""
    if _scheme(source) == "file":
        parsed = urllib.parse.urlsplit(source)
        if parsed.netloc not in ("", "localhost"):
            raise InvalidArgumentError(f"Invalid {_WHAT} {shown(source)}: a file: URI must name a local file, "
                                       f"not host {parsed.netloc!r}.")
        return Path(urllib.parse.unquote(parsed.path)).absolute()
    return Path(source).absolute()


def check_source_in_run(conn: Any, source: str, run_id: str) -> None:
    """Refuse a local ``source`` outside the artifacts of ``run_id`` (when this database knows the run)."""
    from mlcask.tracking.artifacts import local_path_of
    from mlcask.tracking.store.schema import logged_models, runs

    if not is_local(source):
        return
    row = conn.execute(sa.select(runs.c.artifact_uri).where(runs.c.run_uuid == run_id)).first()
    if row is None:
        return
    locations = [row.artifact_uri, *conn.execute(sa.select(logged_models.c.artifact_location)
                                                  .where(logged_models.c.source_run_id == run_id)).scalars()]
    try:
        resolved = local_source_path(source).resolve()
    except RuntimeError:  # a symbolic link loop
        resolved = None
    folders = [local_path_of(location).absolute().resolve() for location in locations
               if location and is_local(location)]
    if resolved is None or not any(resolved.is_relative_to(folder) for folder in folders):
        raise InvalidArgumentError(
            f"Invalid {_WHAT} {shown(source)}: a local source registered with run_id {run_id!r} must lie inside that "
            f"run's artifacts ({row.artifact_uri}) or a model it logged; it resolves to '{resolved}'. Register "
            f"runs:/{run_id}/<path> or the logged model's models:/<model_id> instead.")
