"""``spark_udf(env_manager="uv"|"virtualenv")``: scoring in the model's own environment.

On the driver, :func:`serve_in_environment` reads and verifies the model's MLmodel file,
builds (or reuses) the model's environment with
:func:`mlcask.environments.prepare_environment`, and starts the model's scoring server in
it once (then stops it; once per driver process and model): a requirement that does not
resolve, a missing interpreter or a model that does not load in its environment is an
error on the driver, before any task.

In each Python worker, the first batch starts ``mlcask models serve`` in that environment
on a free port of 127.0.0.1 (:func:`mlcask.environments.serve_argv`), waits for ``/ping``,
and every batch is then sent to it as a JSON ``dataframe_split`` (with the udf's
``params``) over one kept-alive connection; its ``{"predictions": ...}`` come back as the
numpy arrays, DataFrames or dicts the local path gets from ``predict``, so
:mod:`mlcask.pyfunc.spark_results` turns them into the same Spark values. The server is
kept for the worker's life (Spark reuses its Python workers across tasks) and killed
with it: at exit, and by the kernel when the worker dies (``PR_SET_PDEATHSIG`` on Linux;
pyspark's daemon ends its workers with ``os._exit``, which skips ``atexit``).

The environment lives under the driver's ``$MLCASK_HOME/envs``. Local and local-cluster
masters run their executors on the driver's machine, which has it; an executor of a real
cluster that does not find the environment's interpreter builds the environment itself
(the same key, so once per machine, under a lock), from the model folder shipped to it.

This module imports pandas and numpy; pyspark never (the workers' callers do).
"""

from __future__ import annotations

import atexit
import base64
import collections
import datetime as dt
import http.client
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlcask.exceptions import (
    BAD_REQUEST,
    INVALID_PARAMETER_VALUE,
    RESOURCE_DOES_NOT_EXIST,
    InvalidInputError,
    MlcaskException,
    ModelFormatError,
)
from mlcask.models.model import PYFUNC_FLAVOR, Model

_logger = logging.getLogger(__name__)

START_TIMEOUT = 120.0  # seconds a scoring server may take to answer /ping (it loads the model first)
REQUEST_TIMEOUT = 3600.0  # seconds one batch may take (the server's --timeout)
_MAX_BODY_BYTES = 1 << 30  # a batch is as large as spark.sql.execution.arrow.maxRecordsPerBatch makes it
_SERVER_OPTIONS = ("--no-batching", "--timeout", str(REQUEST_TIMEOUT), "--body-timeout", str(REQUEST_TIMEOUT),
                   "--max-body-bytes", str(_MAX_BODY_BYTES))
_LOG_LINES = 200
_PR_SET_PDEATHSIG = 1


# -- the driver --------------------------------------------------------------------------------
@dataclass(frozen=True)
class ServedEnvironment:
    """How the workers score: the model's environment built on the driver (pickled into the udf)."""

    env_manager: str
    prepared: Any  # mlcask.environments.PreparedEnvironment
    params: dict[str, Any] | None

    def predictor(self, folder: Path, env: dict[str, str]) -> Callable[[pd.DataFrame], Any]:
        """``predict(frame)`` through this worker's scoring server for ``folder`` (started once)."""
        key = (str(folder), self.env_manager, str(self.prepared.path), tuple(sorted(env.items())))
        server = _running_server(key, lambda: ScoringServer.start(self._environment(folder), folder, self.env_manager))
        return lambda frame: server.predict(frame, self.params)

    def _environment(self, folder: Path) -> Any:
        """The driver's environment, or on an executor that lacks it, the same one built here."""
        if Path(self.prepared.python).exists():
            return self.prepared
        from mlcask.environments import prepare_environment

        print(f"mlcask spark_udf: the model's environment {self.prepared.path} is not on this executor; "
              f"building it with {self.env_manager}", file=sys.stderr, flush=True)
        return prepare_environment(folder, self.env_manager,
                                   log=lambda line: print(line, file=sys.stderr, flush=True))


def served_metadata(folder: Path) -> Model:
    """The model's MLmodel, read from its verified folder (no model code runs on the driver)."""
    from mlcask.models.trust import loading, open_model
    from mlcask.pyfunc.loading import ENTRY_POINT, read_mlmodel

    with loading(open_model(folder, entry_point=ENTRY_POINT)) as trust:
        meta = read_mlmodel(trust)
    if PYFUNC_FLAVOR not in meta.flavors:  # load_model's words
        raise ModelFormatError(
            f'Model does not have the "{PYFUNC_FLAVOR}" flavor: the model in \'{folder}\' cannot be loaded '
            f"as a pyfunc model; its flavors are {sorted(meta.flavors)}. Load it with that flavor's load_model.",
            error_code=RESOURCE_DOES_NOT_EXIST)
    return meta


