"""The root of every error dhispatch raises for its users; the CLI catches it once, at its edge.

Each stage defines its errors next to the code that raises them, all deriving from
``DhispatchError``; a library error (lark, jsonschema, httpx, SQLAlchemy, OSError) is translated
into one of them at the stage boundary. ``str(exc)`` is one complete, secret-free message;
``exit_code`` is what the CLI exits with: 1 a problem was found, 2 the command line asked for
something impossible. Anything else that escapes is a bug, reported as one (exit 3).

DhispatchError                  (exit 1)
├── UsageError                  (exit 2) a command-line value that cannot be used
│   └── SlotRequestError        runtime.slots: a --at, --period or --from/--to that cannot run
├── SpecError                   dsl.errors: a spec that cannot be compiled; ``.diagnostics``
│   ├── SpecSyntaxError         the text does not follow the grammar
│   └── SpecSemanticError       it parses, but breaks a rule the compiler checks
├── PeriodFormatError           compiler.period_formats: a period format DHIS2 cannot parse
├── PreflightInputError         compiler.preflight: a metadata export of the wrong shape
├── AccessMetadataError         runtime.access: the data set is missing, a malformed date
├── PlanError                   runtime.plan: unreadable, schema-invalid, another version
├── TemplateCostError           runtime.plan.templates: a data-element template without a cost bound
├── PeriodError                 runtime.periods: an unknown type, a period that does not exist
├── ScheduleError               runtime.schedule: an interval, basis or zone that cannot be used
├── SourceError                 runtime.sources: the stock database cannot be read
│   └── ReferenceDateError      runtime.indicators: a date after today or after the newest data
├── ValueBuildError             runtime.cells: a value that cannot be sent, a template that fails
├── JournalError                runtime.journal: the state database (``.cause``: disk full,
│                               read-only, corrupt, newer schema, missing), or another runner
├── Dhis2Error                  runtime.dhis2: a DHIS2 exchange failed
│   ├── ConfigError             (exit 2) the target's configuration (an unset variable)
│   ├── AuthenticationError     DHIS2 refused the credentials
│   ├── NetworkError            timeouts and connection errors that outlasted the retries
│   ├── ServerError             5xx or 429 that outlasted the retries
│   ├── HttpRefusal             an HTTP error answer without an import summary
│   │   └── PayloadTooLarge     HTTP 413: the body is over DHIS2's or a proxy's size limit
│   ├── ProtocolError           an answer that cannot be read
│   └── Cancelled               the run was asked to stop before DHIS2 answered
├── RunError                    runtime.run: a run that cannot proceed (names the spec line)
├── AlertConfigError            (exit 2) runtime.alerts: alert settings that cannot be used
├── SendFailed                  runtime.alerts.notify: a channel could not deliver an alert (told
│                               again at the next check, never raised to the user)
├── MetadataFetchError          runtime.runner: preflight or init could not fetch the metadata
├── HealthError                 runtime.health: serve's --health address cannot be listened on
├── ReportError                 runtime.report: no such run, no such format
├── CommandError                runtime.cli.common: a spec with errors, a file it cannot use
├── MetadataError               runtime.sandbox.metadata: a malformed export for the sandbox
└── VersionError                runtime.sandbox.versions: a version the sandbox does not emulate
"""

from __future__ import annotations

from typing import ClassVar


class DhispatchError(Exception):
    """A problem a user can act on; ``str()`` is the whole message, never a secret."""

    exit_code: ClassVar[int] = 1

    def lines(self) -> tuple[str, ...]:
        """The message as the lines to print: one, unless the error lists its problems. Each
        line may quote foreign text; the CLI makes each one line of printable text."""
        return (str(self),)


class UsageError(DhispatchError):
    """The command line (or the caller) asked for something impossible; exit 2."""

    exit_code: ClassVar[int] = 2
