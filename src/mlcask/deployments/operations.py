"""The management operations of managed endpoints (what the REST API's endpoints/* and deployments/* do).

Each checks its input (names, model URI, config keys, traffic), changes the definitions under their lock
(:meth:`mlcask.deployments.state.DefinitionStore.edit`), hands them to the
:class:`~mlcask.deployments.manager.EndpointManager` and answers the Endpoint or Deployment JSON. Bad input is
an :class:`~mlcask.exceptions.InvalidArgumentError` naming the problem; an unknown endpoint or deployment is
``RESOURCE_DOES_NOT_EXIST``; a name taken is ``RESOURCE_ALREADY_EXISTS``. Creating a deployment of an endpoint
that does not exist creates the endpoint (as MLflow's ``create_deployment(endpoint=...)``).
"""

from __future__ import annotations

from typing import Any

from mlcask.deployments import views
from mlcask.deployments.endpoints import (
    ENDPOINT_CONFIG_KEYS,
    DeploymentSpec,
    EndpointSpec,
    check_config_keys,
    check_deployment_config,
    check_name,
)
from mlcask.deployments.manager import EndpointManager
from mlcask.deployments.traffic import check_traffic, with_deployment, without_deployment
from mlcask.exceptions import RESOURCE_ALREADY_EXISTS, InvalidArgumentError, MlcaskException

__all__ = ["create_deployment", "create_endpoint", "delete_deployment", "delete_endpoint", "get_deployment",
           "get_endpoint", "list_deployments", "list_endpoints", "update_deployment", "update_endpoint"]

FLAVORS = (None, "python_function", "pyfunc")


def _endpoint_config(config: Any) -> dict[str, Any]:
    return check_config_keys(config, ENDPOINT_CONFIG_KEYS, "endpoint",
                             " (a deployment's config is given to deployments/create)")


def _existing(defs: dict[str, EndpointSpec], name: str) -> EndpointSpec:
    spec = defs.get(name)
    if spec is None:
        raise views.endpoint_not_found(name, defs)
    return spec


def create_endpoint(manager: EndpointManager, name: str, config: Any = None) -> dict[str, Any]:
    """Create endpoint ``name`` (``config``: ``{"traffic": {}}`` at most, it has no deployments yet)."""
    check_name(name, "endpoint name")
    config = _endpoint_config(config)
    traffic = check_traffic(config.get("traffic", {}), (), name)
    with manager.store.edit() as defs:
        if name in defs:
            raise MlcaskException(f"An endpoint named '{name}' already exists.", RESOURCE_ALREADY_EXISTS)
        defs[name] = EndpointSpec(name, traffic=traffic)
    manager.changed(defs)
    return manager.endpoint_view(name)


def update_endpoint(manager: EndpointManager, name: str, config: Any = None) -> dict[str, Any]:
    """Change endpoint ``name``'s traffic split (``config["traffic"]``: every deployment's share, summing to 100)."""
    config = _endpoint_config(config)
    with manager.store.edit() as defs:
        spec = _existing(defs, name)
        if "traffic" in config:
            defs[name] = spec.with_changes(traffic=check_traffic(config["traffic"], list(spec.deployments), name))
    manager.changed(defs)
    return manager.endpoint_view(name)


def delete_endpoint(manager: EndpointManager, name: str) -> None:
    """Delete endpoint ``name``; its workers drain and stop."""
    with manager.store.edit() as defs:
        _existing(defs, name)
        del defs[name]
    manager.changed(defs)


def list_endpoints(manager: EndpointManager) -> list[dict[str, Any]]:
    """Every endpoint, by name."""
    return [manager.endpoint_view(name) for name in sorted(manager.definitions())]


def get_endpoint(manager: EndpointManager, name: str) -> dict[str, Any]:
    """Endpoint ``name``."""
    return manager.endpoint_view(name)


