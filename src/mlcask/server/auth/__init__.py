"""Authentication and authorization for ``mlcask server --app-name basic-auth``.

MLflow's basic-auth app, as a drop-in: users with passwords (and tokens), an admin
created on first start from ``MLCASK_AUTH_ADMIN_USERNAME``/``MLCASK_AUTH_ADMIN_PASSWORD``
(required: there is no default password), READ/EDIT/MANAGE/NO_PERMISSIONS grants on
experiments and registered models (per user, and through MLflow 3.17's roles), a
default permission for everything else (``MLCASK_AUTH_DEFAULT_PERMISSION``), and
MLflow's REST endpoints to manage them, so MLflow's ``AuthServiceClient`` works unchanged.

Modules: :mod:`.settings` (configuration), :mod:`.credentials` (Argon2id hashes, the
verified-credential cache, the sign-in throttle, ``Authorization`` parsing),
:mod:`.store` (the auth database), :mod:`.service` (authentication and permission
lookups), :mod:`.permissions` and :mod:`.rules` (which call needs which permission),
:mod:`.request` (reading ids as the handlers read them), :mod:`.middleware` (the ASGI
middleware), :mod:`.routes` and :mod:`.roles` (the endpoints).

The server calls::

    settings = AuthSettings.from_env()          # refuses to start without an admin password
    install(app, settings, tracking_store, registry_store)

before the app starts. :func:`install` creates the auth tables (in their own database),
creates the admin if it does not exist yet, adds the auth endpoints, and wraps the app
in :class:`~mlcask.server.auth.middleware.AuthMiddleware`, so every request is
authenticated and authorized before any handler runs. Handlers find the caller in
``request.user.username`` (``request.auth.scopes`` holds ``"admin"`` for admins), or as
an :class:`~mlcask.server.auth.service.Identity` under
``request.scope[mlcask.server.auth.IDENTITY_KEY]``.
"""

from __future__ import annotations

from starlette.applications import Starlette

from mlcask.server.auth.middleware import IDENTITY_KEY, AuthMiddleware
from mlcask.server.auth.routes import auth_paths, auth_routes
from mlcask.server.auth.service import AuthService, Identity
from mlcask.server.auth.settings import AuthConfigurationError, AuthSettings
from mlcask.tracking.protocols import RegistryStore, TrackingStore

__all__ = ["IDENTITY_KEY", "AuthConfigurationError", "AuthService", "AuthSettings", "Identity", "install", "prepare"]


def prepare(settings: AuthSettings) -> None:
    """Create the auth tables and the admin once, before workers start (``install`` does it too, idempotently).

    Raises:
        MlcaskException: The auth database cannot be opened, or is from a newer mlcask.
    """
    AuthService(settings, None, None).bootstrap_admin()


def install(app: Starlette, settings: AuthSettings, tracking_store: TrackingStore | None,
            registry_store: RegistryStore | None) -> None:
    """Turn on authentication and authorization for ``app`` (before it starts).

    Args:
        app: The server's Starlette app. Its routes get the auth endpoints (inserted
            first, so they win over any catch-all route); its middleware stack gets the
            auth middleware outermost of what was added so far (add host checks and CORS
            after this call, so they wrap it: preflight requests carry no credentials).
        settings: From :meth:`AuthSettings.from_env`.
        tracking_store: Used to find the experiment of a run or logged model (None with
            ``--artifacts-only``: then only the artifact proxy's rules apply).
        registry_store: Used by the older ``registered-models/permissions/*`` endpoints.

    Raises:
        MlcaskException: The auth database cannot be opened, or is from a newer mlcask.
    """
    service = AuthService(settings, tracking_store, registry_store)
    service.bootstrap_admin()
    app.router.routes[0:0] = auth_routes(service)
    app.add_middleware(AuthMiddleware, service=service, auth_paths=auth_paths())
    app.state.auth_service = service
