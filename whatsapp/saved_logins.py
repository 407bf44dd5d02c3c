"""The login kept centrally: each connection's saved logins, where every worker reaches them.

A session saves its profile's login (whatsapp/profile_archive.py) after logging in, every
WHATSAPP_PROFILE_SAVE_MINUTES while connected when it changed, and when it stops gracefully; a
session whose local profile is missing or older restores the newest saved one before its browser
starts. So a machine lost with its disk costs no QR: another worker takes the lease over and logs
in with the saved copy (docs/operations.md "The login, kept centrally").

Only the lease holder writes: a save commits inside the lease's fence (whatsapp/lease.py), like the
session's batches, and a session that lost its lease saves nothing. The bytes live in the database,
or in the Django storage WHATSAPP_PROFILE_STORAGE names (S3 through django-storages, say); the two
newest versions are kept. A copy a restore refuses (another key, altered, another connection's) is
never used again and is kept aside, flagged, for the audit.
"""

import hashlib
import logging
import os
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from whatsapp.lease import lease_fenced
from whatsapp.models import SavedLogin
from whatsapp.profile_archive import ArchiveRefused, archive_restore
from whatsapp.profiles import USED_MARKER

logger = logging.getLogger(__name__)

KEPT_VERSIONS = 2
RESAVE_AFTER = timedelta(days=1)  # an unchanged login is saved again daily: its age stays its last use
# In a profile: the SHA-256 of the saved login it was saved as or restored from.
CENTRAL_MARKER = ".helpdesk-central"
STORE_DOWN = gettext_noop("the store did not answer")
SUM_MISMATCH = gettext_noop("it was altered or cut short in the store (its checksum differs)")


def _storage() -> Storage | None:
    alias = settings.WHATSAPP_PROFILE_STORAGE
    return storages[alias] if alias else None


def saved_login_due(*, connection_id: int, digest: str) -> bool:
    """Whether the profile, whose kept files have ``digest``, should be saved now: it changed since
    the newest saved login, or that one is a day old (its age is what WHATSAPP_PROFILE_MAX_AGE_DAYS
    judges)."""
    newest = (
        SavedLogin.objects.filter(connection_id=connection_id, refused="")
        .only("digest", "created_at")
        .first()
    )
    return newest is None or newest.digest != digest or timezone.now() - newest.created_at > RESAVE_AFTER


def saved_login_store(
    *, connection_id: int, owner: str, data: bytes, digest: str, profile: Path
) -> SavedLogin:
    """Keep ``data`` (an archive of ``profile``) as the connection's newest saved login, if ``owner``
    still holds the lease (else ``LeaseLost``, and nothing is kept); the two newest versions stay.

    A file written to the storage before the fenced transaction is deleted again when it fails.
    """
    sha256 = hashlib.sha256(data).hexdigest()
    storage = _storage()
    name = (
        storage.save(f"whatsapp-logins/{connection_id}/{uuid.uuid4().hex}.hdla", ContentFile(data))
        if storage
        else ""
    )
    try:
        with lease_fenced(connection_id=connection_id, owner=owner):
            saved_logins = SavedLogin.objects.filter(connection_id=connection_id)
            newest = saved_logins.values_list("version", flat=True).first() or 0
            saved = SavedLogin.objects.create(
                connection_id=connection_id,
                version=newest + 1,
                size=len(data),
                sha256=sha256,
                digest=digest,
                data=None if storage else data,
                storage_name=name,
            )
            older = saved_logins.filter(refused="").defer("data").order_by("-version")[KEPT_VERSIONS:]
            saved_logins_remove(saved_logins=list(older))
    except BaseException:
        if storage and name:
            storage.delete(name)
        raise
    (profile / CENTRAL_MARKER).write_text(sha256)
    return saved


def saved_logins_delete(*, connection_id: int, refused_too: bool = True) -> None:
    """Forget the connection's saved logins (logged out, deleted; or, without ``refused_too``, a
    login that no longer logs in), their files once the transaction commits."""
    saved_logins = SavedLogin.objects.filter(connection_id=connection_id).defer("data")
    saved_logins_remove(saved_logins=list(saved_logins if refused_too else saved_logins.filter(refused="")))


