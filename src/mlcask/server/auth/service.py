"""Who is asking, and what they may do: authentication and permission lookups.

:class:`AuthService` ties the auth database to the tracking and registry stores: it
checks credentials (HTTP Basic or a bearer token), creates the admin on first start,
and answers "which permission does this user have on this experiment / registered
model", finding the experiment of a run or a logged model through the tracking store.
Those two mappings never change once made (a run stays in its experiment), so they are
kept in a bounded cache; permissions themselves are read fresh on every request, so a
revoked grant takes effect at once.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from mlcask.exceptions import MlcaskException
from mlcask.server.auth.credentials import (
    BasicCredentials,
    CredentialCache,
    FailureThrottle,
    Hasher,
    TokenParts,
    parse_authorization,
)
from mlcask.server.auth.permissions import MANAGE, Permission, combine, get_permission
from mlcask.server.auth.settings import AuthSettings
from mlcask.server.auth.store import AuthStore, User
from mlcask.tracking.protocols import RegistryStore, TrackingStore

__all__ = ["AuthService", "Identity", "Throttled"]

_logger = logging.getLogger(__name__)
_MAPPING_CACHE_SIZE = 100_000
#: What a run or logged model id can look like (``uuid4().hex``, ``m-<hex>``); anything else names none.
_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")


@dataclass(frozen=True, slots=True)
class Identity:
    """The authenticated caller: the user, and how they signed in (``basic`` or ``token``)."""

    user: User
    method: str

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin


class Throttled(Exception):
    """Too many failed sign-ins for this client and user: try again in ``retry_after`` seconds (a 429)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class _Mapping:
    """A bounded LRU of immutable id -> experiment id mappings."""

    def __init__(self, size: int = _MAPPING_CACHE_SIZE) -> None:
        self._items: OrderedDict[str, str] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: str, value: str) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class AuthService:
    """Authentication and permission lookups for one server."""

    def __init__(self, settings: AuthSettings, tracking_store: TrackingStore | None,
                 registry_store: RegistryStore | None, store: AuthStore | None = None) -> None:
        self.settings = settings
        self.store = store or AuthStore(settings.database_uri)
        self.tracking_store = tracking_store
        self.registry_store = registry_store
        self.hasher = Hasher(settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism,
                             settings.max_concurrent_hashes)
        self.cache = CredentialCache(settings.credential_cache_seconds, settings.credential_cache_size)
        self.throttle = FailureThrottle(settings.max_failed_sign_ins, settings.failed_sign_in_window_seconds)
        # and any user from one address: guessing across many usernames is bounded too
        self.client_throttle = FailureThrottle(settings.max_failed_sign_ins * 10, settings.failed_sign_in_window_seconds)
        self.default_permission = get_permission(settings.default_permission)
        self._run_experiments = _Mapping()
        self._model_experiments = _Mapping()

    # -- start
    def bootstrap_admin(self) -> None:
        """Create the admin on first start; later, keep the stored password and say so if it differs."""
        name, password = self.settings.admin_username, self.settings.admin_password
        user = self.store.get_user(name)
        if user is None:
            try:
                self.store.create_user(name, self.hasher.hash(password), is_admin=True)
                _logger.info("Created the admin user '%s'.", name)
                return
            except MlcaskException:  # another worker created it first
                user = self.store.require_user(name)
        if not user.is_admin:
            _logger.warning("The configured admin user '%s' exists but is not an admin; it is left as it is.", name)
        elif not self.hasher.verify(user.password_hash, password):
            _logger.warning("MLCASK_AUTH_ADMIN_PASSWORD differs from the stored password of the admin user '%s'; "
                            "the stored password is kept (change it with users/update-password).", name)

    # -- authentication
    def authenticate(self, header: str | None, client: str = "") -> Identity | None:
        """The caller named by an ``Authorization`` header, or None (missing, malformed or wrong).

        Raises:
            Throttled: ``client`` failed to sign in as this user too often lately.
        """
        credentials = parse_authorization(header)
        if credentials is None:
            return None
        name = credentials.username if isinstance(credentials, BasicCredentials) else f"token:{credentials.public_id}"
        wait = max(self.throttle.retry_after(client, name), self.client_throttle.retry_after(client, ""))
        if wait > 0:
            raise Throttled(wait)
        if isinstance(credentials, BasicCredentials):
            user = self.check_password(credentials.username, credentials.password)
            identity = None if user is None else Identity(user, "basic")
        else:
            identity = self._check_token(credentials)
        if identity is None:
            self.throttle.failed(client, name)
            self.client_throttle.failed(client, "")
            _logger.info("Refused the credentials of '%s' from %s.", name[:80], client or "an unknown client")
        return identity

    def check_password(self, username: str, password: str) -> User | None:
        """The user if ``password`` is theirs; the same work is done for an unknown user."""
        user = self.store.get_user(username)
        key = self.cache.key("basic", username, password)
        if user is not None and self.cache.matches(key, user.password_hash):
            return user
        if not self.hasher.verify(user.password_hash if user else None, password):
            return None
        assert user is not None
        if self.hasher.needs_rehash(user.password_hash):
            self.store.update_user(username, password_hash=self.hasher.hash(password))
            user = self.store.require_user(username)
        self.cache.remember(key, user.password_hash)
        return user

    def _check_token(self, parts: TokenParts) -> Identity | None:
        found = self.store.token_with_user(parts.public_id)
        key = self.cache.key("token", parts.public_id, parts.secret)
        if found is not None and self.cache.matches(key, found[0].token_hash):
            token, user = found
        else:
            if not self.hasher.verify(found[0].token_hash if found else None, parts.secret):
                return None
            assert found is not None
            token, user = found
            self.cache.remember(key, token.token_hash)
        if token.expires_at is not None and token.expires_at <= int(time.time() * 1000):
            return None
        return Identity(user, "token")

    # -- permissions
    def permission(self, identity: Identity, resource_type: str, resource_id: str | None) -> Permission:
        """The caller's permission on a resource (None: one that does not exist).

        MANAGE for admins; else what the grants that apply allow (their own grant, their
        roles' grants on it or on all resources of its type, a role's MANAGE on the
        workspace; see :func:`~mlcask.server.auth.permissions.combine`); else the default.
        """
        if identity.is_admin:
            return MANAGE
        return combine(self.store.applicable_grants(resource_type, resource_id, identity.user.id),
                       self.default_permission)

    def user_permission(self, user: User, resource_type: str, resource_id: str) -> Permission:
        return self.permission(Identity(user, "basic"), resource_type, resource_id)

    def experiment_of_run(self, run_id: str) -> str | None:
        """The experiment of a run, or None when there is no such run."""
        cached = self._run_experiments.get(run_id)
        if cached is not None or not _ID.fullmatch(run_id):
            return cached
        try:
            experiment_id = str(self._tracking().get_run(run_id).info.experiment_id)
        except MlcaskException:
            return None
        self._run_experiments.put(run_id, experiment_id)
        return experiment_id

    def experiment_of_logged_model(self, model_id: str) -> str | None:
        cached = self._model_experiments.get(model_id)
        if cached is not None or not _ID.fullmatch(model_id):
            return cached
        try:
            experiment_id = str(self._tracking().get_logged_model(model_id, allow_deleted=True).experiment_id)
        except MlcaskException:
            return None
        self._model_experiments.put(model_id, experiment_id)
        return experiment_id

    def experiment_id_by_name(self, name: str) -> str | None:
        try:
            experiment = self._tracking().get_experiment_by_name(name)
        except MlcaskException:
            return None
        return None if experiment is None else str(experiment.experiment_id)

    def _tracking(self) -> Any:
        if self.tracking_store is None:
            raise MlcaskException("This server has no tracking store (--artifacts-only).", "RESOURCE_DOES_NOT_EXIST")
        return self.tracking_store