def _check_model(manager: EndpointManager, model_uri: Any, flavor: Any) -> str:
    if not isinstance(model_uri, str) or not model_uri.strip():
        raise InvalidArgumentError(f"Invalid model_uri {model_uri!r}: expected a model URI (runs:/<run_id>/<path>, "
                                   "models:/<name>/<version>, models:/<name>@<alias>, or a path).")
    if flavor not in FLAVORS:
        raise InvalidArgumentError(f"Invalid flavor {flavor!r}: a managed deployment serves the model's "
                                   "python_function flavor (give python_function, or no flavor).")
    return manager.source.resolve_version(model_uri)


def create_deployment(manager: EndpointManager, endpoint: str, name: str, model_uri: Any, flavor: Any = None,
                      config: Any = None) -> dict[str, Any]:
    """Deploy ``model_uri`` as deployment ``name`` of ``endpoint`` (created when missing); its worker starts in
    the background (``state`` says when it is ready)."""
    check_name(endpoint, "endpoint name")
    check_name(name, "deployment name")
    config = check_deployment_config(config)
    share = config.pop("traffic", None)
    resolved = _check_model(manager, model_uri, flavor)
    with manager.store.edit() as defs:
        spec = defs.get(endpoint) or EndpointSpec(endpoint)
        if name in spec.deployments:
            raise MlcaskException(f"Endpoint '{endpoint}' already has a deployment named '{name}'.",
                                  RESOURCE_ALREADY_EXISTS)
        deployment = DeploymentSpec(name, endpoint, model_uri, flavor=flavor, config=config)
        defs[endpoint] = spec.with_changes(deployments={**spec.deployments, name: deployment},
                                           traffic=with_deployment(spec.traffic, name, share))
    manager.changed(defs, {(endpoint, name): resolved})
    return manager.deployment_view(endpoint, name)


def update_deployment(manager: EndpointManager, endpoint: str, name: str, model_uri: Any = None,
                      config: Any = None, flavor: Any = None) -> dict[str, Any]:
    """Change a deployment's model, flavor or config (merged into the current one); a changed model or config
    starts a new worker that takes over once healthy; ``traffic`` alone only changes the split."""
    config = check_deployment_config(config)
    share = config.pop("traffic", None)
    resolved = _check_model(manager, model_uri, flavor) if model_uri is not None else None
    with manager.store.edit() as defs:
        spec = _existing(defs, endpoint)
        current = spec.deployments.get(name)
        if current is None:
            raise views.deployment_not_found(spec, name)
        updated = DeploymentSpec(name, endpoint, model_uri if model_uri is not None else current.model_uri,
                                 flavor=flavor if flavor is not None else current.flavor,
                                 config={**current.config, **config}, created_at=current.created_at)
        traffic = with_deployment(spec.traffic, name, share) if share is not None else spec.traffic
        defs[endpoint] = spec.with_changes(deployments={**spec.deployments, name: updated}, traffic=traffic)
    manager.changed(defs, {(endpoint, name): resolved} if resolved is not None else None)
    return manager.deployment_view(endpoint, name)


def delete_deployment(manager: EndpointManager, endpoint: str, name: str) -> None:
    """Delete a deployment (its share of traffic goes to the others); its worker drains and stops."""
    with manager.store.edit() as defs:
        spec = _existing(defs, endpoint)
        if name not in spec.deployments:
            raise views.deployment_not_found(spec, name)
        deployments = {k: v for k, v in spec.deployments.items() if k != name}
        defs[endpoint] = spec.with_changes(deployments=deployments, traffic=without_deployment(spec.traffic, name))
    manager.changed(defs)


def list_deployments(manager: EndpointManager, endpoint: str) -> list[dict[str, Any]]:
    """The deployments of ``endpoint``."""
    spec = _existing(manager.definitions(), endpoint)
    return [manager.deployment_view(endpoint, name) for name in spec.deployments]


def get_deployment(manager: EndpointManager, endpoint: str, name: str) -> dict[str, Any]:
    """Deployment ``name`` of ``endpoint``."""
    return manager.deployment_view(endpoint, name)
