"""Files at rest are private to the service: folders ``0700``, files ``0600``.

Everything lockr writes to disk (the data folder, the database and its WAL and
shared-memory files, the server secret, a local region's objects and unfinished
uploads, and every folder holding them) is made owner-only whatever the process
umask, so another local user can neither read nor list it. A data folder found with
looser permissions is tightened on start.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("lockr")

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path, *, tighten: bool = False, durable: bool = False) -> None:
    """Make ``path`` and any missing parents owner-only folders. With ``tighten``, an
    existing ``path`` with looser permissions is narrowed to ``0700`` (a warning is
    logged when the process may not change it). With ``durable``, each folder made is
    fsynced into its parent, so that it survives a crash."""
    missing: list[Path] = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, FOLDER_MODE)
        except FileExistsError:
            continue
        # mkdir's mode passes through the umask, which may take bits from the owner.
        os.chmod(folder, FOLDER_MODE)
        if durable:
            fsync_folder(folder.parent)
    if tighten and not missing:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode != FOLDER_MODE:
            try:
                os.chmod(path, FOLDER_MODE)
            except PermissionError:
                log.warning("cannot make %s private (mode %o): not its owner", path, mode)


def fsync_folder(path: str | Path) -> None:
    """Make the entries of the folder ``path`` (new, renamed, removed) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_private(path: str | Path, flags: int) -> int:
    """``os.open`` that creates a missing file owner-only (``0600``)."""
    return os.open(path, flags | os.O_CREAT, FILE_MODE)


def create_private(path: Path) -> None:
    """Create ``path`` as an empty owner-only file unless it exists."""
    os.close(open_private(path, os.O_WRONLY))
