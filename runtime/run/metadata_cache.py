"""The target's metadata for the admission stage, cached beside the journal and fetched again when
older than a setting (``--metadata-max-age``), so a run asks DHIS2 for it a few times a day, not
on every run. When DHIS2 cannot be asked, an older copy is used and the run says so.

One JSON file per (server, data set, user) in ``<state dir>/metadata/``; it holds what
``/api/dataSets/{uid}`` and ``/api/me`` answered — ids, names, sharing, dates — never a secret.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from pathlib import Path

from dhispatch.runtime.dhis2.metadata import Snapshot
from dhispatch.runtime.journal import strip_userinfo
from dhispatch.runtime.plan import Plan

DEFAULT_MAX_AGE = timedelta(hours=6)
UNCHECKED = "not checked against DHIS2's write rules"


@dataclass(frozen=True, slots=True)
class CachedMetadata:
    """The snapshot a run checks against (None: none could be had) and how it was had."""

    snapshot: Snapshot | None
    note: str


class MetadataCache:
    """Snapshots by key (server URL without user info, data set, who logs in)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, key: str) -> Path:
        return self.directory / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.json"

    def load(self, key: str) -> Snapshot | None:
        """The cached snapshot, or None (absent, unreadable or of another shape)."""
        try:
            body = json.loads(self.path(key).read_text(encoding="utf-8"))
            return Snapshot.from_json(body)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, key: str, snapshot: Snapshot) -> None:
        """Write atomically (a reader never sees half a file); a cache that cannot be written
        only costs a fetch next time."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"key": key, **snapshot.as_json()}, out)
            os.replace(tmp, self.path(key))
        except OSError:
            pass


def cache_key(plan: Plan, env: Mapping[str, str]) -> str:
    """Server, data set and who logs in (a basic/OAuth2 user name, or the token's variable)."""
    auth = plan.target.auth
    who = auth.user.resolve(env) if auth.user else None
    who = who or f"token:{auth.token.env if auth.token else ''}"
    return f"{strip_userinfo(plan.target.url)}|{plan.target.data_set}|{who}"


def cache_for(journal_path: Path) -> MetadataCache:
    """The cache beside a journal."""
    return MetadataCache(journal_path.parent / "metadata")


def cached_metadata(
    cache: MetadataCache,
    key: str,
    *,
    max_age: timedelta,
    now: datetime,
    fetch: Callable[[], Snapshot],
    failure: type[Exception],
) -> CachedMetadata:
    """A fresh cached snapshot, else a fetched one (saved), else the stale one: ``fetch``
    raising ``failure`` falls back to the cache."""
    found = cache.load(key)
    if found is not None and now - found.fetched_at <= max_age:
        return CachedMetadata(found, f"checked against the cached metadata of {_when(found)}")
    try:
        fresh = fetch()
    except failure as exc:
        if found is None:
            return CachedMetadata(None, f"{UNCHECKED}: cannot fetch the metadata ({exc})")
        return CachedMetadata(
            found, f"checked against the metadata of {_when(found)}, stale: {exc}"
        )
    cache.save(key, fresh)
    return CachedMetadata(fresh, f"checked against metadata fetched {_when(fresh)}")


def _when(snapshot: Snapshot) -> str:
    return snapshot.fetched_at.isoformat(timespec="seconds")
