"""The journal's rows as frozen values, and the small conversions every query shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import NamedTuple
from urllib.parse import urlsplit
from urllib.parse import urlunsplit

LEGACY_TARGET = 0  # rows schema 1 wrote: it never recorded where it pushed


def strip_userinfo(url: str) -> str:
    """``https://user:pw@host/x`` → ``https://host/x``: credentials never reach the journal."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    if parts.username is None and parts.password is None and "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


def iso(at: datetime) -> str:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="seconds")


def now() -> str:
    return iso(datetime.now(UTC))


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


_INT64 = range(-(2**63), 2**63)


def stored_value(text: Any) -> Any:
    """A cell's value as the journal stores it: an INTEGER when the text is an integer's
    canonical form (``str(int(t)) == t``: no sign '+', no leading zero, no '-0', no '_', and
    within SQLite's 64 bits), which SQLite reads back as the same text (``CAST(v AS TEXT)``);
    any other text (a decimal, a code, 'true') as it is. 1–3 bytes a value instead of 2–5."""
    if not isinstance(text, str) or len(text) > 20:
        return text
    try:
        number = int(text)
    except ValueError:
        return text
    return number if number in _INT64 and str(number) == text else text


@dataclass(frozen=True, slots=True)
class TargetKey:
    """Where a plan pushes: the server (URL without userinfo), the data set, and the user the
    spec authenticates as. Every record of the journal belongs to one target."""

    url: str
    data_set: str
    user: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", strip_userinfo(self.url).rstrip("/"))


@dataclass(frozen=True, slots=True)
class ConnectionRecord:
    """The last successful connection to a DHIS2 server."""

    url: str
    version: str
    user: str
    at: datetime


class CellKey(NamedTuple):
    """A DHIS2 cell: the upsert key of a data value ('' = DHIS2's default combo).

    A named tuple: a run makes and hashes one per computed value (hashing it is C's, not a
    generated ``__hash__``)."""

    data_element: str
    period: str
    org_unit: str
    coc: str
    aoc: str = ""


@dataclass(frozen=True, slots=True)
class CellRecord:
    """The last value the journal saw DHIS2 confirm for a cell."""

    key: CellKey
    value: str
    step_id: str
    store: str
    item: str
    run_id: int


def cell_key(value: dict[str, Any]) -> CellKey:
    """The cell of a payload value."""
    return CellKey(
        value["dataElement"],
        value["period"],
        value["orgUnit"],
        value.get("categoryOptionCombo") or "",
        value.get("attributeOptionCombo") or "",
    )


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One batch as stored: its payload is the data values plus the provenance of each.

    ``status``: ``pending`` (journalled, not answered), ``failed`` (due again: unreachable, or an
    answer that proved nothing), ``sent`` (settled: every value confirmed or refused), ``split``
    (re-batched into children), ``parked`` (failed the same way too often: set aside, see
    ``dhispatch log``), ``dropped`` (a parked batch an operator gave up).
    """

    id: int
    run_id: int
    plan_name: str
    data_set: str
    strategy: str
    id_schemes: dict[str, str]
    payload: list[dict[str, Any]]
    digest: str
    status: str
    http_status: int | None
    imported: int
    updated: int
    ignored: int
    deleted: int
    attempts: int
    error: str | None
    size: int = 0  # values in the batch (kept when a pruned payload is emptied)
    target_id: int = LEGACY_TARGET
    origin_id: int | None = None  # the batch these values were first journalled in
    parent_id: int | None = None  # the batch this one was split from
    failures: int = 0  # consecutive failures of one kind
    failure_kind: str | None = None
    note: str | None = None
    created_at: str = ""


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run: what triggered it, when, how it ended and its summary counts."""

    id: int
    plan_name: str
    spec_sha: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    summary: dict[str, Any]
    target_id: int = LEGACY_TARGET


WITHHELD = 0  # the batch of a conflict the admission stage found: the value was never sent
WITHHELD_PREFIX = "not sent: "  # how a withheld value's message starts


@dataclass(frozen=True, slots=True)
class ConflictRow:
    """A value DHIS2 refused (or, with batch ``WITHHELD``, would refuse and was not sent),
    mapped back to store, item, indicator and spec line."""

    batch_id: int
    run_id: int
    idx: int | None
    store: str | None
    item: str | None
    indicator: str | None
    origin: str | None
    code: str | None
    message: str


@dataclass(frozen=True, slots=True)
class WithheldRow:
    """A value a run did not send because DHIS2 would refuse it: the rule, DHIS2's code, why."""

    key: CellKey
    rule: str
    code: str | None
    message: str
    store: str | None
    item: str | None
    indicator: str | None
    origin: str | None


@dataclass(frozen=True, slots=True)
class Settlement:
    """What one answered batch proved: values held (by index; for DELETE: gone), values refused
    with their conflicts, values still due (and why), DHIS2's counts and the seconds spent."""

    held: frozenset[int]
    conflicts: tuple[ConflictRow, ...]
    refused: frozenset[int]
    remaining: frozenset[int] = frozenset()
    reason: str | None = None
    http_status: int | None = None
    counts: tuple[int, int, int, int] = (0, 0, 0, 0)
    seconds: float = 0.0
