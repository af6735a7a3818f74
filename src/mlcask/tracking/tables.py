"""Tables as run artifacts, as MLflow keeps them: ``log_table`` writes a DataFrame (or a dict of
columns) as ``.json`` (pandas ``orient="split"``, no index) or ``.parquet``, appending to a table
already at that path, stores image cells (PIL images, ``mlcask.Image``) as files under
``table_images/`` and records the table in the run tag ``mlflow.loggedArtifacts``;
``load_table`` reads the table back from every run of an experiment that logged it (or from
the given runs) and concatenates them, with run columns added on request (``extra_columns``).

The functions take the client whose store and artifact repositories they use.
"""

from __future__ import annotations

import io
import json
import logging
import os
import posixpath
import tempfile
import uuid
from typing import Any

from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.tracking.images import compress_image_size

__all__ = ["LOGGED_ARTIFACTS_TAG", "check_artifact_file_string", "load_table", "log_table"]

LOGGED_ARTIFACTS_TAG = "mlflow.loggedArtifacts"
_FORBIDDEN = ['"', "'", ",", ":", "[", "]", "{", "}"]  # they would break the tag's JSON and its LIKE filter
_logger = logging.getLogger(__name__)


def check_artifact_file_string(artifact_file: str) -> None:
    """Refuse a table path with a character MLflow forbids there (``"',:[]{}``)."""
    for char in _FORBIDDEN:
        if char in artifact_file:
            raise ValueError(f"The artifact_file contains forbidden character: {char}")


def _is_image(value: Any) -> bool:
    return all(callable(getattr(value, name, None)) for name in ("save", "resize")) and hasattr(value, "size")


def _saved_bytes(image: Any, name: str) -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, name)
        image.save(path)
        with open(path, "rb") as handle:
            return handle.read()


def _store_images(repository: Any, frame: Any, artifact_file: str) -> Any:
    """``frame`` with its image columns replaced by references to image files written beside the table."""
    table_name = os.path.splitext(artifact_file)[0]

    def store(image: Any) -> dict[str, str]:
        stem = posixpath.join("table_images", table_name, str(uuid.uuid4()))
        repository.write_bytes(f"{stem}.png", _saved_bytes(image, "image.png"))
        repository.write_bytes(f"{stem}.webp", _saved_bytes(compress_image_size(image), "image.webp"))
        return {"type": "image", "filepath": f"{stem}.png", "compressed_filepath": f"{stem}.webp"}

    for column in [name for name, dtype in frame.dtypes.items() if dtype == object]:  # image cells are objects
        is_image = frame[column].map(_is_image)
        if is_image.any() and not is_image.all():
            raise ValueError(f"Column `{column}` contains a mix of images and non-images. "
                             "Please ensure that all elements in the column are of the same type.")
        if len(is_image) and is_image.all():
            frame[column] = frame[column].map(store)
    return frame


def _as_frame(data: Any) -> Any:
    import pandas as pd

    if not isinstance(data, (pd.DataFrame, dict)):
        raise InvalidArgumentError("data must be a pandas.DataFrame or a dictionary")
    if isinstance(data, pd.DataFrame):
        return data.copy()
    try:
        return pd.DataFrame(data)
    except ValueError:  # scalars only ({"inputs": "What is MLflow?"}): one row
        return pd.DataFrame([data])


def read_table(content: bytes, artifact_file: str) -> Any:
    """A table artifact's bytes as a DataFrame (JSON ``orient="split"`` or Parquet)."""
    import pandas as pd

    if artifact_file.endswith(".json"):
        return pd.read_json(io.StringIO(content.decode("utf-8")), orient="split")
    if artifact_file.endswith(".parquet"):
        return pd.read_parquet(io.BytesIO(content))
    raise ValueError(f"Unsupported file type in {artifact_file}. Expected .json or .parquet")


def _table_bytes(frame: Any, artifact_file: str) -> bytes:
    try:
        if artifact_file.endswith(".json"):
            return frame.to_json(orient="split", index=False, date_format="iso").encode("utf-8")
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return buffer.getvalue()
    except Exception as exc:
        raise MlcaskException(f"Failed to save {frame} as table as the data is not JSON serializable. Error: {exc}")


