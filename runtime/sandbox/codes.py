"""Conflict texts per generation: ErrorCode messages of 2.37–2.42 (with the 2.37/2.38 wordings
that changed in 2.39), the plain texts of the ≤2.36 service, and the 2.43 E80xx/E81xx templates
(``ErrorCode.java`` of each branch; 2.43's ``${name:{n}}`` placeholders render as ``{n}``)."""

from __future__ import annotations

from collections.abc import Sequence

# ErrorCode.java 2.39–2.42.
MESSAGES = {
    "E7600": "Data set not found or not accessible: `{0}`",
    "E7601": "User does not have write access for DataSet: `{0}`",
    "E7603": "Org unit not found or not accessible: `{0}`",
    "E7604": "Attribute option combo not found or not accessible: `{0}`",
    "E7610": "Data element not found or not accessible: `{0}`",
    "E7611": "Period not valid: `{0}`",
    "E7612": "Organisation unit not found or not accessible: `{0}`",
    "E7613": "Category option combo not found or not accessible for writing data: `{0}`",
    "E7614": "Category option combo: `{0}` option not accessible: `{1}`",
    "E7615": "Attribute option combo not found or not accessible for writing data: `{0}`",
    "E7616": "Attribute option combo: `{0}` option not accessible: `{1}`",
    "E7617": "Organisation unit: `{0}` not in hierarchy of current user: `{1}`",
    "E7618": "Data value or comment not specified for data element: `{0}`",
    "E7619": "Value must match value type of data element `{0}`: `{1}`",
    "E7620": "Invalid comment: {0}",
    "E7630": "Category option combo is required but is not specified",
    "E7631": "Attribute option combo is required but is not specified",
    "E7632": "Period type of period: `{0}` not valid for data element: `{1}`",
    "E7633": "Data element: `{0}` is not part of dataset(s): `{1}`",
    "E7634": "Category option combo: `{0}` must be part of category combo of data element: `{1}`",
    "E7635": (
        "Attribute option combo: `{0}` must be part of category combo of data sets of data"
        " element: `{1}`"
    ),
    "E7636": "Data element: `{1}` must be assigned through data sets to organisation unit: `{0}`",
    "E7638": "Period: `{0}` is not within date range of attribute option combo: `{1}`",
    "E7639": "Organisation unit: `{0}` is not valid for attribute option combo: `{1}`",
    "E7640": "Current date is past expiry days for period: `{0}`  and data set: `{1}`",
    "E7641": (
        "Period: `{0}` is after latest open future period: `{3}` for data element: `{1}`"
        " and data set: `{2}`"
    ),
    "E7642": (
        "Data already approved for data set: `{3}` period: `{1}` org unit: `{0}`"
        " attribute option combo: `{2}`"
    ),
    "E7643": "Period: `{0}` is not open for this data set at this time: `{1}`",
    "E7644": "Period: `{0}` does not conform to the open periods of associated data sets",
}
# 2.37 and 2.38 (changed in 2.39).
MESSAGES_38 = {
    **MESSAGES,
    "E7619": "Value must match data element's `{0}` type constraints: {1}",
    "E7633": "Data element: `{0}` is not part of dataset: `{1}`",
    "E7641": "Period: `{0}` is after latest open future period: `{2}` for data element: `{1}`",
    "E7642": (
        "Data is already approved for data set: `{3}` period: `{1}` organisation unit: `{0}`"
        " attribute option combo: `{2}`"
    ),
}
# The ≤2.36 service's plain texts, keyed like the codes that later replaced them.
LEGACY = {
    "E7600": "Data set not found or not accessible",
    "E7601": "User does not have write access for DataSet: {0}",
    "E7603": "Org unit not found or not accessible",
    "E7604": "Attribute option combo not found or not accessible",
    "E7610": "Data element not found or not accessible",
    "E7611": "Period not valid",
    "E7612": "Organisation unit not found or not accessible",
    "E7613": "Category option combo not found or not accessible for writing data",
    "E7614": "User has no data write access for CategoryOption: {1}",
    "E7615": "Attribute option combo not found or not accessible for writing data",
    "E7616": "User has no data write access for CategoryOption: {1}",
    "E7617": "Organisation unit not in hierarchy of current user: {1}",
    "E7618": "Data value or comment not specified for data element: {0}",
    "E7619": "{1}, must match data element type: {0}",
    "E7620": "Invalid comment: {0}",
    "E7630": "Category option combo is required but is not specified",
    "E7631": "Attribute option combo is required but is not specified",
    "E7632": "Period type of period {0} not valid for data element: {1}",
    "E7633": "Data element: {0} is not part of dataset: {1}",
    "E7634": "Category option combo: {0} must be part of category combo of data element: {1}",
    "E7635": "Attribute option combo: {0} must be part of category combo of data element: {1}",
    "E7636": "Data element: {1} must be assigned through data sets to organisation unit: {0}",
    "E7638": "Period: {0} is not within date range of attribute option combo: {1}",
    "E7639": "Organisation unit: {0} is not valid for attribute option combo: {1}",
    "E7640": "Current date is past expiry days for period {0} and data set: {1}",
    "E7641": "Period: {0} is after latest open future period: {1} for data element: {2}",
    "E7642": (
        "Data is already approved for data set: {3} period: {1} organisation unit: {0}"
        " attribute option combo: {2}"
    ),
    "E7643": "Period: {0} is not open for this data set at this time: {1}",
    "E7644": "Period {0} does not conform to the open periods of associated data sets",
}
# ErrorCode.java 2.43 "Data entry (SQL backed implementation)".
MESSAGES_43 = {
    "E8000": "Atomic mode requires all values to be valid but only {0}/{1} were. First issue: {2}",
    "E8002": "Data set detection failed, found multiple sets: `{0}`",
    "E8003": "Data set detection failed, found no set for data element(s): `{0}`",
    "E8004": "Data set UID not valid: `{0}`",
    "E8005": "Data set not found: `{0}`",
    "E8008": "Data set `completeDate` is not a valid date string: `{0}`",
    "E8009": (
        "Data set `completeDate` requires data set, org unit, period and attribute option combo"
        " to be defined at the group level."
    ),
    "E8010": "Current user cannot enter data for data set: `{0}`",
    "E8011": "Current user cannot enter data for org unit(s): `{0}`",
    "E8012": "Current user cannot enter data for category option(s): `{0}`",
    "E8020": "Data set {0} not usable with data element(s): `{1}`",
    "E8021": "Data set {0} not usable with period(s): `{1}`",
    "E8022": "Data set {0} not usable with org unit(s): `{1}`",
    "E8023": "Data set {0} not usable with attribute option combo(s): `{1}`",
    "E8024": "Data set {0} + data element {1} not usable with category option combo(s): `{2}`",
    "E8025": "Attribute option combo {0} not usable with org unit(s): `{1}`",
    "E8030": "Untimely data entry for data set {0} and period(s): `{1}`",
    "E8031": "Untimely data entry for org unit {0} and period(s): `{1}`",
    "E8032": "Untimely data entry for attribute option combo {0} and period(s): `{1}`",
    "E8033": (
        "Untimely data entry (already approved) for attribute option combo {0}, org unit {1}"
        " and periods: `{2}`"
    ),
    "E8100": "Value #{0} period not defined in group or value: `{1}`",
    "E8102": "Value #{0} data element not defined in group or value: `{1}`",
    "E8103": "Value #{0} data element not found: `{1}`",
    "E8104": "Value #{0} data element UID not valid: `{1}`",
    "E8105": "Value #{0} org unit not defined in group or value: `{1}`",
    "E8106": "Value #{0} org unit UID is not valid: `{1}`",
    "E8107": "Value #{0} org unit not found: `{1}`",
    "E8108": "Value #{0} category option combo not found: `{1}`",
    "E8109": "Value #{0} category option combo UID is not valid: `{1}`",
    "E8110": "Value #{0} attribute option combo not found: `{1}`",
    "E8111": "Value #{0} attribute option combo UID is not valid: `{1}`",
    "E8120": "Value #{0} value is required",
    "E8121": "Value #{0} value or comment is required`",
    "E8122": "Value #{0} value `{1}` is no valid {2}: {3}",
    "E8125": "Value #{0} comment too long (max {1} characters)`",
    "E8128": "Value #{0} all affect the same data value: `{1}`",
}

Arg = str | int | Sequence[str] | None


def java_text(arg: Arg, grouped: bool = True) -> str:
    """An argument as ``MessageFormat`` (numbers grouped) or ``String.valueOf`` renders it:
    lists as ``[a, b]``, null as ``null``."""
    if arg is None:
        return "null"
    if isinstance(arg, int):
        return f"{arg:,}" if grouped else str(arg)
    if isinstance(arg, str):
        return arg
    return "[" + ", ".join(arg) + "]"


def messages_for(minor: int) -> dict[str, str]:
    """The E76xx message table of a 2.37–2.42 version."""
    return MESSAGES_38 if minor <= 38 else MESSAGES
