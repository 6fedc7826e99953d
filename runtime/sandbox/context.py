"""What one import reads, for both engines: metadata, stored values and approvals, the emulated
version, the user, the import options and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import datetime

from dhispatch.runtime.sandbox.approvals import ApprovalStore
from dhispatch.runtime.sandbox.metadata import MetadataIndex
from dhispatch.runtime.sandbox.store import ValueStore
from dhispatch.runtime.sandbox.summary import ImportOptions
from dhispatch.runtime.sandbox.users import User
from dhispatch.runtime.sandbox.versions import Version


@dataclass(frozen=True, slots=True)
class ImportContext:
    """One import's inputs; ``now`` is server time (naive), pinned to a day in tests."""

    index: MetadataIndex
    store: ValueStore
    approvals: ApprovalStore
    version: Version
    user: User
    options: ImportOptions
    now: datetime

    @property
    def today(self) -> date:
        return self.now.date()

    @property
    def minor(self) -> int:
        return self.version.minor

    @property
    def force(self) -> bool:
        """``InputUtils.canForceDataInput``: ``force=true`` counts for superusers only."""
        return self.options.force and self.user.is_super
