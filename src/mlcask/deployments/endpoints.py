"""The definitions of managed endpoints and their deployments, as the user gives them and as they are persisted.

An :class:`EndpointSpec` is a name, a traffic split and its :class:`DeploymentSpec` s; a
deployment is a model URI (``runs:/``, ``models:/name/version``, ``models:/name@alias``, a path)
and a config. Names are 1-64 characters of letters, digits, ``.``, ``_`` and ``-``, starting with a
letter or digit (they appear in URLs and file names). Config keys of a deployment
(:data:`DEPLOYMENT_CONFIG_KEYS`) and of an endpoint (:data:`ENDPOINT_CONFIG_KEYS`) are checked:
an unknown key, or a value of the wrong type, is an :class:`~mlcask.exceptions.InvalidArgumentError`
naming it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from typing import Any

from mlcask.exceptions import InvalidArgumentError

__all__ = ["DEPLOYMENT_CONFIG_KEYS", "ENDPOINT_CONFIG_KEYS", "ENV_MANAGERS", "DeploymentSpec", "EndpointSpec",
           "check_deployment_config", "check_name", "now_ms"]

ENV_MANAGERS = ("local", "uv", "virtualenv")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
#: A deployment's config keys: what each must be, and the ``mlcask models serve`` option it sets (if any).
DEPLOYMENT_CONFIG_KEYS: dict[str, tuple[str, str | None]] = {
    "env_manager": (f"one of {', '.join(ENV_MANAGERS)}", None),
    "traffic": ("an integer percentage from 0 to 100", None),
    "max_batch_size": ("a positive integer", "--max-batch-size"),
    "max_wait_ms": ("a number of milliseconds >= 0", "--max-wait-ms"),
    "timeout": ("a number of seconds > 0", "--timeout"),
    "batching": ("true or false", None),
}
ENDPOINT_CONFIG_KEYS: dict[str, str] = {"traffic": "an object of deployment name -> integer percentage"}


def now_ms() -> int:
    """The time now, in milliseconds since the epoch."""
    return int(time.time() * 1000)


def check_name(value: Any, what: str) -> str:
    """``value`` if it is a valid endpoint or deployment name (``what`` names it in the error)."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InvalidArgumentError(f"Invalid {what} {value!r}: expected 1-64 characters of letters, digits, '.', "
                                   "'_' and '-', starting with a letter or digit.")
    return value


def _number(key: str, value: Any, integer: bool) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str):
            try:
                return int(value) if integer else float(value)
            except ValueError:
                pass
        raise InvalidArgumentError(f"Invalid deployment config {key}={value!r}: expected "
                                   f"{DEPLOYMENT_CONFIG_KEYS[key][0]}.")
    if integer and value != int(value):
        raise InvalidArgumentError(f"Invalid deployment config {key}={value!r}: expected "
                                   f"{DEPLOYMENT_CONFIG_KEYS[key][0]}.")
    return int(value) if integer else float(value)


def _check_value(key: str, value: Any) -> Any:
    expected = DEPLOYMENT_CONFIG_KEYS[key][0]
    if key == "env_manager":
        if value not in ENV_MANAGERS:
            extra = " (conda environments are not supported: use uv or virtualenv)" if value == "conda" else ""
            raise InvalidArgumentError(f"Invalid deployment config env_manager={value!r}: expected {expected}{extra}.")
        return value
    if key == "batching":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise InvalidArgumentError(f"Invalid deployment config batching={value!r}: expected {expected}.")
        return value
    number = _number(key, value, integer=key in ("traffic", "max_batch_size"))
    bad = {"traffic": not 0 <= number <= 100, "max_batch_size": number < 1, "max_wait_ms": number < 0,
           "timeout": number <= 0}[key]
    if bad:
        raise InvalidArgumentError(f"Invalid deployment config {key}={value!r}: expected {expected}.")
    return number


def check_config_keys(config: Any, known: dict[str, Any], kind: str, hint: str = "") -> dict[str, Any]:
    """``config`` (None: empty) when it is an object of ``known`` keys; else the error naming the unknown
    ones and the known ones (``kind``: "deployment" or "endpoint"; ``hint`` ends the message)."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise InvalidArgumentError(f"Invalid {kind} config: expected an object, got {type(config).__name__}.")
    unknown = sorted(set(config) - set(known))
    if unknown:
        raise InvalidArgumentError(f"Unknown {kind} config key(s) {', '.join(map(repr, unknown))}: the known "
                                   f"keys are {', '.join(known)}{hint}.")
    return config


def check_deployment_config(config: Any) -> dict[str, Any]:
    """A deployment's config, checked and converted (numbers given as strings, as the CLI's ``-C k=v`` sends
    them, become numbers); unknown keys are refused, naming them and the known ones."""
    config = check_config_keys(config, DEPLOYMENT_CONFIG_KEYS, "deployment")
    return {key: _check_value(key, value) for key, value in config.items() if value is not None}


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment as defined: what it serves and how (``config`` without ``traffic``, which the endpoint
    holds)."""

    name: str
    endpoint: str
    model_uri: str
    flavor: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    created_at: int = field(default_factory=now_ms)

    @property
    def env_manager(self) -> str:
        """The environment manager its worker runs in (``local`` by default)."""
        return str(self.config.get("env_manager", "local"))

    def serve_options(self) -> list[str]:
        """The ``mlcask models serve`` options of its config."""
        options: list[str] = []
        for key, value in sorted(self.config.items()):
            option = DEPLOYMENT_CONFIG_KEYS[key][1]
            if option is not None:
                options += [option, str(value)]
        if "batching" in self.config:
            options.append("--batching" if self.config["batching"] else "--no-batching")
        return options

    def to_dict(self) -> dict[str, Any]:
        """The definition as JSON (for ``endpoints.json``)."""
        return {"name": self.name, "endpoint": self.endpoint, "model_uri": self.model_uri, "flavor": self.flavor,
                "config": dict(self.config), "created_at": self.created_at}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeploymentSpec:
        """The definition :meth:`to_dict` wrote."""
        return cls(name=data["name"], endpoint=data["endpoint"], model_uri=data["model_uri"],
                   flavor=data.get("flavor"), config=dict(data.get("config") or {}),
                   created_at=int(data.get("created_at") or now_ms()))


@dataclass(frozen=True)
class EndpointSpec:
    """One endpoint as defined: its traffic split (deployment name -> percentage) and its deployments."""

    name: str
    traffic: dict[str, int] = field(default_factory=dict)
    deployments: dict[str, DeploymentSpec] = field(default_factory=dict)
    created_at: int = field(default_factory=now_ms)

    def with_changes(self, **changes: Any) -> EndpointSpec:
        """A copy with ``changes`` (dataclass fields)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The definition as JSON (for ``endpoints.json``)."""
        return {"name": self.name, "traffic": dict(self.traffic), "created_at": self.created_at,
                "deployments": [d.to_dict() for d in self.deployments.values()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EndpointSpec:
        """The definition :meth:`to_dict` wrote."""
        deployments = [DeploymentSpec.from_dict(d) for d in data.get("deployments") or []]
        return cls(name=data["name"], traffic={k: int(v) for k, v in (data.get("traffic") or {}).items()},
                   deployments={d.name: d for d in deployments}, created_at=int(data.get("created_at") or now_ms()))
