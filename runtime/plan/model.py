"""The plan as read-only typed values, built once from JSON that passed the plan schema.

Field names follow the JSON keys of ``plan.v1.json``; each class's ``from_json`` reads a block
the schema has already validated, so it trusts shapes and only converts them. Nothing here
resolves environment variables or touches the network: that is the run's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from dhispatch.runtime.plan.catalogue import DEFAULT_KEEP_DAYS


def _origins(block: Mapping[str, Any]) -> Mapping[str, str]:
    return MappingProxyType({str(k): str(v) for k, v in (block.get("origins") or {}).items()})


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class ValueOrEnv:
    """A setting given literally (``value``) or read from an environment variable (``env``)."""

    value: str | None = None
    env: str | None = None

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> ValueOrEnv:
        return cls(_text(block.get("value")), _text(block.get("env")))

    def resolve(self, env: Mapping[str, str]) -> str | None:
        """The literal value, else the variable's value; None when the variable is unset."""
        if self.value is not None:
            return self.value
        return env.get(self.env or "") or None


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """How the run authenticates: ``basic`` (user, password), ``token`` or ``oauth2`` (client,
    secret, user, password). Secrets are always environment references, never values."""

    kind: str
    user: ValueOrEnv | None = None
    password: ValueOrEnv | None = None
    token: ValueOrEnv | None = None
    client: ValueOrEnv | None = None
    secret: ValueOrEnv | None = None

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> AuthSettings:
        refs = {
            k: ValueOrEnv.from_json(block[k])
            for k in ("user", "password", "token", "client", "secret")
            if k in block
        }
        return cls(kind=str(block["kind"]), **refs)


@dataclass(frozen=True, slots=True)
class IdSchemes:
    """How DHIS2 is to read the identifiers of data values: ``UID`` or ``CODE`` per kind."""

    data_element: str = "UID"
    org_unit: str = "UID"
    category_option_combo: str = "UID"

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> IdSchemes:
        return cls(
            str(block["data_element"]), str(block["org_unit"]), str(block["category_option_combo"])
        )

    def as_json(self) -> dict[str, str]:
        """The plan's (and the journal's) JSON form."""
        return {
            "data_element": self.data_element,
            "org_unit": self.org_unit,
            "category_option_combo": self.category_option_combo,
        }


@dataclass(frozen=True, slots=True)
class Target:
    """The DHIS2 server, data set and conventions the plan pushes to."""

    origin: str
    enabled: bool
    url: str
    insecure: bool
    auth: AuthSettings
    data_set: str
    id_schemes: IdSchemes
    period_type: str
    period_format: str | None
    rounding: int | None
    timezone: str
    attribute_option_combo: str | None
    origins: Mapping[str, str]
    journal: str | None = None  # the spec's journal path (absolute, or under ~/)
    name: str | None = None  # the target block's name; None for the dhis2 block alone
    complete_registration: bool = False  # register the data set complete once confirmed
    keep_payloads: int = DEFAULT_KEEP_DAYS  # days accepted payloads stay in the journal

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> Target:
        rounding = block["rounding"]
        return cls(
            origin=str(block["origin"]),
            enabled=bool(block["enabled"]),
            url=str(block["url"]),
            insecure=bool(block["insecure"]),
            auth=AuthSettings.from_json(block["auth"]),
            data_set=str(block["data_set"]),
            id_schemes=IdSchemes.from_json(block["id_schemes"]),
            period_type=str(block["period_type"]),
            period_format=_text(block.get("period_format")),
            rounding=None if rounding is None else int(rounding),
            timezone=str(block["timezone"]),
            attribute_option_combo=_text(block.get("attribute_option_combo")),
            origins=_origins(block),
            journal=_text(block.get("journal")),
            name=_text(block.get("name")),
            complete_registration=bool(block.get("complete_registration", False)),
            keep_payloads=int(block.get("keep_payloads", DEFAULT_KEEP_DAYS)),
        )

    def origin_of(self, *keys: str) -> str:
        """The spec position of the first setting of ``keys`` given, else of the block."""
        return next((self.origins[k] for k in keys if k in self.origins), self.origin)


