"""Asynchronous logging: ``log_metric(..., synchronous=False)`` and friends, as MLflow's.

One background queue per process. Each asynchronous call enqueues a request (a run id with
metrics, params and tags) and returns at once a :class:`RunOperations`; a worker thread takes
what has queued up, merges consecutive requests for the same run into ``log_batch`` calls
within MLflow's per-request limits, and logs them in order. ``RunOperations.wait()`` blocks
until its requests are logged and raises their errors. :func:`flush` (``mlcask.flush_async_logging``)
waits for everything queued so far; ``end_run`` and interpreter exit flush too. A forked child
starts with an empty queue of its own.

``synchronous=None`` means "asynchronous if ``MLFLOW_ENABLE_ASYNC_LOGGING`` is true" (MLflow's
switch; :func:`enable_async_logging` sets it for this process).
"""

from __future__ import annotations

import atexit
import os
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from mlcask.entities import Metric, Param, RunTag
from mlcask.environment_variables import MLFLOW_ENABLE_ASYNC_LOGGING
from mlcask.exceptions import MlcaskException
from mlcask.tracking.validation import MAX_ENTITIES_PER_BATCH, MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH

__all__ = ["MLFLOW_ENABLE_ASYNC_LOGGING", "RunOperations", "enable_async_logging", "flush", "is_async", "submit"]


class RunOperations:
    """The pending result of asynchronous logging calls (MLflow's ``mlflow.RunOperations``).

    Parameters
    ----------
    operation_futures
        ``concurrent.futures.Future`` objects, one per queued request.
    """

    def __init__(self, operation_futures: Iterable[Future] | None = None) -> None:
        self._operation_futures = list(operation_futures or [])

    def wait(self) -> None:
        """Block until every operation is done.

        Raises
        ------
        MlcaskException
            If any failed, listing every failure (each with the store's own message).
        """
        failures = []
        for future in self._operation_futures:
            try:
                future.result()
            except Exception as exc:  # every failure is reported, not just the first
                failures.append(exc)
        if failures:
            raise MlcaskException("The following failures occurred while performing one or more async logging "
                                  f"operations: {failures}")

    def __repr__(self) -> str:
        done = sum(f.done() for f in self._operation_futures)
        return f"RunOperations({done} of {len(self._operation_futures)} done)"


def combine(operations: Sequence[RunOperations | None]) -> RunOperations:
    """One ``RunOperations`` waiting for all of ``operations``."""
    return RunOperations([f for op in operations if op is not None for f in op._operation_futures])


def is_async(synchronous: bool | None) -> bool:
    """Whether a call with this ``synchronous`` argument logs in the background."""
    if synchronous is None:
        return MLFLOW_ENABLE_ASYNC_LOGGING.get()
    return not synchronous


def enable_async_logging(enable: bool = True) -> None:
    """Make calls without a ``synchronous`` argument asynchronous (or synchronous again) in this
    process and its children (sets ``MLFLOW_ENABLE_ASYNC_LOGGING``), as ``mlflow.config.enable_async_logging``."""
    MLFLOW_ENABLE_ASYNC_LOGGING.set(enable)


@dataclass
class _Request:
    log_batch: Callable[..., None]
    run_id: str
    metrics: list[Metric]
    params: list[Param]
    tags: list[RunTag]
    future: Future = field(default_factory=Future)

    @property
    def size(self) -> int:
        return len(self.metrics) + len(self.params) + len(self.tags)


def _fits(group: list[_Request], request: _Request) -> bool:
    """Whether ``request`` can join ``group`` in one store ``log_batch`` call."""
    first = group[0]
    if request.run_id != first.run_id or request.log_batch != first.log_batch:
        return False
    metrics = sum(len(r.metrics) for r in group) + len(request.metrics)
    params = sum(len(r.params) for r in group) + len(request.params)
    tags = sum(len(r.tags) for r in group) + len(request.tags)
    if metrics > MAX_METRICS_PER_BATCH or params > MAX_PARAMS_TAGS_PER_BATCH or tags > MAX_PARAMS_TAGS_PER_BATCH:
        return False
    if metrics + params + tags > MAX_ENTITIES_PER_BATCH:
        return False
    keys = {p.key for r in group for p in r.params}  # a param logged twice must fail on its own
    return not keys.intersection(p.key for p in request.params)


def _log_group(group: list[_Request]) -> None:
    first = group[0]
    try:
        first.log_batch(first.run_id, [m for r in group for m in r.metrics], [p for r in group for p in r.params],
                        [t for r in group for t in r.tags])
    except Exception as exc:
        if len(group) == 1:
            first.future.set_exception(exc)
            return
        for request in group:  # a batch is all or nothing: log each on its own to give each its own result
            _log_group([request])
        return
    for request in group:
        request.future.set_result(None)


class _Queue:
    """The process's queue and its worker thread (started on first use)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pending: set[Future] = set()

    def submit(self, request: _Request) -> Future:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="mlcask-async-logging", daemon=True)
                self._thread.start()
            self._pending.add(request.future)
        request.future.add_done_callback(self._done)
        self._queue.put(request)
        return request.future

    def _done(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def _work(self) -> None:
        while True:
            request = self._queue.get()
            if request is None:
                return
            groups = [[request]]
            while True:  # take whatever else is already queued, merging what fits
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                if _fits(groups[-1], more):
                    groups[-1].append(more)
                else:
                    groups.append([more])
            for group in groups:
                _log_group(group)

    def flush(self, timeout: float | None = None) -> None:
        """Wait for every request queued so far (their errors stay with their RunOperations)."""
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            try:
                future.result(timeout)
            except Exception:  # reported by RunOperations.wait(), not here
                pass


_process_queue = _Queue()


def _new_queue_in_child() -> None:
    global _process_queue
    _process_queue = _Queue()


os.register_at_fork(after_in_child=_new_queue_in_child)


def submit(log_batch: Callable[..., None], run_id: str, metrics: Sequence[Metric] = (),
           params: Sequence[Param] = (), tags: Sequence[RunTag] = ()) -> RunOperations:
    """Queue one ``log_batch(run_id, metrics, params, tags)`` call (of at most one store request's
    worth of items); returns its :class:`RunOperations`."""
    request = _Request(log_batch, run_id, list(metrics), list(params), list(tags))
    return RunOperations([_process_queue.submit(request)])


def flush() -> None:
    """Wait until everything queued so far is logged (``mlcask.flush_async_logging``)."""
    _process_queue.flush()


@atexit.register
def _flush_at_exit() -> None:
    _process_queue.flush(timeout=60)
