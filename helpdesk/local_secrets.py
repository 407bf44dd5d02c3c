"""Secrets the embedded setup makes once and keeps under ``HELPDESK_VAR_DIR``.

Production passes its secrets in the environment; a developer's machine should
not need to, yet must keep the same secret key across restarts (or every
session cookie dies), so it is generated once into a file only its owner reads.
"""

import os
import secrets
from pathlib import Path


def read_or_create_secret(path: Path, *, length: int) -> str:
    """Return the secret stored at ``path``, creating it (mode 0600) first if missing."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(length)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value
