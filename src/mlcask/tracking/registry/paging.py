"""Search result pages: a list that carries the token of the next page, as MLflow's."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Generic, TypeVar

from mlcask.tracking.registry.validation import invalid

T = TypeVar("T")


class PagedList(list[T], Generic[T]):
    """A page of search results; ``token`` fetches the next page (None on the last one)."""

    def __init__(self, items: list[T], token: str | None) -> None:
        super().__init__(items)
        self.token = token


def encode_page_token(offset: int) -> str:
    """The token of the page that starts at ``offset`` (MLflow's format: base64 of ``{"offset": n}``)."""
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_page_token(token: str | bytes | None) -> int:
    """The offset a page token stands for; 0 for no token."""
    if not token:
        return 0
    try:
        parsed = json.loads(base64.b64decode(token, validate=True))
        offset = parsed["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise invalid(f"Invalid page token {token!r}: pass the token of a previous page of the same search.") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise invalid(f"Invalid page token {token!r}: its offset must be a non-negative integer, got {offset!r}.")
    return offset


def check_max_results(max_results: object, limit: int) -> int:
    """Refuse a ``max_results`` that is not an integer in 1..limit."""
    if not isinstance(max_results, int) or isinstance(max_results, bool) or max_results < 1:
        raise invalid(f"Invalid value for max_results: it must be a positive integer, got {max_results!r}.")
    if max_results > limit:
        raise invalid(f"Invalid value for max_results: it must be at most {limit}, got {max_results}.")
    return max_results
