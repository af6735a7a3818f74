"""The REST endpoints of the basic-auth app: users, permission grants and tokens.

MLflow 3.17's paths, verbs and JSON shapes, so its ``AuthServiceClient``
(``mlflow.server.get_app_client("basic-auth", tracking_uri=...)``) works unchanged:

- ``/api/2.0/mlflow/users/{create,get,current,list,update-password,update-admin,delete}``;
- ``/api/3.0/mlflow/users/permissions/{grant,revoke,get,list}`` and
  ``users/current/permissions`` (MLflow 3.17's per-user grants; resource types
  ``experiment`` and ``registered_model``);
- the older ``/api/2.0/mlflow/experiments/permissions/{create,get,update,delete}`` and
  ``registered-models/permissions/{create,get,update,delete}``;
- MLflow 3.17's roles, ``/api/3.0/mlflow/roles/*`` and ``users/roles/list`` (see :mod:`.roles`);
- mlcask's tokens: ``/api/2.0/mlcask/tokens/{create,list,delete}``: a user signed in
  with their password creates a token for themselves; it is shown once, only its
  hash is stored; ``Authorization: Bearer <token>`` (``MLFLOW_TRACKING_TOKEN``) uses it.

Every path has its ``/ajax-api`` twin. Bad input is a 400 naming the field, never a 5xx.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mlcask.exceptions import RESOURCE_DOES_NOT_EXIST, InvalidArgumentError, MlcaskException
from mlcask.server.auth.credentials import check_password, check_username, new_token
from mlcask.server.auth.middleware import IDENTITY_KEY, error_body, status_of
from mlcask.server.auth.permissions import get_permission
from mlcask.server.auth.request import AuthRequest, parse_json_object
from mlcask.server.auth.roles import ROLE_ENDPOINTS, username_of
from mlcask.server.auth.rules import Forbidden, require_admin, require_self_or_admin
from mlcask.server.auth.service import AuthService, Identity
from mlcask.server.auth.store import RESOURCE_TYPES, User

__all__ = ["auth_paths", "auth_routes", "endpoints"]

_logger = logging.getLogger(__name__)
Handler = Callable[[AuthService, Identity, AuthRequest], dict[str, Any]]
MAX_TOKEN_DAYS = 3650




def _bool(request: AuthRequest, name: str) -> bool:
    raw = [value for key, value in request.query if key == name]
    if request.body is not None and request.body.get(name) is not None:
        raw.append(request.body[name])
    if len({repr(value) for value in raw}) > 1:
        raise InvalidArgumentError(f"Conflicting values for parameter '{name}'.")
    if not raw:
        raise InvalidArgumentError(f"Missing value for required parameter '{name}'.")
    value = raw[0]
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise InvalidArgumentError(f"Invalid value for parameter '{name}': expected true or false, got "
                                   f"{repr(value)[:40]}.")
    return value


# -- users ---------------------------------------------------------------------------------------
def create_user(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    require_admin(identity)
    username = username_of(request)
    password = check_password(request.required("password"))
    user = service.store.create_user(username, service.hasher.hash(password))
    return {"user": user.to_json()}


def get_user(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    username = username_of(request)
    require_self_or_admin(identity, username)
    return {"user": service.store.require_user(username).to_json()}


def current_user(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    return {"user": identity.user.to_json(), "is_basic_auth": True}


def list_users(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    require_admin(identity)
    return {"users": [{**user.to_json(), "roles": [role.to_json() for role in service.store.user_roles(user.id)]}
                      for user in service.store.list_users()]}


def update_password(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    username = username_of(request)
    require_self_or_admin(identity, username)
    password = check_password(request.required("password"))
    if identity.username == username:
        current = request.param("current_password")
        if not current:
            raise InvalidArgumentError("Current password is required when changing your own password.")
        if service.check_password(username, check_password(current, "current_password")) is None:
            raise InvalidArgumentError("Current password does not match.")
        if password == current:
            raise InvalidArgumentError("New password must differ from the current password.")
    service.store.require_user(username)
    service.store.update_user(username, password_hash=service.hasher.hash(password))
    return {}


def update_admin(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    require_admin(identity)
    username = username_of(request)
    service.store.update_user(username, is_admin=_bool(request, "is_admin"))
    return {}


def delete_user(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    require_admin(identity)
    username = username_of(request)
    if username == identity.username:
        raise MlcaskException("Users cannot delete their own account. Ask another admin to delete this user "
                              "instead.", "BAD_REQUEST")
    service.store.delete_user(username)
    return {}


# -- per-user grants (MLflow 3.17) -----------------------------------------------------------------
def _resource(request: AuthRequest) -> tuple[str, str]:
    resource_type = request.required("resource_type")
    if resource_type not in RESOURCE_TYPES:
        raise InvalidArgumentError(f"Invalid resource_type {resource_type[:80]!r}: this server supports "
                                   f"{', '.join(RESOURCE_TYPES)}.")
    resource_id = request.required("resource_id")
    if not resource_id or resource_id == "*" or len(resource_id) > 512:
        raise InvalidArgumentError(f"Invalid resource_id {resource_id[:80]!r}: expected the id of one experiment "
                                   "or the name of one registered model (wildcard grants are not supported).")
    return resource_type, resource_id


def _require_manage(service: AuthService, identity: Identity, resource_type: str, resource_id: str) -> None:
    if not service.permission(identity, resource_type, resource_id).can_manage:
        raise Forbidden


def grant_permission(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    resource_type, resource_id = _resource(request)
    _require_manage(service, identity, resource_type, resource_id)
    permission = get_permission(request.required("permission"))
    user = service.store.require_user(username_of(request))
    service.store.set_grant(resource_type, resource_id, user.id, permission.name)
    return {}


def revoke_permission(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    resource_type, resource_id = _resource(request)
    _require_manage(service, identity, resource_type, resource_id)
    user = service.store.require_user(username_of(request))
    if not service.store.delete_grant(resource_type, resource_id, user.id):
        raise MlcaskException(f"No {resource_type} permission on {resource_id[:80]!r} for user "
                              f"{user.username!r}.", RESOURCE_DOES_NOT_EXIST)
    return {}


def check_permission(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    """Admins, the user themselves, and whoever manages the resource (and so may grant on it) may ask."""
    username = username_of(request)
    resource_type, resource_id = _resource(request)
    if identity.username != username:
        _require_manage(service, identity, resource_type, resource_id)
    permission = service.user_permission(service.store.require_user(username), resource_type, resource_id)
    return {"allowed": permission.can_use, "permission": permission.name}


def _grants_of(service: AuthService, user: User) -> dict[str, Any]:
    """MLflow's ``users/permissions/list`` rows: the user's own grants (as its synthetic role) and their roles'."""
    rows = [{"role_id": None, "role_name": f"__user_{user.id}__", "workspace": "default",
             "resource_type": grant.resource_type, "resource_pattern": grant.resource_id,
             "permission": grant.permission} for grant in service.store.list_grants(user.id)]
    rows += [{"role_id": role.id, "role_name": role.name, "workspace": role.workspace,
              "resource_type": grant.resource_type, "resource_pattern": grant.resource_pattern,
              "permission": grant.permission} for role in service.store.user_roles(user.id) for grant in role.permissions]
    return {"is_admin": user.is_admin, "permissions": rows}