def serve_in_environment(folder: Path, env_manager: str, model_config: dict[str, Any] | None) -> tuple[Model, Any]:
    """On the driver: the model's metadata and its environment, built and checked to serve the model
    (the check's server runs with this process's environment, as the workers' will)."""
    from mlcask.environments import prepare_environment

    if model_config:
        raise MlcaskException(f"spark_udf(env_manager={env_manager!r}) scores through the model's scoring server, "
                              "which loads the model as saved: 'model_config' is not supported with it (use "
                              "env_manager='local', or save the model with that config).",
                              error_code=INVALID_PARAMETER_VALUE)
    meta = served_metadata(folder)
    prepared = prepare_environment(folder, env_manager, log=_logger.info)
    _logger.info("spark_udf: the model's %s environment %s (%s, %.1fs); checking that it serves the model",
                 env_manager, prepared.path, "reused" if prepared.reused else "built", prepared.seconds)
    checked = (str(folder.resolve()), (folder / "MLmodel").stat().st_mtime_ns, str(prepared.path),
               tuple(sorted(os.environ.items())))
    if checked not in _checked:  # once per driver process for a model, environment and settings
        ScoringServer.start(prepared, folder, env_manager).stop()
        _checked.add(checked)
    return meta, prepared


# -- a worker's scoring server -------------------------------------------------------------------
_servers: dict[Any, ScoringServer] = {}
_checked: set[tuple[Any, ...]] = set()  # the driver's checks that a model serves in its environment
_lock = threading.Lock()


def _running_server(key: Any, start: Callable[[], ScoringServer]) -> ScoringServer:
    """The server of ``key`` in this process: started the first time, again if it has died."""
    with _lock:
        server = _servers.get(key)
        if server is None or not server.alive():
            server = _servers[key] = start()
        return server


def running_server_count() -> int:
    """How many scoring servers this process runs (for tests)."""
    with _lock:
        return sum(1 for server in _servers.values() if server.alive())


