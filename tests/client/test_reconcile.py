"""What an import summary proves, per DHIS2 generation (reference §4, dhis2-core's counting): a
value is held only when the counts reconcile with what was sent and every refusal is placed.

The cases of issue 12 point 2 — conflicts naming nothing sent, indexes out of range, counts that
do not add up — must leave the batch due (``unconfirmed``), never count as held."""

from __future__ import annotations

from dhispatch.runtime.dhis2 import Conflict
from dhispatch.runtime.dhis2 import DataValue
from dhispatch.runtime.dhis2 import ImportResult
from dhispatch.runtime.dhis2 import ServerVersion
from dhispatch.runtime.dhis2 import reconcile

V236, V237, V240, V243 = (ServerVersion(36, 13), ServerVersion(37, 10), ServerVersion(40, 4),
                          ServerVersion(43, 0))  # fmt: skip
V2382 = ServerVersion(38, 2)  # before DHIS2-15254: an unchanged value counts as updated
HUNDRED = [DataValue(f"de{i:09d}", "202405", "ouAAAAAAAA1", None, str(i + 1)) for i in range(100)]


def summary(
    imported: int = 0,
    updated: int = 0,
    ignored: int = 0,
    deleted: int = 0,
    *conflicts: Conflict,
    status: str | None = None,
    rejected: tuple[int, ...] | None = None,
    size: int = 100,
) -> ImportResult:
    shown = status or ("WARNING" if conflicts else "SUCCESS")
    return ImportResult(shown, 200, imported, updated, ignored, deleted, conflicts, None, size,
                        rejected)  # fmt: skip


def test_issue_12_unplaceable_conflicts_and_short_counts_prove_nothing() -> None:
    # ≤2.36: a conflict whose object names nothing that was sent
    stray = Conflict(None, None, "Data element not found or not accessible", object="deUNKNOWN01")
    assert reconcile(summary(0, 0, 100, 0, stray), HUNDRED, V236).unconfirmed
    # 2.37+: an index outside the batch
    outside = Conflict((100,), "E7610", "Data element not found")
    verdict = reconcile(summary(99, 0, 1, 0, outside, rejected=(100,)), HUNDRED, V240)
    assert verdict.unconfirmed and not verdict.held
    # ERROR with imported 1, ignored 99 and no conflicts
    assert reconcile(summary(1, 0, 99, 0, status="ERROR"), HUNDRED, V240).unconfirmed
    # SUCCESS with every count 0
    assert reconcile(summary(), HUNDRED, V240).unconfirmed
    assert reconcile(summary(), HUNDRED, V243).unconfirmed
    assert reconcile(summary(), HUNDRED, V236).unconfirmed


def test_a_clean_answer_holds_everything_in_every_generation() -> None:
    assert reconcile(summary(100), HUNDRED, V236).held == set(range(100))
    assert reconcile(summary(60, 40), HUNDRED, V237).held == set(range(100))
    assert reconcile(summary(0, 100), HUNDRED, V243).held == set(range(100))


def test_unchanged_resends_count_as_the_version_counts_them() -> None:
    # DHIS2-15254: ignored without a conflict is "unchanged" on 2.38.6+/2.39.5+/2.40.3+ only
    assert reconcile(summary(0, 0, 100), HUNDRED, V240).held == set(range(100))
    assert reconcile(summary(0, 0, 100), HUNDRED, V2382).unconfirmed
    assert reconcile(summary(0, 0, 100), HUNDRED, V237).unconfirmed
    assert reconcile(summary(0, 100), HUNDRED, V237).held == set(range(100))
    # 2.43 counts an unchanged value as updated; an ignored one without conflict failed
    assert reconcile(summary(0, 100), HUNDRED, V243).held == set(range(100))
    assert reconcile(summary(0, 99, 1), HUNDRED, V243).unconfirmed


def test_insignificant_zeros_are_allowed_for_as_each_generation_counts_them() -> None:
    values = [*HUNDRED[:98], DataValue("deZ", "202405", "ou", None, "0"),
              DataValue("deY", "202405", "ou", None, "0.0")]  # fmt: skip
    # ≤2.42 skips a zero of a zeroIsSignificant=false element without counting it (2.37+) …
    assert reconcile(summary(98), values, V240).held == set(range(100))
    assert reconcile(summary(97), values, V240).unconfirmed  # one short beyond the zeros
    # … or counts it ignored (2.36 derives ignored from the total)
    assert reconcile(summary(98, 0, 2), values, V236).held == set(range(100))
    assert reconcile(summary(97, 0, 3), values, V236).unconfirmed
    # … and deletes an existing value for a zero (counted deleted)
    assert reconcile(summary(98, 0, 0, 2), values, V240).held == set(range(100))
    assert reconcile(summary(97, 0, 0, 3), HUNDRED[:97] + values[98:] + [HUNDRED[97]],
                     V240).unconfirmed  # fmt: skip
    # 2.43 stores zeros like any value
    assert reconcile(summary(0, 98), values, V243).unconfirmed


def test_refusals_placed_by_object_on_236_and_ambiguous_objects() -> None:
    values = [DataValue("deA", "202405", "ouA", None, "1"),
              DataValue("deB", "202405", "deA", None, "2"),  # deA is also an org unit code here
              DataValue("deC", "202405", "ouA", None, "2.5")]  # fmt: skip
    bad_value = Conflict(None, None, "Data value is not an integer, must match data element type: "
                         "deC", object="2.5")  # fmt: skip
    verdict = reconcile(summary(2, 0, 1, 0, bad_value, size=3), values, V236)
    assert set(verdict.refused) == {2} and verdict.held == {0, 1}
    ambiguous = Conflict(None, None, "not found or not accessible", object="deA")
    assert reconcile(summary(1, 0, 2, 0, ambiguous, size=3), values, V236).unconfirmed


