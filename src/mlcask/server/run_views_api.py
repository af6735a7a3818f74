"""mlcask's endpoints for the web UI's run pages (under ``/api/2.0/mlcask``, ajax twin
``/ajax-api/2.0/mlcask``): a run's metric summaries and artifact previews.

- ``GET runs/metric-summaries?run_id=`` answers ``{"metrics": [{"key", "value", "step",
  "timestamp", "min", "max", "count"}, ...]}`` sorted by key: each metric key's latest value
  (with its step and timestamp), the min and max of its values that are not NaN (null when
  all are), and how many values were logged. Doubles are MLflow's JSON doubles (a number, or
  ``"NaN"``, ``"Infinity"``, ``"-Infinity"``). One grouped query, however many keys.
- ``GET artifacts/preview?run_id=&path=&max_rows=`` answers the first rows of a CSV, TSV or
  Parquet artifact: ``{"format": "csv" | "tsv" | "parquet", "columns": [names], "types":
  [type names] | null, "rows": [[cell, ...], ...], "truncated": bool (rows left out),
  "columns_truncated": bool, "total_rows": int | null (Parquet knows it)}``. ``max_rows``
  defaults to 100 and is capped at 1,000. CSV and TSV are read from the head of the file only
  (at most :data:`TEXT_HEAD_BYTES`); Parquet reads its footer and first row group (at most
  :data:`PARQUET_MAX_BYTES` of it), through pyarrow (``mlcask[parquet]``). An ``MLmodel`` file
  (at most :data:`MLMODEL_MAX_BYTES`, parsed as bounded YAML) answers its signature as tables
  instead: ``{"format": "mlmodel", "flavors": [names], "model_id", "run_id", "signature":
  {"inputs": [{"name", "type", "shape", "required"}] | null, "outputs": ... | null, "params":
  [{"name", "type", "default", "shape"}] | null}}``.
- ``GET artifacts/html-preview?run_id=&path=`` sends an ``.html``/``.htm`` artifact (at most
  :data:`HTML_MAX_BYTES`) as ``text/html`` under :data:`HTML_PREVIEW_CSP`: a sandbox with a
  unique origin where no script runs, for the UI's ``<iframe sandbox>``.

Paths are checked with :func:`mlcask.utils.paths.clean_relative_path`; files are read through the
artifact repository the server's downloads use (:func:`mlcask.server.artifact_roots.repository_for`).
An unknown run or a missing file is a 404, a bad path, an unsupported type or a file too large a 400.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import os
from typing import Any

from starlette.responses import Response

from mlcask.entities.messages import double_to_json
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException, ModelFormatError
from mlcask.models.model import Model
from mlcask.server.artifact_roots import repository_for
from mlcask.server.endpoints import MLCASK_PREFIX, Context, Endpoint, F
from mlcask.tracking.artifacts import LocalArtifactRepository
from mlcask.tracking.protocols import ArtifactRepository, MetricSummary
from mlcask.utils.paths import clean_relative_path

__all__ = ["ENDPOINTS", "HTML_PREVIEW_CSP", "routes"]

DEFAULT_PREVIEW_ROWS = 100
MAX_PREVIEW_ROWS = 1000
MAX_PREVIEW_COLUMNS = 200
MAX_CELL_CHARS = 1000
#: The most of a CSV/TSV file a preview reads (its head).
TEXT_HEAD_BYTES = 2 * 1024 * 1024
#: The most of a Parquet file a preview reads: its first row group (or, from a remote store, the whole file).
PARQUET_MAX_BYTES = 64 * 1024 * 1024
HTML_MAX_BYTES = 10 * 1024 * 1024
MLMODEL_MAX_BYTES = 1024 * 1024
MLMODEL = "MLmodel"
#: Scripts never run, the frame has a unique origin, nothing is fetched but inline images and styles.
HTML_PREVIEW_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
_TABLE_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}
_HTML_SUFFIXES = (".html", ".htm")


# -- metric summaries ------------------------------------------------------------------------------------------------

def _summary_message(summary: MetricSummary) -> dict[str, Any]:
    return {"key": summary.key, "value": double_to_json(summary.value), "step": summary.step,
            "timestamp": summary.timestamp,
            "min": None if summary.min is None else double_to_json(summary.min),
            "max": None if summary.max is None else double_to_json(summary.max), "count": summary.count}


def metric_summaries(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    """Each metric key of the run: latest value, step and timestamp, min, max and count (see the module)."""
    return {"metrics": [_summary_message(s) for s in ctx.tracking.get_metric_summaries(args["run_id"])]}


# -- reading artifacts, bounded --------------------------------------------------------------------------------------

def _artifact(ctx: Context, args: dict[str, Any]) -> tuple[ArtifactRepository, str]:
    """The repository of the run's artifacts and the checked relative path (404 for an unknown run)."""
    run = ctx.tracking.get_run(args["run_id"])
    path = clean_relative_path(args["path"], "artifact path")
    if not path:
        raise InvalidArgumentError("Invalid artifact path '': name a file of the run's artifacts.")
    return repository_for(ctx.config, run.info.artifact_uri), path


