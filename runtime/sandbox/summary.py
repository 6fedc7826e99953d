"""Import options and the import summary (counts, conflicts) shared by both import engines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

STRATEGIES = {
    "CREATE": "CREATE",
    "NEW": "CREATE",
    "UPDATE": "UPDATE",
    "UPDATES": "UPDATE",
    "CREATE_AND_UPDATE": "CREATE_AND_UPDATE",
    "NEW_AND_UPDATES": "CREATE_AND_UPDATE",
    "SYNC": "CREATE_AND_UPDATE",
    "DELETE": "DELETE",
    "DELETES": "DELETE",
}
# Off by default (system settings, §1.3); each switches on one of E7630–E7636.
STRICT_FLAGS = (
    "strictPeriods",
    "strictDataElements",
    "strictCategoryOptionCombos",
    "strictAttributeOptionCombos",
    "strictOrganisationUnits",
    "requireCategoryOptionCombo",
    "requireAttributeOptionCombo",
)
SCHEME_KINDS = ("dataElement", "orgUnit", "categoryOptionCombo", "attributeOptionCombo", "dataSet")


class ImportRequestError(ValueError):
    """A request the controller refuses before importing (bad parameter): HTTP 400/409."""


def _flag(value: Any) -> bool:
    return str(value).lower() == "true"


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """The ImportOptions that matter to the sandbox, from URL parameters and the payload header."""

    schemes: Mapping[str, str]  # kind -> UID | CODE | NAME
    explicit_schemes: Mapping[str, str]
    dry_run: bool = False
    strategy: str = "CREATE_AND_UPDATE"
    async_: bool = False
    force: bool = False
    atomic: bool = False
    skip_existing_check: bool = False
    strict: frozenset[str] = frozenset()  # the strict*/require* flags switched on (≤2.42)
    preheat_cache: bool = False
    # ≤2.42 system settings, on by default: every target data set must pass (§1.3)
    strict_approval: bool = True
    strict_locking: bool = True
    strict_input_periods: bool = True

    @classmethod
    def from_request(cls, query: Mapping[str, str], payload: Mapping[str, Any]) -> ImportOptions:
        # A scheme in the payload beats the URL; a specific scheme beats idScheme (§1.3).
        schemes: dict[str, str] = {}
        explicit: dict[str, str] = {}
        for kind in SCHEME_KINDS:
            name = f"{kind}IdScheme"
            for source in (
                payload.get(name),
                payload.get("idScheme"),
                query.get(name),
                query.get("idScheme"),
            ):
                if isinstance(source, str) and source:
                    scheme = source.upper()
                    if scheme not in ("UID", "ID", "CODE", "NAME") and not scheme.startswith(
                        "ATTRIBUTE:"
                    ):
                        raise ImportRequestError(f"Invalid id scheme: `{source}`")
                    schemes[kind] = "UID" if scheme == "ID" else scheme
                    explicit[name] = schemes[kind]
                    break
            schemes.setdefault(kind, "UID")
        raw = payload.get("strategy") or query.get("importStrategy") or query.get("strategy")
        strategy = STRATEGIES.get(str(raw or "CREATE_AND_UPDATE").upper())
        if strategy is None:
            raise ImportRequestError(f"Invalid import strategy: `{raw}`")
        return cls(
            schemes=schemes,
            explicit_schemes=explicit,
            dry_run=_flag(payload.get("dryRun", query.get("dryRun", False))),
            strategy=strategy,
            async_=_flag(query.get("async", False)),
            force=_flag(query.get("force", False)),
            atomic=_flag(query.get("atomic", False)),
            skip_existing_check=_flag(query.get("skipExistingCheck", False)),
            strict=frozenset(f for f in STRICT_FLAGS if _flag(query.get(f, False))),
            preheat_cache=_flag(query.get("preheatCache", False)),
            strict_approval=_flag(query.get("strictDataSetApproval", True)),
            strict_locking=_flag(query.get("strictDataSetLocking", True)),
            strict_input_periods=_flag(query.get("strictDataSetInputPeriods", True)),
        )

    def to_json(self) -> dict[str, Any]:
        """The ``importOptions`` echo of an ImportSummary."""
        return {
            "idSchemes": {k: {"type": v} for k, v in self.explicit_schemes.items()},
            "dryRun": self.dry_run,
            "async": self.async_,
            "importStrategy": self.strategy,
            "mergeMode": "REPLACE",
            "reportMode": "FULL",
            "skipExistingCheck": self.skip_existing_check,
            "preheatCache": self.preheat_cache,
            "sharing": False,
            "skipNotifications": False,
            "skipAudit": False,
            "datasetAllowsPeriods": False,
            "strictPeriods": "strictPeriods" in self.strict,
            "strictDataElements": "strictDataElements" in self.strict,
            "strictCategoryOptionCombos": "strictCategoryOptionCombos" in self.strict,
            "strictAttributeOptionCombos": "strictAttributeOptionCombos" in self.strict,
            "strictOrganisationUnits": "strictOrganisationUnits" in self.strict,
            "strictDataSetApproval": self.strict_approval,
            "strictDataSetLocking": self.strict_locking,
            "strictDataSetInputPeriods": self.strict_input_periods,
            "requireCategoryOptionCombo": "requireCategoryOptionCombo" in self.strict,
            "requireAttributeOptionCombo": "requireAttributeOptionCombo" in self.strict,
            "skipPatternValidation": False,
            "ignoreEmptyCollection": False,
            "force": self.force,
            "firstRowIsHeader": True,
            "skipLastUpdated": False,
            "mergeDataValues": False,
            "skipCache": False,
        }


@dataclass(frozen=True, slots=True)
class Conflict:
    """One conflict; ``legacy`` is the ≤2.36 ``{object, value}`` rendering."""

    code: str | None
    objects: tuple[tuple[str, str | None], ...]
    message: str
    property: str | None
    indexes: tuple[int, ...]
    legacy: tuple[str, str]


@dataclass
class ImportSummary:
    """What an import did: status, counts, conflicts (merged) and rejected indexes."""

    options: ImportOptions
    status: str = "SUCCESS"
    description: str | None = "Import process completed successfully"  # None: omitted (2.43)
    imported: int = 0
    updated: int = 0
    ignored: int = 0
    deleted: int = 0
    conflicts: list[Conflict] = field(default_factory=list)
    rejected: list[int] = field(default_factory=list)
    data_set_complete: str = "false"  # "false", or the completion date that was registered
    _rejected_set: set[int] = field(default_factory=set)
    _by_key: dict[Any, int] = field(default_factory=dict)

    def reject(self, *indexes: int) -> None:
        """List values in ``rejectedIndexes`` (``addRejected``), each once."""
        for index in indexes:
            if index not in self._rejected_set:
                self._rejected_set.add(index)
                self.rejected.append(index)

    def add(self, conflict: Conflict) -> None:
        """Merge by (errorCode, objects), appending indexes (``ImportConflicts.addConflict``);
        conflicts without a code merge only when their texts agree too."""
        key = (conflict.code, conflict.objects, conflict.legacy if conflict.code is None else None)
        at = self._by_key.get(key)
        if at is None:
            self._by_key[key] = len(self.conflicts)
            self.conflicts.append(conflict)
            return
        old = self.conflicts[at]
        self.conflicts[at] = Conflict(
            old.code,
            old.objects,
            old.message,
            old.property,
            old.indexes + conflict.indexes,
            old.legacy,
        )
