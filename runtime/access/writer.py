"""The user a push writes as: authorities, user groups and data capture org units, read from
``/api/me`` or from a user of a metadata export (roles resolved, groups from both sides)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

EDIT_EXPIRED = "F_EDIT_EXPIRED"


@dataclass(frozen=True, slots=True)
class Writer:
    """A DHIS2 user as the write rules see it."""

    id: str
    username: str
    authorities: frozenset[str]
    groups: frozenset[str]
    org_units: frozenset[str]

    @property
    def is_super(self) -> bool:
        """``User.isSuper``: a role (or the user) holds ``ALL``."""
        return "ALL" in self.authorities

    def has(self, authority: str) -> bool:
        """``User.isAuthorized``: ``ALL`` implies every authority."""
        return self.is_super or authority in self.authorities

    def as_json(self) -> dict[str, Any]:
        """The cached form (no secret: ids and authority names only)."""
        return {
            "id": self.id,
            "username": self.username,
            "authorities": sorted(self.authorities),
            "userGroups": [{"id": g} for g in sorted(self.groups)],
            "organisationUnits": [{"id": o} for o in sorted(self.org_units)],
        }


def _ids(refs: Any) -> list[str]:
    items = refs if isinstance(refs, list) else []
    return [r["id"] for r in items if isinstance(r, Mapping) and isinstance(r.get("id"), str)]


def _username(user: Mapping[str, Any]) -> str | None:
    creds = user.get("userCredentials")
    name = user.get("username") or (creds.get("username") if isinstance(creds, Mapping) else None)
    return name if isinstance(name, str) else None


def writer_from_me(body: Mapping[str, Any]) -> Writer:
    """The user of ``/api/me?fields=id,username,userCredentials[username],authorities,
    userGroups[id],organisationUnits[id]`` (also the cached form of ``Writer.as_json``)."""
    return Writer(
        id=str(body.get("id") or ""),
        username=_username(body) or "",
        authorities=frozenset(str(a) for a in body.get("authorities") or () if isinstance(a, str)),
        groups=frozenset(_ids(body.get("userGroups"))),
        org_units=frozenset(_ids(body.get("organisationUnits"))),
    )


def export_usernames(export: Mapping[str, Any]) -> list[str]:
    """Every username of a metadata export, sorted (for "did you mean" and listings)."""
    users = export.get("users")
    found = users if isinstance(users, list) else []
    return sorted(n for u in found if isinstance(u, Mapping) and (n := _username(u)))


def writer_from_export(export: Mapping[str, Any], username: str) -> Writer | None:
    """The export's user ``username`` with the authorities of its user roles (its own
    ``userRoles`` or ``userCredentials.userRoles``, plus any ``authorities`` given directly) and
    its user groups (its own ``userGroups`` and every group listing it); None when absent."""
    users = [u for u in export.get("users") or () if isinstance(u, Mapping)]
    user = next((u for u in users if _username(u) == username), None)
    if user is None or not isinstance(user.get("id"), str):
        return None
    roles = {r["id"]: r for r in export.get("userRoles") or () if _has_id(r)}
    creds = user.get("userCredentials")
    role_ids = _ids(user.get("userRoles")) + _ids(
        creds.get("userRoles") if isinstance(creds, Mapping) else None
    )
    authorities = {a for a in user.get("authorities") or () if isinstance(a, str)}
    for rid in role_ids:
        authorities |= {
            a for a in roles.get(rid, {}).get("authorities") or () if isinstance(a, str)
        }
    groups = set(_ids(user.get("userGroups")))
    for group in export.get("userGroups") or ():
        if _has_id(group) and user["id"] in _ids(group.get("users")):
            groups.add(group["id"])
    return Writer(
        id=user["id"],
        username=username,
        authorities=frozenset(authorities),
        groups=frozenset(groups),
        org_units=frozenset(_ids(user.get("organisationUnits"))),
    )


def _has_id(obj: Any) -> bool:
    return isinstance(obj, Mapping) and isinstance(obj.get("id"), str)