@dataclass(frozen=True, slots=True)
class ItemFilter:
    """One item filter: ``field_set`` (field), ``field_compare`` (field ``op`` value: a string,
    a boolean or a number by the field's type), ``custom_flag`` (field) or ``master_list``
    (name)."""

    kind: str
    field: str | None = None
    name: str | None = None
    op: str | None = None
    value: str | bool | float | None = None

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> ItemFilter:
        value = block.get("value")
        return cls(
            str(block["kind"]),
            _text(block.get("field")),
            _text(block.get("name")),
            _text(block.get("op")),
            value if isinstance(value, str | bool | int | float) else None,
        )


@dataclass(frozen=True, slots=True)
class OrgUnitRule:
    """How a store maps to an org unit: ``store_code``, ``name_code``, ``name_custom_data``
    (the ``key`` in the store name's custom data) or ``mapping_file`` (a CSV at ``path``)."""

    kind: str
    key: str | None = None
    path: str | None = None

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> OrgUnitRule:
        return cls(str(block["kind"]), _text(block.get("key")), _text(block.get("path")))


@dataclass(frozen=True, slots=True)
class ScopeRules:
    """Which items and stores a run covers and how stores map to org units."""

    items: tuple[ItemFilter, ...] = ()
    org_unit: OrgUnitRule = OrgUnitRule("store_code")

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> ScopeRules:
        """The ``items`` and ``org_unit`` of a plan's source block (other keys are ignored)."""
        return cls(
            items=tuple(ItemFilter.from_json(f) for f in block["items"]),
            org_unit=OrgUnitRule.from_json(block["org_unit"]),
        )


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """The stock database and the scope rules applied to it."""

    origin: str
    kind: str
    database: ValueOrEnv
    scope: ScopeRules

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> SourceSettings:
        return cls(
            origin=str(block["origin"]),
            kind=str(block["kind"]),
            database=ValueOrEnv.from_json(block["database"]),
            scope=ScopeRules.from_json(block),
        )


@dataclass(frozen=True, slots=True)
class Setup:
    """mSupply's integration setup: the mode, and the item field holding the data element."""

    mode: str
    item_ref: str | None
    origin: str

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> Setup:
        return cls(str(block["mode"]), _text(block.get("item_ref")), str(block["origin"]))


@dataclass(frozen=True, slots=True)
class Interval:
    """When a step falls due: ``kind`` and, per kind, ``weekday``, ``day`` or ``expression``."""

    kind: str
    weekday: str | None = None
    day: int | None = None
    expression: str | None = None

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> Interval:
        day = block.get("day")
        return cls(
            kind=str(block["kind"]),
            weekday=_text(block.get("weekday")),
            day=None if day is None else int(day),
            expression=_text(block.get("expression")),
        )


@dataclass(frozen=True, slots=True)
class DataElementRule:
    """Where a value's data element comes from: an ``item_field`` (field), a ``fixed`` id, or a
    Jinja ``template`` rendered per item."""

    kind: str
    field: str | None = None
    id: str | None = None
    template: str | None = None

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> DataElementRule:
        return cls(
            str(block["kind"]),
            _text(block.get("field")),
            _text(block.get("id")),
            _text(block.get("template")),
        )


@dataclass(frozen=True, slots=True)
class Step:
    """One push of one indicator: parameters, schedule, basis and the cells it writes."""

    id: str
    origin: str
    indicator: str
    params: Mapping[str, Any]  # as written in the plan; absent = the catalogue's ``when_absent``
    paused: bool
    interval: Interval
    basis: str
    data_element: DataElementRule
    category_option_combo: str | None
    origins: Mapping[str, str]

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> Step:
        return cls(
            id=str(block["id"]),
            origin=str(block["origin"]),
            indicator=str(block["indicator"]),
            params=MappingProxyType(dict(block["params"])),
            paused=bool(block["paused"]),
            interval=Interval.from_json(block["interval"]),
            basis=str(block["basis"]),
            data_element=DataElementRule.from_json(block["data_element"]),
            category_option_combo=_text(block.get("category_option_combo")),
            origins=_origins(block),
        )

    def origin_of(self, *keys: str) -> str:
        """The spec position of the first setting of ``keys`` given, else of the push."""
        return next((self.origins[k] for k in keys if k in self.origins), self.origin)