def saved_logins_remove(*, saved_logins: list[SavedLogin]) -> None:
    """Delete these saved logins, and their files in the storage once the transaction commits."""
    SavedLogin.objects.filter(pk__in=[s.pk for s in saved_logins]).delete()
    names = [s.storage_name for s in saved_logins if s.storage_name]
    if names:
        storage = _storage() or storages["default"]

        def remove() -> None:
            for name in names:
                storage.delete(name)

        transaction.on_commit(remove)


@dataclass
class Restore:
    """What a restore did: the saved login it restored (None: none, or the local one is newer), and
    why each one tried was refused (texts marked with gettext_noop, for the connection's log)."""

    restored: SavedLogin | None = None
    refusals: list[str] = field(default_factory=list)


def saved_login_restore(*, connection_id: int, owner: str, profile: Path) -> Restore:
    """Before the browser starts: replace ``profile`` with the newest saved login when the local one
    is missing or older. Called by the lease holder only; what it writes (a refused copy flagged,
    an expired one discarded) is fenced by the lease. A refused copy is never tried again; the one
    before it is (two are kept for that)."""
    result = Restore()
    with lease_fenced(connection_id=connection_id, owner=owner):
        expired = SavedLogin.objects.filter(
            connection_id=connection_id,
            refused="",
            created_at__lt=timezone.now() - timedelta(days=settings.WHATSAPP_PROFILE_MAX_AGE_DAYS),
        )
        saved_logins_remove(saved_logins=list(expired))
    candidates = list(SavedLogin.objects.filter(connection_id=connection_id, refused="").defer("data"))
    if not candidates or _local_is_current(profile, candidates[0]):
        return result
    for saved in candidates:
        try:
            data = _read(saved)
        except Exception:
            logger.warning(
                "saved login %s not read", saved, exc_info=True, extra={"connection_id": connection_id}
            )
            result.refusals.append(STORE_DOWN)  # not flagged: the copy may be fine
            continue
        try:
            if hashlib.sha256(data).hexdigest() != saved.sha256:
                raise ArchiveRefused(SUM_MISMATCH)
            archive_restore(data, profile=profile, connection_id=connection_id)
        except ArchiveRefused as refused:
            result.refusals.append(refused.reason)
            with lease_fenced(connection_id=connection_id, owner=owner):
                SavedLogin.objects.filter(pk=saved.pk).update(
                    refused=refused.reason, refused_at=timezone.now()
                )
            continue
        marker = profile / USED_MARKER
        marker.touch()
        stamp = saved.created_at.timestamp()  # its age is the saved login's (profile_prepare judges it)
        os.utime(marker, (stamp, stamp))
        (profile / CENTRAL_MARKER).write_text(saved.sha256)
        result.restored = saved
        return result
    return result


def _local_is_current(profile: Path, newest: SavedLogin) -> bool:
    """The local profile is the saved one, or was logged in since it was saved."""
    central = profile / CENTRAL_MARKER
    if central.exists() and central.read_text() == newest.sha256:
        return True
    marker = profile / USED_MARKER
    return marker.exists() and marker.stat().st_mtime >= newest.created_at.timestamp()


def _read(saved: SavedLogin) -> bytes:
    if saved.storage_name:
        storage = _storage() or storages["default"]
        with storage.open(saved.storage_name, "rb") as file:
            return file.read()
    data = SavedLogin.objects.filter(pk=saved.pk).values_list("data", flat=True).first()
    return bytes(data or b"")


def saved_logins_refused(*, connection_id: int | None = None) -> list[SavedLogin]:
    """The copies a restore refused, newest first: for the audit."""
    refused = SavedLogin.objects.exclude(refused="").defer("data").select_related("connection")
    if connection_id is not None:
        refused = refused.filter(connection_id=connection_id)
    return list(refused.order_by("-refused_at"))
