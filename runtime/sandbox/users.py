"""Users of the export as the sandbox authorises them: authorities from their user roles (and any
``authorities`` given directly), user groups from both sides of the membership, org units."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dhispatch.errors import DhispatchError


class MetadataError(DhispatchError):
    """The export cannot be loaded (not an object, objects without ids, a malformed date, ...);
    ``runtime.sandbox.metadata`` re-exports it, where the error tree names it."""


@dataclass(frozen=True, slots=True)
class User:
    """A user as the sandbox authorises it."""

    id: str
    username: str
    authorities: frozenset[str]
    org_units: tuple[str, ...]
    first_name: str = ""
    surname: str = ""
    roles: tuple[str, ...] = ()
    groups: frozenset[str] = frozenset()

    @property
    def is_super(self) -> bool:
        """``User.isSuper``: a role (or the user) holds ``ALL``."""
        return "ALL" in self.authorities

    def has(self, authority: str) -> bool:
        """``User.isAuthorized``: ``ALL`` implies every authority."""
        return self.is_super or authority in self.authorities


def _ids(refs: Any) -> list[str]:
    return [r["id"] for r in refs or [] if isinstance(r, Mapping) and isinstance(r.get("id"), str)]


def load_users(
    users: Mapping[str, dict[str, Any]],
    roles: Mapping[str, dict[str, Any]],
    groups: Mapping[str, dict[str, Any]],
) -> dict[str, User]:
    """Users by username; fills each exported user object's ``authorities``, ``userRoles``,
    ``userGroups`` and ``username`` so metadata reads show what the sandbox enforces."""
    members: dict[str, set[str]] = {}
    for group in groups.values():
        for uid in _ids(group.get("users")):
            members.setdefault(uid, set()).add(group["id"])
    out: dict[str, User] = {}
    for user in users.values():
        creds = user.get("userCredentials") or {}
        username = user.get("username") or creds.get("username")
        if not isinstance(username, str):
            raise MetadataError(f"user {user['id']} has no username")
        role_ids = tuple(dict.fromkeys(_ids(user.get("userRoles")) + _ids(creds.get("userRoles"))))
        auths = {a for a in user.get("authorities", []) if isinstance(a, str)}
        for rid in role_ids:
            auths |= {a for a in roles.get(rid, {}).get("authorities", []) if isinstance(a, str)}
        group_ids = frozenset(_ids(user.get("userGroups"))) | members.get(user["id"], set())
        full_name = f"{user.get('firstName', '')} {user.get('surname', '')}".strip()
        user.update(
            username=username,
            authorities=sorted(auths),
            userRoles=[{"id": r} for r in role_ids],
            userGroups=[{"id": g} for g in sorted(group_ids)],
        )
        user.setdefault("name", full_name or username)
        out[username] = User(
            id=user["id"],
            username=username,
            authorities=frozenset(auths),
            org_units=tuple(_ids(user.get("organisationUnits"))),
            first_name=str(user.get("firstName", "")),
            surname=str(user.get("surname", "")),
            roles=role_ids,
            groups=group_ids,
        )
    return out
