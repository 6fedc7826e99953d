"""Run reports: one journal run rendered as HTML (autoescaped) or Markdown with Jinja2."""

from __future__ import annotations

from dhispatch.runtime.report.render import ReportError
from dhispatch.runtime.report.render import render_run

__all__ = ["ReportError", "render_run"]
