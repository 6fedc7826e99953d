"""The loaded metadata export: lookups by id scheme, data set membership, user hierarchy.

Exports name references as ``{"id": ...}``; the index keeps the export's objects as they are and
adds what DHIS2 computes (org unit ``path``/``level``/``children``/``dataSets``, a combo's option
combos, every data set's and category option's sharing in both JSON forms), so metadata reads can
expand nested fields the way the real API does. Every lookup an import asks per value is built
once here, when the export is loaded.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from dhispatch.runtime.access.sharing import Sharing
from dhispatch.runtime.sandbox.restrictions import Restrictions
from dhispatch.runtime.sandbox.restrictions import load_restrictions
from dhispatch.runtime.sandbox.users import MetadataError
from dhispatch.runtime.sandbox.users import User
from dhispatch.runtime.sandbox.users import load_users

__all__ = ["COLLECTIONS", "REFERENCES", "SINGULAR", "MetadataError", "MetadataIndex", "User"]

UID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9]{10}$")

# Collections the sandbox serves, and which collection a reference property points into.
COLLECTIONS = (
    "dataSets",
    "dataElements",
    "categoryCombos",
    "categories",
    "categoryOptions",
    "categoryOptionCombos",
    "organisationUnits",
    "dataApprovalWorkflows",
    "dataApprovalLevels",
    "users",
    "userRoles",
    "userGroups",
)
REFERENCES: dict[str, str] = {
    "dataSet": "dataSets",
    "dataSets": "dataSets",
    "dataElement": "dataElements",
    "dataElements": "dataElements",
    "categoryCombo": "categoryCombos",
    "categories": "categories",
    "categoryOptions": "categoryOptions",
    "categoryOptionCombos": "categoryOptionCombos",
    "categoryOptionCombo": "categoryOptionCombos",
    "organisationUnits": "organisationUnits",
    "organisationUnit": "organisationUnits",
    "parent": "organisationUnits",
    "children": "organisationUnits",
    "dataViewOrganisationUnits": "organisationUnits",
    "workflow": "dataApprovalWorkflows",
    "dataApprovalLevels": "dataApprovalLevels",
    "userRoles": "userRoles",
    "userGroups": "userGroups",
}
SINGULAR = {
    "dataSets": "DataSet",
    "dataElements": "DataElement",
    "categoryCombos": "CategoryCombo",
    "categories": "Category",
    "categoryOptions": "CategoryOption",
    "categoryOptionCombos": "CategoryOptionCombo",
    "organisationUnits": "OrganisationUnit",
    "dataApprovalWorkflows": "DataApprovalWorkflow",
    "dataApprovalLevels": "DataApprovalLevel",
    "users": "User",
    "userRoles": "UserRole",
    "userGroups": "UserGroup",
}
SHARED = ("dataSets", "categoryOptions")  # the data-shareable collections the sandbox enforces


@dataclass
class MetadataIndex:
    """Objects by collection and uid, plus the lookups import validation needs."""

    objects: dict[str, dict[str, dict[str, Any]]]
    users: dict[str, User] = field(default_factory=dict)  # by username
    rules: Restrictions = field(default_factory=Restrictions)
    _by_key: dict[tuple[str, str, str], str] = field(default_factory=dict)
    _ds_elements: dict[str, dict[str, str | None]] = field(default_factory=dict)
    _element_sets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _ds_units: dict[str, frozenset[str]] = field(default_factory=dict)
    _combo_cocs: dict[str, frozenset[str]] = field(default_factory=dict)
    _ancestry: dict[str, frozenset[str]] = field(default_factory=dict)
    _default_coc: str | None = None

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
        index._derive()
        return index

    def _derive(self) -> None:
        self._derive_org_units()
        self._derive_combos()
        self._derive_data_sets()
        for name in ("dataSets", "dataElements", "categoryOptionCombos", "organisationUnits"):
            for obj in self.objects[name].values():
                obj.setdefault("name", obj.get("code") or obj["id"])
                for scheme in ("code", "name"):
                    if isinstance(obj.get(scheme), str):
                        self._by_key.setdefault((name, scheme, obj[scheme]), obj["id"])
        objs = self.objects
        self.users = load_users(objs["users"], objs["userRoles"], objs["userGroups"])
        self.rules = load_restrictions(objs)
        for name in SHARED:  # serve what is enforced, in both JSON forms
            for uid, obj in objs[name].items():
                obj.update((self.rules.sharing.get(uid) or Sharing()).to_json())

    def _derive_org_units(self) -> None:
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
            self._ancestry[ou["id"]] = frozenset(chain)

    def _derive_combos(self) -> None:
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
            self._combo_cocs[combo["id"]] = frozenset(ids)
            for i in ids:
                cocs[i].setdefault("categoryCombo", {"id": combo["id"]})
        self._default_coc = next(
            (
                uid
                for uid, c in cocs.items()
                if c.get("name") == "default" or c.get("code") == "default"
            ),
            None,
        )

    def _derive_data_sets(self) -> None:
        ous = self.objects["organisationUnits"]
        sets: dict[str, list[str]] = {}
        for ds in self.objects["dataSets"].values():
            ds.setdefault("openFuturePeriods", 0)
            ds.setdefault("expiryDays", 0)
            ds.setdefault("dataSetElements", [])
            ds.setdefault("organisationUnits", [])
            for ref in ds["organisationUnits"]:
                if ref.get("id") in ous:
                    ous[ref["id"]]["dataSets"].append({"id": ds["id"]})
            members = {
                dse["dataElement"]["id"]: (dse.get("categoryCombo") or {}).get("id")
                for dse in ds["dataSetElements"]
                if isinstance(dse.get("dataElement"), dict)
            }
            self._ds_elements[ds["id"]] = members
            self._ds_units[ds["id"]] = frozenset(r.get("id") for r in ds["organisationUnits"])
            for de in members:
                sets.setdefault(de, []).append(ds["id"])
        self._element_sets = {de: tuple(found) for de, found in sets.items()}

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
        return self._ds_elements[ds_uid]

    def data_sets_of_element(self, de_uid: str) -> tuple[str, ...]:
        return self._element_sets.get(de_uid, ())

    def data_set_units(self, ds_uid: str) -> frozenset[str]:
        """The org units a data set is assigned to."""
        return self._ds_units[ds_uid]

    def combo_cocs(self, combo_uid: str | None) -> frozenset[str]:
        return self._combo_cocs.get(combo_uid or "", frozenset())

    def default_coc(self) -> str | None:
        return self._default_coc

    def is_descendant(self, ou_uid: str, ancestors: tuple[str, ...] | frozenset[str]) -> bool:
        """Is the org unit one of, or below one of, the given org units?"""
        chain = self._ancestry.get(ou_uid)
        return chain is not None and any(a in chain for a in ancestors)

    def ancestor_at(self, ou_uid: str, level: int) -> str | None:
        """The org unit's ancestor (or itself) at an org unit level (1 = root)."""
        parts = self.objects["organisationUnits"][ou_uid]["path"].strip("/").split("/")
        return parts[level - 1] if 1 <= level <= len(parts) else None

    def level_of(self, ou_uid: str) -> int:
        return int(self.objects["organisationUnits"][ou_uid]["level"])

    def descendants(self, ou_uid: str) -> list[str]:
        return [uid for uid, chain in self._ancestry.items() if ou_uid in chain]

    def can_write_data(self, user: User, ds_uid: str) -> bool:
        """Data write sharing of a data set (superusers always; see ``Restrictions``)."""
        return self.rules.can_write_data(user, ds_uid)
