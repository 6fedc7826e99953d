"""The canonical layout of a spec (``dhispatch fmt``), keeping every comment.

One setting per line with values aligned in multi-line blocks; ``push`` blocks stay on one line
when they fit in 120 columns and hold no comment. Comments are re-attached by line: a comment on
its own line goes before the next construct, one after code stays after that construct (two such
comments of constructs joined onto one line end up side by side on that line).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field

from dhispatch.dsl import ast
from dhispatch.dsl.parser import parse_spec
from dhispatch.dsl.scan import Comment
from dhispatch.dsl.scan import comments

INDENT = "    "
MAX_WIDTH = 120


@dataclass
class _Unit:
    """One printable piece (a statement head, a setting, a closing brace) and its comments."""

    start: int
    end: int
    leading: list[Comment] = field(default_factory=list)
    trailing: list[Comment] = field(default_factory=list)


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def value_text(value: ast.Value | None) -> str:
    """The canonical text of a setting's value."""
    if value is None:
        return ""
    if isinstance(value, ast.Str):
        return quote(value.value)
    if isinstance(value, ast.Name | ast.Num):
        return value.text if isinstance(value, ast.Num) else value.value
    if isinstance(value, ast.Env):
        return f"env({quote(value.var.value)})"
    if isinstance(value, ast.Call):
        args = ", ".join(
            (f"{a.key.value}: " if a.key else "") + value_text(a.value) for a in value.args
        )
        return f"{value.func.value}({args})"
    if isinstance(value, ast.Filters):
        return " and ".join(_filter_text(f) for f in value.filters)
    if isinstance(value, ast.Attr):
        arg = f"({quote(value.arg.value)})" if value.arg is not None else ""
        return f"{value.obj.value}.{value.attr.value}{arg}"
    if isinstance(value, ast.Mapping):
        return f"mapping {quote(value.path.value)}"
    if isinstance(value, ast.ItemRef):
        return ("custom_field " if value.custom else "") + value.field.value
    return _interval_text(value)


def _filter_text(item_filter: ast.Filter) -> str:
    if isinstance(item_filter, ast.FieldSet):
        return f"where {item_filter.field.value} is set"
    if isinstance(item_filter, ast.CustomFlag):
        return f"where {item_filter.func.value}({item_filter.field.value})"
    if isinstance(item_filter, ast.FieldCompare):
        field, op = item_filter.field.value, item_filter.op.value
        return f"where {field} {op} {value_text(item_filter.literal)}"
    return f"in master_list {quote(item_filter.name.value)}"


def _interval_text(value: ast.Interval) -> str:
    parts = [value.kind.value]
    if value.expression is not None:
        parts.append(quote(value.expression.value))
    if value.weekday is not None:
        parts.append(f"on {value.weekday.value}")
    if value.day is not None:
        parts.append(f"on day {value.day.text}")
    return " ".join(parts)


def setting_text(s: ast.Setting, width: int = 0) -> str:
    """``keyword value`` with the keyword padded to ``width`` when it has a value."""
    if s.name == "within" and isinstance(s.value, ast.Num):
        return f"{s.name.ljust(width)} {s.value.text} days"
    text = value_text(s.value)
    return f"{s.name.ljust(width)} {text}" if text else s.name


def _head(statement: ast.Statement) -> str:
    if isinstance(statement, ast.SpecName):
        return f"spec {quote(statement.name.value)}"
    if isinstance(statement, ast.Target):
        return "dhis2"
    if isinstance(statement, ast.NamedTarget):
        return f"target {quote(statement.name.value)}"
    if isinstance(statement, ast.Source):
        return f"source {statement.kind.value}"
    if isinstance(statement, ast.Setup):
        return f"setup {statement.mode.value}"
    if isinstance(statement, ast.Alerts):
        return "alerts"
    return f"push {statement.indicator.value}"


def _settings(statement: ast.Statement) -> tuple[ast.Setting, ...]:
    return () if isinstance(statement, ast.SpecName) else statement.settings