@atexit.register
def _stop_all() -> None:
    with _lock:
        for server in _servers.values():
            server.stop()
        _servers.clear()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` asking Linux to kill the child when this process dies (None elsewhere)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before the fork: the child only calls it
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)
    return preexec


class ScoringServer:
    """``mlcask models serve`` of one model in its environment, and a connection to it."""

    def __init__(self, process: subprocess.Popen, port: int, where: str) -> None:
        self.process = process
        self.port = port
        self.where = where  # "the model's uv environment /path" (for messages)
        self.output: collections.deque[str] = collections.deque(maxlen=_LOG_LINES)
        self._connection: http.client.HTTPConnection | None = None
        threading.Thread(target=self._drain, name=f"mlcask-scoring-server-{port}", daemon=True).start()

    @classmethod
    def start(cls, prepared: Any, folder: Path, env_manager: str, attempts: int = 3) -> ScoringServer:
        """Start the server, wait for ``/ping``; a port taken meanwhile is retried on another."""
        from mlcask.environments import serve_argv

        env = prepared.env_vars()  # this process's environment, PYTHONPATH/PYTHONHOME dropped, the env's bin first
        env["PYTHONUNBUFFERED"] = "1"
        where = f"the model's {env_manager} environment {prepared.path}"
        for attempt in range(attempts):
            port = _free_port()
            argv = serve_argv(prepared, folder, host="127.0.0.1", port=port, extra=_SERVER_OPTIONS)
            process = subprocess.Popen(argv, env=env, cwd=str(prepared.path), stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                                       preexec_fn=_die_with_parent())
            server = cls(process, port, where)
            try:
                server.wait_ready(START_TIMEOUT)
                return server
            except MlcaskException:
                server.stop()
                if attempt + 1 == attempts or "address already in use" not in server.log().lower():
                    raise
        raise AssertionError("unreachable")

    def _drain(self) -> None:
        for line in self.process.stdout:  # type: ignore[union-attr]
            self.output.append(line.decode("utf-8", "replace").rstrip())

    def log(self) -> str:
        return "\n".join(self.output)

    def alive(self) -> bool:
        return self.process.poll() is None

    def _failure(self, what: str) -> MlcaskException:
        self.process.poll()
        lines = [line for line in self.output if line.strip()]
        last = " ".join(lines[-1].split()) if lines else "(it printed nothing)"
        code = self.process.returncode
        state = f"it exited with code {code}" if code is not None else "it is still running"
        return MlcaskException(f"spark_udf: the model's scoring server in {self.where} {what} ({state}); its "
                               f"last output line: {last}", error_code=BAD_REQUEST)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                time.sleep(0.1)  # let the reader take the last lines
                raise self._failure("did not start")
            try:
                status, _ = self._request("GET", "/ping", None, timeout=2.0)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise self._failure(f"did not answer /ping within {timeout:.0f}s")

    def _request(self, method: str, path: str, body: bytes | None, timeout: float) -> tuple[int, bytes]:
        if self._connection is None:
            self._connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        try:
            self._connection.request(method, path, body=body, headers=headers)
            response = self._connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self._connection.close()
            self._connection = None
            raise

    def predict(self, frame: pd.DataFrame, params: dict[str, Any] | None) -> Any:
        """The model's predictions for ``frame``, decoded as the local path would have them."""
        body = encode_batch(frame, params)
        try:
            status, answer = self._request("POST", "/invocations", body, timeout=REQUEST_TIMEOUT + 60)
        except (OSError, http.client.HTTPException) as exc:
            if self.alive():  # a dropped keep-alive connection: once more on a new one
                try:
                    status, answer = self._request("POST", "/invocations", body, timeout=REQUEST_TIMEOUT + 60)
                except (OSError, http.client.HTTPException):
                    raise self._failure(f"could not be reached ({exc})") from None
            else:
                time.sleep(0.1)
                raise self._failure("died while scoring a batch") from None
        if status != 200:
            raise _refusal(status, answer, self.where)
        return decode_predictions(answer)

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def _refusal(status: int, body: bytes, where: str) -> MlcaskException:
    """A server's 4xx/5xx as the one-line task error the local path gives for the same input."""
    try:
        error = _loads(body)
        message, code = str(error.get("message", "")), str(error.get("error_code", BAD_REQUEST))
    except (ValueError, AttributeError):
        message, code = body.decode("utf-8", "replace"), BAD_REQUEST
    message = " ".join(message.split()) or f"HTTP {status}"
    if status == 400 and not message.startswith("The model could not predict"):
        return InvalidInputError(f"spark_udf: the input columns do not match the model's signature: {message}",
                                 error_code=INVALID_PARAMETER_VALUE)
    return MlcaskException(f"spark_udf: the model's scoring server in {where} answered {status} {code}: {message}",
                           error_code=code if status < 500 else "INTERNAL_ERROR")


# -- the payloads --------------------------------------------------------------------------------
def _loads(body: bytes) -> Any:
    try:
        import orjson
    except ImportError:
        return json.loads(body)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)  # NaN and Infinity literals


def _json_value(value: Any) -> Any:
    """What JSON has for a value of a batch's cell (the server reads these back by the signature)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"spark_udf cannot send a value of type {type(value).__name__} to the model's scoring server")


_ORJSON_ARRAYS = frozenset(map(np.dtype, (np.float64, np.float32, np.int64, np.int32, np.int16, np.int8, np.uint64,
                                           np.uint32, np.uint16, np.uint8, np.bool_)))


def _rows(frame: pd.DataFrame) -> tuple[Any, bool]:
    """The frame's rows (a 2-D array when all columns share one numeric dtype, else lists of
    Python values), and whether a float in them is NaN or infinite."""
    dtypes = set(frame.dtypes)
    if len(dtypes) == 1 and next(iter(dtypes)) in _ORJSON_ARRAYS:  # one block: one conversion
        values = np.ascontiguousarray(frame.to_numpy())
        return values, values.dtype.kind == "f" and not bool(np.isfinite(values).all())
    columns, finite = [], True
    for name in frame.columns:
        column = frame[name]
        values = column.tolist()
        if column.dtype.kind == "f":
            finite = finite and bool(np.isfinite(column.to_numpy()).all())
        elif column.dtype.kind not in "iubmM":  # text and objects: a missing value is null, not NaN
            values = [None if isinstance(v, float) and v != v else v for v in values]
        columns.append(values)
    return [list(row) for row in zip(*columns)], not finite


def encode_batch(frame: pd.DataFrame, params: dict[str, Any] | None) -> bytes:
    """One batch as the scoring server's JSON ``dataframe_split`` (NaN as the NaN literal the server reads)."""
    rows, non_finite = _rows(frame)
    split = {"columns": [str(name) for name in frame.columns], "data": rows}
    payload: dict[str, Any] = {"dataframe_split": split}
    if params:
        payload["params"] = params
    if not non_finite:
        try:
            import orjson

            return orjson.dumps(payload, default=_json_value, option=orjson.OPT_SERIALIZE_NUMPY)
        except ImportError:
            pass
    if isinstance(rows, np.ndarray):
        split["data"] = rows.tolist()
    return json.dumps(payload, default=_json_value, allow_nan=True, separators=(",", ":")).encode("utf-8")


def _column(values: list[Any]) -> np.ndarray:
    """A list of predictions as the numpy column the model returned (null numbers as NaN)."""
    try:
        array = np.asarray(values)
    except ValueError:  # ragged lists
        array = np.empty(len(values), dtype=object)
        array[:] = values
    if array.dtype == object and any(v is not None for v in values) and all(
            v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values):
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    return array


def decode_predictions(body: bytes) -> Any:
    """The server's ``{"predictions": ...}`` as what ``predict`` returned: a numpy array (1-D, 2-D,
    or of lists), a DataFrame (from records; columns "0", "1", ... by position), or a dict of columns."""
    predictions = _loads(body)["predictions"]
    if isinstance(predictions, dict):
        return {key: _column(value) if isinstance(value, list) else value for key, value in predictions.items()}
    if not isinstance(predictions, list):
        return np.asarray([predictions])
    if predictions and all(isinstance(row, dict) for row in predictions):
        frame = pd.DataFrame.from_records(predictions)
        if list(frame.columns) == [str(i) for i in range(frame.shape[1])]:
            frame.columns = pd.RangeIndex(frame.shape[1])
        return frame
    return _column(predictions)
