"""Scoring models for the web UI's Test tab, in worker processes separate from the server.

Why a separate process: loading a model runs the model's libraries (and, for a trusted
pickle, its code), and predicting can use a lot of memory or crash; none of that may take
the tracking server down or hold its memory.

How it works
------------
- :class:`ScoringPool` (one per server process) starts its workers lazily, on the first
  score: ``python -m mlcask.server.scoring_worker``, a plain subprocess (no fork of the
  threaded server, no pickling) speaking **length-prefixed JSON** on its stdin and stdout:
  each message is a 4-byte big-endian length followed by that many bytes of JSON. The
  worker's own stdout is moved to stderr, so whatever a model prints lands in the server's
  log and never in the protocol.
- A request names a local model folder (the server resolved or downloaded it), a cache key
  (model version and content digest) and MLflow's scoring request JSON. The worker loads
  the folder with :func:`mlcask.pyfunc.load_model` under the usual trust rules (native
  formats load; pickles and custom code only when signed by a trusted key, or with
  ``MLCASK_ALLOW_PICKLE=1`` in the server's environment, which the worker inherits),
  parses the request with the scoring server's codec, checks it against the signature,
  predicts and answers the predictions as JSON.
- Each worker caches loaded models, least recently used first out. A model's memory is
  what the worker's resident set grew by while loading it (``/proc/self/statm``), at least
  its size on disk. When the cached models together exceed the budget
  (``MLCASK_UI_SCORING_MEMORY_MB``, default 1024), the least recently used others are
  evicted; when the model just used is over the budget alone, or the worker holds more
  memory than its cached models account for by over the budget and over 256 MiB (what
  the allocator keeps after evictions, leaks), the worker is recycled after answering:
  stopped, and started again on the next request.
- A worker that dies mid-request (a crash in native code, killed for memory) answers that
  request with a clear 503 error and is started again for the next one; a request over the
  timeout (``MLCASK_UI_SCORING_TIMEOUT_S``, default 60) kills its worker and answers 504.
- ``MLCASK_UI_SCORING_WORKERS`` (default 1) workers serve concurrent requests from the
  server's threads, each worker one request at a time; a request goes to an idle worker
  that has its model cached when there is one.
- :meth:`ScoringPool.close` stops every worker (the app's shutdown calls it); a worker
  whose server is gone sees its stdin close and exits.
"""

from __future__ import annotations

import gc
import logging
import os
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from mlcask.exceptions import MlcaskException

__all__ = ["ScoringError", "ScoringPool", "read_message", "rss_bytes", "write_message"]

_logger = logging.getLogger("mlcask.server")

MEMORY_ENV = "MLCASK_UI_SCORING_MEMORY_MB"
WORKERS_ENV = "MLCASK_UI_SCORING_WORKERS"
TIMEOUT_ENV = "MLCASK_UI_SCORING_TIMEOUT_S"
DEFAULT_MEMORY_MB = 1024
DEFAULT_TIMEOUT_S = 60.0
MAX_MESSAGE_BYTES = 64 << 20
UNACCOUNTED_BYTES = 256 << 20  # memory beyond the cached models' that recycles a worker (if over the budget too)
_HEADER = struct.Struct(">I")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class ScoringError(MlcaskException):
    """A score that failed: MLflow's error code and the HTTP status to answer."""

    def __init__(self, message: str, error_code: str, http_status: int) -> None:
        super().__init__(message, error_code)
        self.http_status = http_status


class WorkerDied(Exception):
    """The worker's pipe closed before it answered."""


