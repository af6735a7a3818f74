"""Search result pages, page tokens and ``max_results`` checks: one policy for every store.

A page token is MLflow's: base64 of ``{"offset": n}``, so tokens cross between mlcask and
MLflow servers. The SQL stores, the REST stores and the tracking server all use these.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Sequence
from typing import Generic, TypeVar

from mlcask.exceptions import InvalidArgumentError

T = TypeVar("T")


class PagedList(list[T], Generic[T]):
    """A page of search results; ``token`` fetches the next page (None on the last one)."""

    def __init__(self, items: Sequence[T] = (), token: str | None = None) -> None:
        super().__init__(items)
        self.token = token

    def to_list(self) -> list[T]:
        """The page's items as a plain list (MLflow's ``PagedList.to_list``)."""
        return list(self)


def now_ms() -> int:
    """The current time in milliseconds since the epoch (MLflow's timestamps)."""
    return time.time_ns() // 1_000_000


def encode_page_token(offset: int) -> str:
    """The token of the page that starts at ``offset``."""
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_page_token(token: str | bytes | None) -> int:
    """The offset a page token stands for; 0 for no token."""
    if not token:
        return 0
    try:
        offset = json.loads(base64.b64decode(token, validate=True))["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise InvalidArgumentError(f"Invalid page token {token!r}: pass the token of a previous page of the same "
                                   "search.") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise InvalidArgumentError(f"Invalid page token {token!r}: its offset must be a non-negative integer, "
                                   f"got {offset!r}.")
    return offset


def check_max_results(max_results: object, limit: int, what: str = "max_results") -> int:
    """Refuse a ``max_results`` that is not an integer in 1..limit."""
    if not isinstance(max_results, int) or isinstance(max_results, bool) or max_results < 1:
        raise InvalidArgumentError(f"Invalid value for {what}: it must be a positive integer, got {max_results!r}.")
    if max_results > limit:
        raise InvalidArgumentError(f"Invalid value for {what}: it must be at most {limit}, got {max_results}.")
    return max_results
