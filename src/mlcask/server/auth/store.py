"""The users, tokens and permission grants of the basic-auth app, in their own database.

``MLCASK_AUTH_DATABASE_URI`` (default ``sqlite:///basic_auth.db``) holds four
``mlcask_auth_*`` tables and nothing else of mlcask's; the names are prefixed, so even a
URI that points at the tracking database cannot collide with its tables.

The schema is created with ``create_all`` and numbered in ``mlcask_auth_schema``
rather than with Alembic: the tracking store's Alembic chain owns the tracking database
(and refuses databases that are not at its revisions), while this is a separate
database with one small schema. The version row lets a later mlcask migrate it, and a
database written by a newer mlcask is refused instead of being used half-understood.
"""

from __future__ import annotations

import os
import time
import weakref
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from mlcask.exceptions import RESOURCE_ALREADY_EXISTS, RESOURCE_DOES_NOT_EXIST, MlcaskException
from mlcask.tracking.paging import now_ms
from mlcask.tracking.store.db import create_engine
from mlcask.utils.redaction import redact_uri

__all__ = ["AuthStore", "GrantRow", "Role", "RoleGrant", "TokenRow", "User"]

SCHEMA_VERSION = 1
RESOURCE_TYPES = ("experiment", "registered_model")

_metadata = sa.MetaData()
_schema = sa.Table("mlcask_auth_schema", _metadata, sa.Column("version", sa.Integer, nullable=False))
_users = sa.Table(
    "mlcask_auth_users", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(255), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
)
_tokens = sa.Table(
    "mlcask_auth_tokens", _metadata,
    sa.Column("public_id", sa.String(16), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("mlcask_auth_users.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("token_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=True),
)
_grants = sa.Table(
    "mlcask_auth_permissions", _metadata,
    sa.Column("resource_type", sa.String(32), primary_key=True),
    sa.Column("resource_id", sa.String(512), primary_key=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("mlcask_auth_users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("permission", sa.String(32), nullable=False),
)
_roles = sa.Table(
    "mlcask_auth_roles", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("workspace", sa.String(255), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("description", sa.String(4096), nullable=True),
    sa.UniqueConstraint("workspace", "name", name="mlcask_auth_roles_name"),
)
_role_grants = sa.Table(
    "mlcask_auth_role_permissions", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("role_id", sa.Integer, sa.ForeignKey("mlcask_auth_roles.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("resource_type", sa.String(32), nullable=False),
    sa.Column("resource_pattern", sa.String(512), nullable=False),
    sa.Column("permission", sa.String(32), nullable=False),
    sa.UniqueConstraint("role_id", "resource_type", "resource_pattern", name="mlcask_auth_role_permissions_key"),
)
_user_roles = sa.Table(
    "mlcask_auth_user_roles", _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("mlcask_auth_users.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("role_id", sa.Integer, sa.ForeignKey("mlcask_auth_roles.id", ondelete="CASCADE"), nullable=False),
    sa.UniqueConstraint("user_id", "role_id", name="mlcask_auth_user_roles_key"),
)
_stores: weakref.WeakSet[AuthStore] = weakref.WeakSet()
# Statements run on every request, built once (SQLAlchemy then reuses their compiled form).
_USER_BY_NAME = sa.select(_users).where(_users.c.username == sa.bindparam("username"))
_GRANT = sa.select(_grants.c.permission).where(
    (_grants.c.resource_type == sa.bindparam("resource_type")) & (_grants.c.resource_id == sa.bindparam("resource_id"))
    & (_grants.c.user_id == sa.bindparam("user_id")))
#: A user's role grants that apply to one resource: on it, on every resource of its type ("*"), or
#: MANAGE on the whole workspace.
_ROLE_GRANTS = sa.select(_role_grants.c.permission).join(
    _user_roles, _user_roles.c.role_id == _role_grants.c.role_id).where(
    (_user_roles.c.user_id == sa.bindparam("user_id")) & (
        ((_role_grants.c.resource_type == sa.bindparam("resource_type"))
         & _role_grants.c.resource_pattern.in_([sa.bindparam("resource_id"), "*"]))
        | ((_role_grants.c.resource_type == "workspace") & (_role_grants.c.permission == "MANAGE"))))


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    password_hash: str
    is_admin: bool

    def to_json(self) -> dict[str, Any]:
        """MLflow's ``user`` message (no password hash)."""
        return {"id": self.id, "username": self.username, "is_admin": self.is_admin}


@dataclass(frozen=True, slots=True)
class TokenRow:
    public_id: str
    user_id: int
    name: str
    token_hash: str
    created_at: int
    expires_at: int | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.public_id, "name": self.name, "created_at": self.created_at,
                "expires_at": self.expires_at}


@dataclass(frozen=True, slots=True)
class GrantRow:
    resource_type: str
    resource_id: str
    user_id: int
    permission: str


def _after_fork() -> None:
    for store in list(_stores):
        store.engine.dispose(close=False)


os.register_at_fork(after_in_child=_after_fork)


@dataclass(frozen=True, slots=True)
class RoleGrant:
    id: int
    role_id: int
    resource_type: str
    resource_pattern: str
    permission: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "role_id": self.role_id, "resource_type": self.resource_type,
                "resource_pattern": self.resource_pattern, "permission": self.permission}


@dataclass(frozen=True, slots=True)
class Role:
    id: int
    workspace: str
    name: str
    description: str | None
    permissions: tuple[RoleGrant, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "workspace": self.workspace, "description": self.description,
                "permissions": [p.to_json() for p in self.permissions]}


class RolesMixin:
    """Roles: named sets of grants (a resource id or "*" per type) assigned to users."""

    engine: sa.Engine

    def _roles(self, connection: sa.Connection, condition: Any) -> list[Role]:
        rows = connection.execute(sa.select(_roles).where(condition).order_by(_roles.c.id)).all()
        grants: dict[int, list[RoleGrant]] = {}
        if rows:
            for g in connection.execute(sa.select(_role_grants).where(
                    _role_grants.c.role_id.in_([r.id for r in rows])).order_by(_role_grants.c.id)):
                grants.setdefault(g.role_id, []).append(
                    RoleGrant(g.id, g.role_id, g.resource_type, g.resource_pattern, g.permission))
        return [Role(r.id, r.workspace, r.name, r.description, tuple(grants.get(r.id, ()))) for r in rows]

    def create_role(self, workspace: str, name: str, description: str | None) -> Role:
        try:
            with self.engine.begin() as connection:
                role_id = connection.execute(_roles.insert().values(
                    workspace=workspace, name=name, description=description)).inserted_primary_key[0]
        except sa.exc.IntegrityError:
            raise MlcaskException(f"Role (workspace={workspace}, name={name}) already exists.",
                                  RESOURCE_ALREADY_EXISTS) from None
        return self.get_role(role_id)

    def get_role(self, role_id: int) -> Role:
        with self.engine.connect() as connection:
            found = self._roles(connection, _roles.c.id == role_id)
        if not found:
            raise MlcaskException(f"Role with id={role_id} not found.", RESOURCE_DOES_NOT_EXIST)
        return found[0]

    def list_roles(self, workspaces: list[str] | None = None) -> list[Role]:
        with self.engine.connect() as connection:
            return self._roles(connection, sa.true() if not workspaces else _roles.c.workspace.in_(workspaces))

    def update_role(self, role_id: int, name: str | None, description: str | None) -> Role:
        values = {key: value for key, value in (("name", name), ("description", description)) if value is not None}
        self.get_role(role_id)
        try:
            with self.engine.begin() as connection:
                connection.execute(_roles.update().where(_roles.c.id == role_id).values(**values))
        except sa.exc.IntegrityError:
            raise MlcaskException(f"A role named {name!r} already exists in its workspace.",
                                  RESOURCE_ALREADY_EXISTS) from None
        return self.get_role(role_id)

    def delete_role(self, role_id: int) -> None:
        self.get_role(role_id)
        with self.engine.begin() as connection:
            connection.execute(_user_roles.delete().where(_user_roles.c.role_id == role_id))
            connection.execute(_role_grants.delete().where(_role_grants.c.role_id == role_id))
            connection.execute(_roles.delete().where(_roles.c.id == role_id))

    def add_role_grant(self, role_id: int, resource_type: str, pattern: str, permission: str) -> RoleGrant:
        self.get_role(role_id)
        try:
            with self.engine.begin() as connection:
                grant_id = connection.execute(_role_grants.insert().values(
                    role_id=role_id, resource_type=resource_type, resource_pattern=pattern,
                    permission=permission)).inserted_primary_key[0]
        except sa.exc.IntegrityError:
            raise MlcaskException(f"Role {role_id} already has a permission on {resource_type} {pattern!r}.",
                                  RESOURCE_ALREADY_EXISTS) from None
        return RoleGrant(grant_id, role_id, resource_type, pattern, permission)

    def role_grant(self, grant_id: int) -> RoleGrant:
        with self.engine.connect() as connection:
            g = connection.execute(sa.select(_role_grants).where(_role_grants.c.id == grant_id)).first()
        if g is None:
            raise MlcaskException(f"Role permission with id={grant_id} not found.", RESOURCE_DOES_NOT_EXIST)
        return RoleGrant(g.id, g.role_id, g.resource_type, g.resource_pattern, g.permission)

    def update_role_grant(self, grant_id: int, permission: str) -> RoleGrant:
        self.role_grant(grant_id)
        with self.engine.begin() as connection:
            connection.execute(_role_grants.update().where(_role_grants.c.id == grant_id).values(permission=permission))
        return self.role_grant(grant_id)

    def remove_role_grant(self, grant_id: int) -> None:
        self.role_grant(grant_id)
        with self.engine.begin() as connection:
            connection.execute(_role_grants.delete().where(_role_grants.c.id == grant_id))

    def assign_role(self, user_id: int, role_id: int) -> dict[str, int]:
        self.get_role(role_id)
        try:
            with self.engine.begin() as connection:
                assignment_id = connection.execute(_user_roles.insert().values(
                    user_id=user_id, role_id=role_id)).inserted_primary_key[0]
        except sa.exc.IntegrityError:
            raise MlcaskException(f"User id {user_id} already has role {role_id}.", RESOURCE_ALREADY_EXISTS) from None
        return {"id": assignment_id, "user_id": user_id, "role_id": role_id}

    def unassign_role(self, user_id: int, role_id: int) -> None:
        with self.engine.begin() as connection:
            done = connection.execute(_user_roles.delete().where(
                (_user_roles.c.user_id == user_id) & (_user_roles.c.role_id == role_id)))
        if done.rowcount == 0:
            raise MlcaskException(f"User id {user_id} does not have role {role_id}.", RESOURCE_DOES_NOT_EXIST)

    def user_roles(self, user_id: int) -> list[Role]:
        role_ids = sa.select(_user_roles.c.role_id).where(_user_roles.c.user_id == user_id)
        with self.engine.connect() as connection:
            return self._roles(connection, _roles.c.id.in_(role_ids))

    def role_users(self, role_id: int) -> list[dict[str, int]]:
        self.get_role(role_id)
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(_user_roles).where(_user_roles.c.role_id == role_id)
                                      .order_by(_user_roles.c.id)).all()
        return [{"id": r.id, "user_id": r.user_id, "role_id": r.role_id} for r in rows]


class AuthStore(RolesMixin):
    """The auth database: users, tokens and per-user grants on experiments and registered models."""

    def __init__(self, uri: str) -> None:
        try:
            self.engine = create_engine(uri)
            try:
                self._init_schema()
            except sa.exc.SQLAlchemyError:  # workers starting at once: another one created the tables first
                time.sleep(0.2)
                self._init_schema()
        except sa.exc.SQLAlchemyError as error:
            raise MlcaskException(f"The auth database {redact_uri(uri)} cannot be opened: {error}") from None
        _stores.add(self)

    def _init_schema(self) -> None:
        with self.engine.begin() as connection:
            _metadata.create_all(connection, checkfirst=True)
            version = connection.execute(sa.select(sa.func.max(_schema.c.version))).scalar()
            if version is None:
                connection.execute(_schema.insert().values(version=SCHEMA_VERSION))
            elif version > SCHEMA_VERSION:
                raise MlcaskException(
                    f"The auth database is at schema version {version}, written by a newer mlcask; this "
                    f"mlcask knows version {SCHEMA_VERSION}. Upgrade mlcask, or point "
                    "MLCASK_AUTH_DATABASE_URI at another database.")

    # -- users
    def create_user(self, username: str, password_hash: str, is_admin: bool = False) -> User:
        try:
            with self.engine.begin() as connection:
                connection.execute(_users.insert().values(
                    username=username, password_hash=password_hash, is_admin=is_admin, created_at=now_ms()))
        except sa.exc.IntegrityError:
            raise MlcaskException(f"User (username={username}) already exists.", RESOURCE_ALREADY_EXISTS) from None
        user = self.get_user(username)
        assert user is not None
        return user

    def get_user(self, username: str) -> User | None:
        with self.engine.connect() as connection:
            row = connection.execute(_USER_BY_NAME, {"username": username}).first()
        return None if row is None else User(row.id, row.username, row.password_hash, bool(row.is_admin))

    def require_user(self, username: str) -> User:
        user = self.get_user(username)
        if user is None:
            raise MlcaskException(f"User with username={username} not found.", RESOURCE_DOES_NOT_EXIST)
        return user

    def list_users(self) -> list[User]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(_users).order_by(_users.c.id)).all()
        return [User(r.id, r.username, r.password_hash, bool(r.is_admin)) for r in rows]

    def update_user(self, username: str, *, password_hash: str | None = None, is_admin: bool | None = None) -> None:
        values: dict[str, Any] = {}
        if password_hash is not None:
            values["password_hash"] = password_hash
        if is_admin is not None:
            values["is_admin"] = is_admin
        with self.engine.begin() as connection:
            if is_admin is False and self._is_last_admin(connection, username):
                raise MlcaskException(f"User '{username}' is the only admin; make another user an admin first.",
                                      "INVALID_PARAMETER_VALUE")
            done = connection.execute(_users.update().where(_users.c.username == username).values(**values))
        if done.rowcount == 0:
            raise MlcaskException(f"User with username={username} not found.", RESOURCE_DOES_NOT_EXIST)

    def _is_last_admin(self, connection: sa.Connection, username: str) -> bool:
        admins = connection.execute(sa.select(_users.c.username).where(_users.c.is_admin.is_(True))).scalars().all()
        return list(admins) == [username]

    def delete_user(self, username: str) -> None:
        with self.engine.begin() as connection:
            user_id = connection.execute(sa.select(_users.c.id).where(_users.c.username == username)).scalar()
            if user_id is None:
                raise MlcaskException(f"User with username={username} not found.", RESOURCE_DOES_NOT_EXIST)
            if self._is_last_admin(connection, username):
                raise MlcaskException(f"User '{username}' is the only admin and cannot be deleted.",
                                      "INVALID_PARAMETER_VALUE")
            connection.execute(_grants.delete().where(_grants.c.user_id == user_id))
            connection.execute(_user_roles.delete().where(_user_roles.c.user_id == user_id))
            connection.execute(_tokens.delete().where(_tokens.c.user_id == user_id))
            connection.execute(_users.delete().where(_users.c.id == user_id))

    # -- tokens
    def create_token(self, user_id: int, public_id: str, name: str, token_hash: str,
                     expires_at: int | None) -> TokenRow:
        row = TokenRow(public_id, user_id, name, token_hash, now_ms(), expires_at)
        with self.engine.begin() as connection:
            connection.execute(_tokens.insert().values(
                public_id=public_id, user_id=user_id, name=name, token_hash=token_hash,
                created_at=row.created_at, expires_at=expires_at))
        return row

    def token_with_user(self, public_id: str) -> tuple[TokenRow, User] | None:
        query = (sa.select(_tokens, _users.c.username, _users.c.password_hash, _users.c.is_admin)
                 .join(_users, _users.c.id == _tokens.c.user_id).where(_tokens.c.public_id == public_id))
        with self.engine.connect() as connection:
            row = connection.execute(query).first()
        if row is None:
            return None
        token = TokenRow(row.public_id, row.user_id, row.name, row.token_hash, row.created_at, row.expires_at)
        return token, User(row.user_id, row.username, row.password_hash, bool(row.is_admin))

    def list_tokens(self, user_id: int) -> list[TokenRow]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(_tokens).where(_tokens.c.user_id == user_id)
                                      .order_by(_tokens.c.created_at)).all()
        return [TokenRow(r.public_id, r.user_id, r.name, r.token_hash, r.created_at, r.expires_at) for r in rows]

    def delete_token(self, public_id: str, user_id: int | None) -> bool:
        """Delete a token (only ``user_id``'s, unless None); whether one was deleted."""
        condition = _tokens.c.public_id == public_id
        if user_id is not None:
            condition = condition & (_tokens.c.user_id == user_id)
        with self.engine.begin() as connection:
            return connection.execute(_tokens.delete().where(condition)).rowcount > 0

    # -- grants
    def get_grant(self, resource_type: str, resource_id: str, user_id: int) -> str | None:
        """The user's own grant on one resource (not their roles')."""
        with self.engine.connect() as connection:
            return connection.execute(_GRANT, {"resource_type": resource_type, "resource_id": resource_id,
                                               "user_id": user_id}).scalar()

    def applicable_grants(self, resource_type: str, resource_id: str | None, user_id: int) -> list[str]:
        """Every grant that applies to the user on a resource: their own, and their roles' (None: an unknown one)."""
        values = {"resource_type": resource_type, "resource_id": resource_id or "*", "user_id": user_id}
        with self.engine.connect() as connection:
            found = list(connection.execute(_ROLE_GRANTS, values).scalars())
            if resource_id is not None:
                own = connection.execute(_GRANT, values).scalar()
                if own is not None:
                    found.append(own)
        return found

    def set_grant(self, resource_type: str, resource_id: str, user_id: int, permission: str,
                  *, mode: str = "upsert") -> None:
        """Grant ``permission``; ``mode`` is ``create`` (refuse an existing grant), ``update`` (refuse a missing one) or ``upsert``."""
        key = ((_grants.c.resource_type == resource_type) & (_grants.c.resource_id == resource_id)
               & (_grants.c.user_id == user_id))
        exists_error = MlcaskException(f"A {resource_type} permission for resource {resource_id!r} and user id "
                                       f"{user_id} already exists.", RESOURCE_ALREADY_EXISTS)
        with self.engine.begin() as connection:
            exists = connection.execute(sa.select(_grants.c.permission).where(key)).first() is not None
            if exists and mode == "create":
                raise exists_error
            if not exists and mode == "update":
                raise MlcaskException(f"No {resource_type} permission for resource {resource_id!r} and user id "
                                      f"{user_id}.", RESOURCE_DOES_NOT_EXIST)
            if exists:
                connection.execute(_grants.update().where(key).values(permission=permission))
                return
        try:
            with self.engine.begin() as connection:
                connection.execute(_grants.insert().values(resource_type=resource_type, resource_id=resource_id,
                                                           user_id=user_id, permission=permission))
        except sa.exc.IntegrityError:  # granted meanwhile by another process (or the user was just deleted)
            if mode == "create":
                raise exists_error from None
            with self.engine.begin() as connection:
                connection.execute(_grants.update().where(key).values(permission=permission))

    def delete_grant(self, resource_type: str, resource_id: str, user_id: int) -> bool:
        key = ((_grants.c.resource_type == resource_type) & (_grants.c.resource_id == resource_id)
               & (_grants.c.user_id == user_id))
        with self.engine.begin() as connection:
            return connection.execute(_grants.delete().where(key)).rowcount > 0

    def delete_resource_grants(self, resource_type: str, resource_id: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(_grants.delete().where(
                (_grants.c.resource_type == resource_type) & (_grants.c.resource_id == resource_id)))

    def rename_resource(self, resource_type: str, old_id: str, new_id: str) -> None:
        """Move every grant on ``old_id`` to ``new_id`` (dropping stale grants on ``new_id`` first)."""
        with self.engine.begin() as connection:
            connection.execute(_grants.delete().where(
                (_grants.c.resource_type == resource_type) & (_grants.c.resource_id == new_id)))
            connection.execute(_grants.update().where(
                (_grants.c.resource_type == resource_type) & (_grants.c.resource_id == old_id)).values(
                resource_id=new_id))

    def list_grants(self, user_id: int) -> list[GrantRow]:
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(_grants).where(_grants.c.user_id == user_id)
                                      .order_by(_grants.c.resource_type, _grants.c.resource_id)).all()
        return [GrantRow(r.resource_type, r.resource_id, r.user_id, r.permission) for r in rows]
