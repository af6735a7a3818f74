"""The model-registry half of ``MlcaskClient``: registered models, versions, tags, aliases."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from mlcask.entities import ModelVersion, ModelVersionTag, RegisteredModel, RegisteredModelTag
from mlcask.exceptions import RESOURCE_ALREADY_EXISTS, InvalidArgumentError, MlcaskException
from mlcask.tracking import stores


class RegistryClientMixin:
    """Registry calls; mixed into ``MlcaskClient``, which sets ``registry_uri``."""

    registry_uri: str

    @cached_property
    def _registry(self) -> Any:
        return stores.registry_store(self.registry_uri)

    # -- registered models ------------------------------------------------------------
    def create_registered_model(self, name: str, tags: dict[str, Any] | None = None,
                                description: str | None = None) -> RegisteredModel:
        return self._registry.create_registered_model(
            name, [RegisteredModelTag(k, str(v)) for k, v in (tags or {}).items()], description)

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._registry.get_registered_model(name)

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return self._registry.rename_registered_model(name, new_name)

    def update_registered_model(self, name: str, description: str | None = None) -> RegisteredModel:
        return self._registry.update_registered_model(name, description)

    def delete_registered_model(self, name: str) -> None:
        self._registry.delete_registered_model(name)

    def search_registered_models(self, filter_string: str | None = None, max_results: int = 100,
                                 order_by: list[str] | None = None, page_token: str | None = None
                                 ) -> list[RegisteredModel]:
        return self._registry.search_registered_models(filter_string, max_results, order_by, page_token)

    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
        return self._registry.get_latest_versions(name, stages)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        self._registry.set_registered_model_tag(name, RegisteredModelTag(key, str(value)))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._registry.delete_registered_model_tag(name, key)

    # -- versions -----------------------------------------------------------------------
    def create_model_version(self, name: str, source: str, run_id: str | None = None,
                             tags: dict[str, Any] | None = None, run_link: str | None = None,
                             description: str | None = None, model_id: str | None = None) -> ModelVersion:
        return self._registry.create_model_version(
            name, source, run_id, [ModelVersionTag(k, str(v)) for k, v in (tags or {}).items()],
            run_link, description, model_id=model_id)

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        return self._registry.get_model_version(name, version)

    def update_model_version(self, name: str, version: str | int, description: str | None = None) -> ModelVersion:
        return self._registry.update_model_version(name, version, description)

    def delete_model_version(self, name: str, version: str | int) -> None:
        self._registry.delete_model_version(name, version)

    def search_model_versions(self, filter_string: str | None = None, max_results: int = 10000,
                              order_by: list[str] | None = None, page_token: str | None = None
                              ) -> list[ModelVersion]:
        return self._registry.search_model_versions(filter_string, max_results, order_by, page_token)

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        return self._registry.get_model_version_download_uri(name, version)

    def set_model_version_tag(self, name: str, version: str | int, key: str, value: Any) -> None:
        self._registry.set_model_version_tag(name, version, ModelVersionTag(key, str(value)))

    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None:
        self._registry.delete_model_version_tag(name, version, key)

    # -- aliases ------------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        self._registry.set_registered_model_alias(name, alias, version)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._registry.delete_registered_model_alias(name, alias)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self._registry.get_model_version_by_alias(name, alias)

    def copy_model_version(self, src_model_uri: str, dst_name: str) -> ModelVersion:
        """Copy the version at ``models:/<name>/<version>`` (or ``@<alias>``) to ``dst_name``."""
        from mlcask.tracking.uris import parse_models_uri

        parsed = parse_models_uri(src_model_uri)
        if parsed.name is None:
            raise InvalidArgumentError(f"copy_model_version takes models:/<name>/<version> or models:/<name>@<alias>, "
                                       f"got {src_model_uri!r}.")
        source = (self.get_model_version_by_alias(parsed.name, parsed.alias) if parsed.alias
                  else self.get_model_version(parsed.name, parsed.version))
        return self._registry.copy_model_version(source, dst_name)

    def _register(self, model_uri: str, name: str, tags: dict[str, Any] | None = None,
                  run_id: str | None = None, model_id: str | None = None) -> ModelVersion:
        """Create ``name`` if needed, then a version of it pointing at ``model_uri``."""
        try:
            self._registry.create_registered_model(name)
        except MlcaskException as exc:
            if exc.error_code != RESOURCE_ALREADY_EXISTS:
                raise
        return self.create_model_version(name, model_uri, run_id=run_id, tags=tags, model_id=model_id)
