"""Opening the journal: its integrity checked first, every failure named by its cause in one line
(disk full, read-only, corrupt, newer schema, missing) — never "internal error … exit 3"; the
runner lock held on the journal's file, whatever path reaches it."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from dhispatch.runtime.journal import Journal
from dhispatch.runtime.journal import JournalError
from dhispatch.runtime.journal import store

PAYLOAD = [{"dataElement": "DE1", "period": "202401", "orgUnit": "OU1", "value": "5" * 200}]


def made(tmp_path: Path, runs: int = 3) -> Path:
    path = tmp_path / "state.sqlite"
    with Journal.open(path) as journal:
        for _ in range(runs):
            run = journal.start_run("p", "0" * 64, "push")
            journal.add_batch(run, "p", "DS", "CREATE_AND_UPDATE", {}, PAYLOAD * 20)
    return path


def test_a_missing_journal_is_refused_by_readers_and_never_created(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "state.sqlite"
    with pytest.raises(JournalError, match="no journal at") as info:
        Journal.open(path, readonly=True)
    assert info.value.cause == "missing" and not path.parent.exists()
    from dhispatch.runtime.cli.main import cli

    for args in (["log"], ["report", "last"], ["log", "--retry-parked"]):
        result = CliRunner().invoke(cli, [*args, "--state", str(path)])
        assert result.exit_code == 1 and "no journal at" in result.output, result.output
    assert not path.parent.exists()


def test_a_corrupt_journal_is_named_corrupt(tmp_path: Path) -> None:
    path = made(tmp_path)
    size = path.stat().st_size
    with path.open("r+b") as f:  # a page in the middle overwritten (a torn write, bad media)
        f.seek(size // 2 - (size // 2) % 4096)
        f.write(os.urandom(4096))
    for readonly in (False, True):
        with pytest.raises(JournalError, match="is corrupt") as info:
            Journal.open(path, readonly=readonly)
        assert info.value.cause == "corrupt" and "\n" not in str(info.value)


def test_a_large_journal_gets_the_cheap_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = made(tmp_path)
    monkeypatch.setattr(store, "QUICK_CHECK_LIMIT", 1024)
    with Journal.open(path) as journal:  # a sound one passes it
        assert len(journal.runs()) == 3
    with path.open("r+b") as f:  # its header's magic destroyed
        f.write(b"NOT SQLITE AT ALL")
    with pytest.raises(JournalError) as info:
        Journal.open(path)
    assert info.value.cause == "corrupt"


def test_a_journal_of_a_newer_dhispatch_is_refused(tmp_path: Path) -> None:
    path = made(tmp_path, runs=1)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    for readonly in (False, True):
        with pytest.raises(JournalError, match="schema version 99.*newer dhispatch") as info:
            Journal.open(path, readonly=readonly)
        assert info.value.cause == "newer schema"


def test_a_full_disk_is_named_and_the_cli_exits_1(tmp_path: Path) -> None:
    path = made(tmp_path, runs=1)
    journal = Journal.open(path)
    pages = journal._db.conn.execute("PRAGMA page_count").fetchone()[0]
    journal._db.conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # the disk is now full
    with pytest.raises(JournalError, match="disk holding it is full") as info:
        for _ in range(50):
            journal.add_batch(1, "p", "DS", "CREATE_AND_UPDATE", {}, PAYLOAD * 50)
    assert info.value.cause == "disk full" and info.value.exit_code == 1
    journal.close()


def test_writing_a_read_only_journal_is_named_read_only(tmp_path: Path) -> None:
    path = made(tmp_path, runs=1)
    with Journal.open(path, readonly=True) as journal, pytest.raises(JournalError) as info:
        journal.start_run("p", "0" * 64, "push")
    assert info.value.cause == "read-only"


def test_a_journal_on_read_only_media_can_be_read(tmp_path: Path) -> None:
    """SQLite cannot create the WAL's shared memory next to it; an unfinished WAL is there."""
    path = made(tmp_path, runs=1)
    writer = Journal.open(path)
    writer._db.conn.execute("PRAGMA wal_autocheckpoint = 0")
    writer.start_run("p", "0" * 64, "still in the WAL")
    media = tmp_path / "media"
    media.mkdir()
    shutil.copy(path, media / "state.sqlite")
    shutil.copy(str(path) + "-wal", media / "state.sqlite-wal")
    (media / "state.sqlite-shm").mkdir()  # where SQLite would put its shared memory: unusable
    writer.close()
    with Journal.open(media / "state.sqlite", readonly=True) as journal:
        assert [r.trigger for r in journal.runs()][0] == "still in the WAL"


def test_the_runner_lock_holds_for_the_file_not_the_path(tmp_path: Path) -> None:
    """Issue 12 point 10: a symlinked path let two runners push (every cell sent twice)."""
    real = made(tmp_path, runs=1)
    link = tmp_path / "elsewhere" / "journal.sqlite"
    link.parent.mkdir()
    link.symlink_to(real)
    with Journal.open(real) as a, Journal.open(link) as b:
        a.acquire_lock()
        with pytest.raises(JournalError, match="another dhispatch runner") as info:
            b.acquire_lock()
        assert info.value.cause == "locked" and a.lock_path == b.lock_path
        a.release_lock()
        b.acquire_lock()


HOLD = """
import sys, time
from pathlib import Path
from dhispatch.runtime.journal import Journal
with Journal.open(Path(sys.argv[1])) as journal:
    journal.acquire_lock()
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_a_held_lock_names_the_process_holding_it(tmp_path: Path) -> None:
    """The lock (filelock: flock here, msvcrt on Windows) is another process's; the message names
    that process's pid, and the lock is free again the moment it exits."""
    import subprocess
    import sys

    real = made(tmp_path, runs=1)
    link = tmp_path / "link.sqlite"
    link.symlink_to(real)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(real)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with Journal.open(link) as journal, pytest.raises(JournalError) as info:
            journal.acquire_lock()
        assert f"another dhispatch runner (pid {holder.pid}) holds" in str(info.value)
        assert info.value.cause == "locked"
    finally:
        holder.communicate("\n", timeout=30)
    with Journal.open(link) as journal:
        journal.acquire_lock()  # released with its holder
