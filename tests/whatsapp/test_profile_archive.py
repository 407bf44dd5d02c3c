"""The archive of a profile's login (whatsapp/profile_archive.py): what goes in, and what is refused."""

import os
from pathlib import Path

import pytest

from whatsapp.profile_archive import (
    ALTERED,
    ANOTHER_CONNECTION,
    ANOTHER_KEY,
    NOT_AN_ARCHIVE,
    ArchiveRefused,
    archive_build,
    archive_restore,
    profile_digest,
)

LOGIN_FILES = {
    "Default/IndexedDB/https_web.whatsapp.com_0.indexeddb.leveldb/000003.log": b"keys" * 500,
    "Default/IndexedDB/https_web.whatsapp.com_0.indexeddb.leveldb/MANIFEST-000001": b"manifest",
    "Default/Local Storage/leveldb/000005.ldb": b"WAToken1=device-token",
    "Default/Cookies": b"cookie jar",
    "Local State": b'{"os_crypt": {}}',
}
LEFT_OUT = {
    "Default/Cache/Cache_Data/data_0": b"cached page" * 1000,
    "Default/Code Cache/js/index": b"compiled",
    "Default/Service Worker/CacheStorage/abc/index": b"worker cache",
    "Default/GPUCache/data_1": b"gpu",
    "Default/Preferences": b"{}",
}


def make_profile(path: Path) -> Path:
    for name, content in {**LOGIN_FILES, **LEFT_OUT}.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(content)
    os.symlink("otherhost-4242", path / "SingletonLock")  # as Chromium leaves it: a link naming its host
    (path / "SingletonCookie").write_text("123")
    (path / "Default" / "Local Storage" / "leveldb" / "SingletonSocket").write_text("x")
    return path


@pytest.fixture
def profile(tmp_path, settings):
    settings.SECRET_KEY = "a secret key of this test"
    settings.WHATSAPP_PROFILE_KEY = ""
    return make_profile(tmp_path / "machine-a" / "7")


def files_of(path: Path) -> dict[str, bytes]:
    return {
        p.relative_to(path).as_posix(): os.readlink(p).encode() if p.is_symlink() else p.read_bytes()
        for p in path.rglob("*")
        if p.is_file() or p.is_symlink()
    }


def test_the_login_comes_back_on_another_machine_without_caches_or_lock_files(profile, tmp_path):
    data = archive_build(profile=profile, connection_id=7)
    elsewhere = tmp_path / "machine-b" / "7"

    archive_restore(data, profile=elsewhere, connection_id=7)

    assert files_of(elsewhere) == LOGIN_FILES  # no cache, no Preferences, no Singleton* of the other host
    assert elsewhere.stat().st_mode & 0o777 == 0o700
    assert len(data) < sum(map(len, LOGIN_FILES.values()))  # compressed


def test_the_archive_is_encrypted(profile):
    data = archive_build(profile=profile, connection_id=7)

    assert b"device-token" not in data and b"WAToken" not in data


def test_an_altered_archive_is_refused_and_the_profile_left_as_it_was(profile, tmp_path):
    data = bytearray(archive_build(profile=profile, connection_id=7))
    data[len(data) // 2] ^= 1
    local = make_profile(tmp_path / "local" / "7")
    before = files_of(local)

    with pytest.raises(ArchiveRefused) as refused:
        archive_restore(bytes(data), profile=local, connection_id=7)

    assert refused.value.reason == ALTERED
    assert files_of(local) == before


def test_a_truncated_archive_is_refused(profile, tmp_path):
    data = archive_build(profile=profile, connection_id=7)

    with pytest.raises(ArchiveRefused) as cut:
        archive_restore(data[: len(data) - 100], profile=tmp_path / "b", connection_id=7)
    with pytest.raises(ArchiveRefused) as header_only:
        archive_restore(data[:20], profile=tmp_path / "b", connection_id=7)

    assert (cut.value.reason, header_only.value.reason) == (ALTERED, NOT_AN_ARCHIVE)
    assert not (tmp_path / "b").exists()


def test_an_archive_of_another_connection_is_refused(profile, tmp_path):
    data = archive_build(profile=profile, connection_id=7)

    with pytest.raises(ArchiveRefused) as refused:
        archive_restore(data, profile=tmp_path / "8", connection_id=8)

    assert refused.value.reason == ANOTHER_CONNECTION


def test_a_connection_id_rewritten_in_the_header_does_not_decrypt(profile, tmp_path):
    data = bytearray(archive_build(profile=profile, connection_id=7))
    data[5:13] = (8).to_bytes(8, "big")  # the header is authenticated with the content

    with pytest.raises(ArchiveRefused) as refused:
        archive_restore(bytes(data), profile=tmp_path / "8", connection_id=8)

    assert refused.value.reason == ALTERED


def test_an_archive_encrypted_with_another_key_is_refused(profile, tmp_path, settings):
    data = archive_build(profile=profile, connection_id=7)
    settings.SECRET_KEY = "the key after a rotation"

    with pytest.raises(ArchiveRefused) as refused:
        archive_restore(data, profile=tmp_path / "b", connection_id=7)

    assert refused.value.reason == ANOTHER_KEY


def test_the_profile_key_setting_replaces_the_secret_key(profile, tmp_path, settings):
    settings.WHATSAPP_PROFILE_KEY = "the archives' own key"
    data = archive_build(profile=profile, connection_id=7)
    settings.SECRET_KEY = "rotated"  # does not matter while WHATSAPP_PROFILE_KEY is set

    archive_restore(data, profile=tmp_path / "b", connection_id=7)

    settings.WHATSAPP_PROFILE_KEY = ""
    with pytest.raises(ArchiveRefused):
        archive_restore(data, profile=tmp_path / "c", connection_id=7)


def test_the_digest_changes_with_a_login_file_and_not_with_a_cache(profile):
    before = profile_digest(profile)
    (profile / "Default" / "Cache" / "Cache_Data" / "data_0").write_bytes(b"another page")
    assert profile_digest(profile) == before

    (profile / "Default" / "Local Storage" / "leveldb" / "000005.ldb").write_bytes(b"WAToken1=new")
    assert profile_digest(profile) != before
