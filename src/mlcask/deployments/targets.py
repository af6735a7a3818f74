"""Deployment target URIs: which ``mlcask server`` a deployment client talks to.

A target is one of:

- ``"mlcask"``: the server of the current tracking URI (``mlcask.set_tracking_uri``,
  ``MLCASK_TRACKING_URI`` or ``MLFLOW_TRACKING_URI``), which must be ``http(s)://``;
- ``"mlcask:/http://host:port"`` (or ``https``): that server;
- a bare ``"http://host:port"`` or ``"https://host:port"``, with an optional path prefix.

With no target, :func:`get_deployments_target` says which: the one set by
:func:`set_deployments_target`, else ``MLFLOW_DEPLOYMENTS_TARGET``, else ``"mlcask"``.
"""

from __future__ import annotations

import urllib.parse

from mlcask.environment_variables import MLFLOW_DEPLOYMENTS_TARGET
from mlcask.exceptions import InvalidArgumentError

__all__ = ["DEFAULT_TARGET", "TARGET_ENV", "get_deployments_target", "resolve_target", "set_deployments_target",
           "target_help"]

DEFAULT_TARGET = "mlcask"
TARGET_ENV = MLFLOW_DEPLOYMENTS_TARGET.name
_SCHEME_PREFIX = "mlcask:/"
_FORMS = ("'mlcask' (the tracking server), 'mlcask:/http(s)://host:port' or 'http(s)://host:port'")

_target: str | None = None


def _shown(uri: str) -> str:
    """``uri`` without user info (a password never appears in a message)."""
    from mlcask.utils.redaction import redact_uri

    return redact_uri(uri)


def _server_url(uri: str, target: str) -> str:
    """``uri`` when it is ``http(s)://host[:port][/prefix]``; else an error naming ``target``."""
    parsed = urllib.parse.urlsplit(uri)
    if parsed.scheme.lower() not in ("http", "https") or not parsed.hostname:
        raise InvalidArgumentError(f"Deployment target {_shown(target)!r}: expected {_FORMS}; "
                                   f"{_shown(uri)!r} is not an http(s):// server URL.")
    if parsed.query or parsed.fragment:
        raise InvalidArgumentError(f"Deployment target {_shown(target)!r}: a server URL takes no query or fragment "
                                   f"(expected {_FORMS}).")
    return uri.rstrip("/")


def resolve_target(target_uri: str | None = None) -> str:
    """The base URL of the ``mlcask server`` a deployment target names.

    Parameters
    ----------
    target_uri
        ``"mlcask"``, ``"mlcask:/http(s)://host:port"`` or ``"http(s)://host:port"``; None for
        :func:`get_deployments_target`.

    Returns
    -------
    str
        ``http(s)://host:port[/prefix]`` without a trailing slash.

    Raises
    ------
    InvalidArgumentError
        For any other form, or for ``"mlcask"`` when the tracking URI is not a server's.
    """
    target = get_deployments_target() if target_uri is None else target_uri
    if not isinstance(target, str) or not target.strip():
        raise InvalidArgumentError(f"Deployment target: expected {_FORMS}; got {target!r}.")
    target = target.strip()
    if target == DEFAULT_TARGET:
        from mlcask.tracking.context import get_tracking_uri

        tracking = get_tracking_uri()
        if urllib.parse.urlsplit(tracking).scheme.lower() not in ("http", "https"):
            raise InvalidArgumentError(
                f"Deployment target 'mlcask' is the tracking server, but the tracking URI is {_shown(tracking)!r}, "
                "not an http(s):// server: managed endpoints run on `mlcask server`. Set the tracking URI "
                "(MLFLOW_TRACKING_URI) to the server's http(s)://host:port, or give the target as "
                "'mlcask:/http://host:port'.")
        return _server_url(tracking, target)
    if target.startswith(_SCHEME_PREFIX):
        return _server_url(target[len(_SCHEME_PREFIX):], target)
    return _server_url(target, target)


def set_deployments_target(target: str) -> None:
    """Make ``target`` the deployment target used when none is given.

    Parameters
    ----------
    target
        A target URI in one of the forms of :func:`resolve_target` (checked now).
    """
    global _target
    if target != DEFAULT_TARGET:  # 'mlcask' is checked when used: the tracking URI may change meanwhile
        resolve_target(target)
    _target = target


def get_deployments_target() -> str:
    """The deployment target in effect when none is given.

    Returns
    -------
    str
        The one set by :func:`set_deployments_target`, else ``MLFLOW_DEPLOYMENTS_TARGET``, else ``"mlcask"``.
    """
    return _target or (MLFLOW_DEPLOYMENTS_TARGET.get() or "").strip() or DEFAULT_TARGET


def target_help() -> str:
    """What ``mlcask deployments help`` shows: the target forms and the configuration keys."""
    return """\
Target: the mlcask server that runs the endpoints (-t/--target, or get_deploy_client(target)):
  mlcask                        the tracking server (MLFLOW_TRACKING_URI must be http(s)://host:port)
  mlcask:/http://host:port      that server
  http://host:port              the same (https:// too); a path prefix is kept
With no target: the one set by mlcask.deployments.set_deployments_target(), else
MLFLOW_DEPLOYMENTS_TARGET, else 'mlcask'. Credentials and TLS: MLFLOW_TRACKING_USERNAME and
MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN; MLFLOW_TRACKING_INSECURE_TLS,
MLFLOW_TRACKING_SERVER_CERT_PATH, MLFLOW_TRACKING_CLIENT_CERT_PATH.

Endpoints and deployments: an endpoint (/endpoints/<endpoint>/invocations) sends each request to
one of its deployments by the traffic split; a deployment is a scoring process of one model,
started and supervised by the server. A deployment created without --endpoint gets an endpoint
of its own name; commands given a deployment --name without --endpoint find the endpoint that
holds it.

Deployment config (-C key=value; a value is read as JSON when it parses, else as text):
  env_manager=local|uv|virtualenv   the environment the model runs in (default local)
  traffic=<percent>                 the share of the endpoint's requests this deployment takes
  max_batch_size=<rows>, timeout=<seconds>, ...  as `mlcask models serve` takes them
Endpoint config:
  traffic='{"blue": 90, "green": 10}'   the split (percentages summing to 100); or, on
                                        update-endpoint, --traffic blue=90 --traffic green=10

Scoring: predict --endpoint E follows the split; predict --name D (with or without --endpoint)
asks that deployment alone. The input file is JSON: a scoring payload ({"dataframe_split": ...},
{"dataframe_records": ...}, {"inputs": ...}, {"instances": ...}) is sent as it is; anything
else is read as a table (pandas.read_json), as MLflow does."""
