"""``SqlRegistryStore``: the model registry on the tracking database (SQLite or PostgreSQL)."""

from __future__ import annotations

from mlcask.tracking.registry.aliases import AliasesMixin
from mlcask.tracking.registry.models import RegisteredModelsMixin
from mlcask.tracking.registry.search import SearchMixin
from mlcask.tracking.registry.versions import ModelVersionsMixin


class SqlRegistryStore(RegisteredModelsMixin, ModelVersionsMixin, AliasesMixin, SearchMixin):
    """MLflow's model registry store API on an mlcask database.

    ``SqlRegistryStore("sqlite:///mlcask.db")`` or ``SqlRegistryStore("postgresql://...")``;
    the database is migrated on first use. Every method has MLflow's name and
    arguments; versions come back as strings (``"1"``), and are accepted as ints or
    strings. Refusals raise :class:`~mlcask.exceptions.MlcaskException` with MLflow's
    error codes (RESOURCE_DOES_NOT_EXIST, RESOURCE_ALREADY_EXISTS, INVALID_PARAMETER_VALUE).
    """
