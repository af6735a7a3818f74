"""The fluent artifact calls MLflow has beyond ``log_artifact(s)``: ``mlcask.log_text``, ``log_dict``
and ``log_table`` with ``run_id=``, ``log_stream``, ``log_figure(save_kwargs=)``, ``log_image``,
``load_table``, and ``mlcask.Image``. Each logs into ``run_id`` when given, else into the active
run (started if there is none, as in MLflow)."""

from __future__ import annotations

from typing import Any

from mlcask.tracking import context, fluent
from mlcask.tracking.images import Image

__all__ = ["Image", "flush_artifact_async_logging", "load_table", "log_dict", "log_figure", "log_image", "log_stream",
           "log_table", "log_text"]


def _run_id(run_id: str | None = None) -> str:
    if run_id is not None:
        return run_id
    run = fluent.active_run()
    return (run if run is not None else fluent.start_run()).info.run_id



def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    """Write ``text`` (UTF-8) as the artifact ``artifact_file`` (e.g. ``"dir/file.txt"``)."""
    context.current_client().log_text(_run_id(run_id), text, artifact_file)


def log_dict(dictionary: dict[str, Any], artifact_file: str, run_id: str | None = None) -> None:
    """Write ``dictionary`` as YAML (``.yaml``/``.yml``) or JSON (any other name) as ``artifact_file``."""
    context.current_client().log_dict(_run_id(run_id), dictionary, artifact_file)


def log_stream(stream: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Write what a binary file-like object (``io.BytesIO``, an open file) reads as ``artifact_file``."""
    context.current_client().log_stream(_run_id(run_id), stream, artifact_file)


def log_figure(figure: Any, artifact_file: str, *, save_kwargs: dict[str, Any] | None = None) -> None:
    """Save a matplotlib or plotly figure as ``artifact_file`` (the format from its extension)."""
    context.current_client().log_figure(_run_id(), figure, artifact_file, save_kwargs=save_kwargs)


def log_image(image: Any, artifact_file: str | None = None, key: str | None = None, step: int | None = None,
              timestamp: int | None = None, synchronous: bool | None = False) -> None:
    """Log an image (numpy array, PIL image or :class:`Image`): as the file ``artifact_file``, or as step
    ``step`` of the series ``key`` (MLflow's ``images/`` layout); see ``MlcaskClient.log_image``."""
    context.current_client().log_image(_run_id(), image, artifact_file, key, step, timestamp, synchronous)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Log a DataFrame or dict of columns as the table ``artifact_file`` (``.json`` or ``.parquet``),
    appended to the rows logged there before."""
    context.current_client().log_table(_run_id(run_id), data, artifact_file)


def load_table(artifact_file: str, run_ids: list[str] | None = None, extra_columns: list[str] | None = None) -> Any:
    """The table ``artifact_file`` of every run of the current experiment that logged it (or of ``run_ids``),
    concatenated; ``extra_columns`` (e.g. ``["run_id"]``) add run columns."""
    return context.current_client().load_table(fluent.current_experiment_id(), artifact_file, run_ids, extra_columns)


def flush_artifact_async_logging() -> None:
    """Wait for artifacts logged asynchronously (``log_image(..., synchronous=False)``): mlcask writes
    every artifact before the logging call returns, so there is never anything left to wait for."""
