"""Adaptive batching: concurrent requests merged into one predict call.

Each request hands the batcher its (already schema-checked) rows: a DataFrame, or a
2-D array from the hot path (:mod:`mlcask.serving.fastpath`). A single collector task
takes the first waiting request and every request already queued behind it, up to
``max_batch_size`` rows, merges those of the same kind (frames with the same columns
and dtypes, arrays of the same width and dtype), predicts once and splits the output
by each request's row count. It never waits for requests that have not arrived: while
a predict runs, new requests queue up, so under load batches grow by themselves, and a
request that finds nothing else queued is predicted at once. With ``max_wait_ms``
above 0 (any value: it is not a time any more) the collector lets the event loop turn
before it closes a batch, up to four times while each turn queues more, so that
requests already received but still being read join it; it never waits on a clock.

Where a batch is predicted: in the batcher's own worker thread at first (one thread,
always the same: XGBoost, for one, sets up per-thread state that a pool's rotating
threads would set up again and again), so a slow model never holds up the event loop.
Once a predict has taken less than ``inline_ms`` of CPU time, batches are predicted on
the event loop itself, which saves the hand-off to the thread and back (on a busy
server, more than the predict of a small batch costs). A predict there that takes
``inline_ms`` or more of CPU time, or five times that of wall time while waiting on
something (it blocked: a lock, a socket, a sleep; being preempted by other processes
does not count, where the OS tells the two apart), sends the next ones back to the
thread for a second, after which a short predict there brings them back.

Outputs that are not row-aligned (a scalar, a different length) and merged predicts
that fail fall back to one predict per request, so every caller gets exactly what
predicting its own rows alone would give (including its own error).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlcask.types._frames import frame_dtypes

try:
    import resource

    _RUSAGE_THREAD = resource.RUSAGE_THREAD  # Linux
except (ImportError, AttributeError):
    _RUSAGE_THREAD = None


def _blocked_count() -> int | None:
    """How often this thread has blocked so far (voluntary context switches); None where the OS does not say."""
    return resource.getrusage(_RUSAGE_THREAD).ru_nvcsw if _RUSAGE_THREAD is not None else None


_logger = logging.getLogger("mlcask.serving")

_TURNS = 4  # turns of the event loop a batch waits for requests already received, while each brings more


Rows = pd.DataFrame | np.ndarray


class _Item:
    __slots__ = ("frame", "rows", "future", "key")

    def __init__(self, frame: Rows, future: asyncio.Future) -> None:
        self.frame = frame
        self.rows = len(frame)
        self.future = future
        # Requests merge only with the same columns and dtypes (dtype objects hash and compare).
        if isinstance(frame, np.ndarray):
            self.key = (np.ndarray, frame.shape[1:], frame.dtype)
        else:
            self.key = (tuple(frame.columns), tuple(frame_dtypes(frame)))


def merge_rows(parts: list[Rows]) -> Rows:
    """The rows of several requests (all of one kind) as one frame or array, in order."""
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    return pd.concat(parts, ignore_index=True)


def split_rows(output: Any, counts: list[int]) -> list[Any] | None:
    """``output`` of a merged predict cut into one piece per request, or None if not row-aligned."""
    total = sum(counts)
    if isinstance(output, (pd.DataFrame, pd.Series)):
        if len(output) != total:
            return None
        pieces, start = [], 0
        for n in counts:
            pieces.append(output.iloc[start:start + n].reset_index(drop=True))
            start += n
        return pieces
    if isinstance(output, np.ndarray):
        if output.ndim == 0 or output.shape[0] != total:
            return None
        pieces, start = [], 0
        for n in counts:  # views, as np.split makes them, at a fraction of its cost
            pieces.append(output[start:start + n])
            start += n
        return pieces
    if isinstance(output, list) and len(output) == total:
        pieces, start = [], 0
        for n in counts:
            pieces.append(output[start:start + n])
            start += n
        return pieces
    return None


class Batcher:
    """Merges concurrent ``predict(rows)`` calls; ``predict`` is a blocking function of a DataFrame
    (or of a 2-D array, for requests that submit arrays)."""

    def __init__(self, predict: Callable[[Rows], Any], *, max_batch_size: int = 64,
                 max_wait_ms: float = 2.0, inline_ms: float = 3.0) -> None:
        self._predict = predict
        self.max_batch_size = max(1, int(max_batch_size))
        self.max_wait = max(0.0, float(max_wait_ms)) / 1000.0
        self.inline_limit = max(0.0, float(inline_ms)) / 1000.0
        self.inline = False  # predicting on the event loop (the last predicts were short)
        self._thread_until = 0.0  # monotonic time before which predicts stay in the thread
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._queue: asyncio.Queue[_Item] | None = None
        self._task: asyncio.Task | None = None
        self._pending: _Item | None = None  # taken from the queue but left for the next batch
        self.batch_sizes: list[int] = []  # rows per merged predict (kept short; for stats and tests)

    def submit(self, frame: Rows) -> asyncio.Future:
        """Predict on ``frame`` (possibly merged with other requests): a future of this frame's output.

        Cancelling the future (the caller's timeout) takes the request out of its batch.
        """
        loop = asyncio.get_running_loop()
        if self._queue is None or self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._run())
        future: asyncio.Future = loop.create_future()
        self._queue.put_nowait(_Item(frame, future))
        return future

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None

    async def predict_alone(self, rows: Rows) -> Any:
        """``predict(rows)`` as one call of its own (a request too large to merge), where batches are predicted."""
        return await self._call(rows)

    async def _collect(self) -> list[_Item]:
        assert self._queue is not None
        first = self._pending if self._pending is not None else await self._queue.get()
        self._pending = None
        batch, rows = [first], first.rows
        turns = _TURNS if self.max_wait > 0 else 0
        while rows < self.max_batch_size:
            if self._queue.empty():
                if not turns:
                    break
                turns -= 1
                await asyncio.sleep(0)  # a turn of the loop: requests already received get queued
                if self._queue.empty():
                    break  # nothing more had arrived
                continue
            item = self._queue.get_nowait()
            if item.key != first.key or rows + item.rows > self.max_batch_size:
                self._pending = item  # starts the next batch
                break
            batch.append(item)
            rows += item.rows
        return batch

    async def _run(self) -> None:
        while True:
            batch = await self._collect()
            batch = [i for i in batch if not i.future.done()]  # callers that timed out
            if batch:
                await self._predict_batch(batch)

    async def _predict_batch(self, batch: list[_Item]) -> None:
        if len(batch) == 1:
            await self._predict_one(batch[0])
            return
        counts = [i.rows for i in batch]
        frame = merge_rows([i.frame for i in batch])
        self._record(len(frame))
        try:
            output = await self._call(frame)
        except Exception as exc:  # let each request find out on its own rows
            _logger.info("merged predict of %d requests failed (%s); predicting them one by one",
                         len(batch), exc)
            pieces = None
        else:
            pieces = split_rows(output, counts)
            if pieces is None:
                _logger.debug("model output is not row-aligned; predicting %d requests one by one", len(batch))
        if pieces is None:
            for item in batch:
                await self._predict_one(item, record=True)
            return
        for item, piece in zip(batch, pieces, strict=True):
            if not item.future.done():
                item.future.set_result(piece)

    async def _predict_one(self, item: _Item, record: bool = True) -> None:
        if record:
            self._record(item.rows)
        try:
            output = await self._call(item.frame)
        except Exception as exc:
            if not item.future.done():
                item.future.set_exception(exc)
        else:
            if not item.future.done():
                item.future.set_result(output)

    async def _call(self, rows: Rows) -> Any:
        """``predict(rows)`` on the event loop when the model's predicts have been short, else in the thread."""
        if self.inline and time.monotonic() >= self._thread_until:
            output, cpu, wall, blocked = self._timed(rows)
            if cpu >= self.inline_limit or (blocked and wall >= 5 * self.inline_limit):
                self.inline = False
                self._thread_until = time.monotonic() + 1.0
            return output
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mlcask-predict")
        loop = asyncio.get_running_loop()
        output, cpu, _, _ = await loop.run_in_executor(self._executor, self._timed, rows)
        # (in the thread, waits for the event loop's GIL count as blocking: only the CPU time tells)
        self.inline = cpu < self.inline_limit and time.monotonic() >= self._thread_until
        return output

    def _timed(self, rows: Rows) -> tuple[Any, float, float, bool]:
        """``predict(rows)``, its CPU and wall time, and whether the thread blocked meanwhile."""
        cpu, wall, blocked = time.thread_time(), time.perf_counter(), _blocked_count()
        output = self._predict(rows)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        return output, cpu, wall, blocked is None or _blocked_count() != blocked

    def _record(self, rows: int) -> None:
        self.batch_sizes.append(rows)
        if len(self.batch_sizes) > 10_000:
            del self.batch_sizes[:5_000]
