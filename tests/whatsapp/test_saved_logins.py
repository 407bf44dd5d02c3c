"""The login kept centrally (whatsapp/saved_logins.py): saved by the lease holder only, two versions
kept, in the database or a storage, restored when the local profile is missing or older, refused
copies kept aside for the audit, and gone with a logout or the connection."""

import asyncio
import os
import time

import pytest

from tests.factories import ConnectionFactory
from tests.whatsapp.test_profile_archive import LOGIN_FILES, files_of, make_profile
from tickets.audit.connections import connections_section
from whatsapp.lease import LeaseLost, lease_acquire
from whatsapp.models import Connection, SavedLogin
from whatsapp.outcomes import Outcome
from whatsapp.profile_archive import ANOTHER_CONNECTION, ANOTHER_KEY, archive_build, profile_digest
from whatsapp.profiles import USED_MARKER, profile_path
from whatsapp.saved_logins import (
    STORE_DOWN,
    SUM_MISMATCH,
    saved_login_due,
    saved_login_restore,
    saved_login_store,
)
from whatsapp.services import connection_delete, connection_session_ended

pytestmark = pytest.mark.django_db

OWNER = "machine-a:1:1:aaaa"


@pytest.fixture(autouse=True)
def sessions_dir(settings, tmp_path):
    settings.WHATSAPP_SESSIONS_DIR = tmp_path / "sessions"
    settings.SECRET_KEY = "a secret key of this test"
    settings.WHATSAPP_PROFILE_KEY = ""
    settings.WHATSAPP_PROFILE_STORAGE = ""


@pytest.fixture
def connection():
    connection = ConnectionFactory(enabled=True)
    assert lease_acquire(connection_id=connection.pk, owner=OWNER)
    return connection


def save(connection, *, owner=OWNER, profile=None):
    profile = profile or profile_path(connection_id=connection.pk)
    if not profile.exists():
        make_profile(profile)
    data = archive_build(profile=profile, connection_id=connection.pk)
    return saved_login_store(
        connection_id=connection.pk, owner=owner, data=data, digest=profile_digest(profile), profile=profile
    )


def use_a_storage(settings, location):
    """WHATSAPP_PROFILE_STORAGE naming a FileSystemStorage in ``location``, as S3 would be named."""
    settings.STORAGES = {
        **settings.STORAGES,
        "logins": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": location},
        },
    }
    settings.WHATSAPP_PROFILE_STORAGE = "logins"


def stored_files(location) -> list:
    return sorted(p for p in location.rglob("*") if p.is_file())


def lose_machine(connection):
    """The other machine has nothing of this connection on its disk."""
    import shutil

    shutil.rmtree(profile_path(connection_id=connection.pk))


def test_the_two_newest_versions_are_kept(connection):
    for _ in range(3):
        save(connection)

    assert list(connection.saved_logins.values_list("version", flat=True)) == [3, 2]


def test_a_worker_without_the_lease_saves_nothing(connection):
    with pytest.raises(LeaseLost):
        save(connection, owner="machine-b:2:2:bbbb")

    assert not SavedLogin.objects.exists()


def test_a_worker_without_the_lease_leaves_no_file_in_the_storage(connection, settings, tmp_path):
    use_a_storage(settings, tmp_path / "s3")

    with pytest.raises(LeaseLost):
        save(connection, owner="machine-b:2:2:bbbb")

    assert stored_files(tmp_path / "s3") == []


def test_an_unchanged_login_is_not_saved_again(connection):
    saved = save(connection)
    profile = profile_path(connection_id=connection.pk)

    assert not saved_login_due(connection_id=connection.pk, digest=saved.digest)
    (profile / "Default" / "Local Storage" / "leveldb" / "000005.ldb").write_bytes(b"WAToken1=rotated")
    assert saved_login_due(connection_id=connection.pk, digest=profile_digest(profile))


