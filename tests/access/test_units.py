"""The write rules' parts on their own: users from exports and /api/me, the metadata they read,
the server's clock, preflight's merging of E911 and E918, conflicts grouped by cause."""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest

from dhispatch.compiler.preflight_access import combine
from dhispatch.dsl.diagnostics import Diagnostic
from dhispatch.dsl.diagnostics import Span
from dhispatch.runtime.access import AccessMetadataError
from dhispatch.runtime.access import WriteRules
from dhispatch.runtime.access import read_access_metadata
from dhispatch.runtime.access import writer_from_export
from dhispatch.runtime.access import writer_from_me
from dhispatch.runtime.dhis2.metadata import Snapshot
from dhispatch.runtime.journal import WITHHELD
from dhispatch.runtime.journal import ConflictRow
from dhispatch.runtime.plan import IdSchemes
from dhispatch.runtime.report.causes import by_cause
from dhispatch.runtime.report.causes import listing


def export() -> dict[str, object]:
    return {
        "system": {"version": "2.41.2"},
        "dataSets": [{"id": "ds", "name": "Set", "periodType": "Monthly", "expiryDays": 5,
                      "openFuturePeriods": 1, "publicAccess": "rw------",
                      "organisationUnits": [{"id": "c"}]}],
        "organisationUnits": [{"id": "a", "code": "A"}, {"id": "b", "parent": {"id": "a"}},
                              {"id": "c", "code": "C", "parent": {"id": "b"}}],
        "categoryOptions": [{"id": "o1", "name": "One", "sharing": {"public": "rwrw----"}},
                            {"id": "o2", "name": "Two"}],
        "categoryOptionCombos": [{"id": "default", "name": "default"},
                                 {"id": "k1", "code": "K1", "categoryOptions": [{"id": "o1"}]},
                                 {"id": "k2", "categoryOptions": [{"id": "o1"}, {"id": "o2"}]}],
        "userRoles": [{"id": "r", "authorities": ["F_DATAVALUE_ADD", "F_EDIT_EXPIRED"]}],
        "userGroups": [{"id": "g", "users": [{"id": "u"}]}],
        "users": [{"id": "u", "userCredentials": {"username": "pat", "userRoles": [{"id": "r"}]},
                   "organisationUnits": [{"id": "b"}]}],
    }  # fmt: skip


def test_an_export_user_has_its_roles_authorities_and_both_sides_of_its_groups() -> None:
    writer = writer_from_export(export(), "pat")
    assert writer is not None and writer.id == "u" and not writer.is_super
    assert writer.authorities == {"F_DATAVALUE_ADD", "F_EDIT_EXPIRED"}
    assert writer.groups == {"g"} and writer.org_units == {"b"}
    assert writer_from_export(export(), "nobody") is None
    again = writer_from_me(writer.as_json())
    assert again == writer  # the cached form reads back


def test_the_metadata_knows_paths_codes_and_the_version() -> None:
    meta = read_access_metadata(export(), "ds")
    assert meta.units["c"].path == ("a", "b", "c") and meta.is_within("c", frozenset({"b"}))
    assert meta.uid("organisationUnits", "C", "CODE") == "c"
    assert meta.uid("categoryOptionCombos", "K1", "CODE") == "k1"
    assert meta.uid("categoryOptionCombos", "nope", "UID") is None
    assert meta.version == "2.41.2" and meta.default_coc == "default"
    with pytest.raises(AccessMetadataError, match="data set other is not in the metadata"):
        read_access_metadata(export(), "other")
    bad = export()
    bad["organisationUnits"] = [{"id": "c", "closedDate": "last tuesday"}]
    with pytest.raises(AccessMetadataError, match="org unit c closedDate: 'last tuesday'"):
        read_access_metadata(bad, "ds")


def test_the_rules_for_one_user() -> None:
    meta = read_access_metadata(export(), "ds")
    writer = writer_from_export(export(), "pat")
    now = datetime(2024, 6, 20, 12)
    rules = WriteRules(meta, writer, minor=41, now=now, schemes=IdSchemes(org_unit="CODE"))
    found = rules.data_set()
    assert found is not None and found.code == "E7601" and found.noun == "data set"
    assert rules.combo("k1") is None
    k2 = rules.combo("k2")
    assert k2 is not None and "o2 'Two'" in k2.reason and k2.code == "E7613"
    assert rules.reaches("C") is None and rules.reaches("A") is not None
    assert rules.period("202401") is None  # F_EDIT_EXPIRED: expiry days do not lock it
    assert rules.period("202606") is not None  # openFuturePeriods 1: 202606 is not open yet
    anonymous = WriteRules(meta, None, minor=41, now=now)
    assert anonymous.data_set() is None and anonymous.combo("k2") is None
    assert anonymous.period("202401") is not None  # an unknown user gets no F_EDIT_EXPIRED


def test_dhis2_s_clock_is_its_server_date_plus_the_time_since() -> None:
    fetched = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    snap = Snapshot({"system": {"serverDate": "2024-06-20T09:30:00.000"}}, {}, fetched)
    assert snap.server_now(fetched + timedelta(hours=2)) == datetime(2024, 6, 20, 11, 30)
    plain = Snapshot({"system": {}}, {}, fetched)
    assert plain.server_now(fetched) == datetime(2026, 12, 2, 1, 0)


def test_e918_is_dropped_where_e911_says_it() -> None:
    span = Span.point("s.push", 3, 9)
    checks = [Diagnostic("E911", "current_day needs openFuturePeriods", span)]
    access = [Diagnostic("E918", "not open yet", span),
              Diagnostic("E918", "not open yet", Span.point("s.push", 4, 9))]  # fmt: skip
    assert [(d.code, d.span.line) for d in combine(checks, access)] == [
        ("E911", 3), ("E918", 4)
    ]  # fmt: skip


def test_conflicts_group_by_cause() -> None:
    def row(batch: int, store: str, item: str, code: str | None, message: str) -> ConflictRow:
        return ConflictRow(batch, 1, 0, store, item, "soh", "s.push:3:1", code, message)

    rows = [row(5, f"S{i % 4}", f"I{i}", "E7613", "combo `x` not found") for i in range(334)]
    rows += [row(WITHHELD, "S1", "I1", "E7642", "not sent: approved")]
    rows += [row(6, "S2", "I2", None, "plain 2.36 text"), row(6, "S3", "I2", None, "other")]
    causes = by_cause(rows, {"s.push:3": "did you mean 'y'?"})
    first = causes[0]
    assert (first.count, first.code, first.withheld, len(first.stores), len(first.items)) == (
        334, "E7613", False, 4, 334
    )  # fmt: skip
    assert first.hint == "did you mean 'y'?"
    assert first.headline.startswith("334 values refused by DHIS2: combo `x` not found — 4 stores")
    withheld = next(c for c in causes if c.withheld)
    said = "1 value not sent (DHIS2 would refuse them): approved — store S1; item I1"
    assert withheld.headline == said
    assert withheld.hint != "did you mean 'y'?"  # preflight's naming hints are for DHIS2's own
    assert len(causes) == 4  # code-less 2.36 conflicts group by their message
    assert listing("item", ["a", "b", "c", "d", "e"]) == "5 items (a, b, c and 2 more)"
