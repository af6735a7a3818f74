"""The model-registry half of ``MlcaskClient``: registered models, versions, tags, aliases."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from mlcask.entities import ModelVersion, ModelVersionTag, RegisteredModel, RegisteredModelTag
from mlcask.exceptions import RESOURCE_ALREADY_EXISTS, RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.models.uri import LATEST, ModelsUri, parse_models_uri
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
        """Copy the version at ``src_model_uri`` to a new version of ``dst_name`` (created if needed).

        ``src_model_uri`` names a registered version: ``models:/<name>/<version>``, ``/<stage>``,
        ``/latest`` or ``models:/<name>@<alias>``. The copy's source is ``models:/<name>/<version>``.
        """
        parsed = parse_models_uri(src_model_uri)
        if parsed.name is None or parsed.path:
            raise InvalidArgumentError(
                f"copy_model_version takes a registered model version (models:/<name>/<version>, "
                f"models:/<name>/<stage>, models:/<name>/latest or models:/<name>@<alias>), got {src_model_uri!r}"
                + (": a logged model is registered with register_model, not copied." if parsed.model_id
                   else f": drop the path inside the model ({parsed.path!r})."))
        return self._registry.copy_model_version(self.model_version_of(parsed), dst_name)

    def model_version_of(self, parsed: ModelsUri) -> ModelVersion:
        """The registered version a name-based ``models:/`` URI points at (by version, stage, alias or
        ``latest``); ``parsed`` comes from :func:`mlcask.models.uri.parse_models_uri`."""
        if parsed.version is not None:
            return self.get_model_version(parsed.name, parsed.version)
        if parsed.alias is not None or parsed.latest:
            return self.get_model_version_by_alias(parsed.name, parsed.alias or LATEST)
        in_stage = self.get_latest_versions(parsed.name, [parsed.stage])
        if not in_stage:
            raise MlcaskException(f"Registered model {parsed.name!r} has no version in stage {parsed.stage!r}.",
                                  error_code=RESOURCE_DOES_NOT_EXIST)
        return max(in_stage, key=lambda version: int(version.version))

    def register_version(self, model_uri: str, name: str, tags: dict[str, Any] | None = None,
                         run_id: str | None = None, model_id: str | None = None) -> ModelVersion:
        """Create ``name`` if needed, then a version of it pointing at ``model_uri``."""
        try:
            self._registry.create_registered_model(name)
        except MlcaskException as exc:
            if exc.error_code != RESOURCE_ALREADY_EXISTS:
                raise
        return self.create_model_version(name, model_uri, run_id=run_id, tags=tags, model_id=model_id)