def _env_number(name: str, default: float, minimum: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a number (expected e.g. {default:g}).") from None
    if value < minimum:
        raise ValueError(f"{name}={text!r} must be at least {minimum:g}.")
    return value


# -- framing ---------------------------------------------------------------------------------------------------------

def write_message(stream: IO[bytes], message: Any) -> None:
    """Write one length-prefixed JSON message (numpy and pandas values as the scoring server writes them)."""
    from mlcask.serving.codec import dumps

    data = dumps(message)
    if len(data) > MAX_MESSAGE_BYTES:
        raise ValueError(f"The predictions take {len(data)} bytes as JSON, over the {MAX_MESSAGE_BYTES} bytes the "
                         "Test tab shows; score fewer rows.")
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_message(stream: IO[bytes]) -> Any:
    """One message, or None at the end of the stream."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_MESSAGE_BYTES:
        raise ValueError(f"A scoring message of {size} bytes exceeds the limit of {MAX_MESSAGE_BYTES}.")
    body = _read_exactly(stream, size)
    if body is None:
        return None
    return orjson.loads(body)


def rss_bytes() -> int:
    """This process's resident set size, from ``/proc/self/statm`` (0 where there is none)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


# -- the server side -------------------------------------------------------------------------------------------------

class _Worker:
    """One worker subprocess, as the server sees it (used by one thread at a time)."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "mlcask.server.scoring_worker"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)
        self.keys: set[str] = set()
        _logger.info("started scoring worker pid %s", self.process.pid)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def _read(self, size: int, deadline: float) -> bytes:
        fd = self.process.stdout.fileno()
        chunks, left = [], size
        while left:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                raise WorkerDied
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def call(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request and wait up to ``timeout`` s for its answer."""
        try:
            write_message(self.process.stdin, message)
        except (BrokenPipeError, OSError):
            raise WorkerDied from None
        deadline = time.monotonic() + timeout
        (size,) = _HEADER.unpack(self._read(_HEADER.size, deadline))
        if size > MAX_MESSAGE_BYTES:
            raise WorkerDied
        return orjson.loads(self._read(size, deadline))

    def exit_description(self) -> str:
        try:
            code = self.process.wait(2)
        except subprocess.TimeoutExpired:
            return "it stopped answering"
        if code < 0:
            try:
                return f"killed by signal {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exit code {code}"

    def stop(self, grace: float = 5.0) -> None:
        """Close its stdin (it exits at the end of its input); kill it if it does not."""
        try:
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


@dataclass
class _Slot:
    worker: _Worker | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class ScoringPool:
    """Worker processes that load and score models (see the module's docstring); thread-safe.

    ``workers``, ``memory_budget_mb`` and ``timeout_s`` default to ``MLCASK_UI_SCORING_WORKERS``,
    ``MLCASK_UI_SCORING_MEMORY_MB`` and ``MLCASK_UI_SCORING_TIMEOUT_S``. The budget may be changed
    while the pool runs (it is sent with every request).
    """

    def __init__(self, workers: int | None = None, memory_budget_mb: float | None = None,
                 timeout_s: float | None = None) -> None:
        count = int(workers if workers is not None else _env_number(WORKERS_ENV, 1, 1))
        if count < 1:
            raise ValueError(f"A scoring pool needs at least one worker, got {count}.")
        budget = memory_budget_mb if memory_budget_mb is not None else _env_number(MEMORY_ENV, DEFAULT_MEMORY_MB, 1)
        self.memory_budget_bytes = int(budget * (1 << 20))
        self.timeout_s = float(timeout_s if timeout_s is not None else _env_number(TIMEOUT_ENV, DEFAULT_TIMEOUT_S, 0.1))
        self._slots = [_Slot() for _ in range(count)]
        self._free: queue.Queue[int] = queue.Queue()
        for index in range(count):
            self._free.put(index)
        self._lock = threading.Lock()
        self._closed = False

    def _acquire(self, key: str | None) -> _Slot:
        try:
            first = self._free.get(timeout=self.timeout_s)
        except queue.Empty:
            raise ScoringError(f"All {len(self._slots)} scoring workers stayed busy for {self.timeout_s:g} s; try "
                               f"again later (or set {WORKERS_ENV} for more workers).",
                               "TEMPORARILY_UNAVAILABLE", 503) from None
        if key is None or self._slots[first].worker is None or key in self._slots[first].worker.keys:
            return self._slots[first]
        taken = [first]  # look for an idle worker that has the model loaded already
        try:
            while True:
                index = self._free.get_nowait()
                taken.append(index)
                worker = self._slots[index].worker
                if worker is not None and key in worker.keys:
                    taken.remove(index)
                    return self._slots[index]
        except queue.Empty:
            taken.remove(first)
            return self._slots[first]
        finally:
            for index in taken:
                self._free.put(index)

    def _release(self, slot: _Slot) -> None:
        self._free.put(self._slots.index(slot))

    def _call(self, slot: _Slot, message: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._closed:
                raise ScoringError("The server is shutting down; scoring is stopped.", "TEMPORARILY_UNAVAILABLE", 503)
        if slot.worker is None or not slot.worker.alive():
            slot.worker = _Worker()
        worker = slot.worker
        try:
            answer = worker.call(message, self.timeout_s)
        except TimeoutError:
            slot.worker = None
            worker.process.kill()
            worker.stop()
            raise ScoringError(f"Scoring did not finish within {self.timeout_s:g} s; the scoring worker was stopped "
                               f"(set {TIMEOUT_ENV} for a longer timeout).", "DEADLINE_EXCEEDED", 504) from None
        except (WorkerDied, ValueError):
            slot.worker = None
            how = worker.exit_description()
            worker.stop(0.1)
            _logger.error("scoring worker pid %s died while scoring (%s)", worker.pid, how)
            raise ScoringError(f"The scoring worker process died while scoring ({how}): the model crashed or ran "
                               "out of memory. The worker is started again for the next request.",
                               "TEMPORARILY_UNAVAILABLE", 503) from None
        worker.keys = set(answer.get("cached", worker.keys))
        if answer.get("recycle"):
            _logger.info("recycling scoring worker pid %s: %s", worker.pid, answer.get("recycle"))
            slot.worker = None
            worker.stop()
        return answer

    def score(self, key: str, folder: str | os.PathLike[str], request: dict[str, Any]) -> dict[str, Any]:
        """Score MLflow's scoring ``request`` with the model in ``folder`` (cached under ``key``).

        Returns the worker's answer (``predictions``, ``predict_ms``, ``load_ms``, ``cached``...);
        raises :class:`ScoringError` with the status to answer (400 bad input, 403 untrusted model,
        503 worker crash, 504 timeout).
        """
        message = {"op": "score", "key": key, "folder": str(folder), "request": request,
                   "budget_bytes": self.memory_budget_bytes}
        slot = self._acquire(key)
        try:
            answer = self._call(slot, message)
        finally:
            self._release(slot)
        if not answer.get("ok"):
            raise ScoringError(answer.get("message", "Scoring failed."), answer.get("error_code", "INTERNAL_ERROR"),
                               int(answer.get("status", 500)))
        return answer

    def stats(self) -> list[dict[str, Any]]:
        """Each running worker's pid, resident set and cached models (idle workers only are asked)."""
        taken = [self._free.get(timeout=self.timeout_s) for _ in self._slots]  # every slot, each once
        try:
            result = []
            for index in sorted(taken):
                slot = self._slots[index]
                if slot.worker is not None and slot.worker.alive():
                    pid = slot.worker.pid
                    result.append({"pid": pid, **self._call(slot, {"op": "stats"})})
            return result
        finally:
            for index in taken:
                self._free.put(index)

    def worker_pids(self) -> list[int]:
        return [slot.worker.pid for slot in self._slots if slot.worker is not None and slot.worker.alive()]

    def close(self) -> None:
        """Stop every worker; later scores are refused."""
        with self._lock:
            self._closed = True
        for slot in self._slots:
            with slot.lock:
                worker, slot.worker = slot.worker, None
            if worker is not None:
                worker.stop()


# -- the worker side -------------------------------------------------------------------------------------------------

@dataclass
class _Loaded:
    model: Any
    charge: int


class ModelCache:
    """The worker's loaded models, least recently used first (see the module's docstring)."""

    def __init__(self) -> None:
        self.models: OrderedDict[str, _Loaded] = OrderedDict()
        self.baseline = rss_bytes()

    def get(self, key: str, folder: str) -> tuple[_Loaded, float]:
        """The model cached under ``key`` (loaded from ``folder`` if absent) and the load's milliseconds."""
        entry = self.models.get(key)
        if entry is not None:
            self.models.move_to_end(key)
            return entry, 0.0
        from mlcask.pyfunc import load_model

        before, started = rss_bytes(), time.perf_counter()
        model = load_model(folder)
        load_ms = (time.perf_counter() - started) * 1000
        on_disk = sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())
        entry = _Loaded(model, max(rss_bytes() - before, on_disk))
        self.models[key] = entry
        return entry, load_ms

    def fit(self, key: str, budget: int) -> str | None:
        """Evict least recently used models other than ``key`` until the rest fit ``budget``; why the worker
        must be recycled, or None."""
        evicted = False
        while sum(e.charge for e in self.models.values()) > budget and len(self.models) > 1:
            oldest = next(k for k in self.models if k != key)
            del self.models[oldest]
            evicted = True
        if evicted:
            gc.collect()
        total = sum(e.charge for e in self.models.values())
        if total > budget:
            return f"the model takes {total >> 20} MiB, over the scoring memory budget of {budget >> 20} MiB"
        unaccounted = rss_bytes() - self.baseline - total
        if unaccounted > max(budget, UNACCOUNTED_BYTES):
            return f"the worker holds {unaccounted >> 20} MiB that no cached model accounts for"
        return None


def _refusal(exc: MlcaskException) -> dict[str, Any]:
    head = exc.message.split(" If you trust this model, ")[0]
    return {"ok": False, "status": 403, "error_code": "PERMISSION_DENIED",
            "message": f"{head} To score it here, start the server with --allow-pickle (or MLCASK_ALLOW_PICKLE=1 "
                       "in its environment) if you trust this model, or sign the model with a key the server trusts (mlcask models "
                       "sign; MLCASK_TRUSTED_KEYS on the server; see SECURITY.md)."}


def _failure(status: int, code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "status": status, "error_code": code, "message": message}


def _load(cache: ModelCache, message: dict[str, Any]) -> tuple[_Loaded | None, float, dict[str, Any] | None]:
    from mlcask.exceptions import ModelFormatError, UnsafeModelError

    try:
        entry, load_ms = cache.get(message["key"], message["folder"])
        return entry, load_ms, None
    except UnsafeModelError as exc:
        return None, 0.0, _refusal(exc)
    except (ModelFormatError, MlcaskException) as exc:
        return None, 0.0, _failure(400, "INVALID_PARAMETER_VALUE", f"The model cannot be loaded: {exc.message}")
    except ImportError as exc:
        return None, 0.0, _failure(400, "INVALID_PARAMETER_VALUE", f"The model cannot be loaded here: {exc}.")


def _predict(entry: _Loaded, request: Any) -> tuple[Any, float]:
    from mlcask.models.enforcement import enforce_schema
    from mlcask.serving.codec import jsonable, parse_payload
    from mlcask.serving.scoring import run_model

    schema = entry.model.metadata.get_input_schema()
    data, params = parse_payload(request, schema)
    started = time.perf_counter()
    if schema is not None:
        data = enforce_schema(data, schema)
    predictions = run_model(entry.model, data, params)
    return jsonable(predictions), (time.perf_counter() - started) * 1000


def handle_score(cache: ModelCache, message: dict[str, Any]) -> dict[str, Any]:
    """One score request in the worker: load (or reuse) the model, parse, check, predict."""
    from mlcask.serving.scoring import ModelError

    entry, load_ms, failure = _load(cache, message)
    answer: dict[str, Any]
    if failure is not None:
        answer = failure
    else:
        try:
            predictions, predict_ms = _predict(entry, message["request"])
            answer = {"ok": True, "predictions": predictions, "predict_ms": round(predict_ms, 3),
                      "load_ms": round(load_ms, 3), "from_cache": load_ms == 0.0}
        except MlcaskException as exc:
            answer = _failure(400, "BAD_REQUEST", exc.message)
        except ModelError as exc:
            answer = _failure(400, "BAD_REQUEST", f"The model could not predict on the given input: {exc}")
    recycle = cache.fit(message["key"], int(message["budget_bytes"])) if entry is not None else None
    if recycle:
        answer["recycle"] = recycle
    answer["cached"] = list(cache.models)
    answer["rss_bytes"] = rss_bytes()
    return answer


def _handle(cache: ModelCache, message: dict[str, Any]) -> dict[str, Any]:
    op = message.get("op")
    if op == "stats":
        return {"ok": True, "cached": list(cache.models), "rss_bytes": rss_bytes(), "baseline_bytes": cache.baseline,
                "charges": {k: e.charge for k, e in cache.models.items()}}
    if op == "score":
        return handle_score(cache, message)
    return _failure(400, "BAD_REQUEST", f"Unknown scoring worker operation {op!r}.")


def main() -> None:
    """The worker's loop: one request in, one answer out, until stdin closes."""
    requests = sys.stdin.buffer
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a model's prints go to the log, not the protocol
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C of the server's terminal stops the server, which stops us
    import numpy  # noqa: F401  (what every model needs, loaded before the memory baseline)
    import pandas  # noqa: F401

    import mlcask.pyfunc  # noqa: F401
    import mlcask.serving.codec  # noqa: F401

    cache = ModelCache()
    while True:
        message = read_message(requests)
        if message is None:
            return
        try:
            answer = _handle(cache, message)
        except Exception as exc:  # an mlcask fault: answer it, keep serving
            logging.getLogger("mlcask.server").exception("scoring worker error")
            answer = _failure(500, "INTERNAL_ERROR", f"Internal error in the scoring worker: {type(exc).__name__}: "
                                                     f"{exc}. The server's log has details.")
            answer["cached"] = list(cache.models)
        try:
            write_message(answers, answer)
        except ValueError as exc:  # too large for the protocol
            write_message(answers, {**_failure(413, "REQUEST_LIMIT_EXCEEDED", str(exc)),
                                    "cached": list(cache.models)})


if __name__ == "__main__":
    main()
