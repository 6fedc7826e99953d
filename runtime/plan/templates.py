"""Data-element templates: the one sandboxed environment, and the bound on what one may cost.

A template names a data element per item (``"VAL_{{ item.code }}"``). ``check`` and the runtime
parse and render it in the same sandboxed, strict Jinja environment. The sandbox keeps a
template away from Python's internals, not from work: ``"x" * 10**9``, ``item.code.ljust(10**9)``
or two nested loops over ``range(99999)`` are all "safe" to it (one took 4.9 GB in 60 s). So a
template may use only constructs whose output is at most ``MAX_GROWTH`` times the longest item
field plus ``MAX_FIXED`` characters, and whose work is linear in that: text, variables and their
attributes, slices, ``~`` and ``+``, comparisons and tests, ``if``, and a few filters. Loops,
calls, macros, assignments, ``*``, ``**`` and ``%`` are refused. The compiler reports each
refusal (E604); the loader refuses a plan JSON whose template breaks the bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING
from typing import Any

from dhispatch.errors import DhispatchError

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

MAX_LENGTH = 1000  # characters of template text
MAX_GROWTH = 16  # output ≤ MAX_GROWTH × the longest item field + MAX_FIXED
MAX_FIXED = 4000
# what the repr of the ``item`` variable or of a bound method may add around its fields
_OBJECT_TEXT = 200


@dataclass(frozen=True, slots=True)
class Bound:
    """The output length a node can reach: ``per_field`` × the longest item field + ``fixed``."""

    per_field: float
    fixed: float

    def __add__(self, other: Bound) -> Bound:
        return Bound(self.per_field + other.per_field, self.fixed + other.fixed)

    def times(self, factor: float) -> Bound:
        return Bound(self.per_field * factor, self.fixed * factor)

    def __or__(self, other: Bound) -> Bound:
        """Either of two outputs (branches, defaults): the longer of each part."""
        return Bound(max(self.per_field, other.per_field), max(self.fixed, other.fixed))


NOTHING = Bound(0, 0)
SCALAR = Bound(0, 40)  # a number, a boolean, an indicator name
FIELD = Bound(1, 0)


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """Why a template is refused: ``syntax`` or ``cost``; ``needle`` is the text to point at."""

    message: str
    needle: str | None = None
    kind: str = "cost"


class TemplateCostError(DhispatchError):
    """A data-element template whose cost has no bound (the compiler's E604); ``problem``
    says which construct, and where."""

    def __init__(self, message: str, needle: str | None = None) -> None:
        super().__init__(message)
        self.problem = TemplateProblem(message, needle)


@lru_cache(maxsize=1)
def environment() -> SandboxedEnvironment:
    """The sandboxed, strict environment templates are checked and rendered in (jinja2 is
    imported only when a plan has a template)."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def cost_problems(text: str, parsed: Any) -> list[TemplateProblem]:
    """What makes a parsed template too costly to render (empty: its cost is bounded)."""
    if len(text) > MAX_LENGTH:
        return [TemplateProblem(f"the template is longer than {MAX_LENGTH} characters")]
    try:
        bound = _bound(parsed)
    except TemplateCostError as exc:
        return [exc.problem]
    except RecursionError:
        return [TemplateProblem("the template nests too deeply")]
    if bound.per_field > MAX_GROWTH or bound.fixed > MAX_FIXED:
        return [
            TemplateProblem(
                f"the template could write {bound.per_field:g} times its item fields plus "
                f"{bound.fixed:g} characters (at most {MAX_GROWTH} times plus {MAX_FIXED})"
            )
        ]
    return []


def parse(text: str) -> tuple[Any, list[TemplateProblem]]:
    """The template's syntax tree, or None and why it has none (a syntax error, nesting deeper
    than Jinja's parser can follow)."""
    from jinja2 import TemplateSyntaxError

    if len(text) > MAX_LENGTH:  # before parsing: the parser's work grows with the text
        return None, [TemplateProblem(f"the template is longer than {MAX_LENGTH} characters")]
    try:
        return environment().parse(text), []
    except TemplateSyntaxError as exc:
        return None, [TemplateProblem(f"template syntax error: {exc.message}", kind="syntax")]
    except RecursionError:
        return None, [TemplateProblem("the template nests too deeply", kind="syntax")]


def template_problems(text: str) -> list[TemplateProblem]:
    """Why ``text`` cannot be a data-element template: a syntax error or a cost it may not have."""
    parsed, problems = parse(text)
    return problems if parsed is None else cost_problems(text, parsed)


@lru_cache(maxsize=256)
def compiled(text: str) -> Template:
    """The template, compiled once, after its cost was bounded (TemplateCostError or, for
    a syntax error, jinja2's own, says why not)."""
    problems = template_problems(text)
    if problems:
        raise TemplateCostError(problems[0].message)
    return environment().from_string(text)


# ---- the bound, node by node ------------------------------------------------------------------


def _bound(node: Any) -> Bound:
    for kinds, rule in _rules():
        if isinstance(node, kinds):
            return rule(node)
    raise TemplateCostError(f"data element templates cannot use {_construct(node)}", _needle(node))


@lru_cache(maxsize=1)
def _rules() -> tuple[tuple[type | tuple[type, ...], Callable[[Any], Bound]], ...]:
    from jinja2 import nodes

    return (
        ((nodes.Template, nodes.Output), lambda n: _sum(n.body if hasattr(n, "body") else n.nodes)),
        (nodes.TemplateData, lambda n: Bound(0, len(n.data))),
        (nodes.Const, _const),
        (nodes.Name, _name),
        (nodes.Getattr, _getattr),
        (nodes.Getitem, _getitem),
        ((nodes.Concat,), lambda n: _sum(n.nodes)),
        ((nodes.Add,), lambda n: _bound(n.left) + _bound(n.right)),
        ((nodes.Sub, nodes.Div, nodes.FloorDiv), lambda n: _checked(SCALAR, n.left, n.right)),
        ((nodes.Neg, nodes.Pos, nodes.Not), lambda n: _checked(SCALAR, n.node)),
        ((nodes.And, nodes.Or), lambda n: _bound(n.left) | _bound(n.right)),
        (nodes.Compare, lambda n: _checked(SCALAR, n.expr, *(o.expr for o in n.ops))),
        (nodes.Test, lambda n: _checked(SCALAR, n.node, *_arguments(n))),
        (nodes.CondExpr, _cond_expr),
        (nodes.If, _if),
        ((nodes.Tuple, nodes.List), lambda n: _sum(n.items) + Bound(0, 4 * len(n.items) + 2)),
        (nodes.Filter, _filter),
    )


def _sum(children: Sequence[Any]) -> Bound:
    total = NOTHING
    for child in children:
        total = total + _bound(child)
    return total


def _checked(result: Bound, *operands: Any) -> Bound:
    """``result``, once every operand was found bounded too (work is linear in each)."""
    for operand in operands:
        _bound(operand)
    return result


def _const(node: Any) -> Bound:
    if isinstance(node.value, str):
        return Bound(0, len(node.value))
    if isinstance(node.value, int) and abs(node.value) > 10**9:
        raise TemplateCostError(
            "data element templates cannot use numbers this large", str(node.value)
        )
    return SCALAR


def _name(node: Any) -> Bound:
    if node.name == "item":  # printed whole, the item's repr: every field and their names
        return Bound(8, _OBJECT_TEXT)
    return SCALAR if node.name == "indicator" else FIELD


def _is_item(node: Any) -> bool:
    from jinja2 import nodes

    return isinstance(node, nodes.Name) and node.name == "item"


def _getattr(node: Any) -> Bound:
    # an item field; anything else (a bound method, say) prints as a short description
    return FIELD if _is_item(node.node) else _bound(node.node) + Bound(0, _OBJECT_TEXT)


def _getitem(node: Any) -> Bound:
    from jinja2 import nodes

    if _is_item(node.node):
        return _checked(FIELD, node.arg)
    if isinstance(node.arg, nodes.Slice):  # a slice never grows what it cuts
        parts = [p for p in (node.arg.start, node.arg.stop, node.arg.step) if p is not None]
        return _checked(_bound(node.node), *parts)
    return _checked(_bound(node.node), node.arg)


def _cond_expr(node: Any) -> Bound:
    _bound(node.test)
    other = _bound(node.expr2) if node.expr2 is not None else NOTHING
    return _bound(node.expr1) | other


def _if(node: Any) -> Bound:
    _bound(node.test)
    longest = _sum(node.body) | _sum(node.else_)
    for branch in node.elif_:
        longest = longest | _if(branch)
    return longest


def _arguments(node: Any) -> list[Any]:
    if node.dyn_args is not None or node.dyn_kwargs is not None:
        raise TemplateCostError("data element templates cannot unpack arguments (* or **)")
    return [*node.args, *(k.value for k in node.kwargs)]


# filters whose output is the input's length (or 3× it: case mappings such as ß -> SS)
_SAME = frozenset({"trim", "striptags", "string", "first", "last", "reverse"})
_CASE = frozenset({"upper", "lower", "title", "capitalize"})
FILTERS = tuple(sorted(_SAME | _CASE | {"length", "count", "replace", "truncate", "default", "d"}))


def _filter(node: Any) -> Bound:
    if node.node is None:
        raise TemplateCostError("data element templates cannot use filter blocks")
    if node.name not in FILTERS:
        raise TemplateCostError(
            f"filter '{node.name}' is not allowed in data element templates "
            f"(allowed: {', '.join(FILTERS)})",
            node.name,
        )
    args = _arguments(node)
    source = _bound(node.node)
    if node.name in _SAME:
        return _checked(source, *args)
    if node.name in _CASE:
        return _checked(source.times(3), *args)
    if node.name in ("length", "count"):
        return SCALAR
    if node.name in ("default", "d"):
        return _checked(source | _sum(args[:1]), *args[1:])
    if node.kwargs:
        raise TemplateCostError(
            f"give the arguments of '{node.name}' in order, without names", node.name
        )
    if node.name == "truncate":
        return _truncate(node.args)
    return _replace(node.args, source)


def _constant_text(node: Any, what: str, needle: str) -> str:
    from jinja2 import nodes

    if not isinstance(node, nodes.Const) or not isinstance(node.value, str):
        raise TemplateCostError(f"the {what} of 'replace' must be a quoted string", needle)
    return node.value


def _replace(args: list[Any], source: Bound) -> Bound:
    if len(args) < 2:
        raise TemplateCostError("'replace' takes the old and the new text", "replace")
    old = _constant_text(args[0], "old text", "replace")
    new = _constant_text(args[1], "new text", "replace")
    if not old:
        raise TemplateCostError(
            "'replace' of an empty text inserts between every character", "replace"
        )
    for extra in args[2:]:
        _bound(extra)
    growth = max(1, math.ceil(len(new) / len(old)))
    return source.times(growth) + Bound(0, len(new))


def _truncate(args: list[Any]) -> Bound:
    from jinja2 import nodes

    length = args[0] if args else None
    if length is not None and not (
        isinstance(length, nodes.Const) and isinstance(length.value, int)
    ):
        raise TemplateCostError("the length of 'truncate' must be a whole number", "truncate")
    for extra in args[1:]:
        _bound(extra)
    limit = length.value if length is not None else 255
    return Bound(0, limit + _OBJECT_TEXT)


def _construct(node: Any) -> str:
    """How a user would name the refused construct."""
    names = {
        "For": "loops ({% for %})", "Macro": "macros", "CallBlock": "call blocks",
        "Call": "function or method calls", "Assign": "assignments ({% set %})",
        "AssignBlock": "assignments ({% set %})", "With": "{% with %} blocks",
        "Mul": "multiplication (*)", "Pow": "powers (**)", "Mod": "% formatting",
        "Dict": "dictionaries", "FilterBlock": "filter blocks",
    }  # fmt: skip
    kind = type(node).__name__
    return names.get(kind, f"{{% {kind.lower()} %}} or its like ({kind})")


def _needle(node: Any) -> str | None:
    from jinja2 import nodes

    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
        return node.node.attr
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name):
        return node.node.name
    keywords = {nodes.For: "for", nodes.Macro: "macro", nodes.Assign: "set", nodes.With: "with"}
    for kind, word in keywords.items():
        if isinstance(node, kind):
            return word
    return None
