"""Browser profiles: one folder per connection under WHATSAPP_SESSIONS_DIR.

The profile is where WhatsApp Web keeps its login, so it is what lets a
restarted session come back without a QR. It is private (mode 0700), checked
before use, and removed when it can no longer log in.
"""

import os
import shutil
import time
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext_noop

from helpdesk.languages import in_helpdesk_language

USED_MARKER = ".helpdesk-last-used"  # touched while the session is connected


def profile_path(*, connection_id: int) -> Path:
    return Path(settings.WHATSAPP_SESSIONS_DIR) / str(connection_id)


def profile_prepare(*, connection_id: int) -> tuple[Path, str]:
    """Return the profile folder, ready for a browser, and why it was reset ("" if it was not).

    A profile that is missing its login data or was last used longer ago than
    WHATSAPP_PROFILE_MAX_AGE_DAYS (WhatsApp forgets idle devices) is wiped.
    """
    path = profile_path(connection_id=connection_id)
    reason = ""
    if path.exists():
        marker = path / USED_MARKER
        age_days = (time.time() - marker.stat().st_mtime) / 86400 if marker.exists() else None
        if age_days is not None and age_days > settings.WHATSAPP_PROFILE_MAX_AGE_DAYS:
            reason = in_helpdesk_language(
                gettext_noop("the saved login was last used %(days).0f days ago"), days=age_days
            )
        elif marker.exists() and not (path / "Default").is_dir():
            reason = in_helpdesk_language(gettext_noop("the saved login is incomplete"))
        if reason:
            profile_wipe(connection_id=connection_id)
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path, reason


def profile_was_logged_in(*, connection_id: int) -> bool:
    """Whether the profile holds a login (it was connected once and not wiped since)."""
    return (profile_path(connection_id=connection_id) / USED_MARKER).exists()


def profile_mark_used(*, connection_id: int) -> None:
    (profile_path(connection_id=connection_id) / USED_MARKER).touch()


def profile_wipe(*, connection_id: int) -> None:
    shutil.rmtree(profile_path(connection_id=connection_id), ignore_errors=True)


def profiles_orphaned(*, known_ids: set[int]) -> list[Path]:
    """Profile folders that belong to no connection."""
    root = Path(settings.WHATSAPP_SESSIONS_DIR)
    if not root.is_dir():
        return []
    return [
        p for p in root.iterdir() if p.is_dir() and (not p.name.isdigit() or int(p.name) not in known_ids)
    ]