def test_status_must_agree_with_the_conflicts() -> None:
    refused = Conflict((0,), "E7610", "Data element not found")
    assert reconcile(summary(99, 0, 1, 0, refused, status="SUCCESS", rejected=(0,)), HUNDRED,
                     V240).unconfirmed  # fmt: skip
    assert reconcile(summary(99, 0, 1, 0, status="WARNING"), HUNDRED, V240).unconfirmed
    ok = reconcile(summary(99, 0, 1, 0, refused, rejected=(0,)), HUNDRED, V240)
    assert set(ok.refused) == {0} and len(ok.held) == 99


def test_deletions_of_values_already_gone_are_not_refusals() -> None:
    # ≤2.42 DELETE of a missing value: ignored and in rejectedIndexes without a conflict
    verdict = reconcile(summary(0, 0, 3, 97, rejected=(0, 1, 2)), HUNDRED, V240, "DELETE")
    assert verdict.held == set(range(100)) and not verdict.refused
    # 2.43 DELETE: updated moves to deleted; a missing key is attempted but not written
    assert reconcile(summary(0, 0, 5, 95), HUNDRED, V243, "DELETE").held == set(range(100))
    assert reconcile(summary(0, 95, 5), HUNDRED, V243, "DELETE").unconfirmed
    # in an upsert a rejected index without a conflict is a refusal (with a reason said)
    upsert = reconcile(summary(99, 0, 1, rejected=(5,), status="SUCCESS"), HUNDRED, V240)
    assert set(upsert.refused) == {5}


def test_243_whole_refusals_name_their_culprits_or_refuse_all() -> None:
    # a decode failure names the value's index first in its args
    decode = Conflict((-1,), "E8103", "Value #7 data element not found: `X`", {"args": "7-X"})
    verdict = reconcile(summary(0, 0, 0, 0, decode, status="ERROR"), HUNDRED, V243)
    assert set(verdict.refused) == {7} and verdict.retry == set(range(100)) - {7}
    # a group key check names the elements it refuses
    group = Conflict(tuple(range(100)), "E8020", "not usable with data element(s): de000000003",
                     {"args": "dsQQQQQQQQQ-[de000000003, de000000009]"})  # fmt: skip
    verdict = reconcile(summary(0, 0, 0, 0, group, status="ERROR", rejected=tuple(range(100))),
                        HUNDRED, V243)  # fmt: skip
    assert set(verdict.refused) == {3, 9} and len(verdict.retry) == 98
    # one naming no value (the user cannot write the data set) refuses every value
    user = Conflict(tuple(range(100)), "E8010", "User cannot enter data for data set",
                    {"args": "dsQQQQQQQQQ"})  # fmt: skip
    verdict = reconcile(summary(0, 0, 0, 0, user, status="ERROR", rejected=tuple(range(100))),
                        HUNDRED, V243)  # fmt: skip
    assert len(verdict.refused) == 100 and not verdict.retry and verdict.whole == user
    # one naming values only by UIDs the batch did not send (codes were): the courier halves it
    by_uid = Conflict(tuple(range(100)), "E8022", "not usable with org unit(s): ouUID0000001",
                      {"args": "dsQQQQQQQQQ-[ouUID0000001]"})  # fmt: skip
    verdict = reconcile(summary(0, 0, 0, 0, by_uid, status="ERROR", rejected=tuple(range(100))),
                        HUNDRED, V243)  # fmt: skip
    assert verdict.whole == by_uid and len(verdict.refused) == 100
    alone = Conflict((0,), "E8022", "x", {"args": "ds-[ou]"})
    one = summary(0, 0, 0, 0, alone, status="ERROR", rejected=(0,), size=1)
    single = reconcile(one, HUNDRED[:1], V243)
    assert set(single.refused) == {0} and single.unconfirmed is None
    # a "whole" refusal that still counts values written proves nothing
    assert reconcile(summary(0, 3, 0, 0, decode, status="ERROR"), HUNDRED, V243).unconfirmed
    assert reconcile(summary(1, 99), HUNDRED, V243).unconfirmed  # 2.43 never counts imported


def test_236_conflicts_naming_uids_are_placed_through_the_codes_sent() -> None:
    """2.36 names a found object by its UID (``orgUnit.getUid()``) while the values went by code:
    unplaceable as it stands, placed once the UIDs' codes are known (``client.codes_of``)."""
    values = [DataValue("UC00001", "202405", "S001", None, "5"),
              DataValue("UC00002", "202405", "S002", None, "12.5")]  # fmt: skip
    hierarchy = Conflict(None, None, "Organisation unit not in hierarchy of current user: admin",
                         object="ou000000001")  # fmt: skip
    bad_value = Conflict(None, None, "Data value is not an integer, must match data element "
                         "type: deKUC000002", object="12.5")  # fmt: skip
    result = summary(0, 0, 2, 0, hierarchy, bad_value, size=2)
    assert reconcile(result, values, V236).unconfirmed
    aliases = {"ou000000001": "S001", "deKUC000002": "UC00002"}
    verdict = reconcile(result, values, V236, aliases=aliases)
    assert set(verdict.refused) == {0, 1} and verdict.unconfirmed is None
