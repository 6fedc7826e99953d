"""The demo export with issue 11's restrictions and a non-superuser integration account ``ops``.

``ops`` (role "Data entry": F_DATAVALUE_ADD; group "Pushers") may capture data in Kiribati's
data set through its group, but:

* AMC's category option is only data-readable (Kiribati's AMC push: E7613/E8012);
* its data capture org units are every store but S002 (E7617/E8011);
* Kiribati has an approval workflow (country, store), data input periods (202403: closed
  2024-04-10; 202404 and 202405 open until 2024-06-30) and S003 closed on 2024-03-31 (2.43 E8031);
* Tonga's data set is not shared with ``ops`` at all (E7601/E8010) and has expiryDays 10;
* Vanuatu's data set is shared with it.
"""

from __future__ import annotations

import copy
from typing import Any

from dhispatch.runtime.demo import identifiers as dc
from dhispatch.runtime.demo.metadata import demo_metadata

OPS = "ops"
OPS_PASSWORD = "ops-Push-2024"
GROUP = "ugPushers01"
ROLE = "urEntry0001"
WORKFLOW = "wfKiribati1"
OPTIONS = {
    "stock_on_hand": ("coSOH000001", "Stock on hand", "rwrw----"),
    "average_monthly_consumption": ("coAMC000001", "AMC", "rwr-----"),
    "days_out_of_stock": ("coDOS000001", "Days out of stock", "rwrw----"),
}
DEFAULT_OPTION = "xYerKDKCefk"
OUTSIDE = 2  # store S002: not in ops's org units
CLOSED = 3  # store S003: closed 2024-03-31


def restricted_metadata(stores: int = dc.DEMO_STORES, items: int = dc.DEMO_ITEMS) -> dict[str, Any]:
    """The demo export of that size, restricted as the module docstring says."""
    export = copy.deepcopy(demo_metadata(stores, items))
    _options(export)
    sets = {ds["id"]: ds for ds in export["dataSets"]}
    kiribati, tonga, vanuatu = (
        sets[dc.KIRIBATI_DATA_SET], sets[dc.TONGA_DATA_SET], sets[dc.VANUATU_DATA_SET]
    )  # fmt: skip
    for ds in (kiribati, vanuatu):
        ds["publicAccess"] = "rw------"
        ds["userGroupAccesses"] = [{"id": GROUP, "access": "rwrw----"}]
    tonga["publicAccess"] = "rw------"
    tonga["expiryDays"] = 10
    kiribati["workflow"] = {"id": WORKFLOW}
    kiribati["dataInputPeriods"] = [
        {"period": {"id": "202403"}, "openingDate": "2024-04-01", "closingDate": "2024-04-10"},
        {"period": {"id": "202404"}, "openingDate": "2024-05-01", "closingDate": "2024-06-30"},
        {"period": {"id": "202405"}, "openingDate": "2024-06-01", "closingDate": "2024-06-30"},
    ]
    for ou in export["organisationUnits"]:
        if ou["id"] == dc.org_unit_uid(CLOSED):
            ou.update(openingDate="2010-01-01T00:00:00.000", closedDate="2024-03-31T00:00:00.000")
    export["dataApprovalLevels"] = [
        {"id": "lvCountry01", "name": "Country", "level": 1, "orgUnitLevel": 1},
        {"id": "lvStore0001", "name": "Store", "level": 2, "orgUnitLevel": 2},
    ]
    export["dataApprovalWorkflows"] = [
        {"id": WORKFLOW, "name": "Kiribati monthly approval", "periodType": "Monthly",
         "dataApprovalLevels": [{"id": "lvCountry01"}, {"id": "lvStore0001"}]}
    ]  # fmt: skip
    _users(export, stores)
    return export


def _options(export: dict[str, Any]) -> None:
    """Category options behind the option combos, with their sharing."""
    options = [{"id": DEFAULT_OPTION, "name": "default", "publicAccess": "rwrw----"}]
    by_coc = {dc.DEFAULT_COC: DEFAULT_OPTION}
    for key, (uid, name, access) in OPTIONS.items():
        options.append({"id": uid, "name": name, "publicAccess": access})
        by_coc[dc.KIRIBATI_COCS[key]] = uid
    export["categoryOptions"] = options
    for coc in export["categoryOptionCombos"]:
        coc["categoryOptions"] = [{"id": by_coc[coc["id"]]}]


def _users(export: dict[str, Any], stores: int) -> None:
    units = [{"id": dc.org_unit_uid(j)} for j in range(1, stores + 1) if j != OUTSIDE]
    export["userRoles"] = [{"id": ROLE, "name": "Data entry", "authorities": ["F_DATAVALUE_ADD"]}]
    export["userGroups"] = [{"id": GROUP, "name": "Pushers", "users": [{"id": "uOps0000001"}]}]
    export["users"].append(
        {"id": "uOps0000001", "username": OPS, "firstName": "Integration", "surname": "Account",
         "userRoles": [{"id": ROLE}], "organisationUnits": units}
    )  # fmt: skip
