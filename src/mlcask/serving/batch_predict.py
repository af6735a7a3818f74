"""Score a file with a model, chunk by chunk: what ``mlcask models predict`` runs.

Input is read in chunks of ``chunk_size`` rows (CSV through pandas, JSON Lines line by
line, Parquet by record batches through pyarrow; a single JSON scoring payload, as sent
to the server, is parsed whole and then scored in slices), each read and checked by the
server's own codec (:mod:`mlcask.serving.codec`, :mod:`mlcask.serving.tables`); each
chunk goes through ``PyFuncModel.predict`` (so the signature is enforced exactly as the
server enforces it), and the predictions are rendered by that codec too, so a JSON output
holds what the server would answer. The output is written to a temporary file beside the
target and renamed over it only when every chunk has been scored: a failed run never
leaves a half-written file behind. Memory is bounded by the chunk size, except for a
single JSON payload, which has to be read whole.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mlcask.exceptions import MlcaskException

INPUT_FORMATS = ("csv", "json", "parquet")
OUTPUT_FORMATS = ("csv", "json", "jsonl", "parquet")
_INPUT_EXTENSIONS = {".csv": "csv", ".json": "json", ".jsonl": "json", ".ndjson": "json",
                     ".parquet": "parquet", ".pq": "parquet"}
_OUTPUT_EXTENSIONS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl",
                      ".parquet": "parquet", ".pq": "parquet"}
DEFAULT_CHUNK_SIZE = 10_000


class BatchPredictError(MlcaskException):
    """A file cannot be scored: missing, unreadable, wrong format, or rejected by the model."""


@dataclass
class Chunk:
    data: Any
    params: dict[str, Any] | None
    start: int  # index of the chunk's first row in the input
    rows: int


# -- formats --------------------------------------------------------------------------------
def input_format(path: str | os.PathLike, content_type: str = "auto") -> str:
    if content_type != "auto":
        if content_type not in INPUT_FORMATS:
            raise BatchPredictError(f"Unsupported content type '{content_type}'; use one of {list(INPUT_FORMATS)}.")
        return content_type
    suffix = Path(path).suffix.lower()
    if suffix not in _INPUT_EXTENSIONS:
        raise BatchPredictError(
            f"Cannot tell the format of input file '{path}' from its extension '{suffix or '(none)'}'; "
            f"use .csv, .json, .jsonl or .parquet, or pass --content-type csv|json|parquet."
        )
    return _INPUT_EXTENSIONS[suffix]


def output_format(path: str) -> str:
    if path == "-":
        return "json"
    suffix = Path(path).suffix.lower()
    if suffix not in _OUTPUT_EXTENSIONS:
        raise BatchPredictError(
            f"Unsupported output file extension '{suffix or '(none)'}' for '{path}'; "
            "use .csv, .json, .jsonl or .parquet (or '-' for JSON on stdout)."
        )
    if _OUTPUT_EXTENSIONS[suffix] == "parquet":
        _require_pyarrow("Writing Parquet output")
    return _OUTPUT_EXTENSIONS[suffix]


def _require_pyarrow(what: str) -> Any:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet as pq
    except ImportError:
        raise BatchPredictError(
            f"{what} needs the 'pyarrow' package, which is not installed: pip install pyarrow "
            "(or pip install 'mlcask[parquet]')."
        ) from None
    return pq


# -- readers --------------------------------------------------------------------------------
def _read_csv(path: Path, chunk_size: int, schema: Any) -> tuple[Iterator[Chunk], int | None]:
    from mlcask.serving.tables import csv_chunks

    def chunks() -> Iterator[Chunk]:
        start = 0
        for frame in csv_chunks(path, schema, chunk_size):
            yield Chunk(frame, None, start, len(frame))
            start += len(frame)

    return chunks(), None


def _slice(data: Any, start: int, stop: int) -> Any:
    import numpy as np
    import pandas as pd

    if isinstance(data, (pd.DataFrame, pd.Series)):
        return data.iloc[start:stop]
    if isinstance(data, dict):
        return {k: v[start:stop] if isinstance(v, np.ndarray) and v.ndim > 0 else v for k, v in data.items()}
    if isinstance(data, (list, np.ndarray)):
        return data[start:stop]
    return data


def _length(data: Any) -> int | None:
    import numpy as np
    import pandas as pd

    if isinstance(data, (pd.DataFrame, pd.Series, list)):
        return len(data)
    if isinstance(data, np.ndarray):
        return len(data) if data.ndim > 0 else None
    if isinstance(data, dict):
        lengths = {len(v) for v in data.values() if isinstance(v, np.ndarray) and v.ndim > 0}
        return lengths.pop() if len(lengths) == 1 else None
    return None


def _payload_chunks(data: Any, params: dict[str, Any] | None, chunk_size: int) -> tuple[Iterator[Chunk], int | None]:
    total = _length(data)

    def chunks() -> Iterator[Chunk]:
        if total is None:  # not row-shaped (a scalar, ragged named tensors): score it whole
            yield Chunk(data, params, 0, 1)
            return
        for start in range(0, total, chunk_size):
            stop = min(start + chunk_size, total)
            yield Chunk(_slice(data, start, stop), params, start, stop - start)

    return chunks(), total


def _read_json(path: Path, chunk_size: int, schema: Any) -> tuple[Iterator[Chunk], int | None]:
    """A scoring payload (one JSON object with dataframe_split, ..., inputs), a JSON array of
    records, or JSON Lines (one record object per line, streamed)."""
    from mlcask.serving import codec

    with open(path, "rb") as f:
        head = f.read(1 << 16).lstrip()
    if not head:
        raise BatchPredictError(f"Input file '{path}' is empty.")
    whole: Any = None
    if head[:1] == b"[":
        whole = "array"
    elif head[:1] == b"{":
        first_line = head.split(b"\n", 1)[0]
        try:
            first = codec.loads(first_line)
        except MlcaskException:
            first = None  # a pretty-printed document: read it whole
        if not isinstance(first, dict) or any(k in first for k in codec.INPUT_KEYS):
            whole = "payload"
    else:
        raise BatchPredictError(f"Input file '{path}' is not JSON: it should hold a scoring payload "
                                f"(an object with one of {list(codec.INPUT_KEYS)}) or JSON Lines of records.")
    if whole is not None:
        try:
            document = codec.loads(path.read_bytes())
        except MlcaskException as exc:
            raise BatchPredictError(f"Cannot read '{path}' as JSON: {exc}") from None
        if whole == "array":
            if not all(isinstance(r, dict) for r in document):
                raise BatchPredictError(f"'{path}' holds a JSON array; it must be a list of record objects "
                                        "(one per row), or a scoring payload object.")
            document = {"dataframe_records": document}
        data, params = codec.parse_payload(document, schema)
        return _payload_chunks(data, params, chunk_size)
    return _jsonl_chunks(path, chunk_size), None


def _jsonl_chunks(path: Path, chunk_size: int) -> Iterator[Chunk]:
    import pandas as pd

    from mlcask.serving.codec import json_type, loads

    start = 0
    records: list[dict[str, Any]] = []
    with open(path, "rb") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = loads(line)
            except MlcaskException as exc:
                raise BatchPredictError(f"Cannot read '{path}' as JSON Lines: line {line_no}: {exc}") from None
            if not isinstance(record, dict):
                raise BatchPredictError(f"'{path}' line {line_no}: each JSON Lines record must be an object "
                                        f"of column -> value, got a JSON {json_type(record)}.")
            records.append(record)
            if len(records) == chunk_size:
                yield Chunk(pd.DataFrame.from_records(records), None, start, len(records))
                start += len(records)
                records = []
    if records:
        yield Chunk(pd.DataFrame.from_records(records), None, start, len(records))


def _read_parquet(path: Path, chunk_size: int, schema: Any) -> tuple[Iterator[Chunk], int | None]:
    _require_pyarrow("Reading Parquet input")
    from mlcask.serving.tables import parquet_chunks

    frames, total = parquet_chunks(path, chunk_size)

    def chunks() -> Iterator[Chunk]:
        start = 0
        for frame in frames:
            yield Chunk(frame, None, start, len(frame))
            start += len(frame)

    return chunks(), total


def read_chunks(path: str | os.PathLike, content_type: str = "auto", chunk_size: int = DEFAULT_CHUNK_SIZE,
                schema: Any = None) -> tuple[Iterator[Chunk], int | None]:
    """The input's chunks and its row count (``None`` when not known up front), read as the server
    reads a body for a model with input ``schema``."""
    fmt = check_input(path, content_type, chunk_size)
    reader = {"csv": _read_csv, "json": _read_json, "parquet": _read_parquet}[fmt]
    return reader(Path(path), chunk_size, schema)


def check_input(path: str | os.PathLike, content_type: str = "auto", chunk_size: int = DEFAULT_CHUNK_SIZE) -> str:
    """The input's format, after checking that the file is there and readable."""
    path = Path(path)
    fmt = input_format(path, content_type)
    if not path.exists():
        raise BatchPredictError(f"Input file '{path}' does not exist.")
    if not path.is_file():
        raise BatchPredictError(f"Input path '{path}' is not a file.")
    if not os.access(path, os.R_OK):
        raise BatchPredictError(f"Input file '{path}' is not readable (permission denied).")
    if chunk_size < 1:
        raise BatchPredictError(f"The chunk size must be at least 1, got {chunk_size}.")
    if fmt == "parquet":
        _require_pyarrow("Reading Parquet input")
    return fmt


