"""The journal (state database): runs, batches, outcomes, due slots and the cells DHIS2 was
proven to hold, per target; its schema ladder, integrity checks and the one-runner lock."""

from __future__ import annotations

from dhispatch.runtime.journal.alerts import AlertState
from dhispatch.runtime.journal.errors import JournalError
from dhispatch.runtime.journal.journal import Journal
from dhispatch.runtime.journal.payload import Packed
from dhispatch.runtime.journal.payload import payload_digest
from dhispatch.runtime.journal.records import LEGACY_TARGET
from dhispatch.runtime.journal.records import WITHHELD
from dhispatch.runtime.journal.records import WITHHELD_PREFIX
from dhispatch.runtime.journal.records import BatchRow
from dhispatch.runtime.journal.records import CellKey
from dhispatch.runtime.journal.records import CellRecord
from dhispatch.runtime.journal.records import ConflictRow
from dhispatch.runtime.journal.records import ConnectionRecord
from dhispatch.runtime.journal.records import RunRow
from dhispatch.runtime.journal.records import Settlement
from dhispatch.runtime.journal.records import TargetKey
from dhispatch.runtime.journal.records import WithheldRow
from dhispatch.runtime.journal.records import cell_key
from dhispatch.runtime.journal.records import strip_userinfo
from dhispatch.runtime.journal.registrations import RegistrationRow
from dhispatch.runtime.journal.schema import SCHEMA_VERSION

__all__ = [
    "LEGACY_TARGET",
    "SCHEMA_VERSION",
    "AlertState",
    "WITHHELD",
    "WITHHELD_PREFIX",
    "BatchRow",
    "CellKey",
    "CellRecord",
    "ConflictRow",
    "ConnectionRecord",
    "Journal",
    "JournalError",
    "Packed",
    "RegistrationRow",
    "RunRow",
    "Settlement",
    "TargetKey",
    "WithheldRow",
    "cell_key",
    "payload_digest",
    "strip_userinfo",
]
