"""Secrets the embedded setup makes once and keeps under ``HELPDESK_VAR_DIR``.

Production passes its secrets in the environment; a developer's machine should
not need to, yet must keep the same secret key across restarts (or every
session cookie dies), so it is generated once into a file only its owner reads. The folder itself
and the SQLite database (with its WAL, which SQLite creates with the database's
mode) are kept private too: they hold the logins and every conversation.
"""

import contextlib
import os
import secrets
from pathlib import Path


def read_or_create_secret(path: Path, *, length: int) -> str:
    """Return the secret stored at ``path``, creating it (mode 0600) first if missing."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    private_dir_ensure(path.parent)
    value = secrets.token_urlsafe(length)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def private_dir_ensure(path: Path) -> None:
    """Create ``path`` readable by its owner only (0700), or make it so when we own it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    _chmod_if_ours(path, 0o700)


def private_file_ensure(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if missing (SQLite then gives its WAL that mode), else set 0600."""
    private_dir_ensure(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for existing in [path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))]:
        _chmod_if_ours(existing, 0o600)


def _chmod_if_ours(path: Path, mode: int) -> None:
    """A folder or file someone else owns (a shared mount) is left as it is."""
    try:
        if path.stat().st_uid == os.getuid():
            path.chmod(mode)
    except FileNotFoundError:
        pass