def _has_block(statement: ast.Statement) -> bool:
    if isinstance(statement, ast.SpecName):
        return False
    return statement.has_body if isinstance(statement, ast.Setup) else True


class _Printer:
    def __init__(self, spec: ast.Spec, text: str) -> None:
        self.units: dict[int, _Unit] = {}
        self.order: list[_Unit] = []
        for statement in spec.statements:
            if not _has_block(statement):
                self._unit(id(statement), statement.span.line, statement.span.end_line)
                continue
            self._unit(id(statement), statement.span.line, statement.span.line)
            for s in _settings(statement):
                self._unit(id(s), s.span.line, s.span.end_line)
            self._unit(-id(statement), statement.span.end_line, statement.span.end_line)
        self.tail: list[Comment] = []
        self._attach(comments(text))
        self.lines: list[str] = []

    def _unit(self, key: int, start: int, end: int) -> None:
        unit = _Unit(start, end)
        self.units[key] = unit
        self.order.append(unit)

    def _attach(self, found: list[Comment]) -> None:
        for comment in found:
            if comment.own_line:
                after = next((u for u in self.order if u.start > comment.line), None)
                (after.leading if after else self.tail).append(comment)
                continue
            holder = None
            for unit in self.order:
                if unit.start <= comment.line <= unit.end:
                    holder = unit
            if holder is None:
                holder = next((u for u in reversed(self.order) if u.start <= comment.line), None)
            (holder.trailing if holder else self.tail).append(comment)

    def emit(self, text: str, unit: _Unit | None, indent: str = "") -> None:
        if unit is not None:
            for comment in unit.leading:
                self.lines.append(indent + comment.text)
            if unit.trailing:
                text += "  " + "  ".join(c.text for c in unit.trailing)
        self.lines.append(indent + text)

    def statement(self, statement: ast.Statement) -> bool:
        """Print one statement; True when it came out on one line."""
        head = _head(statement)
        if not _has_block(statement):
            self.emit(head, self.units[id(statement)])
            return True
        settings = _settings(statement)
        opening, closing = self.units[id(statement)], self.units[-id(statement)]
        inner = [self.units[id(s)] for s in settings]
        quiet = not opening.trailing and not closing.leading
        quiet = quiet and not any(u.leading or u.trailing for u in inner)
        if not settings and quiet:
            self.emit(head + " {}", _Unit(0, 0, opening.leading, closing.trailing))
            return True
        if isinstance(statement, ast.Push) and quiet:
            line = f"{head} {{ {' '.join(setting_text(s) for s in settings)} }}"
            if len(line) + sum(len(c.text) + 2 for c in closing.trailing) <= MAX_WIDTH:
                self.emit(line, _Unit(0, 0, opening.leading, closing.trailing))
                return True
        self.emit(head + " {", opening)
        width = max((len(s.name) for s in settings if s.value is not None), default=0)
        for s in settings:
            self.emit(setting_text(s, width), self.units[id(s)], INDENT)
        self.emit("}", closing)
        return False

    def run(self, spec: ast.Spec) -> str:
        previous_push_line = False
        for index, statement in enumerate(spec.statements):
            one_line_push = isinstance(statement, ast.Push)
            if index > 0 and not (previous_push_line and one_line_push):
                self.lines.append("")
            mark = len(self.lines)
            single = self.statement(statement)
            if one_line_push and not single and mark > 0 and self.lines[mark - 1] != "":
                self.lines.insert(mark, "")
            previous_push_line = one_line_push and single
        if self.tail:
            if self.lines:
                self.lines.append("")
            self.lines.extend(c.text for c in self.tail)
        return "\n".join(self.lines) + "\n" if self.lines else ""


def format_spec(spec: ast.Spec, text: str) -> str:
    """The canonical text of a parsed spec, with the comments of its source ``text``."""
    return _Printer(spec, text).run(spec)


def format_source(text: str, path: str) -> str:
    """Parse and format; raises SpecSyntaxError for text that does not parse."""
    return format_spec(parse_spec(text, path), text)
