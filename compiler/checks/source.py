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
from dhispatch.runtime.plan.catalogue import FLAG_FIELDS
from dhispatch.runtime.plan.catalogue import ITEM_FIELDS
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
    """E402 unknown item field; E403 bad custom flag; E405 empty master list name."""
    if isinstance(item_filter, ast.FieldSet):
        yield from check_choice(item_filter.field, ITEM_FIELDS, "E402", "item field")
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
