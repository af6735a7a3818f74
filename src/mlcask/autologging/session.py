"""The run an autologged ``fit`` logs into.

With an active run, autologging logs into it and leaves it open. Without one, it
starts a run for the ``fit`` and ends it when ``fit`` returns: FINISHED, or FAILED if
``fit`` raised (the exception itself propagates unchanged).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from mlcask.autologging.config import get_config
from mlcask.utils.mlflow_tags import MLFLOW_AUTOLOGGING


@contextmanager
def autolog_run(integration: str, tags: dict[str, Any] | None = None) -> Iterator[Any]:
    """Yield the active run, or a run started (and ended) for this training call."""
    from mlcask.tracking import fluent

    run = fluent.active_run()
    if run is not None:
        yield run
        return
    config = get_config(integration) or {}
    all_tags = {MLFLOW_AUTOLOGGING: integration, **(config.get("extra_tags") or {}), **(tags or {})}
    run = fluent.start_run(tags=all_tags)
    try:
        yield run
    except BaseException as exc:
        from mlcask.entities import RunStatus

        status = RunStatus.KILLED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
        _end(run, status)
        raise
    else:
        _end(run, "FINISHED")


def _end(run: Any, status: str) -> None:
    from mlcask.tracking import fluent

    active = fluent.active_run()
    if active is not None and active.info.run_id == run.info.run_id:
        fluent.end_run(status)
