"""Searching registered models and model versions with MLflow's filter and order_by syntax.

The filter and order_by strings are compiled by :mod:`mlcask.tracking.search.sql` into a
query of keys; the matching entities are then read in batches.
"""

from __future__ import annotations

from typing import Any

from mlcask.entities.registry import ModelVersion, RegisteredModel
from mlcask.tracking.paging import PagedList, check_max_results, decode_page_token, encode_page_token
from mlcask.tracking.registry import reads
from mlcask.tracking.registry._base import RegistryBase

MAX_RESULTS_REGISTERED_MODELS = 1000
MAX_RESULTS_MODEL_VERSIONS = 200_000


class SearchMixin(RegistryBase):
    """The search calls of :class:`SqlRegistryStore`."""

    def search_registered_models(self, filter_string: str | None = None, max_results: int = 100,
                                 order_by: list[str] | None = None, page_token: str | None = None
                                 ) -> PagedList[RegisteredModel]:
        """Registered models matching ``filter_string`` (e.g. ``name LIKE 'fraud%'``, ``tags.team = 'x'``).

        ``order_by`` takes ``name``, ``last_updated_timestamp`` (``ASC``/``DESC``); the
        result is a list whose ``token`` attribute fetches the next page.
        """
        from mlcask.tracking.search.sql import registered_models_select

        check_max_results(max_results, MAX_RESULTS_REGISTERED_MODELS)
        offset = decode_page_token(page_token)
        query = registered_models_select(filter_string, order_by, max_results + 1, offset)

        def read(conn: Any) -> PagedList[RegisteredModel]:
            names = list(conn.execute(query).scalars())
            token = encode_page_token(offset + max_results) if len(names) > max_results else None
            return PagedList(reads.read_models(conn, names[:max_results]), token)

        return self._query(read)

    def search_model_versions(self, filter_string: str | None = None, max_results: int = 10000,
                              order_by: list[str] | None = None, page_token: str | None = None
                              ) -> PagedList[ModelVersion]:
        """Model versions matching ``filter_string`` (e.g. ``name = 'm'``, ``run_id IN ('a', 'b')``).

        Newest first by default (``last_updated_timestamp DESC``, then name, then
        version descending); the result's ``token`` attribute fetches the next page.
        """
        from mlcask.tracking.search.sql import model_versions_select

        check_max_results(max_results, MAX_RESULTS_MODEL_VERSIONS)
        offset = decode_page_token(page_token)
        query = model_versions_select(filter_string, order_by, max_results + 1, offset).where(reads.LIVE)

        def read(conn: Any) -> PagedList[ModelVersion]:
            keys = [(row[0], row[1]) for row in conn.execute(query)]
            token = encode_page_token(offset + max_results) if len(keys) > max_results else None
            return PagedList(reads.read_versions(conn, keys[:max_results]), token)

        return self._query(read)
