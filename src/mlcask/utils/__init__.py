"""Helpers kept under MLflow's module names (``mlcask.utils.environment``, ``.file_utils``, ...).

The package itself imports nothing heavy: its submodules load on first use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["get_results_from_paginated_fn", "truncate_and_ellipsize", "truncate_dict"]

_logger = logging.getLogger(__name__)


def truncate_and_ellipsize(value: Any, max_length: int) -> str:
    """``str(value)``, cut to ``max_length`` characters ending in ``...`` when it is longer."""
    text = str(value)
    return text if len(text) <= max_length else text[:max_length - 3] + "..."


def truncate_dict(d: dict[Any, Any], max_key_length: int | None = None,
                   max_value_length: int | None = None) -> dict[Any, Any]:
    """``d`` with keys longer than ``max_key_length`` and values longer than ``max_value_length``
    (as strings) cut with ``...``, each cut logged as a warning; other items are kept as they are.
    MLflow's limits for run params are ``MAX_ENTITY_KEY_LENGTH`` and ``MAX_PARAM_VAL_LENGTH``."""
    if max_key_length is None and max_value_length is None:
        raise ValueError("Must specify at least either `max_key_length` or `max_value_length`")
    truncated = {}
    for key, value in d.items():
        if max_key_length is not None and len(str(key)) > max_key_length:
            key = truncate_and_ellipsize(key, max_key_length)
            _logger.warning("Truncated the key `%s`", key)
        if max_value_length is not None and len(str(value)) > max_value_length:
            value = truncate_and_ellipsize(value, max_value_length)
            _logger.warning("Truncated the value of the key `%s`. Truncated value: `%s`", key, value)
        truncated[key] = value
    return truncated


def iter_pages(search: Callable[[str | None], Any]) -> Iterator[Any]:
    """Every item of a paged search, lazily: ``search(page_token)`` returns a page (a list with a
    ``token`` for the next one, None or empty on the last); an empty page ends it."""
    token = None
    while True:
        page = search(token)
        yield from page
        token = getattr(page, "token", None)
        if not token or not page:
            return


def get_results_from_paginated_fn(paginated_fn: Callable[[int, str | None], Any], max_results_per_page: int,
                                  max_results: int | None = None) -> list[Any]:
    """Every item of a paged search, following page tokens: ``paginated_fn(count, page_token)``
    returns a page (a list with a ``token`` for the next one, None or empty on the last) of at
    most ``count`` items; pages of ``max_results_per_page`` are asked for until ``max_results``
    items (all, for None) are gathered. An empty page ends the search even if it has a token."""
    results: list[Any] = []
    token = None
    while max_results is None or len(results) < max_results:
        want = max_results_per_page if max_results is None else min(max_results_per_page, max_results - len(results))
        page = paginated_fn(want, token)
        results.extend(page)
        token = getattr(page, "token", None)
        if not token or not page:
            break
    return results


_truncate_and_ellipsize = truncate_and_ellipsize  # MLflow's names (mlflow.utils._truncate_dict)
_truncate_dict = truncate_dict
