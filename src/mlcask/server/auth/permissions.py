"""The permission levels of MLflow's basic-auth app and what each allows.

``READ`` reads, ``USE`` reads (MLflow 3.17's tier for using a resource, the same as READ
for tracking and registry calls), ``EDIT`` also updates, ``MANAGE`` also deletes and
manages the resource's permissions; ``NO_PERMISSIONS`` and ``DENY`` allow nothing.
Grants that apply to a user on a resource (their own, their roles' on it or on every
resource of its type) replace the default permission: a DENY among them wins, else the
highest counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlcask.exceptions import InvalidArgumentError

__all__ = ["ACTIONS", "ALL", "combine", "CONFIGURABLE_DEFAULTS", "GRANTABLE", "MANAGE", "NO_PERMISSIONS", "Permission",
           "READ", "get_permission"]


@dataclass(frozen=True, slots=True)
class Permission:
    """A permission level and the actions it allows."""

    name: str
    can_read: bool
    can_update: bool
    can_manage: bool

    def allows(self, action: str) -> bool:
        """Whether this level allows ``action`` (``read``, ``update``, ``delete`` or ``manage``)."""
        if action == "read":
            return self.can_read
        if action == "update":
            return self.can_update
        if action in ("delete", "manage"):
            return self.can_manage
        raise ValueError(f"unknown action {action!r}")

    @property
    def can_use(self) -> bool:
        """MLflow 3.17's ``allowed`` flag of ``users/permissions/get``: USE and above."""
        return self.name in ("USE", "EDIT", "MANAGE")


READ = Permission("READ", can_read=True, can_update=False, can_manage=False)
USE = Permission("USE", can_read=True, can_update=False, can_manage=False)
EDIT = Permission("EDIT", can_read=True, can_update=True, can_manage=False)
MANAGE = Permission("MANAGE", can_read=True, can_update=True, can_manage=True)
NO_PERMISSIONS = Permission("NO_PERMISSIONS", can_read=False, can_update=False, can_manage=False)
DENY = Permission("DENY", can_read=False, can_update=False, can_manage=False)

ALL = {p.name: p for p in (READ, USE, EDIT, MANAGE, NO_PERMISSIONS, DENY)}
_RANK = {"NO_PERMISSIONS": 0, "READ": 1, "USE": 2, "EDIT": 3, "MANAGE": 4}
#: What ``users/permissions/grant`` and the older ``*/permissions/create`` forms accept.
GRANTABLE = tuple(ALL)
#: What ``MLCASK_AUTH_DEFAULT_PERMISSION`` may be.
CONFIGURABLE_DEFAULTS = ("READ", "USE", "EDIT", "MANAGE", "NO_PERMISSIONS")
ACTIONS = ("read", "update", "delete", "manage")


def combine(granted: list[str], default: Permission) -> Permission:
    """What a set of grants that apply to one resource allows: DENY wins, else the highest; none: the default."""
    if not granted:
        return default
    if "DENY" in granted:
        return DENY
    return ALL[max(granted, key=lambda name: _RANK.get(name, 0))]


def get_permission(name: object, what: str = "permission") -> Permission:
    """The permission called ``name``, or an InvalidArgumentError naming the valid ones."""
    if not isinstance(name, str) or name not in ALL:
        shown = repr(name)[:80]
        raise InvalidArgumentError(f"Invalid {what} {shown}: expected one of {', '.join(GRANTABLE)}.")
    return ALL[name]
