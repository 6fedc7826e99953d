"""Where a generated demo database may be written: a new file, or (when asked) a regular file.

``demo-data -o PATH`` once replaced a copy of a production open mSupply database with synthetic
data, and, run as root, a device node. So PATH must not exist unless overwriting was asked for
(``--force``), and even then it must be a regular file: never a directory, a device, a socket, a
FIFO or a symbolic link (which could lead to any of them, or to a file elsewhere). The check is
made before generating (so nobody waits to be refused) and again when the finished file is
moved into place, without replacing anything that appeared meanwhile.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from dhispatch.runtime.sources.model import SourceError

_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFLNK: "a symbolic link",
}


def check_target(path: Path, overwrite: bool) -> None:
    """Refuse a PATH the demo database must not be written to (SourceError says why)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise SourceError(f"cannot write {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
        raise SourceError(f"{path} is {kind}; demo-data writes only a new file or a regular one")
    if not overwrite:
        raise SourceError(
            f"{path} already exists (it may be a real database); demo-data replaces a file only "
            "with --force"
        )


def move_into_place(tmp: Path, final: Path, overwrite: bool) -> None:
    """Move the finished ``tmp`` to ``final``, checked again; without ``overwrite`` a file that
    appeared at ``final`` meanwhile is never replaced (a hard link cannot clobber)."""
    check_target(final, overwrite)
    if overwrite:
        os.replace(tmp, final)
        return
    try:
        os.link(tmp, final)
    except FileExistsError:
        raise SourceError(f"{final} appeared while generating; left as it is") from None
    except OSError:  # a file system without hard links: the check above is all there is
        os.replace(tmp, final)
        return
    os.unlink(tmp)
