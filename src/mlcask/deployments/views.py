"""The JSON of endpoints and deployments in the management REST API, and its not-found errors.

Endpoint: ``name``, ``url`` (``/endpoints/<name>``), ``traffic``, ``deployments`` (names), ``created_at``
(ms), ``metrics``. Deployment: ``name``, ``endpoint``, ``model_uri``, ``resolved_uri`` (the version served,
for an alias), ``flavor``, ``env_manager``, ``state`` (``starting``, ``ready``, ``failed``, ``stopped``),
``health``, ``restarts``, ``pid``, ``port``, ``traffic``, ``config``, ``metrics``, ``message`` (why it is not
ready), ``created_at``, and ``next_version`` while a new version starts beside the serving one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlcask.deployments.endpoints import DeploymentSpec, EndpointSpec
from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, MlcaskException

__all__ = ["ENDPOINTS_PATH", "deployment_not_found", "deployment_view", "endpoint_not_found", "endpoint_view"]

#: Where an endpoint is served on the server.
ENDPOINTS_PATH = "/endpoints"


def endpoint_not_found(name: str, known: Mapping[str, Any]) -> MlcaskException:
    """The 404 of an unknown endpoint, naming the known ones."""
    return MlcaskException(f"No endpoint named '{name}' (endpoints: {', '.join(sorted(known)) or 'none'}).",
                           RESOURCE_DOES_NOT_EXIST)


def deployment_not_found(endpoint: EndpointSpec, name: str) -> MlcaskException:
    """The 404 of an unknown deployment, naming the endpoint's deployments."""
    return MlcaskException(f"Endpoint '{endpoint.name}' has no deployment named '{name}' (its deployments: "
                           f"{', '.join(endpoint.deployments) or 'none'}).", RESOURCE_DOES_NOT_EXIST)


def endpoint_view(spec: EndpointSpec, metrics: dict[str, Any]) -> dict[str, Any]:
    """The Endpoint JSON of ``spec`` with this process's ``metrics``."""
    return {"name": spec.name, "url": f"{ENDPOINTS_PATH}/{spec.name}", "traffic": dict(spec.traffic),
            "deployments": list(spec.deployments), "created_at": spec.created_at, "metrics": metrics}


def deployment_view(spec: DeploymentSpec, traffic: int, status: Mapping[str, Any],
                    metrics: dict[str, Any]) -> dict[str, Any]:
    """The Deployment JSON of ``spec`` with its worker's ``status`` and this process's ``metrics``."""
    view = {
        "name": spec.name, "endpoint": spec.endpoint, "model_uri": spec.model_uri,
        "resolved_uri": status.get("resolved_uri"), "flavor": spec.flavor or "python_function",
        "env_manager": spec.env_manager, "state": status.get("state", "starting"),
        "health": dict(status.get("health") or {}), "restarts": int(status.get("restarts") or 0),
        "pid": status.get("pid"), "port": status.get("port"), "traffic": traffic,
        "config": {**spec.config, "traffic": traffic}, "metrics": metrics, "message": status.get("message"),
        "created_at": spec.created_at, "url": f"{ENDPOINTS_PATH}/{spec.endpoint}/deployments/{spec.name}",
    }
    if status.get("next_version"):
        view["next_version"] = dict(status["next_version"])
    return view