def test_a_lost_machine_s_login_is_restored_elsewhere(connection):
    saved = save(connection)
    lose_machine(connection)
    profile = profile_path(connection_id=connection.pk)

    result = saved_login_restore(connection_id=connection.pk, owner=OWNER, profile=profile)

    assert (result.restored, result.refusals) == (saved, [])
    assert {k: v for k, v in files_of(profile).items() if not k.startswith(".helpdesk")} == LOGIN_FILES
    assert abs((profile / USED_MARKER).stat().st_mtime - saved.created_at.timestamp()) < 1  # its age


def test_a_local_profile_used_since_the_save_is_kept(connection):
    save(connection)
    profile = profile_path(connection_id=connection.pk)
    (profile / "Default" / "Local Storage" / "leveldb" / "000005.ldb").write_bytes(b"newer, unsaved")
    (profile / USED_MARKER).touch()

    result = saved_login_restore(connection_id=connection.pk, owner=OWNER, profile=profile)

    assert result.restored is None
    assert (
        profile / "Default" / "Local Storage" / "leveldb" / "000005.ldb"
    ).read_bytes() == b"newer, unsaved"


def test_an_older_local_profile_is_replaced_by_the_newer_saved_one(connection):
    profile = make_profile(profile_path(connection_id=connection.pk))
    (profile / USED_MARKER).touch()
    an_hour_ago = time.time() - 3600
    os.utime(profile / USED_MARKER, (an_hour_ago, an_hour_ago))  # last used here an hour ago
    other = make_profile(profile.parent / "other-machine")
    (other / "Default" / "Cookies").write_bytes(b"the other machine's newer cookies")
    save(connection, profile=other)  # saved by the machine that ran it since

    result = saved_login_restore(connection_id=connection.pk, owner=OWNER, profile=profile)

    assert result.restored is not None
    assert (profile / "Default" / "Cookies").read_bytes() == b"the other machine's newer cookies"


def test_a_saved_login_older_than_the_setting_is_discarded(connection, settings):
    saved = save(connection)
    SavedLogin.objects.filter(pk=saved.pk).update(created_at=saved.created_at.replace(year=2020))
    lose_machine(connection)

    result = saved_login_restore(
        connection_id=connection.pk, owner=OWNER, profile=profile_path(connection_id=connection.pk)
    )

    assert result.restored is None
    assert not SavedLogin.objects.exists()


def test_a_copy_encrypted_with_another_key_is_refused_flagged_and_the_older_one_used(connection, settings):
    older = save(connection)
    settings.SECRET_KEY = "another machine's key"
    newest = save(connection)
    settings.SECRET_KEY = "a secret key of this test"
    lose_machine(connection)

    result = saved_login_restore(
        connection_id=connection.pk, owner=OWNER, profile=profile_path(connection_id=connection.pk)
    )

    assert (result.restored, result.refusals) == (older, [ANOTHER_KEY])
    newest.refresh_from_db()
    assert newest.refused == ANOTHER_KEY and newest.refused_at is not None
    findings = [finding.text for finding in connections_section().findings]
    assert any("was refused" in text and ANOTHER_KEY in text for text in findings)  # kept for the audit


def test_a_copy_altered_in_the_store_is_refused_and_nothing_is_restored(connection):
    saved = save(connection)
    SavedLogin.objects.filter(pk=saved.pk).update(data=bytes(saved.data)[:-10])
    lose_machine(connection)
    profile = profile_path(connection_id=connection.pk)

    result = saved_login_restore(connection_id=connection.pk, owner=OWNER, profile=profile)

    assert (result.restored, result.refusals) == (None, [SUM_MISMATCH])
    assert not profile.exists()  # the session starts as without one: a QR
    assert SavedLogin.objects.get().refused == SUM_MISMATCH


