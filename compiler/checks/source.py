"""Checks of the ``source`` block: kind, database (no literal passwords), items, org units."""

from __future__ import annotations

from collections.abc import Iterator

from dhispatch.compiler.checks.common import check_choice
from dhispatch.compiler.checks.common import check_env
from dhispatch.compiler.view import SpecView
from dhispatch.compiler.view import setting
from dhispatch.compiler.vocabulary import ORG_UNIT_REFS
from dhispatch.compiler.vocabulary import SOURCE_KINDS
from dhispatch.compiler.vocabulary import hint_for
from dhispatch.dsl import ast
from dhispatch.dsl.diagnostics import Diagnostic
from dhispatch.dsl.diagnostics import Span
from dhispatch.runtime.plan.catalogue import FIELD_TYPES
from dhispatch.runtime.plan.catalogue import FLAG_FIELDS
from dhispatch.runtime.plan.catalogue import OPERATORS
from dhispatch.runtime.plan.secrets import literal_database_password


def check_source_block(view: SpecView) -> Iterator[Diagnostic]:
    """Every check of the first source block."""
    source = view.source
    if source is None:
        return
    yield from check_choice(source.kind, SOURCE_KINDS, "E401", "source kind")
    database = setting(source.settings, "database")
    if database is not None:
        yield from _check_database(database.value)
    items = setting(source.settings, "items")
    if items is not None and isinstance(items.value, ast.Filters):
        for item_filter in items.value.filters:
            yield from _check_filter(item_filter)
    org_unit = setting(source.settings, "org_unit")
    if org_unit is not None:
        yield from _check_org_unit(org_unit.value)


def _check_database(value: ast.Value | None) -> Iterator[Diagnostic]:
    """E305 a database URL with a literal password; E405 an empty path."""
    if isinstance(value, ast.Env):
        yield from check_env(value)
        return
    if not isinstance(value, ast.Str):
        return
    if not value.value.strip():
        yield Diagnostic("E405", "the database path is empty", value.span)
        return
    if literal_database_password(value.value):
        yield Diagnostic(
            "E305",
            "the database URL contains a literal password; secrets must come from the environment",
            value.span,
            hint='use database env("OMSUPPLY_DB") and put the URL in that variable',
            mask=True,
        )


def _check_filter(item_filter: ast.Filter) -> Iterator[Diagnostic]:
    """E402 unknown item field; E406 an operator or literal the field's type does not take;
    E403 bad custom flag; E405 empty master list name."""
    if isinstance(item_filter, ast.FieldSet | ast.FieldCompare):
        field = item_filter.field
        if field.value not in FIELD_TYPES:
            yield from check_choice(field, tuple(FIELD_TYPES), "E402", "item field")
            return
        op = item_filter.op if isinstance(item_filter, ast.FieldCompare) else None
        yield from _check_operator(field, op, item_filter.span)
        if isinstance(item_filter, ast.FieldCompare):
            yield from _check_literal(field.value, item_filter.literal)
    elif isinstance(item_filter, ast.CustomFlag):
        if item_filter.func.value != "custom":
            yield Diagnostic(
                "E403",
                f"unknown item filter '{item_filter.func.value}(…)'",
                item_filter.func.span,
                hint="did you mean 'custom(user_field_4)'?",
            )
        else:
            yield from check_choice(
                item_filter.field, FLAG_FIELDS, "E403", "custom check box field"
            )
    elif not item_filter.name.value.strip():
        yield Diagnostic("E405", "the master list name is empty", item_filter.name.span)


_LITERALS = {"text": 'a quoted string, e.g. "X"', "boolean": "true or false", "number": "a number"}


def _check_operator(field: ast.Name, op: ast.Name | None, span: Span) -> Iterator[Diagnostic]:
    """E406 ``is set`` or a comparison the field's type does not take, naming those it takes."""
    kind = FIELD_TYPES[field.value]
    word = "is set" if op is None else op.value
    if word not in OPERATORS[kind]:
        allowed = ", ".join(OPERATORS[kind])
        yield Diagnostic(
            "E406",
            f"{field.value} is a {kind} field: '{word}' does not apply to it",
            span if op is None else op.span,
            hint=f"a {kind} field takes: {allowed}",
        )


def _check_literal(field: str, literal: ast.Str | ast.Num | ast.Name) -> Iterator[Diagnostic]:
    """E406 a literal that is not of the field's type (a string, true/false, a number)."""
    kind = FIELD_TYPES[field]
    fits = {
        "text": isinstance(literal, ast.Str),
        "boolean": isinstance(literal, ast.Name) and literal.value in ("true", "false"),
        "number": isinstance(literal, ast.Num),
    }[kind]
    if not fits:
        shown = literal.text if isinstance(literal, ast.Num) else literal.value
        yield Diagnostic(
            "E406",
            f"{field} is a {kind} field: {shown!r} is not a {kind} value",
            literal.span,
            hint=f"compare it with {_LITERALS[kind]}",
        )


def _check_org_unit(value: ast.Value | None) -> Iterator[Diagnostic]:
    """E404 an org unit reference other than store.code, store.custom("…"), name.code, mapping."""
    if isinstance(value, ast.Mapping):
        if not value.path.value.strip():
            yield Diagnostic("E405", "the mapping file path is empty", value.path.span)
        return
    if not isinstance(value, ast.Attr):
        return
    ref = f"{value.obj.value}.{value.attr.value}"
    if ref not in ORG_UNIT_REFS:
        yield Diagnostic(
            "E404",
            f"unknown org unit reference '{ref}'",
            value.span,
            hint=hint_for(ref, (*ORG_UNIT_REFS, "mapping")),
        )
    elif ref == "store.custom" and (value.arg is None or not value.arg.value.strip()):
        yield Diagnostic(
            "E404",
            "store.custom needs the custom data key",
            value.span,
            hint='e.g. store.custom("Dhis2Code")',
        )
    elif ref != "store.custom" and value.arg is not None:
        yield Diagnostic("E404", f"{ref} takes no argument", value.arg.span)