# -- predictions ------------------------------------------------------------------------------
class _Writer:
    """Appends predictions to an open file in one output format, rendered by the server's codec.

    JSON is the server's ``{"predictions": [...]}`` with the chunks' items in one array (a
    model that returns a dict of columns gets one dict, each key's values in row order);
    JSON Lines holds one item per line; CSV and Parquet one row per prediction.
    """

    def __init__(self, fmt: str, target: IO[bytes] | Any, names: list[str] | None) -> None:
        self.fmt = fmt
        self.target = target
        self.names = names
        self.first = True
        self._dicts: list[dict[str, Any]] = []
        self._parquet: Any = None
        self._schema: Any = None
        if fmt == "parquet":
            _require_pyarrow("Writing Parquet output")

    def write(self, pred: Any) -> None:
        from mlcask.serving import codec

        if self.fmt == "json":
            self._write_json(pred)
            return
        if self.fmt == "jsonl":
            self.target.write(b"".join(codec.prediction_lines(pred)))
        elif self.fmt == "csv":
            buffer = io.StringIO()
            codec.prediction_frame(pred, self.names).to_csv(buffer, header=self.first, index=False)
            self.target.write(buffer.getvalue().encode())
        else:
            self._write_parquet(codec.prediction_frame(pred, self.names))
        self.first = False

    def _write_json(self, pred: Any) -> None:
        from mlcask.serving.codec import prediction_items

        if isinstance(pred, dict) != bool(self._dicts) and not (self.first and not self._dicts):
            raise BatchPredictError("The model returned a dict of columns for some chunks and not for others; "
                                    "JSON output needs one kind of prediction throughout.")
        if isinstance(pred, dict):
            self._dicts.append(pred)  # merged and written at the end: one dict, as the server answers
            return
        items = prediction_items(pred)
        if items is None:  # not an array (a scalar): one item per chunk
            items = prediction_items([pred])
        if items:
            self.target.write((b'{"predictions":[' if self.first else b",") + items)
            self.first = False

    def _write_parquet(self, frame: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._parquet is None:
            self._schema = table.schema
            self._parquet = pq.ParquetWriter(self.target, self._schema)
        elif table.schema != self._schema:
            table = table.cast(self._schema)
        self._parquet.write_table(table)

    def close(self) -> None:
        from mlcask.serving.codec import merge_dicts, predictions_json

        if self.fmt == "json":
            if self._dicts:
                self.target.write(predictions_json(merge_dicts(self._dicts)))
            else:
                self.target.write(b'{"predictions":[]}' if self.first else b"]}")
        elif self.fmt == "parquet":
            if self._parquet is None:
                import pyarrow as pa
                import pyarrow.parquet as pq

                pq.write_table(pa.table({"prediction": pa.array([], pa.float64())}), self.target)
            else:
                self._parquet.close()
        if hasattr(self.target, "flush"):
            self.target.flush()


# -- progress ---------------------------------------------------------------------------------
class Progress:
    """A one-line progress report on stderr: rows done (of the total when known) and rows/s."""

    def __init__(self, total: int | None, enabled: bool, stream: Any = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.done = 0
        self.started = time.perf_counter()
        self._last = 0.0

    def update(self, rows: int, *, final: bool = False) -> None:
        self.done += rows
        if not self.enabled:
            return
        now = time.perf_counter()
        if not final and now - self._last < 0.1:
            return
        self._last = now
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        if self.total:
            width = 30
            filled = int(width * min(self.done / self.total, 1.0))
            bar = f"[{'#' * filled}{'-' * (width - filled)}] {self.done:,}/{self.total:,} rows"
        else:
            bar = f"{self.done:,} rows"
        self.stream.write(f"\rScoring {bar}  {rate:,.0f} rows/s  {elapsed:.1f}s ")
        if final:
            self.stream.write("\n")
        self.stream.flush()


# -- the whole job ------------------------------------------------------------------------------
@dataclass
class Result:
    rows: int
    chunks: int
    seconds: float
    output: str


def _output_names(model: Any) -> list[str] | None:
    try:
        schema = model.metadata.get_output_schema()
    except Exception:  # noqa: BLE001 - only a nicety for column names
        return None
    if schema is None or not schema.has_input_names():
        return None
    return [s.name for s in schema.inputs]


def predict_file(model: Any, input_path: str | os.PathLike, output_path: str = "-", *,
                 content_type: str = "auto", chunk_size: int = DEFAULT_CHUNK_SIZE,
                 progress: bool = False, stdout: IO[bytes] | None = None,
                 on_chunk: Callable[[Chunk], None] | None = None) -> Result:
    """Score ``input_path`` with ``model`` (a loaded PyFuncModel) into ``output_path``.

    Raises :class:`BatchPredictError` (or the model's :class:`InvalidInputError`,
    re-raised as a ``BatchPredictError`` naming the chunk's rows) and leaves no output
    file behind when anything fails.
    """
    from mlcask.exceptions import MlcaskException

    out_fmt = output_format(output_path)
    chunks, total = read_chunks(input_path, content_type, chunk_size, model.metadata.get_input_schema())
    started = time.perf_counter()
    tmp_path: str | None = None
    if output_path == "-":
        target: Any = stdout if stdout is not None else sys.stdout.buffer
    else:
        out = Path(output_path)
        if not out.parent.is_dir():
            raise BatchPredictError(f"Output folder '{out.parent}' does not exist.")
        if out.is_dir():
            raise BatchPredictError(f"Output path '{out}' is a folder.")
        fd, tmp_path = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes it 0600; the result gets a normal file's mode
        target = os.fdopen(fd, "wb", buffering=1 << 20)
    bar = Progress(total, progress)
    n_chunks = 0
    try:
        writer = _Writer(out_fmt, target, _output_names(model))
        for chunk in chunks:
            n_chunks += 1
            try:
                pred = model.predict(chunk.data, params=chunk.params)
            except Exception as exc:  # the input's fault or the model's: say where, no traceback
                where = (f"chunk {n_chunks}, rows {chunk.start + 1}-{chunk.start + chunk.rows}"
                         if chunk.rows else f"chunk {n_chunks}")
                what = str(exc) if isinstance(exc, MlcaskException) else \
                    f"The model's predict raised {type(exc).__name__}: {exc}"
                raise BatchPredictError(f"{what} (in {where} of '{input_path}')") from None
            writer.write(pred)
            bar.update(chunk.rows)
            if on_chunk is not None:
                on_chunk(chunk)
        writer.close()
        bar.update(0, final=True)
        if tmp_path is not None:
            target.close()
            os.replace(tmp_path, output_path)
            tmp_path = None
        elif output_path == "-":
            target.write(b"\n")
            target.flush()
    finally:
        if tmp_path is not None:
            try:
                target.close()
            finally:
                Path(tmp_path).unlink(missing_ok=True)
    return Result(bar.done, n_chunks, time.perf_counter() - started, output_path)
