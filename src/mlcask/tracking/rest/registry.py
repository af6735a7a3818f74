"""The model registry of a tracking server, over MLflow's REST API.

:class:`RestRegistryStore` implements :class:`mlcask.tracking.protocols.RegistryStore` with the
endpoints, verbs and fields of MLflow's registry REST store (``/api/2.0/mlflow/registered-models/...``
and ``/api/2.0/mlflow/model-versions/...``); searches return
:class:`mlcask.tracking.paging.PagedList` pages. The server checks every argument; its errors come
back with its ``error_code`` and message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlcask.entities import ModelVersion, ModelVersionTag, RegisteredModel, RegisteredModelTag
from mlcask.entities.messages import model_version_from_message, registered_model_from_message
from mlcask.exceptions import RESOURCE_ALREADY_EXISTS, MlcaskException
from mlcask.tracking.paging import PagedList
from mlcask.tracking.rest.http import ServerStore

__all__ = ["RestRegistryStore"]


def _tags(tags: Any) -> list[dict[str, str]]:
    if tags is None:
        return []
    if isinstance(tags, dict):
        return [{"key": key, "value": value} for key, value in tags.items()]
    return [{"key": tag.key, "value": tag.value} for tag in tags]


class RestRegistryStore(ServerStore):
    """Registered models, their versions, tags and aliases on a tracking server.

    Parameters
    ----------
    base_uri
        The server's URI, ``http(s)://host:port[/prefix]`` (the registry URI).
    """

    def _model(self, answer: dict[str, Any]) -> RegisteredModel:
        return registered_model_from_message(answer.get("registered_model") or {})

    def _version(self, answer: dict[str, Any]) -> ModelVersion:
        return model_version_from_message(answer.get("model_version") or {})

    # -- registered models -----------------------------------------------------------------------
    def create_registered_model(self, name: str, tags: Sequence[RegisteredModelTag] | None = None,
                                description: str | None = None,
                                deployment_job_id: str | None = None) -> RegisteredModel:
        return self._model(self._call("POST", "/mlflow/registered-models/create", {
            "name": name, "tags": _tags(tags), "description": description, "deployment_job_id": deployment_job_id}))

    def get_registered_model(self, name: str) -> RegisteredModel:
        return self._model(self._call("GET", "/mlflow/registered-models/get", {"name": name}))

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        return self._model(self._call("POST", "/mlflow/registered-models/rename", {"name": name, "new_name": new_name}))

    def update_registered_model(self, name: str, description: str | None,
                                deployment_job_id: str | None = None) -> RegisteredModel:
        return self._model(self._call("PATCH", "/mlflow/registered-models/update", {
            "name": name, "description": description, "deployment_job_id": deployment_job_id}))

    def delete_registered_model(self, name: str) -> None:
        self._call("DELETE", "/mlflow/registered-models/delete", {"name": name})

    def search_registered_models(self, filter_string: str | None = None, max_results: int = 100,
                                 order_by: list[str] | None = None,
                                 page_token: str | None = None) -> PagedList[RegisteredModel]:
        answer = self._call("GET", "/mlflow/registered-models/search", {
            "filter": filter_string or None, "max_results": max_results, "order_by": list(order_by or []),
            "page_token": page_token or None})
        return PagedList([registered_model_from_message(item) for item in answer.get("registered_models") or []],
                         answer.get("next_page_token") or None)

    def get_latest_versions(self, name: str, stages: list[str] | None = None) -> list[ModelVersion]:
        answer = self._call("POST", "/mlflow/registered-models/get-latest-versions",
                            {"name": name, "stages": list(stages or [])}, idempotent=True)
        return [model_version_from_message(item) for item in answer.get("model_versions") or []]

    def set_registered_model_tag(self, name: str, tag: RegisteredModelTag) -> None:
        self._call("POST", "/mlflow/registered-models/set-tag", {"name": name, "key": tag.key, "value": tag.value},
                   idempotent=True)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._call("DELETE", "/mlflow/registered-models/delete-tag", {"name": name, "key": key})

    # -- versions --------------------------------------------------------------------------------
    def create_model_version(self, name: str, source: str, run_id: str | None = None,
                             tags: Sequence[ModelVersionTag] | None = None, run_link: str | None = None,
                             description: str | None = None, local_model_path: str | None = None,
                             model_id: str | None = None) -> ModelVersion:
        """A new version of ``name`` whose files are at ``source`` (``local_model_path`` is not sent: the
        server reads ``source``)."""
        return self._version(self._call("POST", "/mlflow/model-versions/create", {
            "name": name, "source": source, "run_id": run_id, "tags": _tags(tags), "run_link": run_link,
            "description": description, "model_id": model_id}))

    def get_model_version(self, name: str, version: str | int) -> ModelVersion:
        return self._version(self._call("GET", "/mlflow/model-versions/get", {"name": name, "version": str(version)}))

    def update_model_version(self, name: str, version: str | int, description: str | None = None) -> ModelVersion:
        return self._version(self._call("PATCH", "/mlflow/model-versions/update", {
            "name": name, "version": str(version), "description": description}))

    def delete_model_version(self, name: str, version: str | int) -> None:
        self._call("DELETE", "/mlflow/model-versions/delete", {"name": name, "version": str(version)})

    def transition_model_version_stage(self, name: str, version: str | int, stage: str,
                                       archive_existing_versions: bool = False) -> ModelVersion:
        return self._version(self._call("POST", "/mlflow/model-versions/transition-stage", {
            "name": name, "version": str(version), "stage": stage,
            "archive_existing_versions": bool(archive_existing_versions)}, idempotent=True))

    def get_model_version_download_uri(self, name: str, version: str | int) -> str:
        answer = self._call("GET", "/mlflow/model-versions/get-download-uri", {"name": name, "version": str(version)})
        return str(answer.get("artifact_uri", ""))

    def search_model_versions(self, filter_string: str | None = None, max_results: int = 10000,
                              order_by: list[str] | None = None,
                              page_token: str | None = None) -> PagedList[ModelVersion]:
        answer = self._call("GET", "/mlflow/model-versions/search", {
            "filter": filter_string or None, "max_results": max_results, "order_by": list(order_by or []),
            "page_token": page_token or None})
        return PagedList([model_version_from_message(item) for item in answer.get("model_versions") or []],
                         answer.get("next_page_token") or None)

    def set_model_version_tag(self, name: str, version: str | int, tag: ModelVersionTag) -> None:
        self._call("POST", "/mlflow/model-versions/set-tag",
                   {"name": name, "version": str(version), "key": tag.key, "value": tag.value}, idempotent=True)

    def delete_model_version_tag(self, name: str, version: str | int, key: str) -> None:
        self._call("DELETE", "/mlflow/model-versions/delete-tag", {"name": name, "version": str(version), "key": key})

    # -- aliases ---------------------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: str | int) -> None:
        self._call("POST", "/mlflow/registered-models/alias", {"name": name, "alias": alias, "version": str(version)},
                   idempotent=True)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        self._call("DELETE", "/mlflow/registered-models/alias", {"name": name, "alias": alias})

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return self._version(self._call("GET", "/mlflow/registered-models/alias", {"name": name, "alias": alias}))

    def copy_model_version(self, src_mv: ModelVersion, dst_name: str) -> ModelVersion:
        """A new version of ``dst_name`` (created if needed) whose source is ``models:/<src name>/<src version>``,
        with the source version's run, tags and description."""
        try:
            self.create_registered_model(dst_name)
        except MlcaskException as exc:
            if exc.error_code != RESOURCE_ALREADY_EXISTS:
                raise
        return self.create_model_version(
            dst_name, f"models:/{src_mv.name}/{src_mv.version}", run_id=src_mv.run_id,
            tags=[ModelVersionTag(k, v) for k, v in (src_mv.tags or {}).items()], description=src_mv.description,
            model_id=src_mv.model_id)
