"""Metadata read queries: ``fields`` selection (nested, presets), ``filter``, ``order``, paging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dhispatch.runtime.sandbox.metadata import REFERENCES
from dhispatch.runtime.sandbox.metadata import MetadataIndex

FieldTree = dict[str, "FieldTree | None"]

_PRESETS = {
    ":identifiable": ["id", "name", "code", "created", "lastUpdated", "lastUpdatedBy"],
    ":nameable": ["id", "name", "shortName", "code", "description", "created", "lastUpdated"],
}


class QueryError(ValueError):
    """A malformed fields/filter/order expression (the API answers 400/409)."""


def parse_fields(text: str) -> FieldTree:
    """``a,b[c,d[e]],!f`` -> {"a": None, "b": {"c": None, "d": {"e": None}}, "!f": None}."""
    pos = 0

    def parse_list() -> FieldTree:
        nonlocal pos
        tree: FieldTree = {}
        name = ""
        while pos < len(text):
            ch = text[pos]
            pos += 1
            if ch == ",":
                if name.strip():
                    tree[name.strip()] = None
                name = ""
            elif ch == "[" or ch == "(":
                sub = parse_list()
                tree[name.strip()] = sub
                name = ""
                if pos < len(text) and text[pos] == ",":
                    pos += 1
            elif ch == "]" or ch == ")":
                if name.strip():
                    tree[name.strip()] = None
                return tree
            else:
                name += ch
        if name.strip():
            tree[name.strip()] = None
        return tree

    return parse_list()


def _expand_presets(tree: FieldTree, obj: dict[str, Any]) -> FieldTree:
    out: FieldTree = {}
    for key, sub in tree.items():
        if key in ("*", ":all", ":owner", ":persisted"):
            for k in obj:
                out.setdefault(k, None)
        elif key in _PRESETS:
            for k in _PRESETS[key]:
                out.setdefault(k, None)
        else:
            out[key] = sub
    for key in list(out):
        if key.startswith("!"):
            out.pop(key, None)
            out.pop(key[1:], None)
    return out


def select(
    index: MetadataIndex, obj: dict[str, Any], tree: FieldTree, collection: str | None = None
) -> dict[str, Any]:
    """Apply a field tree to one object, expanding references where subfields are asked for."""
    out: dict[str, Any] = {}
    for key, sub in _expand_presets(tree, obj).items():
        name, _, transform = key.partition("~")
        value = _display(obj, name)
        if value is None:
            continue
        if sub is not None:
            target = REFERENCES.get(name)
            if isinstance(value, list):
                value = [select(index, _deref(index, target, v), sub) for v in value]
            elif isinstance(value, dict):
                value = select(index, _deref(index, target, value), sub)
        if transform == "size" and isinstance(value, list | str):
            value = len(value)
        elif transform.startswith("rename(") and transform.endswith(")"):
            name = transform[7:-1]
        out[name] = value
    return out


def _display(obj: dict[str, Any], name: str) -> Any:
    if name in obj:
        return obj[name]
    if name == "displayName":
        return obj.get("name")
    if name == "displayShortName":
        return obj.get("shortName", obj.get("name"))
    return None


def _deref(index: MetadataIndex, collection: str | None, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    if collection is not None and isinstance(value.get("id"), str):
        full = index.objects[collection].get(value["id"])
        if full is not None:
            return full
    return value


@dataclass(frozen=True, slots=True)
class Filter:
    """One ``property:operator:value`` filter."""

    path: tuple[str, ...]
    op: str
    value: str


_OPS = {
    "eq",
    "!eq",
    "ne",
    "ieq",
    "like",
    "!like",
    "$like",
    "like$",
    "ilike",
    "!ilike",
    "$ilike",
    "ilike$",
    "gt",
    "ge",
    "lt",
    "le",
    "null",
    "!null",
    "empty",
    "token",
    "!token",
    "in",
    "!in",
}


def parse_filter(text: str) -> Filter:
    prop, _, rest = text.partition(":")
    op, _, value = rest.partition(":")
    if not prop or op not in _OPS:
        raise QueryError(f"Unable to parse filter `{text}`")
    return Filter(tuple(prop.split(".")), op, value)


def _values(index: MetadataIndex, obj: Any, path: tuple[str, ...], prop: str = "") -> list[Any]:
    """Every value a (possibly nested, list-crossing) property path reaches."""
    if not path:
        return obj if isinstance(obj, list) else [obj]
    if isinstance(obj, list):
        return [v for item in obj for v in _values(index, item, path, prop)]
    if not isinstance(obj, dict):
        return []
    if prop and set(obj) == {"id"} and path[0] != "id":
        obj = _deref(index, REFERENCES.get(prop), obj)
    name = path[0]
    value = _display(obj, name)
    if value is None:
        return [None] if len(path) == 1 else []
    return _values(index, value, path[1:], name)


def _match_one(value: Any, op: str, arg: str) -> bool:
    if op == "null":
        return value is None
    if op == "!null":
        return value is not None
    if op == "empty":
        return value in ([], "", None)
    if value is None:
        return op.startswith("!") or op == "ne"
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if op in ("in", "!in"):
        members = [m.strip() for m in arg.strip("[]").split(",")]
        return (text in members) == (op == "in")
    if op in ("eq", "!eq", "ne"):
        return (text == arg) == (op == "eq")
    if op == "ieq":
        return text.lower() == arg.lower()
    lowered = op.replace("!", "").startswith(("ilike", "$ilike")) or op.endswith("ilike$")
    a, b = (text.lower(), arg.lower()) if lowered or "token" in op else (text, arg)
    if op in ("like", "ilike", "!like", "!ilike"):
        return (b in a) != op.startswith("!")
    if op in ("$like", "$ilike"):
        return a.startswith(b)
    if op in ("like$", "ilike$"):
        return a.endswith(b)
    if op in ("token", "!token"):
        return all(w in a for w in b.split()) != op.startswith("!")
    try:
        x, y = float(text), float(arg)
    except ValueError:
        x, y = text, arg  # type: ignore[assignment]
    return {"gt": x > y, "ge": x >= y, "lt": x < y, "le": x <= y}[op]


def matches(index: MetadataIndex, obj: dict[str, Any], flt: Filter) -> bool:
    if flt.path == ("identifiable",):
        hay = [obj.get(k) for k in ("id", "code", "name", "shortName")]
        return any(_match_one(v, "token" if flt.op == "token" else flt.op, flt.value) for v in hay)
    values = _values(index, obj, flt.path)
    if not values:
        values = [None]
    if flt.op.startswith("!") or flt.op == "ne":
        return all(_match_one(v, flt.op, flt.value) for v in values)
    return any(_match_one(v, flt.op, flt.value) for v in values)


def order_key(obj: dict[str, Any], prop: str, case_insensitive: bool) -> tuple[bool, str]:
    value = _display(obj, prop)
    text = "" if value is None else str(value)
    return (value is None, text.lower() if case_insensitive else text)
