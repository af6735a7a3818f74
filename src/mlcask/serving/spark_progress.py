"""A progress bar on stderr for Spark jobs: tasks done of the tasks known, polled from Spark's StatusTracker.

The jobs watched are those of one job group (``SparkContext.setJobGroup``), so other work
on the same session is not counted. Spark knows a stage's task count once the stage is
submitted, so the total can grow while a job runs (a later stage of the same job).
"""

from __future__ import annotations

import sys
import threading
import time
import uuid
from typing import IO, Any

_GROUP_PROPERTIES = ("spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel")


def render(done: int, total: int, running: int, elapsed: float, width: int = 30) -> str:
    """One line of the bar: ``Scoring [#####-----] 5/10 tasks (2 running)  3.4s``."""
    filled = int(width * min(done / total, 1.0)) if total else 0
    active = f" ({running} running)" if running else ""
    return f"\rScoring [{'#' * filled}{'-' * (width - filled)}] {done:,}/{total:,} tasks{active}  {elapsed:.1f}s "


class SparkProgress:
    """Runs the work of its ``with`` block in a job group of its own and, when ``enabled``, redraws
    a one-line bar on ``stream`` every ``interval`` seconds until the block ends.

    ``spark_context`` is the session's SparkContext (``spark.sparkContext``).
    """

    def __init__(self, spark_context: Any, description: str, *, enabled: bool, stream: IO[str] | None = None,
                 interval: float = 0.25) -> None:
        self.context = spark_context
        self.description = description
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.interval = interval
        self.group = f"mlcask-{uuid.uuid4().hex}"
        self._saved: dict[str, str | None] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = 0.0
        self._drawn = False

    def __enter__(self) -> SparkProgress:
        self._saved = {key: self.context.getLocalProperty(key) for key in _GROUP_PROPERTIES}
        self.context.setJobGroup(self.group, self.description, interruptOnCancel=True)
        self._started = time.perf_counter()
        if self.enabled:
            self._thread = threading.Thread(target=self._run, name="mlcask-spark-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self.draw()
            if self._drawn:
                self.stream.write("\n")
                self.stream.flush()
        for key, value in self._saved.items():
            self.context.setLocalProperty(key, value)

    def counts(self) -> tuple[int, int, int]:
        """Tasks completed, known in all, and running, over the group's jobs so far."""
        tracker = self.context.statusTracker()
        done = total = running = 0
        for job_id in tracker.getJobIdsForGroup(self.group):
            job = tracker.getJobInfo(job_id)
            finished = job is not None and job.status == "SUCCEEDED"
            for stage_id in job.stageIds if job is not None else ():
                stage = tracker.getStageInfo(stage_id)
                if stage is not None:
                    done += stage.numCompletedTasks
                    # a finished job's skipped stages (their shuffle output reused) ran no task
                    total += stage.numCompletedTasks if finished else stage.numTasks
                    running += stage.numActiveTasks
        return done, total, running

    def draw(self) -> None:
        done, total, running = self.counts()
        if not total:
            return
        self.stream.write(render(done, total, running, time.perf_counter() - self._started))
        self.stream.flush()
        self._drawn = True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.draw()
            except Exception:  # noqa: BLE001 - the bar never fails the job (the context may be stopping)
                return
