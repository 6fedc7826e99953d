"""Turn Lark's parse tree into the frozen AST; it decides shape only, never meaning."""

from __future__ import annotations

from typing import Any

from lark import Token
from lark import Transformer
from lark import v_args
from lark.tree import Meta

from dhispatch.dsl import ast
from dhispatch.dsl.diagnostics import Span

# Setting rules whose value is the single child, converted as-is.
_PLAIN_SETTINGS = frozenset(
    {
        "url", "auth", "data_set", "id_scheme", "org_unit_id_scheme",
        "category_option_combo_id_scheme", "period_format", "period_type", "round", "timezone",
        "enabled", "disabled", "insecure", "on_vanish", "attribute_option_combo", "journal",
        "complete_data_set",
        "keep_payloads",
        "database",
        "org_unit", "category_option", "data_element", "basis", "within", "months",
        "days_per_month", "adjust_for_stockouts", "soh", "paused",
        "webhook", "email_to", "email_from", "smtp", "smtp_user", "smtp_password",
        "offline_hours", "stale_days",
    }
)  # fmt: skip


def unescape(literal: str) -> str:
    """The value of a STRING token: quotes removed, ``\\"`` and ``\\\\`` resolved."""
    body = literal[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    chars = iter(body)
    for char in chars:
        out.append(next(chars, "") if char == "\\" else char)
    return "".join(out)


class ToAst(Transformer[Token, Any]):
    """Build ``dsl.ast`` nodes; every node gets the span of the text it came from."""

    def __init__(self, path: str) -> None:
        super().__init__(visit_tokens=True)
        self.path = path

    # ------------------------------------------------------------------ helpers
    def _span(self, meta: Meta) -> Span:
        return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok_span(self, tok: Token) -> Span:
        line = tok.line or 1
        column = tok.column or 1
        end_line = tok.end_line or line
        end_column = tok.end_column or column + len(tok)
        return Span(self.path, line, column, end_line, end_column)

    # ------------------------------------------------------------------ terminals
    def STRING(self, tok: Token) -> ast.Str:
        return ast.Str(unescape(str(tok)), self._tok_span(tok))

    def NAME(self, tok: Token) -> ast.Name:
        return ast.Name(str(tok), self._tok_span(tok))

    def NUMBER(self, tok: Token) -> ast.Num:
        return ast.Num(str(tok), self._tok_span(tok))

    def COMPARE(self, tok: Token) -> ast.Name:
        return ast.Name(str(tok), self._tok_span(tok))

    # ------------------------------------------------------------------ statements
    @v_args(meta=True)
    def start(self, meta: Meta, children: list[Any]) -> ast.Spec:
        span = Span(self.path, 1, 1, 1, 1) if meta.empty else self._span(meta)
        return ast.Spec(self.path, tuple(children), span)

    @v_args(meta=True)
    def spec_name(self, meta: Meta, children: list[Any]) -> ast.SpecName:
        return ast.SpecName(children[0], self._span(meta))

    @v_args(meta=True)
    def target(self, meta: Meta, children: list[Any]) -> ast.Target:
        return ast.Target(tuple(children), self._span(meta))

    @v_args(meta=True)
    def named_target(self, meta: Meta, children: list[Any]) -> ast.NamedTarget:
        return ast.NamedTarget(children[0], tuple(children[1:]), self._span(meta))

    @v_args(meta=True)
    def source(self, meta: Meta, children: list[Any]) -> ast.Source:
        return ast.Source(children[0], tuple(children[1:]), self._span(meta))

    @v_args(meta=True)
    def setup(self, meta: Meta, children: list[Any]) -> ast.Setup:
        body = children[1] if len(children) > 1 else None
        settings = tuple(body) if body is not None else ()
        return ast.Setup(children[0], settings, body is not None, self._span(meta))

    def setup_body(self, children: list[Any]) -> list[Any]:
        return children

    @v_args(meta=True)
    def push(self, meta: Meta, children: list[Any]) -> ast.Push:
        return ast.Push(children[0], tuple(children[1:]), self._span(meta))

    @v_args(meta=True)
    def alerts(self, meta: Meta, children: list[Any]) -> ast.Alerts:
        return ast.Alerts(tuple(children), self._span(meta))

    # ------------------------------------------------------------------ settings
    def _setting(self, name: str, value: Any, meta: Meta) -> ast.Setting:
        span = self._span(meta)
        name_span = Span(self.path, span.line, span.column, span.line, span.column + len(name))
        return ast.Setting(name, value, span, name_span)

    def __default__(self, data: Any, children: list[Any], meta: Meta) -> Any:
        name = str(data)
        if name in _PLAIN_SETTINGS:
            return self._setting(name, children[0] if children else None, meta)
        raise AssertionError(f"grammar rule without a transformer: {name}")

    @v_args(meta=True)
    def custom_field(self, meta: Meta, children: list[Any]) -> ast.Setting:
        return self._setting("custom_field", children[-1], meta)

    @v_args(meta=True)
    def items(self, meta: Meta, children: list[Any]) -> ast.Setting:
        return self._setting("items", ast.Filters(tuple(children), self._span(meta)), meta)

    @v_args(meta=True)
    def item_ref(self, meta: Meta, children: list[Any]) -> ast.Setting:
        custom = any(isinstance(c, Token) and c.type == "CUSTOM_FIELD" for c in children)
        ref = ast.ItemRef(children[-1], custom, self._span(meta))
        return self._setting("item_ref", ref, meta)

    @v_args(meta=True)
    def interval(self, meta: Meta, children: list[Any]) -> ast.Setting:
        kind = children[0]
        expression = next((c for c in children[1:] if isinstance(c, ast.Str)), None)
        on = next((c for c in children[1:] if isinstance(c, tuple)), None)
        weekday = on[1] if on is not None and on[0] == "weekday" else None
        day = on[1] if on is not None and on[0] == "day" else None
        whole = self._span(meta)
        span = Span(self.path, kind.span.line, kind.span.column, whole.end_line, whole.end_column)
        value = ast.Interval(kind, expression, weekday, day, span)
        return self._setting("interval", value, meta)

    def on_weekday(self, children: list[Any]) -> tuple[str, ast.Name]:
        return ("weekday", children[0])

    def on_day(self, children: list[Any]) -> tuple[str, ast.Num]:
        return ("day", children[0])

    # ------------------------------------------------------------------ values
    @v_args(meta=True)
    def field_set(self, meta: Meta, children: list[Any]) -> ast.FieldSet:
        return ast.FieldSet(children[0], self._span(meta))

    @v_args(meta=True)
    def custom_flag(self, meta: Meta, children: list[Any]) -> ast.CustomFlag:
        return ast.CustomFlag(children[0], children[1], self._span(meta))

    @v_args(meta=True)
    def field_compare(self, meta: Meta, children: list[Any]) -> ast.FieldCompare:
        return ast.FieldCompare(children[0], children[1], children[2], self._span(meta))

    @v_args(meta=True)
    def master_list(self, meta: Meta, children: list[Any]) -> ast.MasterList:
        return ast.MasterList(children[0], self._span(meta))

    @v_args(meta=True)
    def attr(self, meta: Meta, children: list[Any]) -> ast.Attr:
        arg = children[2] if len(children) > 2 else None
        return ast.Attr(children[0], children[1], arg, self._span(meta))

    @v_args(meta=True)
    def mapping(self, meta: Meta, children: list[Any]) -> ast.Mapping:
        return ast.Mapping(children[0], self._span(meta))

    @v_args(meta=True)
    def call(self, meta: Meta, children: list[Any]) -> ast.Call:
        args = tuple(c for c in children[1:] if c is not None)
        return ast.Call(children[0], args, self._span(meta))

    @v_args(meta=True)
    def arg(self, meta: Meta, children: list[Any]) -> ast.Arg:
        key = children[0] if len(children) > 1 else None
        return ast.Arg(key, children[-1], self._span(meta))

    @v_args(meta=True)
    def env(self, meta: Meta, children: list[Any]) -> ast.Env:
        return ast.Env(children[0], self._span(meta))
