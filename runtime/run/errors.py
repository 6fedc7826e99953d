"""The run's one error: a run that cannot proceed (bad source, unset variable, a doubled cell…)."""

from __future__ import annotations

from dhispatch.errors import DhispatchError


class RunError(DhispatchError):
    """A run that cannot proceed; its text names the spec line or variable to fix."""
