"""The change log in backups: `gros backup --store` writes it next to the backup file, `gros
restore` puts it back under the new store, so history survives a backup and restore.

The log goes as its own file, `FILE.history.sqlite` (a consistent copy made with SQLite's online
backup) with `FILE.history.sqlite.sha256`, not into the N-Quads of the store: those are the
client's data, and a restore checks that the store holds exactly them.

A store restored without its log (or backed up with `--url`, which reads the public interface
only) starts a new history: at the first start, every resource is recorded as created by `store`
(history/keeper.py).
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from gros.errors import GrosError
from gros.history.log import FILE_NAME, ChangeLog


def companion(backup: Path) -> Path:
    return backup.with_name(backup.name + ".history.sqlite")


def _sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as data:
        for block in iter(lambda: data.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def save(store_path: Path, backup: Path) -> Path | None:
    """Copy the store's log next to `backup`; None when the store has no log."""
    if not ChangeLog.exists_for(store_path):
        return None
    target = companion(backup)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    log = ChangeLog.for_store(store_path)
    try:
        log.copy_to(partial)
    finally:
        log.close()
    os.replace(partial, target)
    target.with_name(target.name + ".sha256").write_text(f"{_sha(target)}  {target.name}\n")
    return target


def load(backup: Path, store_path: Path) -> Path | None:
    """Put the log saved next to `backup` under the restored store; None when there is none."""
    source = companion(backup)
    if not source.is_file():
        return None
    check = source.with_name(source.name + ".sha256")
    if check.is_file() and check.read_text().split()[0] != _sha(source):
        raise GrosError(f"{source} does not match its checksum {check}: the history file is damaged "
                        f"(restore without it by moving it away: the history then starts again)", exit_code=1)
    folder = store_path / "history"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, folder / FILE_NAME)
    return folder / FILE_NAME
