"""How the basic-auth app is configured: environment variables, read once at start.

``MLCASK_AUTH_ADMIN_PASSWORD`` is required: there is no default password, and a server
started with ``--app-name basic-auth`` without it refuses to start with a message that
says what to set. The other settings have MLflow's defaults (``basic_auth.ini``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from mlcask.exceptions import MlcaskException
from mlcask.server.auth.credentials import check_password, check_username
from mlcask.server.auth.permissions import CONFIGURABLE_DEFAULTS

__all__ = ["AuthConfigurationError", "AuthSettings"]

DEFAULT_DATABASE_URI = "sqlite:///basic_auth.db"
MIN_ADMIN_PASSWORD_CHARS = 8
#: The default admin password MLflow shipped up to 3.16.0 (GHSA-gq3w-7jj3-x7gr); refused.
KNOWN_DEFAULT_PASSWORDS = frozenset({"password1234", "password", "admin"})


class AuthConfigurationError(MlcaskException):
    """The basic-auth app cannot start with the configuration it was given."""

    error_code = "INVALID_PARAMETER_VALUE"


def _env(environ: Mapping[str, str], name: str) -> str | None:
    """``MLCASK_<name>``, else MLflow's ``MLFLOW_<name>`` (drop-in); None when neither is set."""
    for prefix in ("MLCASK_", "MLFLOW_"):
        if prefix + name in environ:
            return environ[prefix + name]
    return None


def _float_env(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise AuthConfigurationError(f"{name}={raw!r}: expected a number of seconds.") from None
    if not 0 <= value <= 3600:
        raise AuthConfigurationError(f"{name}={raw!r}: expected between 0 and 3600 seconds.")
    return value


@dataclass(frozen=True)
class AuthSettings:
    """The basic-auth app's settings.

    Attributes:
        admin_password: The password of the admin created on first start (required).
        admin_username: The admin's username (``MLCASK_AUTH_ADMIN_USERNAME``, default ``admin``).
        database_uri: The users and permissions database (``MLCASK_AUTH_DATABASE_URI``,
            default ``sqlite:///basic_auth.db`` in the working folder), never the tracking tables.
        default_permission: What a user may do on a resource without a grant
            (``MLCASK_AUTH_DEFAULT_PERMISSION``: READ, the default, EDIT, MANAGE or NO_PERMISSIONS).
        credential_cache_seconds: How long a verified credential skips the password hash
            (``MLCASK_AUTH_CREDENTIAL_CACHE_SECONDS``, default 60; 0 turns the cache off).
        realm: The realm of the ``WWW-Authenticate`` challenge.
        max_json_body_bytes: The largest API request body read for authorization (413 above).
        argon2_time_cost, argon2_memory_kib, argon2_parallelism: The Argon2id parameters of
            new hashes (argon2-cffi's defaults, RFC 9106's low-memory profile).
        max_concurrent_hashes: How many password hashes run at once (each takes
            ``argon2_memory_kib`` of memory: this bounds what a flood of logins costs).
        max_failed_sign_ins, failed_sign_in_window_seconds: After this many failed sign-ins
            of one client address as one user within the window, that pair gets 429s until
            the window has passed; ten times as many failures from one address, as any users,
            close it to all users for the window (0 turns both off).
        authenticated_paths: Paths any signed-in user may read (the UI shell, API docs).
    """

    admin_password: str = field(repr=False)
    admin_username: str = "admin"
    database_uri: str = DEFAULT_DATABASE_URI
    default_permission: str = "READ"
    credential_cache_seconds: float = 60.0
    credential_cache_size: int = 10_000
    realm: str = "mlcask"
    max_json_body_bytes: int = 32 * 1024 * 1024
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65_536
    argon2_parallelism: int = 4
    max_concurrent_hashes: int = 2
    max_failed_sign_ins: int = 20
    failed_sign_in_window_seconds: float = 300.0
    authenticated_paths: tuple[str, ...] = ("/", "/openapi.json", "/docs", "/api/2.0/mlflow/openapi.json",
                                            "/api/3.0/mlflow/server-info", "/ajax-api/3.0/mlflow/server-info")

    def __post_init__(self) -> None:
        check_admin(self.admin_username, self.admin_password)
        if self.default_permission not in CONFIGURABLE_DEFAULTS:
            raise AuthConfigurationError(
                f"MLCASK_AUTH_DEFAULT_PERMISSION={self.default_permission!r}: expected one of "
                f"{', '.join(CONFIGURABLE_DEFAULTS)}.")
        if not self.database_uri:
            raise AuthConfigurationError("MLCASK_AUTH_DATABASE_URI is empty: expected a database URI such as "
                                         f"{DEFAULT_DATABASE_URI}.")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AuthSettings:
        """Settings from ``MLCASK_AUTH_*`` variables (MLflow's ``MLFLOW_AUTH_*`` names are read too).

        Raises:
            AuthConfigurationError: ``MLCASK_AUTH_ADMIN_PASSWORD`` is not set or empty, or a
                setting has a value it cannot take.
        """
        environ = os.environ if environ is None else environ
        username = _env(environ, "AUTH_ADMIN_USERNAME")
        password = _env(environ, "AUTH_ADMIN_PASSWORD")
        if not password:
            raise AuthConfigurationError(
                f"The basic-auth app needs the password of its admin user '{username or 'admin'}', and "
                "MLCASK_AUTH_ADMIN_PASSWORD is not set (or is empty). mlcask has no default password: "
                "set MLCASK_AUTH_ADMIN_PASSWORD (and MLCASK_AUTH_ADMIN_USERNAME, default 'admin') in the "
                "server's environment and start it again. The admin is created on first start; later "
                "starts keep the stored password (change it with users/update-password).")
        return cls(
            admin_password=password,
            admin_username=username if username is not None else "admin",
            database_uri=_env(environ, "AUTH_DATABASE_URI") or DEFAULT_DATABASE_URI,
            default_permission=(_env(environ, "AUTH_DEFAULT_PERMISSION") or "READ").strip().upper(),
            credential_cache_seconds=_float_env(environ, "MLCASK_AUTH_CREDENTIAL_CACHE_SECONDS", 60.0),
        )


def check_admin(username: str, password: str) -> None:
    """Refuse an admin username or password the app cannot use safely."""
    try:
        check_username(username)
    except MlcaskException as error:
        raise AuthConfigurationError(f"MLCASK_AUTH_ADMIN_USERNAME: {error.message}") from None
    try:
        check_password(password)
    except MlcaskException as error:
        raise AuthConfigurationError(f"MLCASK_AUTH_ADMIN_PASSWORD: {error.message}") from None
    if len(password) < MIN_ADMIN_PASSWORD_CHARS or password.lower() in KNOWN_DEFAULT_PASSWORDS:
        raise AuthConfigurationError(
            f"MLCASK_AUTH_ADMIN_PASSWORD is too weak for the admin user '{username}': expected at least "
            f"{MIN_ADMIN_PASSWORD_CHARS} characters and not a well-known default password.")
