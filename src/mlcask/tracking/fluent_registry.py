"""The fluent registry calls: ``mlcask.register_model``, ``search_registered_models``,
``search_model_versions`` and ``set_model_version_tag``."""

from __future__ import annotations

import sys
from typing import Any

from mlcask.entities import ModelVersion
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.tracking import context
from mlcask.tracking.fluent import all_pages
from mlcask.tracking.model_logging import DEFAULT_AWAIT_MAX_SLEEP_SECONDS, await_model_version, register_logged_model
from mlcask.tracking.runs_uri import split_runs_uri

__all__ = ["register_model", "search_model_versions", "search_registered_models", "set_model_version_tag"]

_client = context.current_client


def register_model(model_uri: str, name: str, tags: dict[str, Any] | None = None,
                   await_registration_for: int | None = DEFAULT_AWAIT_MAX_SLEEP_SECONDS) -> ModelVersion:
    """Register the model at ``model_uri`` as a new version of ``name`` (created if needed).

    Parameters
    ----------
    model_uri
        ``models:/<model_id>``, ``runs:/<run_id>/<model name>`` (the logged model of that run), or
        another model location, recorded as the version's source.
    name
        The registered model's name.
    tags
        Tags of the new version.
    await_registration_for
        Seconds to wait for the version to be READY (MLflow's default, 300); 0 or None: do not wait.
    """
    from mlcask.models.uri import is_models_uri, parse_models_uri

    client = _client()
    run_id = model_id = None
    source = model_uri
    if is_models_uri(model_uri):
        model_id = parse_models_uri(model_uri).model_id
        if model_id is not None:
            run_id = client.get_logged_model(model_id).source_run_id
    elif model_uri.startswith("runs:/"):
        run_id, path = split_runs_uri(model_uri)
        run = client.get_run(run_id)
        for model in client.search_logged_models([run.info.experiment_id], f"source_run_id = '{run_id}'",
                                                 max_results=1000):
            if model.name == path:
                model_id, source = model.model_id, f"models:/{model.model_id}"
                break
    if model_id is not None:
        return register_logged_model(client, model_id, name, run_id=run_id, tags=tags,
                                     await_registration_for=await_registration_for)
    version = client.register_version(source, name, tags=tags, run_id=run_id)
    print(f"Created version '{version.version}' of model '{version.name}'.", file=sys.stderr)
    return await_model_version(client, version, await_registration_for)


def search_registered_models(max_results: int | None = None, filter_string: str | None = None,
                             order_by: list[str] | None = None) -> list[Any]:
    """Registered models matching ``filter_string`` (``"name LIKE 'fraud%'"``, ``"tags.t = 'x'"``), all
    of them (page by page) unless ``max_results``."""
    client = _client()
    return all_pages(lambda n, token: client.search_registered_models(filter_string, min(n, 1000), order_by, token),
                      max_results)


def search_model_versions(max_results: int | None = None, filter_string: str | None = None,
                          order_by: list[str] | None = None) -> list[Any]:
    """Model versions matching ``filter_string`` (``"name = 'm'"``, ``"run_id = '...'"``), all of them
    (page by page) unless ``max_results``."""
    client = _client()
    return all_pages(lambda n, token: client.search_model_versions(filter_string, min(n, 10000), order_by, token),
                      max_results)


def set_model_version_tag(name: str, version: str | int | None = None, key: str | None = None, value: Any = None,
                          stage: str | None = None) -> None:
    """Set a tag on a model version (``version``, or the latest version in ``stage``)."""
    if version is not None and stage is not None:
        raise InvalidArgumentError("version and stage cannot be set together")
    if version is None and stage is None:
        raise InvalidArgumentError("version or stage must be set")
    client = _client()
    if version is None:
        latest = client.get_latest_versions(name, [stage])
        if not latest:
            raise MlcaskException(f"Could not find any model version for {stage} stage",
                                  error_code=RESOURCE_DOES_NOT_EXIST)
        version = latest[0].version
    client.set_model_version_tag(name, version, key, value)
