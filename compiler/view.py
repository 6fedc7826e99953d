"""An index over a parsed spec that checks and the plan builder share (first of each block)."""

from __future__ import annotations

from dataclasses import dataclass

from dhispatch.dsl import ast
from dhispatch.dsl.diagnostics import Span


def setting(settings: tuple[ast.Setting, ...], name: str) -> ast.Setting | None:
    """The first setting of that name in a block (later duplicates are reported elsewhere)."""
    return next((s for s in settings if s.name == name), None)


def keyword_span(span: Span, keyword: str) -> Span:
    """The span of a statement's leading keyword."""
    return Span(span.path, span.line, span.column, span.line, span.column + len(keyword))


@dataclass(frozen=True, slots=True)
class SpecView:
    """The spec's statements by kind."""

    spec: ast.Spec
    names: tuple[ast.SpecName, ...]
    targets: tuple[ast.Target, ...]
    sources: tuple[ast.Source, ...]
    setups: tuple[ast.Setup, ...]
    pushes: tuple[ast.Push, ...]
    named_targets: tuple[ast.NamedTarget, ...] = ()
    alerts: tuple[ast.Alerts, ...] = ()

    @classmethod
    def of(cls, spec: ast.Spec) -> SpecView:
        s = spec.statements
        return cls(
            spec,
            tuple(x for x in s if isinstance(x, ast.SpecName)),
            tuple(x for x in s if isinstance(x, ast.Target)),
            tuple(x for x in s if isinstance(x, ast.Source)),
            tuple(x for x in s if isinstance(x, ast.Setup)),
            tuple(x for x in s if isinstance(x, ast.Push)),
            tuple(x for x in s if isinstance(x, ast.NamedTarget)),
            tuple(x for x in s if isinstance(x, ast.Alerts)),
        )

    @property
    def target(self) -> ast.Target | None:
        return self.targets[0] if self.targets else None

    @property
    def source(self) -> ast.Source | None:
        return self.sources[0] if self.sources else None

    @property
    def setup(self) -> ast.Setup | None:
        return self.setups[0] if self.setups else None

    def target_setting(self, name: str) -> ast.Setting | None:
        return setting(self.target.settings, name) if self.target else None

    def setting_of(self, named: ast.NamedTarget | None, name: str) -> ast.Setting | None:
        """A setting of one named target: its own, else the dhis2 block's (the default)."""
        own = setting(named.settings, name) if named is not None else None
        return own if own is not None else self.target_setting(name)

    @property
    def mode(self) -> str | None:
        return self.setup.mode.value if self.setup else None

    def id_scheme(self, name: str, named: ast.NamedTarget | None = None) -> str:
        """``code`` or ``uid`` (the default) for id_scheme / org_unit_id_scheme / …"""
        found = self.setting_of(named, name)
        if found is not None and isinstance(found.value, ast.Name):
            return found.value.value
        return "uid"

    def period_type(self) -> str | None:
        """The data set's period type, or None when the spec does not give a valid one."""
        from dhispatch.compiler.period_formats import PeriodFormatError
        from dhispatch.compiler.period_formats import period_type_for_format
        from dhispatch.runtime.plan.catalogue import PERIOD_TYPES

        fmt = self.target_setting("period_format")
        if fmt is not None and isinstance(fmt.value, ast.Str):
            try:
                return period_type_for_format(fmt.value.value)
            except PeriodFormatError:
                return None
        ptype = self.target_setting("period_type")
        if ptype is not None and isinstance(ptype.value, ast.Name):
            return ptype.value.value if ptype.value.value in PERIOD_TYPES else None
        return None