def _missing(path: str) -> MlcaskException:
    return MlcaskException(f"No artifact file '{path}' in this run.", error_code=RESOURCE_DOES_NOT_EXIST)


def _read_head(repository: ArtifactRepository, path: str, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes from the start of ``path``, and whether the file holds more."""
    if isinstance(repository, LocalArtifactRepository):
        with repository.open_file(path) as handle:
            data = handle.read(limit + 1)
        return data[:limit], len(data) > limit
    opener = getattr(repository, "open_artifact", None)
    if opener is not None:  # S3: stream and stop early
        stream = opener(path)
        chunks, size = [], 0
        try:
            for chunk in stream:
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    break
        finally:
            stream.close()
        data = b"".join(chunks)
        return data[:limit], len(data) > limit
    size = _listed_size(repository, path)
    if size is not None and size > limit:
        raise InvalidArgumentError(f"The artifact '{path}' ({size} bytes) is larger than a preview reads from this "
                                   f"artifact store ({limit} bytes); download it instead.")
    data = repository.read_bytes(path)
    return data[:limit], len(data) > limit


def _listed_size(repository: ArtifactRepository, path: str) -> int | None:
    parent = path.rpartition("/")[0] or None
    for info in repository.list_artifacts(parent):
        if info.path == path:
            if info.is_dir:
                raise InvalidArgumentError(f"The artifact '{path}' is a folder; preview one of its files.")
            return info.file_size
    raise _missing(path)


def _whole(repository: ArtifactRepository, path: str, limit: int, what: str) -> bytes:
    """The whole file, refused with a 400 when it holds more than ``limit`` bytes."""
    data, more = _read_head(repository, path, limit)
    if more:
        raise InvalidArgumentError(f"The artifact '{path}' is larger than the {limit} bytes {what} reads; "
                                   "download it instead.")
    return data


# -- table previews --------------------------------------------------------------------------------------------------

def _cell(value: Any) -> Any:
    """A JSON-safe, bounded cell: numbers, booleans and null as they are, anything else as text."""
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else double_to_json(value)
    text = value if isinstance(value, str) else value.hex() if isinstance(value, bytes) else str(value)
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS] + "…"


def _text_table(data: bytes, more_bytes: bool, delimiter: str, max_rows: int) -> dict[str, Any]:
    if more_bytes:  # the last line may be cut: keep whole lines only
        data = data[:data.rfind(b"\n") + 1] if b"\n" in data else data
    text = codecs.decode(data, "utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        columns = next(reader, [])
        rows = []
        truncated = False
        for row in reader:
            if len(rows) == max_rows:
                truncated = True
                break
            rows.append(row)
    except csv.Error as exc:
        raise InvalidArgumentError(f"The artifact could not be read as {'TSV' if delimiter == chr(9) else 'CSV'}: "
                                   f"{exc} (line {reader.line_num}).") from None
    truncated = truncated or more_bytes
    width = max([len(columns), *(len(row) for row in rows)])
    shown = min(width, MAX_PREVIEW_COLUMNS)
    columns = [_cell(c) for c in columns[:shown]] + [f"column {i + 1}" for i in range(len(columns), shown)]
    return {"columns": columns, "types": None, "rows": [[_cell(c) for c in row[:shown]] for row in rows],
            "truncated": truncated, "columns_truncated": width > shown, "total_rows": None}


def _parquet_module() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise InvalidArgumentError("Previewing Parquet artifacts needs pyarrow, which this server lacks: install "
                                   "mlcask[parquet] (pip install 'mlcask[parquet]') where the server runs.") from None
    return pq


def _parquet_table(source: Any, path: str, max_rows: int) -> dict[str, Any]:
    """The first rows of the Parquet file ``source`` (a file object), reading only its first row group."""
    pq = _parquet_module()
    import pyarrow as pa

    try:
        parquet = pq.ParquetFile(source)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidArgumentError(f"The artifact '{path}' could not be read as Parquet: {exc}") from None
    schema = parquet.schema_arrow
    names = schema.names[:MAX_PREVIEW_COLUMNS]
    metadata = parquet.metadata
    rows: list[list[Any]] = []
    if metadata.num_row_groups:
        group = metadata.row_group(0)
        wanted = set(names)
        size = sum(group.column(i).total_compressed_size for i in range(group.num_columns)
                   if group.column(i).path_in_schema.split(".")[0] in wanted)
        if size > PARQUET_MAX_BYTES:
            raise InvalidArgumentError(f"The first row group of '{path}' holds {size} bytes, more than a preview "
                                       f"reads ({PARQUET_MAX_BYTES}); download the file instead.")
        try:
            batch = next(parquet.iter_batches(batch_size=max_rows, row_groups=[0], columns=names), None)
        except (pa.ArrowException, OSError) as exc:
            raise InvalidArgumentError(f"The artifact '{path}' could not be read as Parquet: {exc}") from None
        if batch is not None:
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            rows = [[_cell(column[r]) for column in columns] for r in range(batch.num_rows)]
    return {"columns": names, "types": [str(schema.field(name).type) for name in names], "rows": rows,
            "truncated": metadata.num_rows > len(rows), "columns_truncated": len(schema.names) > len(names),
            "total_rows": metadata.num_rows}


# -- MLmodel signatures ----------------------------------------------------------------------------------------------

def _column_rows(specs: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if specs is None:
        return None
    rows = []
    for spec in specs:
        tensor = spec.get("tensor-spec") if isinstance(spec.get("tensor-spec"), dict) else None
        kind = f"tensor of {tensor.get('dtype')}" if tensor else spec.get("type")
        if spec.get("type") == "array" and isinstance(spec.get("items"), dict):
            kind = f"array of {spec['items'].get('type')}"
        shape = tensor.get("shape") if tensor else None
        rows.append({"name": _cell(spec.get("name")), "type": _cell(kind),
                     "shape": _cell(json.dumps(shape)) if shape is not None else None,
                     "required": spec.get("required", True) is not False})
    return rows


def _param_rows(specs: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if specs is None:
        return None
    return [{"name": _cell(spec.get("name")), "type": _cell(spec.get("type")),
             "default": _cell(json.dumps(spec.get("default"))),
             "shape": _cell(json.dumps(spec["shape"])) if spec.get("shape") is not None else None} for spec in specs]


def _mlmodel_summary(data: bytes, path: str) -> dict[str, Any]:
    """The flavors, ids and signature (as rows) of an MLmodel file, parsed as loading a model parses it."""
    try:
        model = Model.from_yaml(data, path)
    except (ModelFormatError, MlcaskException) as exc:
        raise InvalidArgumentError(str(exc)) from None  # names the file and what is wrong in it
    signature = model.signature

    def specs(schema: Any) -> list[dict[str, Any]] | None:
        return None if schema is None else schema.to_dict()

    return {"format": "mlmodel", "path": path, "flavors": sorted(str(name) for name in model.flavors),
            "model_id": _cell(model.model_id), "run_id": _cell(model.run_id),
            "signature": {"inputs": _column_rows(specs(signature and signature.inputs)),
                          "outputs": _column_rows(specs(signature and signature.outputs)),
                          "params": _param_rows(specs(signature and signature.params))}}


def artifact_preview(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    """The first rows of a CSV, TSV or Parquet artifact, or an MLmodel's signature (see the module)."""
    repository, path = _artifact(ctx, args)
    if path.rpartition("/")[2] == MLMODEL:
        return _mlmodel_summary(_whole(repository, path, MLMODEL_MAX_BYTES, "an MLmodel preview"), path)
    suffix = os.path.splitext(path)[1].lower()
    kind = _TABLE_SUFFIXES.get(suffix)
    if kind is None:
        raise InvalidArgumentError(f"Cannot preview '{path}' as a table: previews are for CSV (.csv), TSV (.tsv) and "
                                   f"Parquet (.parquet, .pq) artifacts and MLmodel files, not "
                                   f"'{suffix or 'no extension'}'.")
    max_rows = min(args.get("max_rows", DEFAULT_PREVIEW_ROWS), MAX_PREVIEW_ROWS)
    if kind == "parquet":
        _parquet_module()  # the message about pyarrow before any read
        if isinstance(repository, LocalArtifactRepository):
            with repository.open_file(path) as handle:
                table = _parquet_table(handle, path, max_rows)
        else:
            table = _parquet_table(io.BytesIO(_whole(repository, path, PARQUET_MAX_BYTES, "a Parquet preview")),
                                   path, max_rows)
    else:
        data, more = _read_head(repository, path, TEXT_HEAD_BYTES)
        table = _text_table(data, more, "\t" if kind == "tsv" else ",", max_rows)
    return {"format": kind, "path": path, **table}


def html_preview(ctx: Context, args: dict[str, Any]) -> Response:
    """An HTML artifact as ``text/html`` in a CSP sandbox (no script runs; a unique origin)."""
    repository, path = _artifact(ctx, args)
    if not path.lower().endswith(_HTML_SUFFIXES):
        raise InvalidArgumentError(f"Cannot preview '{path}' as HTML: only .html and .htm artifacts are shown this "
                                   "way (download other files with /get-artifact).")
    data = _whole(repository, path, HTML_MAX_BYTES, "an HTML preview")
    return Response(data, media_type="text/html", headers={
        "content-security-policy": HTML_PREVIEW_CSP, "x-content-type-options": "nosniff",
        "cache-control": "no-store", "referrer-policy": "no-referrer"})


_RUN = F("run_id", "string", required=True, description="The run's id.")
_PATH = F("path", "string", required=True, description="The artifact's path relative to the run's artifact root.")
_SUMMARY_SCHEMA = {"type": "object", "properties": {"metrics": {"type": "array", "items": {
    "type": "object", "properties": {
        "key": {"type": "string"}, "value": {}, "step": {"type": "integer"}, "timestamp": {"type": "integer"},
        "min": {}, "max": {}, "count": {"type": "integer"}}}}}}
_PREVIEW_SCHEMA = {"type": "object", "properties": {
    "format": {"type": "string", "enum": ["csv", "tsv", "parquet", "mlmodel"]}, "path": {"type": "string"},
    "flavors": {"type": "array", "items": {"type": "string"}}, "model_id": {}, "run_id": {},
    "signature": {"type": "object", "properties": {"inputs": {}, "outputs": {}, "params": {}}},
    "columns": {"type": "array", "items": {"type": "string"}},
    "types": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]},
    "rows": {"type": "array", "items": {"type": "array"}}, "truncated": {"type": "boolean"},
    "columns_truncated": {"type": "boolean"}, "total_rows": {"oneOf": [{"type": "integer"}, {"type": "null"}]}}}

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("GET", "/runs/metric-summaries", metric_summaries, (_RUN,),
             "Each metric key of a run: {metrics: [{key, value, step, timestamp, min, max, count}]}, sorted by key; "
             "value/step/timestamp are the latest value's, min and max skip NaN (null if all are NaN).",
             "mlcask web UI", prefix=MLCASK_PREFIX, response=_SUMMARY_SCHEMA),
    Endpoint("GET", "/artifacts/preview", artifact_preview, (
        _RUN, _PATH, F("max_rows", "int32", minimum=1, default=DEFAULT_PREVIEW_ROWS,
                       description=f"Rows to show (default {DEFAULT_PREVIEW_ROWS}, at most {MAX_PREVIEW_ROWS}).")),
        "The first rows of a CSV, TSV or Parquet artifact of a run: {format, columns, types, rows, truncated, "
        "columns_truncated, total_rows}; for an MLmodel file, its signature: {format: mlmodel, flavors, model_id, "
        "run_id, signature: {inputs, outputs, params}}.", "mlcask web UI", prefix=MLCASK_PREFIX, response=_PREVIEW_SCHEMA),
    Endpoint("GET", "/artifacts/html-preview", html_preview, (_RUN, _PATH),
             "An HTML artifact of a run as text/html in a Content-Security-Policy sandbox (no script runs), for a "
             "sandboxed frame.", "mlcask web UI", prefix=MLCASK_PREFIX,
             response={"type": "string", "format": "binary"}),
)


def routes() -> list[Endpoint]:
    """The run-view endpoints."""
    return list(ENDPOINTS)
