"""Adaptive batching: concurrent requests merged into one predict call.

Each request hands the batcher its (already schema-checked) DataFrame. A single
collector task takes the first waiting request, then gathers more until the batch
holds ``max_batch_size`` rows or ``max_wait_ms`` has passed since that first request,
concatenates frames with the same columns and dtypes, predicts once in a worker
thread, and splits the output by each request's row count. While a predict runs, new
requests queue up, so under load batches grow by themselves; when the server is idle
(the previous batch held one request and nothing else is waiting) a lone request is
predicted at once, with no added wait.

Outputs that are not row-aligned (a scalar, a different length) and merged predicts
that fail fall back to one predict per request, so every caller gets exactly what
predicting its own rows alone would give (including its own error).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from mlcask.types._frames import frame_dtypes

_logger = logging.getLogger("mlcask.serving")


class _Item:
    __slots__ = ("frame", "rows", "future", "key")

    def __init__(self, frame: pd.DataFrame, future: asyncio.Future) -> None:
        self.frame = frame
        self.rows = len(frame)
        self.future = future
        # Requests merge only with the same columns and dtypes (dtype objects hash and compare).
        self.key = (tuple(frame.columns), tuple(frame_dtypes(frame)))


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
        return np.split(output, np.cumsum(counts)[:-1])
    if isinstance(output, list) and len(output) == total:
        pieces, start = [], 0
        for n in counts:
            pieces.append(output[start:start + n])
            start += n
        return pieces
    return None


class Batcher:
    """Merges concurrent ``predict(frame)`` calls; ``predict`` is a blocking function of a DataFrame."""

    def __init__(self, predict: Callable[[pd.DataFrame], Any], *, max_batch_size: int = 64,
                 max_wait_ms: float = 2.0) -> None:
        self._predict = predict
        self.max_batch_size = max(1, int(max_batch_size))
        self.max_wait = max(0.0, float(max_wait_ms)) / 1000.0
        self._queue: asyncio.Queue[_Item] | None = None
        self._task: asyncio.Task | None = None
        self._pending: _Item | None = None  # taken from the queue but left for the next batch
        self._idle = True
        self.batch_sizes: list[int] = []  # rows per merged predict (kept short; for stats and tests)

    async def submit(self, frame: pd.DataFrame) -> Any:
        """Predict on ``frame`` (possibly merged with other requests); returns this frame's output."""
        loop = asyncio.get_running_loop()
        if self._queue is None or self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            self._task = loop.create_task(self._run())
        future: asyncio.Future = loop.create_future()
        self._queue.put_nowait(_Item(frame, future))
        return await future  # cancelling the caller (a timeout) cancels it: the batch skips it

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None

    async def _collect(self) -> list[_Item]:
        assert self._queue is not None
        first = self._pending if self._pending is not None else await self._queue.get()
        self._pending = None
        batch, rows = [first], first.rows
        if rows >= self.max_batch_size:
            return batch
        deadline = time.monotonic() + self.max_wait
        while rows < self.max_batch_size:
            if self._queue.empty():
                if self._idle and len(batch) == 1:
                    break  # idle server: no waiting for a lone request
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            else:
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
            if not batch:
                continue
            self._idle = len(batch) == 1 and (self._queue is None or self._queue.empty())
            await self._predict_batch(batch)

    async def _predict_batch(self, batch: list[_Item]) -> None:
        if len(batch) == 1:
            await self._predict_one(batch[0])
            return
        counts = [i.rows for i in batch]
        frame = pd.concat([i.frame for i in batch], ignore_index=True)
        self._record(len(frame))
        try:
            output = await asyncio.to_thread(self._predict, frame)
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
            output = await asyncio.to_thread(self._predict, item.frame)
        except Exception as exc:
            if not item.future.done():
                item.future.set_exception(exc)
        else:
            if not item.future.done():
                item.future.set_result(output)

    def _record(self, rows: int) -> None:
        self.batch_sizes.append(rows)
        if len(self.batch_sizes) > 10_000:
            del self.batch_sizes[:5_000]
