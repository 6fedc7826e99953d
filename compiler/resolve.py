"""Resolve a push's DHIS2 cell family (data element, category option combo) from the setup mode."""

from __future__ import annotations

from typing import Any

from dhispatch.compiler.view import SpecView
from dhispatch.compiler.view import setting
from dhispatch.compiler.vocabulary import is_template
from dhispatch.dsl import ast


def item_ref_field(view: SpecView) -> str | None:
    """The setup's ``item_ref`` field name, if given."""
    if view.setup is None:
        return None
    found = setting(view.setup.settings, "item_ref")
    if found is not None and isinstance(found.value, ast.ItemRef):
        return found.value.field.value
    return None


def _str(push: ast.Push, name: str) -> str | None:
    found = setting(push.settings, name)
    return found.value.value if found is not None and isinstance(found.value, ast.Str) else None


def resolve_cell(view: SpecView, push: ast.Push) -> tuple[dict[str, Any] | None, str | None]:
    """``(data_element, category_option_combo)`` as the plan carries them; None where unknown."""
    coc = _str(push, "category_option")
    mode = view.mode
    if mode == "data_element_per_item":
        found = setting(push.settings, "custom_field")
        field = (
            found.value.value if found is not None and isinstance(found.value, ast.Name) else None
        )
        return ({"kind": "item_field", "field": field} if field else None), coc
    fixed = _str(push, "data_element") if mode == "single_data_element" else None
    if fixed is not None:
        if is_template(fixed):
            return {"kind": "template", "template": fixed}, coc
        return {"kind": "fixed", "id": fixed}, coc
    field = item_ref_field(view)
    return ({"kind": "item_field", "field": field} if field else None), coc
