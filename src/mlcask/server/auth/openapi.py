"""The auth endpoints in OpenAPI 3.1, for the server's own document.

``openapi_paths()`` gives the path items of every auth endpoint (``/api`` paths, not
their ``/ajax-api`` twins); ``SECURITY_SCHEMES`` and ``SECURITY`` say that every
operation takes HTTP Basic or a bearer token. A server with ``--app-name basic-auth``
merges them into its document.
"""

from __future__ import annotations

from typing import Any

from mlcask.server.auth.routes import endpoints

__all__ = ["SECURITY", "SECURITY_SCHEMES", "openapi_paths"]

SECURITY_SCHEMES = {"basic": {"type": "http", "scheme": "basic"},
                    "bearer": {"type": "http", "scheme": "bearer", "description": "A token from tokens/create"}}
SECURITY = [{"basic": []}, {"bearer": []}]
_ERROR = {"type": "object", "required": ["error_code", "message"],
          "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}}}
_S, _B, _I = "string", "boolean", "integer"
_USER, _RESOURCE = [("username", _S, True)], [("resource_type", _S, True), ("resource_id", _S, True)]
#: Each endpoint's fields: (name, JSON type, required); ids of roles are integers in bodies, digits in queries.
FIELDS: dict[str, list[tuple[str, str, bool]]] = {
    "users/create": [*_USER, ("password", _S, True)],
    "users/get": _USER, "users/current": [], "users/list": [], "users/delete": _USER,
    "users/update-password": [*_USER, ("password", _S, True), ("current_password", _S, False)],
    "users/update-admin": [*_USER, ("is_admin", _B, True)],
    "users/permissions/grant": [*_USER, *_RESOURCE, ("permission", _S, True)],
    "users/permissions/revoke": [*_USER, *_RESOURCE], "users/permissions/get": [*_USER, *_RESOURCE],
    "users/permissions/list": _USER, "users/current/permissions": [],
    "tokens/create": [("name", _S, False), ("expires_in_days", _I, False)],
    "tokens/list": [("username", _S, False)], "tokens/delete": [("token_id", _S, True)],
    "roles/create": [("workspace", _S, True), ("name", _S, True), ("description", _S, False)],
    "roles/get": [("role_id", _I, True)], "roles/list": [("workspace", _S, False)],
    "roles/update": [("role_id", _I, True), ("name", _S, False), ("description", _S, False)],
    "roles/delete": [("role_id", _I, True)],
    "roles/permissions/add": [("role_id", _I, True), ("resource_type", _S, True), ("resource_pattern", _S, True),
                              ("permission", _S, True)],
    "roles/permissions/remove": [("role_permission_id", _I, True)],
    "roles/permissions/list": [("role_id", _I, True)],
    "roles/permissions/update": [("role_permission_id", _I, True), ("permission", _S, True)],
    "roles/assign": [*_USER, ("role_id", _I, True)], "roles/unassign": [*_USER, ("role_id", _I, True)],
    "users/roles/list": _USER, "roles/users/list": [("role_id", _I, True)],
}
for _base, _id in (("experiments", "experiment_id"), ("registered-models", "name")):
    FIELDS[f"{_base}/permissions/create"] = [(_id, _S, True), *_USER, ("permission", _S, True)]
    FIELDS[f"{_base}/permissions/update"] = FIELDS[f"{_base}/permissions/create"]
    FIELDS[f"{_base}/permissions/get"] = [(_id, _S, True), *_USER]
    FIELDS[f"{_base}/permissions/delete"] = [(_id, _S, True), *_USER]


def _operation(suffix: str, method: str) -> dict[str, Any]:
    fields = FIELDS[suffix]
    operation: dict[str, Any] = {
        "summary": suffix, "tags": ["auth"], "security": SECURITY,
        "responses": {"200": {"description": "Success", "content": {"application/json": {"schema": {
            "type": "object"}}}}, "default": {"description": "An MLflow error", "content": {
                "application/json": {"schema": _ERROR}}}}}
    if method == "GET":
        operation["parameters"] = [{"name": name, "in": "query", "required": required, "schema": {
            "type": "string", "pattern": "^[0-9]+$"} if kind == _I else {"type": kind}}
            for name, kind, required in fields]
    elif fields:
        operation["requestBody"] = {"required": any(r for _, _, r in fields), "content": {"application/json": {
            "schema": {"type": "object", "properties": {name: {"type": kind} for name, kind, _ in fields},
                       "required": [name for name, _, required in fields if required]}}}}
    return operation


def openapi_paths() -> dict[str, dict[str, Any]]:
    """The OpenAPI path items of the auth endpoints."""
    paths: dict[str, dict[str, Any]] = {}
    for prefix, suffix, method in endpoints():
        if prefix.startswith("/api/"):
            paths.setdefault(prefix + suffix, {})[method.lower()] = _operation(suffix, method)
    return paths
