"""The links to a run in the tracking server's web UI, printed when the run ends (as MLflow's client does)."""

from __future__ import annotations

import os
import sys

from mlcask.entities import Run
from mlcask.environment_variables import MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT
from mlcask.tracking.stores import is_server_uri
from mlcask.utils.mlflow_tags import MLFLOW_RUN_TYPE
from mlcask.utils.redaction import without_credentials

__all__ = ["print_run_links", "run_links"]

_SUPPRESS_LINKS = ("MLCASK_SUPPRESS_PRINTING_URL_TO_STDOUT", MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT.name)


def run_links(tracking_uri: str, run: Run) -> tuple[str, str] | None:
    """``(run_url, experiment_url)`` of ``run`` in the UI of the server at ``tracking_uri`` (shown without
    credentials), or None: not an http(s) server, an evaluation run (``mlflow.runType`` genai_evaluate),
    or ``MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT`` (or ``MLCASK_...``) true."""
    if not is_server_uri(tracking_uri):
        return None
    if any(os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on") for name in _SUPPRESS_LINKS):
        return None
    if run.data.tags.get(MLFLOW_RUN_TYPE) == "genai_evaluate":
        return None
    experiment_url = f"{without_credentials(tracking_uri).rstrip('/')}/#/experiments/{run.info.experiment_id}"
    return f"{experiment_url}/runs/{run.info.run_id}", experiment_url


def print_run_links(tracking_uri: str, run: Run) -> None:
    """Print MLflow's two lines ("View run <name> at: ...", "View experiment at: ...") to stdout."""
    links = run_links(tracking_uri, run)
    if links is None:
        return
    lines = (f"\N{RUNNER} View run {run.info.run_name} at: {links[0]}\n"
             f"\N{TEST TUBE} View experiment at: {links[1]}\n")
    try:
        sys.stdout.write(lines)
    except UnicodeEncodeError:  # a console that cannot show the two emoji gets the lines without them
        sys.stdout.write(lines.replace("\N{RUNNER} ", "").replace("\N{TEST TUBE} ", ""))
