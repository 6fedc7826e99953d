"""The rules DHIS2 applies before it writes a data value, per version, as one implementation that
``preflight`` (per spec line) and a run's admission stage (per cell) both ask.

Read in dhis2-core: ``DefaultDataValueSetService`` (2.36), ``DataValueSetImportValidator``
(2.37–2.42: per value, in the order of ``cell``), ``DefaultDataEntryService`` (2.43+: each rule
refuses the whole data set group), ``DataSet.isLocked``, ``DataInputPeriod``. A rule that cannot
be decided from what is known (an object the metadata lacks, an approval not looked up) passes:
the rules withhold only values DHIS2 is certain to refuse. ``force`` is never sent, so nothing is
skipped for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from functools import cached_property

from dhispatch.runtime.access.metadata import AccessMetadata
from dhispatch.runtime.access.metadata import Window
from dhispatch.runtime.access.sharing import Sharing
from dhispatch.runtime.access.writer import EDIT_EXPIRED
from dhispatch.runtime.access.writer import Writer
from dhispatch.runtime.periods import Period
from dhispatch.runtime.periods import PeriodError
from dhispatch.runtime.periods import parse_period
from dhispatch.runtime.periods import period_for
from dhispatch.runtime.plan import IdSchemes

DATA_SET_SHARING = "data-set-sharing"
OPTION_SHARING = "option-sharing"
ATTRIBUTE_SHARING = "attribute-sharing"
HIERARCHY = "hierarchy"
CLOSED = "closed"
EXPIRED = "expired"
FUTURE = "future"
INPUT_PERIOD = "input-period"
APPROVED = "approved"
ATTRIBUTE_DATES = "attribute-dates"
ATTRIBUTE_UNITS = "attribute-units"
# each rule as a cause, for summaries and reports
CAUSES = {
    DATA_SET_SHARING: "the data set is not shared with the user for data write",
    OPTION_SHARING: "a category option of the combo is not shared with the user for data write",
    ATTRIBUTE_SHARING: "an attribute option is not shared with the user for data write",
    HIERARCHY: "the org unit is outside the user's data capture org units",
    CLOSED: "the org unit is closed (or not open yet) for the period",
    EXPIRED: "the period is past the data set's expiry days",
    FUTURE: "the period is not open yet (openFuturePeriods)",
    INPUT_PERIOD: "the period is outside the data set's data input periods",
    APPROVED: "the data is approved",
    ATTRIBUTE_DATES: "the period is outside the attribute options' dates",
    ATTRIBUTE_UNITS: "the org unit is outside the attribute options' org units",
}

# DHIS2's code for each rule: 2.36 (none: plain text), 2.37–2.42, 2.43+
CODES: dict[str, tuple[str | None, str | None, str | None]] = {
    DATA_SET_SHARING: (None, "E7601", "E8010"),
    OPTION_SHARING: (None, "E7613", "E8012"),
    ATTRIBUTE_SHARING: (None, "E7615", "E8012"),
    HIERARCHY: (None, "E7617", "E8011"),
    CLOSED: (None, None, "E8031"),
    EXPIRED: (None, "E7640", "E8030"),
    FUTURE: (None, "E7641", "E8030"),
    INPUT_PERIOD: (None, "E7643", "E8030"),
    APPROVED: (None, "E7642", "E8033"),
    ATTRIBUTE_DATES: (None, "E7638", "E8032"),
    ATTRIBUTE_UNITS: (None, "E7639", "E8025"),
}
APPROVED_STATES = frozenset(
    {"APPROVED_HERE", "APPROVED_ABOVE", "APPROVED_ELSEWHERE", "ACCEPTED_HERE", "ACCEPTED_ELSEWHERE"}
)
APPROVED_HERE = frozenset({"APPROVED_HERE", "ACCEPTED_HERE"})

ApprovalState = Callable[[str, str], str | None]
"""(period id, org unit UID) → DHIS2's approval state of the data set's workflow, or None."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why DHIS2 will refuse: the rule, DHIS2's code on this version, what is refused (a
    ``noun`` and its ``name``) and why (``reason``, without the subject, so that findings about
    many subjects can list them)."""

    rule: str
    code: str | None
    noun: str
    name: str
    reason: str
    hint: str

    @property
    def message(self) -> str:
        return f"{self.noun} {self.name} {self.reason}"


class WriteRules:
    """The rules for one user, DHIS2 version and instant; identifiers as the plan names them.

    ``writer`` None means the user is not known (token auth without ``--as-user``): the rules
    about the user (sharing, hierarchy) pass, the others are checked for a user without
    authorities. ``aoc`` is the attribute option combo the client sends (None: DHIS2's default,
    not named, which 2.43 exempts from approval and date checks).
    """

    def __init__(
        self,
        meta: AccessMetadata,
        writer: Writer | None,
        *,
        minor: int,
        now: datetime,
        schemes: IdSchemes = IdSchemes(),  # noqa: B008 - frozen, so a shared default is safe
        aoc: str | None = None,
        approvals: ApprovalState | None = None,
    ) -> None:
        self.meta, self.writer, self.minor = meta, writer, minor
        self.now = now if now.tzinfo is None else now.astimezone(UTC).replace(tzinfo=None)
        self.schemes, self.aoc, self.approvals = schemes, aoc, approvals
        self._cells: dict[tuple[str, str, str], Refusal | None] = {}

    # ---- building blocks -----------------------------------------------------------------

    def _refusal(self, rule: str, subject: str, reason: str, hint: str) -> Refusal:
        """``subject`` is "noun name" (the noun's words, then the name)."""
        codes = CODES[rule]
        code = codes[0] if self.minor <= 36 else codes[2] if self.minor >= 43 else codes[1]
        noun, name = _split_subject(subject)
        return Refusal(rule, code, noun, name, reason, hint)

    @property
    def _who(self) -> str:
        return f"user {self.writer.username}" if self.writer else "the user"

    def _user_rules(self) -> bool:
        """Sharing is checked for a known user who is not a superuser."""
        return self.writer is not None and not self.writer.is_super

    def coc_uid(self, coc: str | None) -> str | None:
        if coc is None or coc == "":
            return self.meta.default_coc
        return self.meta.uid("categoryOptionCombos", coc, self.schemes.category_option_combo)

    def ou_uid(self, ou: str) -> str | None:
        return self.meta.uid("organisationUnits", ou, self.schemes.org_unit)

    @cached_property
    def _today(self) -> date:
        return self.now.date()

    # ---- sharing and hierarchy -----------------------------------------------------------

    def data_set(self) -> Refusal | None:
        """Data write on the data set (E7601 aborts the whole import; E8010)."""
        ds = self.meta.data_set
        if not self._user_rules() or _writes(ds.sharing, self.writer):
            return None
        return self._refusal(
            DATA_SET_SHARING, f"data set {ds.label}", f"is not shared with {self._who} for data "
            "write",
            "share the data set with the user or one of its groups: 'can capture data'",
        )  # fmt: skip

    def combo(self, coc: str | None) -> Refusal | None:
        """Data write on every option of a category option combo (E7613/E7614; E8012)."""
        return self._options(self.coc_uid(coc), OPTION_SHARING, "category option combo")

    def attribute_combo(self) -> Refusal | None:
        """Data write on every option of the attribute option combo sent (E7615/E7616; E8012)."""
        if self.aoc is None:
            return None
        return self._options(self.aoc, ATTRIBUTE_SHARING, "attribute option combo")

    def _options(self, uid: str | None, rule: str, noun: str) -> Refusal | None:
        if uid is None or not self._user_rules():
            return None
        options = [self.meta.options[o] for o in self.meta.combo_options.get(uid, ()) if o in
                   self.meta.options]  # fmt: skip
        shut = [o.label for o in options if not _writes(o.sharing, self.writer)]
        if not shut:
            return None
        return self._refusal(
            rule, f"{noun} {uid}", f"has category option {', '.join(shut)} without data write "
            f"for {self._who}",
            "share the category option with the user or one of its groups: 'can capture data'",
        )  # fmt: skip

    def reaches(self, ou: str) -> Refusal | None:
        """The org unit within the user's data capture org units (E7617, superusers too;
        E8011, not superusers)."""
        uid, w = self.ou_uid(ou), self.writer
        if uid is None or w is None or uid not in self.meta.units:
            return None
        if (self.minor >= 43 and w.is_super) or self.meta.is_within(uid, w.org_units):
            return None
        return self._refusal(
            HIERARCHY, f"org unit {self.meta.units[uid].label}",
            f"is outside the data capture org units of {self._who}",
            "add the org unit (or an ancestor) to the user's data capture org units",
        )  # fmt: skip

    # ---- periods -------------------------------------------------------------------------

    def period(self, period_id: str) -> Refusal | None:
        """Whether the data set takes data for the period now: expiry days and open future
        periods, or (2.43: instead of them) explicit data input periods."""
        p = _period(period_id)
        if p is None:
            return None
        if self.minor >= 43:
            if self.meta.data_set.input_periods:
                return self._input(p)
            if self.writer is not None and self.writer.has(EDIT_EXPIRED):
                return None
            return self._expired(p) or self._future(p)
        return self._expired(p) or self._future(p) or self._input(p)

    def _expired(self, p: Period) -> Refusal | None:
        days = self.meta.data_set.expiry_days
        if days <= 0 or (self.writer is not None and self.writer.has(EDIT_EXPIRED)):
            return None
        last = p.end + timedelta(days=days)
        # 2.36 compares the instant with end + expiryDays at 00:00; later versions compare days
        if not (self._today >= last if self.minor <= 36 else self._today > last):
            return None
        return self._refusal(
            EXPIRED, f"period {p.id}", f"was locked for data entry after {last.isoformat()} "
            f"(expiryDays {days})",
            "give the user F_EDIT_EXPIRED, or raise the data set's expiryDays",
        )  # fmt: skip

    def _future(self, p: Period) -> Refusal | None:
        latest = _shift(period_for(p.type, self._today), self.meta.data_set.open_future - 1)
        if p.start <= latest.end:
            return None
        return self._refusal(
            FUTURE, f"period {p.id}", f"is not open yet: the latest open period is {latest.id} "
            f"(openFuturePeriods {self.meta.data_set.open_future})",
            "raise openFuturePeriods on the data set, or push earlier periods",
        )  # fmt: skip

    def _input(self, p: Period) -> Refusal | None:
        windows = self.meta.data_set.input_periods
        if not windows or any(self._open(w) for w in windows.get(p.id, ())):
            return None
        spans = ", ".join(_span_text(w) for w in windows.get(p.id, ())) or "no input period"
        return self._refusal(
            INPUT_PERIOD, f"period {p.id}", f"is outside the data set's data input periods "
            f"({spans})",
            "add or widen a data input period of the data set for this period",
        )  # fmt: skip

    def _open(self, w: Window) -> bool:
        start, end, now = w.start, w.end, self.now
        if self.minor <= 36:  # date.after(opening) && date.before(closing)
            return (start is None or now > start) and (end is None or now < end)
        if self.minor >= 43:
            return (start is None or now >= start) and (end is None or now <= end)
        day = now.date()
        return (start is None or day >= start.date()) and (end is None or day <= end.date())

    # ---- org unit × period ---------------------------------------------------------------

    def closed(self, ou: str, period_id: str) -> Refusal | None:
        """2.43 E8031: the period's first day within the org unit's opening/closed dates."""
        uid, p = self.ou_uid(ou), _period(period_id)
        if self.minor < 43 or uid is None or p is None or uid not in self.meta.units:
            return None
        unit = self.meta.units[uid]
        if unit.window is None or _includes(unit.window, _midnight(p.start)):
            return None
        return self._refusal(
            CLOSED, f"org unit {unit.label}", f"is not open on {p.start.isoformat()}, the first "
            f"day of {p.id} ({_span_text(unit.window)}); DHIS2 refuses its whole batch",
            "correct the org unit's opening/closed date in DHIS2, or map the store elsewhere",
        )  # fmt: skip

    def approved(self, ou: str, period_id: str) -> Refusal | None:
        """Approval of the data set's workflow (E7642: at the lowest level at or above the org
        unit; 2.43 E8033: the org unit's own, only for values naming an attribute option combo)."""
        uid = self.ou_uid(ou)
        if self.approvals is None or self.meta.data_set.workflow is None or uid is None:
            return None
        if self.minor >= 43 and self.aoc is None:
            return None
        state = self.approvals(period_id, uid)
        approved = APPROVED_HERE if self.minor >= 43 else APPROVED_STATES
        if state not in approved:
            return None
        label = self.meta.units[uid].label if uid in self.meta.units else uid
        return self._refusal(
            APPROVED, f"org unit {label}", f"is approved for {period_id} ({state}, workflow "
            f"{self.meta.data_set.workflow})",
            "unapprove the period in DHIS2 before pushing it again",
        )  # fmt: skip

    def attribute_period(self, period_id: str) -> Refusal | None:
        """The period within the attribute option combo's option dates (E7638: overlapping,
        the end moved by openPeriodsAfterCoEndDate; 2.43 E8032: wholly inside)."""
        p = _period(period_id)
        span = self._aoc_span()
        if p is None or span is None:
            return None
        if self.minor >= 43:
            inside = _within(span, p) or (
                self.meta.data_set.open_after_end > 0
                and _within(span, _shift(p, -self.meta.data_set.open_after_end))
            )
        else:
            end = span.end and _midnight(_shift_day(p.type, span.end.date(),
                                                    self.meta.data_set.open_after_end))  # fmt: skip
            inside = not ((span.start and span.start > _midnight(p.end))
                          or (end and end < _midnight(p.start)))  # fmt: skip
        if inside:
            return None
        return self._refusal(
            ATTRIBUTE_DATES, f"period {p.id}", f"is outside the dates of attribute option combo "
            f"{self.aoc} ({_span_text(span)})",
            "push periods within the attribute options' start and end dates",
        )  # fmt: skip

    def _aoc_span(self) -> Window | None:
        if self.aoc is None:
            return None
        windows = [self.meta.options[o].window for o in self.meta.combo_options.get(self.aoc, ())
                   if o in self.meta.options]  # fmt: skip
        starts = [w.start for w in windows if w and w.start]
        ends = [w.end for w in windows if w and w.end]
        if not starts and not ends:
            return None
        return Window(max(starts, default=None), min(ends, default=None))

    def attribute_unit(self, ou: str) -> Refusal | None:
        """The org unit within the attribute options' org units (E7639: within their
        intersection; 2.43 E8025: within each restricted option's)."""
        uid = self.ou_uid(ou)
        if self.aoc is None or uid is None:
            return None
        sets = [self.meta.options[o].org_units for o in self.meta.combo_options.get(self.aoc, ())
                if o in self.meta.options and self.meta.options[o].org_units]  # fmt: skip
        if not sets:
            return None
        if self.minor >= 43:
            inside = all(self.meta.is_within(uid, s) for s in sets)
        else:
            inside = self.meta.is_within(uid, frozenset.intersection(*sets))
        if inside:
            return None
        return self._refusal(
            ATTRIBUTE_UNITS, f"org unit {uid}", f"is outside the org units of attribute option "
            f"combo {self.aoc}",
            "push only org units the attribute options are assigned to",
        )  # fmt: skip

    # ---- one cell ------------------------------------------------------------------------

    def cell(self, period_id: str, ou: str, coc: str | None) -> Refusal | None:
        """The first rule that refuses a value of (period, org unit, option combo), in the
        version's order; the data set's own sharing is asked separately (``data_set``)."""
        key = (period_id, ou, coc or "")
        if key not in self._cells:
            checks: tuple[Callable[[], Refusal | None], ...]
            if self.minor >= 43:
                checks = (
                    lambda: self.reaches(ou), self.attribute_combo, lambda: self.combo(coc),
                    lambda: self.attribute_unit(ou), lambda: self.closed(ou, period_id),
                    lambda: self.period(period_id), lambda: self.approved(ou, period_id),
                    lambda: self.attribute_period(period_id),
                )  # fmt: skip
            else:
                checks = (
                    lambda: self.combo(coc), self.attribute_combo, lambda: self.reaches(ou),
                    lambda: self.attribute_period(period_id), lambda: self.attribute_unit(ou),
                    lambda: self._legacy_timeliness(ou, period_id),
                )  # fmt: skip
            self._cells[key] = next((r for c in checks if (r := c()) is not None), None)
        return self._cells[key]

    def _legacy_timeliness(self, ou: str, period_id: str) -> Refusal | None:
        """≤2.42: expiry (E7640), future (E7641), approval (E7642), input periods (E7643)."""
        p = _period(period_id)
        if p is None:
            return None
        return self._expired(p) or self._future(p) or self.approved(ou, period_id) or self._input(p)


_NOUNS = ("data set", "category option combo", "attribute option combo", "org unit", "period")


def _split_subject(subject: str) -> tuple[str, str]:
    noun = next((n for n in _NOUNS if subject.startswith(n + " ")), "")
    return (noun, subject[len(noun) + 1 :]) if noun else ("", subject)


def _writes(sharing: Sharing | None, writer: Writer | None) -> bool:
    """Data write through the object's sharing; no sharing at all is DHIS2's default (none)."""
    if writer is None:
        return True
    return (sharing or Sharing()).data_write(writer.id, writer.groups)


def _period(period_id: str) -> Period | None:
    try:
        return parse_period(period_id)
    except PeriodError:
        return None


def _shift(p: Period, n: int) -> Period:
    for _ in range(abs(n)):
        p = p.next() if n > 0 else p.previous()
    return p


def _shift_day(period_type: str, day: date, n: int) -> date:
    """A day moved ``n`` periods of a type, at the same offset in its period (clamped)."""
    here = period_for(period_type, day)
    there = _shift(here, n)
    return min(there.start + (day - here.start), there.end)


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


def _includes(w: Window, moment: datetime) -> bool:
    return (w.start is None or moment >= w.start) and (w.end is None or moment <= w.end)


def _within(w: Window, p: Period) -> bool:
    return _includes(w, _midnight(p.start)) and _includes(w, _midnight(p.end))


def _span_text(w: Window) -> str:
    start = w.start.date().isoformat() if w.start else "…"
    end = w.end.date().isoformat() if w.end else "…"
    return f"{start} to {end}"
