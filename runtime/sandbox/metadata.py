"""The loaded metadata export: lookups by id scheme, data set membership, user hierarchy.

Exports name references as ``{"id": ...}``; the index keeps the export's objects as they are and
adds what DHIS2 computes (org unit ``path``/``level``/``children``/``dataSets``, a combo's option
combos), so metadata reads can expand nested fields the way the real API does.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from dhispatch.errors import DhispatchError

UID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]{10}$")

# Collections the sandbox serves, and which collection a reference property points into.
COLLECTIONS = (
    "dataSets",
    "dataElements",
    "categoryCombos",
    "categoryOptionCombos",
    "organisationUnits",
    "users",
)
REFERENCES: dict[str, str] = {
    "dataSet": "dataSets",
    "dataSets": "dataSets",
    "dataElement": "dataElements",
    "dataElements": "dataElements",
    "categoryCombo": "categoryCombos",
    "categoryOptionCombos": "categoryOptionCombos",
    "categoryOptionCombo": "categoryOptionCombos",
    "organisationUnits": "organisationUnits",
    "organisationUnit": "organisationUnits",
    "parent": "organisationUnits",
    "children": "organisationUnits",
    "dataViewOrganisationUnits": "organisationUnits",
}
SINGULAR = {
    "dataSets": "DataSet",
    "dataElements": "DataElement",
    "categoryCombos": "CategoryCombo",
    "categoryOptionCombos": "CategoryOptionCombo",
    "organisationUnits": "OrganisationUnit",
    "users": "User",
}


class MetadataError(DhispatchError):
    """The export cannot be loaded (not an object, objects without ids, ...)."""


@dataclass(frozen=True, slots=True)
class User:
    """A user as the sandbox authorises it."""

    id: str
    username: str
    authorities: frozenset[str]
    org_units: tuple[str, ...]
    first_name: str = ""
    surname: str = ""

    @property
    def is_super(self) -> bool:
        return "ALL" in self.authorities

    def has(self, authority: str) -> bool:
        return self.is_super or authority in self.authorities


@dataclass
class MetadataIndex:
    """Objects by collection and uid, plus the lookups import validation needs."""

    objects: dict[str, dict[str, dict[str, Any]]]
    users: dict[str, User] = field(default_factory=dict)  # by username
    _by_key: dict[tuple[str, str, str], str] = field(default_factory=dict)

    @classmethod
    def load(cls, export: dict[str, Any]) -> MetadataIndex:
        if not isinstance(export, dict):
            raise MetadataError("a metadata export is a JSON object with collections")
        objects: dict[str, dict[str, dict[str, Any]]] = {}
        for name in COLLECTIONS:
            items = export.get(name, [])
            if not isinstance(items, list):
                raise MetadataError(f"{name!r} must be a list")
            coll: dict[str, dict[str, Any]] = {}
            for item in items:
                if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                    raise MetadataError(f"every object in {name!r} needs a string 'id'")
                coll[item["id"]] = copy.deepcopy(item)
            objects[name] = coll
        index = cls(objects)
        index._derive(export)
        return index

    def _derive(self, export: dict[str, Any]) -> None:
        ous = self.objects["organisationUnits"]
        for ou in ous.values():
            ou.setdefault("name", ou.get("code", ou["id"]))
            ou["children"] = []
            ou["dataSets"] = []
        for ou in ous.values():
            parent = (ou.get("parent") or {}).get("id")
            if parent in ous:
                ous[parent]["children"].append({"id": ou["id"]})
        for ou in ous.values():
            chain = [ou["id"]]
            seen = {ou["id"]}
            cur = ou
            while (pid := (cur.get("parent") or {}).get("id")) in ous and pid not in seen:
                chain.append(pid)
                seen.add(pid)
                cur = ous[pid]
            ou["path"] = "/" + "/".join(reversed(chain))
            ou["level"] = len(chain)
        cocs = self.objects["categoryOptionCombos"]
        for combo in self.objects["categoryCombos"].values():
            ids = [c["id"] for c in combo.get("categoryOptionCombos", []) if c.get("id") in cocs]
            ids += [
                coc["id"]
                for coc in cocs.values()
                if (coc.get("categoryCombo") or {}).get("id") == combo["id"]
                and coc["id"] not in ids
            ]
            combo["categoryOptionCombos"] = [{"id": i} for i in ids]
            for i in ids:
                cocs[i].setdefault("categoryCombo", {"id": combo["id"]})
        for ds in self.objects["dataSets"].values():
            ds.setdefault("openFuturePeriods", 0)
            ds.setdefault("expiryDays", 0)
            ds.setdefault("dataSetElements", [])
            ds.setdefault("organisationUnits", [])
            for ref in ds["organisationUnits"]:
                if ref.get("id") in ous:
                    ous[ref["id"]]["dataSets"].append({"id": ds["id"]})
        for name in ("dataSets", "dataElements", "categoryOptionCombos", "organisationUnits"):
            for obj in self.objects[name].values():
                obj.setdefault("name", obj.get("code") or obj["id"])
                for scheme in ("code", "name"):
                    if isinstance(obj.get(scheme), str):
                        self._by_key.setdefault((name, scheme, obj[scheme]), obj["id"])
        roles = {r["id"]: r for r in export.get("userRoles", []) if isinstance(r, dict)}
        for user in self.objects["users"].values():
            creds = user.get("userCredentials") or {}
            username = user.get("username") or creds.get("username")
            if not isinstance(username, str):
                raise MetadataError(f"user {user['id']} has no username")
            user["username"] = username
            full_name = f"{user.get('firstName', '')} {user.get('surname', '')}".strip()
            user.setdefault("name", full_name or username)
            auths = set(user.get("authorities", []))
            for ref in [*user.get("userRoles", []), *creds.get("userRoles", [])]:
                auths |= set(roles.get(ref.get("id"), {}).get("authorities", []))
            user["authorities"] = sorted(auths)
            self.users[username] = User(
                id=user["id"],
                username=username,
                authorities=frozenset(auths),
                org_units=tuple(r["id"] for r in user.get("organisationUnits", [])),
                first_name=user.get("firstName", ""),
                surname=user.get("surname", ""),
            )

    # -- lookups ---------------------------------------------------------------------------
    def get(self, collection: str, uid: str) -> dict[str, Any] | None:
        return self.objects[collection].get(uid)

    def resolve(self, collection: str, ident: str, scheme: str) -> str | None:
        """The uid an identifier names under an id scheme (UID, CODE, NAME), or None."""
        scheme = scheme.upper()
        if scheme in ("UID", "ID"):
            return ident if ident in self.objects[collection] else None
        key = "code" if scheme == "CODE" else "name" if scheme == "NAME" else None
        if key is None:
            return None  # ATTRIBUTE:<uid> schemes: no attribute values in sandbox exports
        return self._by_key.get((collection, key, ident))

    def data_set_elements(self, ds_uid: str) -> dict[str, str | None]:
        """Data element uid -> the data set's category combo override (None: the DE's own)."""
        ds = self.objects["dataSets"][ds_uid]
        return {
            dse["dataElement"]["id"]: (dse.get("categoryCombo") or {}).get("id")
            for dse in ds["dataSetElements"]
            if isinstance(dse.get("dataElement"), dict)
        }

    def data_sets_of_element(self, de_uid: str) -> list[str]:
        return [ds for ds in self.objects["dataSets"] if de_uid in self.data_set_elements(ds)]

    def combo_cocs(self, combo_uid: str | None) -> set[str]:
        combo = self.objects["categoryCombos"].get(combo_uid or "")
        return {c["id"] for c in combo["categoryOptionCombos"]} if combo else set()

    def default_coc(self) -> str | None:
        for coc in self.objects["categoryOptionCombos"].values():
            if coc.get("name") == "default" or coc.get("code") == "default":
                return str(coc["id"])
        return None

    def is_descendant(self, ou_uid: str, ancestors: tuple[str, ...]) -> bool:
        """Is the org unit one of, or below one of, the given org units?"""
        ou = self.objects["organisationUnits"].get(ou_uid)
        if ou is None:
            return False
        parts = set(ou["path"].strip("/").split("/"))
        return any(a in parts for a in ancestors)

    def descendants(self, ou_uid: str) -> list[str]:
        prefix = self.objects["organisationUnits"][ou_uid]["path"]
        return [
            uid
            for uid, ou in self.objects["organisationUnits"].items()
            if ou["path"] == prefix or ou["path"].startswith(prefix + "/")
        ]

    def can_write_data(self, user: User, ds_uid: str) -> bool:
        """Data write sharing: superusers always; others via publicAccess/userAccesses."""
        if user.is_super:
            return True
        ds = self.objects["dataSets"][ds_uid]
        public = ds.get("publicAccess") or (ds.get("sharing") or {}).get("public") or "rwrw----"
        if len(public) >= 4 and public[3] == "w":
            return True
        for access in ds.get("userAccesses", []):
            if access.get("id") == user.id and len(access.get("access", "")) >= 4:
                return str(access["access"])[3] == "w"
        return False