@dataclass(frozen=True, slots=True)
class AlertRules:
    """The spec's ``alerts { … }`` block: where alerts go and when silence counts as one; each
    setting absent here falls back to the environment (``runtime.alerts.settings``)."""

    origin: str
    webhook: ValueOrEnv | None = None
    email_to: ValueOrEnv | None = None
    email_from: ValueOrEnv | None = None
    smtp: ValueOrEnv | None = None
    smtp_user: ValueOrEnv | None = None
    smtp_password: ValueOrEnv | None = None
    offline_hours: int | None = None
    stale_days: int | None = None

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> AlertRules:
        refs = {
            k: ValueOrEnv.from_json(block[k])
            for k in ("webhook", "email_to", "email_from", "smtp", "smtp_user", "smtp_password")
            if k in block
        }
        hours, days = block.get("offline_hours"), block.get("stale_days")
        return cls(
            str(block["origin"]), **refs,
            offline_hours=None if hours is None else int(hours),
            stale_days=None if days is None else int(days),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class PlanMetadata:
    """Where the plan came from: compiler version, the spec's path and SHA-256."""

    compiler_version: str
    spec_path: str
    spec_sha256: str

    @classmethod
    def from_json(cls, block: Mapping[str, Any]) -> PlanMetadata:
        return cls(
            str(block["compiler_version"]), str(block["spec_path"]), str(block["spec_sha256"])
        )


@dataclass(frozen=True, slots=True)
class Plan:
    """A compiled push plan: one DHIS2 target, one stock source, one setup, its steps."""

    plan_version: str
    metadata: PlanMetadata
    name: str
    target: Target
    source: SourceSettings
    setup: Setup
    vanished: str
    steps: tuple[Step, ...]
    targets: tuple[Target, ...] = ()  # all of a plan's target blocks; () for the dhis2 block alone
    alerts: AlertRules | None = None  # the spec's alerts block (None: the environment's)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Plan:
        """The typed plan of a schema-valid JSON document (see ``loader.parse_plan``); a plan
        with several targets is aimed at its first until ``for_target`` picks another."""
        targets = tuple(Target.from_json(t) for t in doc.get("targets") or ())
        return cls(
            plan_version=str(doc["plan_version"]),
            metadata=PlanMetadata.from_json(doc["metadata"]),
            name=str(doc["name"]),
            target=targets[0] if targets else Target.from_json(doc["target"]),
            source=SourceSettings.from_json(doc["source"]),
            setup=Setup.from_json(doc["setup"]),
            vanished=str(doc["vanished"]),
            steps=tuple(Step.from_json(s) for s in doc["steps"]),
            targets=targets,
            alerts=AlertRules.from_json(doc["alerts"]) if "alerts" in doc else None,
        )

    @property
    def named_targets(self) -> tuple[Target, ...]:
        """Every target of the plan: its target blocks, or the dhis2 block alone."""
        return self.targets or (self.target,)

    @property
    def label(self) -> str:
        """The plan as messages, logs and /health name it: with its target when the spec
        names several (each target is run, logged and watched on its own)."""
        return f"{self.name} → {self.target.name}" if self.target.name else self.name

    def for_target(self, target: Target) -> Plan:
        """This plan aimed at one of its targets (the runtime runs one target at a time)."""
        return replace(self, target=target)

    @property
    def active_steps(self) -> tuple[Step, ...]:
        """The steps that are not paused, in plan order."""
        return tuple(s for s in self.steps if not s.paused)

    def step(self, step_id: str) -> Step:
        """The step with that id (KeyError if the plan has none)."""
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)
