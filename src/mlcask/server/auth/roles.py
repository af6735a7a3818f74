"""Roles, as MLflow 3.17's ``/api/3.0/mlflow/roles/*`` endpoints have them (``AuthServiceClient``'s role calls).

A role is a named set of grants: a permission on one experiment or registered model,
on all of them (``resource_pattern`` ``"*"``), or ``MANAGE`` on the whole workspace
(``resource_type`` ``"workspace"``). Users assigned a role get its grants, combined
with their own (:func:`~mlcask.server.auth.permissions.combine`). This server has one
workspace, ``default``. Only admins manage roles; users may list their own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlcask.exceptions import InvalidArgumentError
from mlcask.server.auth.credentials import check_username
from mlcask.server.auth.permissions import get_permission
from mlcask.server.auth.request import AuthRequest
from mlcask.server.auth.rules import require_admin, require_self_or_admin
from mlcask.server.auth.service import AuthService, Identity
from mlcask.server.auth.store import RESOURCE_TYPES

__all__ = ["ROLE_ENDPOINTS", "username_of"]

WORKSPACE = "default"
Handler = Callable[[AuthService, Identity, AuthRequest], dict[str, Any]]


def username_of(request: AuthRequest) -> str:
    return check_username(request.required("username"))


def _id(request: AuthRequest, name: str) -> int:
    raw = request.required(name)
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18:
        raise InvalidArgumentError(f"Parameter '{name}' must be an integer. Got: {raw[:40]!r}")
    return int(raw)


def _text(request: AuthRequest, name: str, *, required: bool, limit: int = 255) -> str | None:
    value = request.param(name)
    if value is None and not required:
        return None
    if value is None or not value.strip() or len(value) > limit:
        raise InvalidArgumentError(f"Invalid {name}: expected a non-empty string of at most {limit} characters.")
    return value


def _workspace(value: str | None) -> str:
    if value != WORKSPACE:
        raise InvalidArgumentError(f"Invalid workspace {str(value)[:80]!r}: this server has one workspace, "
                                   f"{WORKSPACE!r}.")
    return value


def _grant(request: AuthRequest) -> tuple[str, str, str]:
    resource_type, pattern = request.required("resource_type"), request.required("resource_pattern")
    permission = get_permission(request.required("permission")).name
    if resource_type == "workspace":
        if pattern != "*" or permission not in ("USE", "MANAGE"):
            raise InvalidArgumentError("A workspace grant takes resource_pattern '*' and permission USE or MANAGE.")
    elif resource_type not in RESOURCE_TYPES:
        raise InvalidArgumentError(f"Invalid resource_type {resource_type[:80]!r}: this server supports "
                                   f"{', '.join((*RESOURCE_TYPES, 'workspace'))}.")
    elif not pattern or len(pattern) > 512:
        raise InvalidArgumentError("Invalid resource_pattern: expected '*' or one resource's id or name.")
    return resource_type, pattern, permission


def create_role(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    require_admin(identity)
    workspace = _workspace(_text(request, "workspace", required=True))
    role = service.store.create_role(workspace, _text(request, "name", required=True) or "",
                                     _text(request, "description", required=False, limit=4096))
    return {"role": role.to_json()}


def get_role(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    require_admin(identity)
    return {"role": service.store.get_role(_id(request, "role_id")).to_json()}


def list_roles(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    require_admin(identity)
    workspaces = [value for key, value in request.query if key == "workspace"]
    return {"roles": [role.to_json() for role in service.store.list_roles(workspaces or None)]}


def update_role(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    require_admin(identity)
    name = _text(request, "name", required=False)
    description = _text(request, "description", required=False, limit=4096)
    if name is None and description is None:
        raise InvalidArgumentError("At least one of 'name' or 'description' must be provided to update a role.")
    return {"role": service.store.update_role(_id(request, "role_id"), name, description).to_json()}


def delete_role(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    require_admin(identity)
    service.store.delete_role(_id(request, "role_id"))
    return {}


def add_role_permission(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    require_admin(identity)
    grant = service.store.add_role_grant(_id(request, "role_id"), *_grant(request))
    return {"role_permission": grant.to_json()}


def remove_role_permission(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    require_admin(identity)
    service.store.remove_role_grant(_id(request, "role_permission_id"))
    return {}


def list_role_permissions(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    require_admin(identity)
    role = service.store.get_role(_id(request, "role_id"))
    return {"role_permissions": [grant.to_json() for grant in role.permissions]}


def update_role_permission(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    require_admin(identity)
    grant_id = _id(request, "role_permission_id")
    current = service.store.role_grant(grant_id)
    permission = get_permission(request.required("permission")).name
    if current.resource_type == "workspace" and permission not in ("USE", "MANAGE"):
        raise InvalidArgumentError("A workspace grant takes permission USE or MANAGE.")
    return {"role_permission": service.store.update_role_grant(grant_id, permission).to_json()}


def assign_role(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    require_admin(identity)
    user = service.store.require_user(username_of(request))
    return {"assignment": service.store.assign_role(user.id, _id(request, "role_id"))}


def unassign_role(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    require_admin(identity)
    user = service.store.require_user(username_of(request))
    service.store.unassign_role(user.id, _id(request, "role_id"))
    return {}


def list_user_roles(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    username = username_of(request)
    require_self_or_admin(identity, username)
    user = service.store.require_user(username)
    return {"roles": [role.to_json() for role in service.store.user_roles(user.id)]}


def list_role_users(service: AuthService, identity: Identity, request: AuthRequest) -> dict[str, Any]:
    require_admin(identity)
    return {"assignments": service.store.role_users(_id(request, "role_id"))}


ROLE_ENDPOINTS: list[tuple[str, str, Handler]] = [
    ("roles/create", "POST", create_role),
    ("roles/get", "GET", get_role),
    ("roles/list", "GET", list_roles),
    ("roles/update", "PATCH", update_role),
    ("roles/delete", "DELETE", delete_role),
    ("roles/permissions/add", "POST", add_role_permission),
    ("roles/permissions/remove", "DELETE", remove_role_permission),
    ("roles/permissions/list", "GET", list_role_permissions),
    ("roles/permissions/update", "PATCH", update_role_permission),
    ("roles/assign", "POST", assign_role),
    ("roles/unassign", "DELETE", unassign_role),
    ("users/roles/list", "GET", list_user_roles),
    ("roles/users/list", "GET", list_role_users),
]
