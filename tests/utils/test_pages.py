"""mlcask.utils.iter_pages: the one lazy loop over page tokens (CLI listings, imports)."""

from __future__ import annotations

from mlcask.tracking.paging import PagedList
from mlcask.utils import iter_pages


def test_follows_tokens_until_a_page_has_none_and_fetches_lazily():
    pages = {None: PagedList([1, 2], "b"), "b": PagedList([3], "c"), "c": PagedList([4], None)}
    asked = []

    def search(token):
        asked.append(token)
        return pages[token]

    items = iter_pages(search)
    assert next(items) == 1 and asked == [None]  # nothing fetched before it is needed
    assert list(items) == [2, 3, 4] and asked == [None, "b", "c"]


def test_an_empty_page_ends_the_search_even_with_a_token():
    assert list(iter_pages(lambda token: PagedList([], "again"))) == []
