"""What DHIS2 lets a user write, and when: the write rules per version (sharing of data sets and
category options, the user's org units, expiry, open future periods, data input periods,
approval, org unit and attribute option dates), read from a metadata export and asked by
``preflight`` per spec line and by a run's admission stage per cell."""

from __future__ import annotations

from dhispatch.runtime.access.metadata import AccessMetadata
from dhispatch.runtime.access.metadata import AccessMetadataError
from dhispatch.runtime.access.metadata import read_access_metadata
from dhispatch.runtime.access.rules import ApprovalState
from dhispatch.runtime.access.rules import Refusal
from dhispatch.runtime.access.rules import WriteRules
from dhispatch.runtime.access.writer import Writer
from dhispatch.runtime.access.writer import export_usernames
from dhispatch.runtime.access.writer import writer_from_export
from dhispatch.runtime.access.writer import writer_from_me

__all__ = [
    "AccessMetadata",
    "AccessMetadataError",
    "ApprovalState",
    "Refusal",
    "WriteRules",
    "Writer",
    "export_usernames",
    "read_access_metadata",
    "writer_from_export",
    "writer_from_me",
]