def _existing(repository: Any, artifact_file: str) -> bytes | None:
    try:
        return repository.read_bytes(artifact_file)
    except MlcaskException as exc:
        if exc.error_code != RESOURCE_DOES_NOT_EXIST:
            raise
        return None


def log_table(client: Any, run_id: str, data: Any, artifact_file: str) -> None:
    """Log ``data`` (a DataFrame or a dict of columns) as the table ``artifact_file`` of the run; see the module."""
    import pandas as pd

    check_artifact_file_string(artifact_file)
    if not artifact_file.endswith((".json", ".parquet")):
        raise ValueError(f"Invalid artifact file path '{artifact_file}'. Please ensure the file you are trying to log "
                         "as a table has a file name with either '.json' or '.parquet' extension.")
    frame = _as_frame(data)
    repository = client.artifact_repository(run_id)
    frame = _store_images(repository, frame, artifact_file)
    previous = _existing(repository, artifact_file)
    if previous is not None:
        frame = pd.concat([read_table(previous, artifact_file), frame], ignore_index=True)
    repository.write_bytes(artifact_file, _table_bytes(frame, artifact_file))
    logged = json.loads(client.get_run(run_id).data.tags.get(LOGGED_ARTIFACTS_TAG, "[]"))
    entry = {"path": artifact_file, "type": "table"}
    if entry not in logged:
        client.set_tag(run_id, LOGGED_ARTIFACTS_TAG, json.dumps([*logged, entry]))


def _run_column(run: Any, column: str) -> Any:
    """The value ``search_runs``' DataFrame has for ``run`` in ``column``: run_id, experiment_id, status,
    artifact_uri, start_time, end_time, or metrics.<key>, params.<key>, tags.<key> (None when absent)."""
    import pandas as pd

    info = run.info
    attributes = {"run_id": info.run_id, "experiment_id": info.experiment_id, "status": info.status,
                  "artifact_uri": info.artifact_uri,
                  "start_time": pd.to_datetime(info.start_time, unit="ms", utc=True),
                  "end_time": pd.to_datetime(info.end_time, unit="ms", utc=True) if info.end_time else pd.NaT}
    if column in attributes:
        return attributes[column]
    kind, _, key = column.partition(".")
    values = {"metrics": run.data.metrics, "params": run.data.params, "tags": run.data.tags}.get(kind)
    if values is None or not key:
        raise KeyError(column)
    return values.get(key)


def load_table(client: Any, experiment_id: str, artifact_file: str, run_ids: list[str] | None = None,
               extra_columns: list[str] | None = None) -> Any:
    """The table ``artifact_file`` of every run of ``experiment_id`` that logged it (or of ``run_ids``),
    concatenated; ``extra_columns`` (e.g. ``["run_id"]``) add run columns (``name_`` if the table has one)."""
    import pandas as pd

    check_artifact_file_string(artifact_file)
    pattern = f'"path"%:%"{artifact_file}",%"type"%:%"table"'
    filter_string = f"tags.{LOGGED_ARTIFACTS_TAG} LIKE '%{pattern}%'"
    if run_ids:
        filter_string += f" and attributes.run_id IN ({','.join(map(repr, run_ids))})"
    runs = client.search_runs([experiment_id], filter_string, max_results=50_000)
    if run_ids and len(run_ids) != len(runs):
        _logger.warning("Not all runs have the specified table artifact. Some runs will be skipped.")
    if not runs:
        raise MlcaskException("No runs found with the corresponding table artifact.", RESOURCE_DOES_NOT_EXIST)
    tables = []
    for run in runs:
        content = _existing(client.artifact_repository(run.info.run_id), artifact_file)
        if content is None:
            raise MlcaskException(f"Artifact {artifact_file} not found for run {run.info.run_id}.",
                                  RESOURCE_DOES_NOT_EXIST)
        table = read_table(content, artifact_file)
        for column in extra_columns or ():
            name = f"{column}_" if column in table else column
            if name != column:
                _logger.warning("Column name %s already exists in the table. Resolving the conflict, by appending "
                                "an underscore to the column name.", column)
            table[name] = _run_column(run, column)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)
