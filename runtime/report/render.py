"""Render a journal run with Jinja2: counts per store and indicator, conflicts by cause (and each
one), batches, timings.

Store and item names and DHIS2's messages are foreign text: every ``{{ … }}`` of a template goes
through ``printable`` (no escape sequences or line breaks) and then HTML's autoescape, or, in
Markdown, ``md_text`` (HTML and Markdown syntax escaped), so a name like ``<img onerror=…>``
or ``a | b`` is shown, never interpreted.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment
from jinja2 import FileSystemLoader
from jinja2 import StrictUndefined
from jinja2 import select_autoescape

from dhispatch.errors import DhispatchError
from dhispatch.runtime.journal import Journal
from dhispatch.runtime.printable import printable
from dhispatch.runtime.report.causes import by_cause
from dhispatch.runtime.report.causes import listing

FORMATS = ("html", "md")


class ReportError(DhispatchError):
    """The run does not exist or the format is unknown."""


# what Markdown (CommonMark, GitHub tables) would read as syntax inside a table cell
_MD_SYNTAX = re.compile(r"([\\`*_\[\]|~])")


def md_text(value: Any) -> str:
    """Foreign text as inert Markdown: one line, its HTML escaped (``<script>`` shows as text)
    and every character Markdown reads as syntax backslash-escaped (a pipe cannot split a cell)."""
    return html.escape(_MD_SYNTAX.sub(r"\\\1", printable(value)), quote=False)


def _html_value(value: Any) -> Any:
    """Before HTML's autoescape: foreign strings made one inert line."""
    return printable(value) if isinstance(value, str) else value


def _env(fmt: str) -> Environment:
    # Every {{ … }} is finalized, so no template can forget to escape a foreign value.
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2")),
        finalize=_html_value if fmt == "html" else md_text,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def report_context(journal: Journal, run_id: int) -> dict[str, Any]:
    run = journal.run(run_id)
    if run is None:
        known = [r.id for r in journal.runs(limit=5)]
        hint = (
            f" (latest runs: {', '.join(map(str, known))})" if known else " (the journal is empty)"
        )
        raise ReportError(f"no run {run_id} in {journal.path}{hint}")
    summary = run.summary
    per_store: dict[str, dict[str, int]] = summary.get("per_store", {})
    indicators = sorted({i for counts in per_store.values() for i in counts})
    batches = journal.batches(run_id)
    conflicts = journal.conflicts(run_id)
    return {
        "run": run,
        "summary": summary,
        "indicators": indicators,
        "per_store": per_store,
        "totals": {i: sum(c.get(i, 0) for c in per_store.values()) for i in indicators},
        "conflicts": conflicts,
        "causes": by_cause(conflicts),
        "registrations": journal.registrations(run_id),
        "batches": batches,
        "timings": summary.get("timings", {}),
        "duration": (
            (run.finished_at - run.started_at).total_seconds() if run.finished_at else None
        ),
        "skipped": summary.get("skipped", {}),
    }


def render_run(journal: Journal, run_id: int, fmt: str = "html") -> str:
    """The report text of one run in ``html`` or ``md``."""
    if fmt not in FORMATS:
        raise ReportError(f"unknown report format {fmt!r}; use one of: {', '.join(FORMATS)}")
    env = _env(fmt)
    env.globals["listing"] = listing
    template = env.get_template("run.html.j2" if fmt == "html" else "run.md.j2")
    return template.render(**report_context(journal, run_id))