def list_permissions(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    username = username_of(request)
    require_self_or_admin(identity, username)
    return _grants_of(service, service.store.require_user(username))


def current_permissions(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    return _grants_of(service, service.store.require_user(identity.username))


# -- the older per-resource forms ----------------------------------------------------------------
def _legacy(resource_type: str, id_field: str, message_key: str, op: str) -> Handler:
    def handler(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
        resource_id = request.required(id_field)
        _require_manage(service, identity, resource_type, resource_id)
        _check_exists(service, resource_type, resource_id)
        user = service.store.require_user(username_of(request))
        if op in ("create", "update"):
            permission = get_permission(request.required("permission"))
            service.store.set_grant(resource_type, resource_id, user.id, permission.name, mode=op)
            if op == "update":
                return {}
            return {message_key: {id_field: resource_id, "user_id": user.id, "permission": permission.name}}
        granted = service.store.get_grant(resource_type, resource_id, user.id)
        if granted is None:
            raise MlcaskException(f"{message_key.replace('_', ' ').capitalize()} with {id_field}={resource_id} "
                                  f"and username={user.username} not found.", RESOURCE_DOES_NOT_EXIST)
        if op == "get":
            return {message_key: {id_field: resource_id, "user_id": user.id, "permission": granted}}
        service.store.delete_grant(resource_type, resource_id, user.id)
        return {}
    return handler


def _check_exists(service: AuthService, resource_type: str, resource_id: str) -> None:
    if resource_type == "experiment" and service.tracking_store is not None:
        service.tracking_store.get_experiment(resource_id)
    elif resource_type == "registered_model" and service.registry_store is not None:
        service.registry_store.get_registered_model(resource_id)


# -- tokens --------------------------------------------------------------------------------------
def create_token(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    if identity.method != "basic":
        raise MlcaskException("Creating a token requires signing in with a username and password.",
                              "PERMISSION_DENIED")
    name = request.param("name") or "token"
    if len(name) > 255 or not name.isprintable():
        raise InvalidArgumentError("Invalid token name: expected at most 255 printable characters.")
    days_raw = (request.body or {}).get("expires_in_days")
    expires_at = None
    if days_raw is not None:
        if isinstance(days_raw, bool) or not isinstance(days_raw, int) or not 1 <= days_raw <= MAX_TOKEN_DAYS:
            raise InvalidArgumentError(f"Invalid expires_in_days {repr(days_raw)[:40]}: expected a whole number "
                                       f"of days from 1 to {MAX_TOKEN_DAYS}.")
        expires_at = int(time.time() * 1000) + days_raw * 86_400_000
    token, public_id, secret = new_token()
    row = service.store.create_token(identity.user.id, public_id, name, service.hasher.hash(secret), expires_at)
    return {"token": token, "token_info": row.to_json()}


def list_tokens(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    username = request.param("username")
    user = identity.user if username is None else service.store.require_user(check_username(username))
    require_self_or_admin(identity, user.username)
    return {"tokens": [token.to_json() for token in service.store.list_tokens(user.id)]}


def delete_token(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    token_id = request.required("token_id")
    if not service.store.delete_token(token_id, None if identity.is_admin else identity.user.id):
        raise MlcaskException(f"Token {token_id[:40]!r} not found.", RESOURCE_DOES_NOT_EXIST)
    return {}


_V2 = ("/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/")
_V3 = ("/api/3.0/mlflow/", "/ajax-api/3.0/mlflow/")
_MLCASK = ("/api/2.0/mlcask/", "/ajax-api/2.0/mlcask/")
_ENDPOINTS: list[tuple[tuple[str, ...], str, str, Handler]] = [
    (_V2, "users/create", "POST", create_user),
    (_V2, "users/get", "GET", get_user),
    (_V2, "users/current", "GET", current_user),
    (_V2, "users/list", "GET", list_users),
    (_V2, "users/update-password", "PATCH", update_password),
    (_V2, "users/update-admin", "PATCH", update_admin),
    (_V2, "users/delete", "DELETE", delete_user),
    (_V3, "users/permissions/grant", "POST", grant_permission),
    (_V3, "users/permissions/revoke", "POST", revoke_permission),
    (_V3, "users/permissions/get", "GET", check_permission),
    (_V3, "users/permissions/list", "GET", list_permissions),
    (_V3, "users/current/permissions", "GET", current_permissions),
    (_MLCASK, "tokens/create", "POST", create_token),
    (_MLCASK, "tokens/list", "GET", list_tokens),
    (_MLCASK, "tokens/delete", "DELETE", delete_token),
]
_ENDPOINTS += [(_V3, suffix, method, handler) for suffix, method, handler in ROLE_ENDPOINTS]
for _kind, _id_field, _key, _base in (("experiment", "experiment_id", "experiment_permission", "experiments"),
                                      ("registered_model", "name", "registered_model_permission",
                                       "registered-models")):
    for _op, _method in (("create", "POST"), ("get", "GET"), ("update", "PATCH"), ("delete", "DELETE")):
        _ENDPOINTS.append((_V2, f"{_base}/permissions/{_op}", _method, _legacy(_kind, _id_field, _key, _op)))


def _endpoint(service: AuthService, handler: Handler) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        identity = request.scope.get(IDENTITY_KEY)
        if not isinstance(identity, Identity):  # only reachable if the middleware is missing
            return Response(error_body("UNAUTHENTICATED", "Not authenticated."), 401,
                            media_type="application/json")
        body = await request.body()

        def run() -> dict[str, Any]:
            parsed = parse_json_object(body) if request.method not in ("GET", "HEAD") else None
            auth_request = AuthRequest.build(request.method, request.scope.get("query_string", b""), parsed)
            return handler(service, identity, auth_request)
        try:
            answer = await run_in_threadpool(run)
        except Forbidden:
            return Response(error_body("PERMISSION_DENIED", "Permission denied."), 403, media_type="application/json")
        except MlcaskException as error:
            return Response(error_body(error.error_code, error.message), status_of(error.error_code),
                            media_type="application/json")
        except Exception:
            _logger.exception("%s %s failed", request.method, request.url.path)
            return Response(error_body("INTERNAL_ERROR", "The request failed."), 500, media_type="application/json")
        return Response(json.dumps(answer).encode(), 200, media_type="application/json")
    return endpoint


def auth_routes(service: AuthService) -> list[Route]:
    """The Starlette routes of every auth endpoint (both twins of each path)."""
    return [Route(prefix + suffix, _endpoint(service, handler), methods=[method])
            for prefixes, suffix, method, handler in _ENDPOINTS for prefix in prefixes]


def auth_paths() -> frozenset[str]:
    return frozenset(prefix + suffix for prefix, suffix, _method in endpoints())


def endpoints() -> list[tuple[str, str, str]]:
    """Every auth endpoint as (prefix, suffix, method), twins included."""
    return [(prefix, suffix, method) for prefixes, suffix, method, _handler in _ENDPOINTS for prefix in prefixes]
