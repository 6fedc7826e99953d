"""The spec's frozen AST: what was written and where, with no meaning attached yet."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from dhispatch.dsl.diagnostics import Span


@dataclass(frozen=True, slots=True)
class Str:
    """A double-quoted string literal (value unescaped)."""

    value: str
    span: Span


@dataclass(frozen=True, slots=True)
class Name:
    """A bare word: an indicator, a mode, a field, a weekday…"""

    value: str
    span: Span


@dataclass(frozen=True, slots=True)
class Num:
    """A number as written (``text``) and its value."""

    text: str
    span: Span

    @property
    def value(self) -> int | float:
        return float(self.text) if "." in self.text else int(self.text)


@dataclass(frozen=True, slots=True)
class Env:
    """``env("NAME")``: a value read from the environment at run time."""

    var: Str
    span: Span


Scalar: TypeAlias = Str | Name | Num | Env


@dataclass(frozen=True, slots=True)
class Arg:
    """One argument of a call, ``key: value`` or positional."""

    key: Name | None
    value: Scalar
    span: Span


@dataclass(frozen=True, slots=True)
class Call:
    """``name(arg, key: arg, …)``, used by ``auth``."""

    func: Name
    args: tuple[Arg, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class FieldSet:
    """``where <field> is set``."""

    field: Name
    span: Span


@dataclass(frozen=True, slots=True)
class CustomFlag:
    """``where custom(<field>)`` (a ticked custom check box)."""

    func: Name
    field: Name
    span: Span


@dataclass(frozen=True, slots=True)
class FieldCompare:
    """``where <field> <op> <literal>`` (``= true``, ``> 0``, ``= "X"``): the literal a string,
    a number or a bare word (``true``/``false``); the compiler checks it against the field's
    type."""

    field: Name
    op: Name
    literal: Str | Num | Name
    span: Span


@dataclass(frozen=True, slots=True)
class MasterList:
    """``in master_list "<name>"``."""

    name: Str
    span: Span


Filter: TypeAlias = FieldSet | CustomFlag | FieldCompare | MasterList


@dataclass(frozen=True, slots=True)
class Filters:
    """The ``items`` filters, combined with ``and``."""

    filters: tuple[Filter, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Attr:
    """``store.code``, ``store.custom("Dhis2Code")``, ``name.code``."""

    obj: Name
    attr: Name
    arg: Str | None
    span: Span


@dataclass(frozen=True, slots=True)
class Mapping:
    """``mapping "file.csv"``: store → org unit from a CSV file."""

    path: Str
    span: Span


@dataclass(frozen=True, slots=True)
class ItemRef:
    """``item_ref universal_code`` or ``item_ref custom_field user_field_6``."""

    field: Name
    custom: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Interval:
    """``interval <kind> ["cron expr"] [on <weekday> | on day N]``."""

    kind: Name
    expression: Str | None
    weekday: Name | None
    day: Num | None
    span: Span


Value: TypeAlias = Scalar | Call | Filters | Attr | Mapping | ItemRef | Interval


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting of a block: its keyword and (for most) one value."""

    name: str
    value: Value | None
    span: Span
    name_span: Span


@dataclass(frozen=True, slots=True)
class SpecName:
    """``spec "name"``."""

    name: Str
    span: Span


@dataclass(frozen=True, slots=True)
class Target:
    """``dhis2 { … }``: where and how to push."""

    settings: tuple[Setting, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class NamedTarget:
    """``target "NAME" { … }``: one of several DHIS2 instances; its settings override the dhis2
    block's."""

    name: Str
    settings: tuple[Setting, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Source:
    """``source omsupply { … }``: where the stock numbers come from."""

    kind: Name
    settings: tuple[Setting, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Setup:
    """``setup <mode> [{ … }]``: how items map to DHIS2 data elements."""

    mode: Name
    settings: tuple[Setting, ...]
    has_body: bool
    span: Span


@dataclass(frozen=True, slots=True)
class Push:
    """``push <indicator> { … }``: one indicator to one DHIS2 cell family."""

    indicator: Name
    settings: tuple[Setting, ...]
    span: Span


@dataclass(frozen=True, slots=True)
class Alerts:
    """``alerts { … }``: where alerts go and when silence counts as one."""

    settings: tuple[Setting, ...]
    span: Span


Statement: TypeAlias = SpecName | Target | NamedTarget | Source | Setup | Push | Alerts


@dataclass(frozen=True, slots=True)
class Spec:
    """A whole spec file."""

    path: str
    statements: tuple[Statement, ...]
    span: Span