def test_another_connection_s_copy_is_refused(connection):
    other = ConnectionFactory()
    saved = save(connection)
    data = archive_build(profile=profile_path(connection_id=connection.pk), connection_id=other.pk)
    SavedLogin.objects.filter(pk=saved.pk).update(
        data=data, sha256=__import__("hashlib").sha256(data).hexdigest()
    )
    lose_machine(connection)

    result = saved_login_restore(
        connection_id=connection.pk, owner=OWNER, profile=profile_path(connection_id=connection.pk)
    )

    assert result.refusals == [ANOTHER_CONNECTION]


def test_only_the_lease_holder_restores(connection):
    save(connection)
    lose_machine(connection)

    with pytest.raises(LeaseLost):
        saved_login_restore(
            connection_id=connection.pk,
            owner="machine-b:2:2:bbbb",
            profile=profile_path(connection_id=connection.pk),
        )

    assert not profile_path(connection_id=connection.pk).exists()


def test_a_storage_backend_holds_the_bytes_and_loses_them_with_the_logout(
    connection, settings, tmp_path, django_capture_on_commit_callbacks
):
    use_a_storage(settings, tmp_path / "s3")
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            save(connection)
    assert len(stored_files(tmp_path / "s3")) == 2  # the third one's oldest went with its row
    assert SavedLogin.objects.filter(data__isnull=True).count() == 2
    lose_machine(connection)
    result = saved_login_restore(
        connection_id=connection.pk, owner=OWNER, profile=profile_path(connection_id=connection.pk)
    )
    assert result.restored is not None and result.restored.version == 3

    with django_capture_on_commit_callbacks(execute=True):
        connection_session_ended(connection_id=connection.pk, outcome=Outcome.LOGGED_OUT, owner=OWNER)

    assert not SavedLogin.objects.exists()
    assert stored_files(tmp_path / "s3") == []


def test_a_storage_that_is_down_is_said_and_nothing_is_flagged(connection, settings, tmp_path):
    use_a_storage(settings, tmp_path / "s3")
    save(connection)
    (tmp_path / "s3").rename(tmp_path / "s3-away")
    lose_machine(connection)

    result = saved_login_restore(
        connection_id=connection.pk, owner=OWNER, profile=profile_path(connection_id=connection.pk)
    )

    assert (result.restored, result.refusals) == (None, [STORE_DOWN])
    assert not SavedLogin.objects.exclude(refused="").exists()


def test_deleting_the_connection_deletes_its_saved_logins_and_their_files(
    connection, settings, tmp_path, django_capture_on_commit_callbacks
):
    use_a_storage(settings, tmp_path / "s3")
    save(connection)

    with django_capture_on_commit_callbacks(execute=True):
        connection_delete(connection=connection)

    assert not SavedLogin.objects.exists()
    assert stored_files(tmp_path / "s3") == []


# -- the session's saves (whatsapp/session.py) ----------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the session's threads have connections of their own
def test_a_store_that_is_down_delays_the_session_s_save_and_the_next_try_saves(session, settings, tmp_path):
    make_profile(profile_path(connection_id=session.connection_id))
    (tmp_path / "s3").write_text("a file where the storage's folder should be: every save fails")
    use_a_storage(settings, tmp_path / "s3")

    assert asyncio.run(session._save_login()) is False  # no exception: the session goes on
    assert not SavedLogin.objects.exists()

    (tmp_path / "s3").unlink()  # the store is back
    assert asyncio.run(session._save_login()) is True
    assert SavedLogin.objects.filter(connection_id=session.connection_id).count() == 1
    assert asyncio.run(session._save_login()) is True  # unchanged: not saved again
    assert SavedLogin.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_session_that_lost_its_lease_saves_nothing(session):
    make_profile(profile_path(connection_id=session.connection_id))
    Connection.objects.filter(pk=session.connection_id).update(lease_owner="machine-b:2:2:bbbb")

    assert asyncio.run(session._save_login()) is True  # nothing to try again: its keeper ends it
    assert not SavedLogin.objects.exists()
