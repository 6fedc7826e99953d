"""Data sharing of an exported object, from the 2.36+ ``sharing`` object or the older
``publicAccess``/``userAccesses``/``userGroupAccesses``, and who may write data through it.

Access strings are DHIS2's eight characters ``rwrw----``: metadata read/write, then data
read/write (``AccessStringHelper``); data write is the fourth. An object whose export carries no
sharing at all gets DHIS2's default, ``--------``: no public data write (``AclService``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

NO_ACCESS = "--------"
DATA_WRITE = 3  # index of the data-write flag in an access string


def _writes(access: str) -> bool:
    return len(access) > DATA_WRITE and access[DATA_WRITE] == "w"


@dataclass(frozen=True, slots=True)
class Sharing:
    """Public access plus per-user and per-group access strings (by uid)."""

    public: str = NO_ACCESS
    users: Mapping[str, str] = field(default_factory=dict)
    groups: Mapping[str, str] = field(default_factory=dict)
    owner: str | None = None

    def data_write(self, user_id: str, group_ids: frozenset[str]) -> bool:
        """``checkSharingPermission(DATA_WRITE)``: public, one of the user's groups, or the user."""
        if _writes(self.public):
            return True
        if any(_writes(a) for g, a in self.groups.items() if g in group_ids):
            return True
        return _writes(self.users.get(user_id, ""))

    def to_json(self) -> dict[str, Any]:
        """The object's sharing as 2.36+ serves it (``sharing``) and the older fields beside it."""
        return {
            "publicAccess": self.public,
            "userAccesses": [{"id": u, "userUid": u, "access": a} for u, a in self.users.items()],
            "userGroupAccesses": [
                {"id": g, "userGroupUid": g, "access": a} for g, a in self.groups.items()
            ],
            "sharing": {
                "owner": self.owner,
                "external": False,
                "public": self.public,
                "users": {u: {"id": u, "access": a} for u, a in self.users.items()},
                "userGroups": {g: {"id": g, "access": a} for g, a in self.groups.items()},
            },
        }


def _entries(raw: Any, *id_keys: str) -> dict[str, str]:
    """``{uid: {id, access}}`` maps and ``[{id|userUid|userGroupUid, access}]`` lists alike."""
    items = raw.values() if isinstance(raw, Mapping) else raw if isinstance(raw, list) else []
    out: dict[str, str] = {}
    for item in items:
        if not isinstance(item, Mapping):
            continue
        ident = next((item[k] for k in id_keys if isinstance(item.get(k), str)), None)
        nested = item.get("user") or item.get("userGroup")
        if ident is None and isinstance(nested, Mapping) and isinstance(nested.get("id"), str):
            ident = nested["id"]
        if ident is not None and isinstance(item.get("access"), str):
            out[ident] = item["access"]
    return out


def parse_sharing(obj: Mapping[str, Any]) -> Sharing | None:
    """The sharing an exported object carries, or None when it carries none.

    Both forms are read and merged (an export may hold either or both): ``sharing.public`` wins
    over ``publicAccess`` when both are given, user and group entries are united.
    """
    modern = obj.get("sharing")
    modern = modern if isinstance(modern, Mapping) else {}
    has_legacy = any(k in obj for k in ("publicAccess", "userAccesses", "userGroupAccesses"))
    if not modern and not has_legacy:
        return None
    public = modern.get("public") or obj.get("publicAccess") or NO_ACCESS
    users = _entries(obj.get("userAccesses"), "id", "userUid")
    users.update(_entries(modern.get("users"), "id", "userUid"))
    groups = _entries(obj.get("userGroupAccesses"), "id", "userGroupUid")
    groups.update(_entries(modern.get("userGroups"), "id", "userGroupUid"))
    owner = modern.get("owner")
    return Sharing(str(public), users, groups, owner if isinstance(owner, str) else None)
