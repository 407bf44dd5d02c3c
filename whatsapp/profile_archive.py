"""A browser profile's WhatsApp login as one archive: compressed, encrypted, bound to its connection.

What WhatsApp Web needs to log in again is in three places of the profile: IndexedDB (its keys and
the account's state), Local Storage (the device's token) and the cookies (with ``Local State``,
which holds the key Chromium encrypts cookies with). Only those are archived: the caches are large,
rebuilt by the page, and Chromium's ``Singleton*`` lock files name the host and process that held
the profile, so a restored one makes Chromium on another machine refuse the profile.

The archive (docs/profile-archive.md) is a header, then a gzip tar encrypted with AES-GCM. The
header holds the format, the connection's id and an id of the key; it is authenticated with the
ciphertext, so an archive of another connection, one altered or cut short, or one encrypted with
another key is refused with its reason (``ArchiveRefused``), before anything is written to disk.
The key is WHATSAPP_PROFILE_KEY, or one derived from SECRET_KEY (HKDF-SHA256) when that is unset.

Nothing here touches the database: whatsapp/saved_logins.py keeps the archives.
"""

import gzip
import hashlib
import hmac
import io
import os
import shutil
import struct
import tarfile
from pathlib import Path, PurePosixPath

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.utils.translation import gettext_noop

MAGIC = b"HDLA"  # helpdesk login archive
FORMAT = 1
HEADER = struct.Struct(">4sBQ8s12s")  # magic, format, connection id, key id, nonce
# What is archived, relative to the profile: folders whole, files as they are.
KEPT = (
    "Default/IndexedDB",
    "Default/Local Storage",
    "Default/Cookies",
    "Default/Cookies-journal",
    "Local State",
)
LOCK_PREFIX = "Singleton"  # SingletonLock, SingletonSocket, SingletonCookie: another host's Chromium
COPY_ATTEMPTS = 3  # a copy of a running browser's files is taken again when they changed meanwhile


class ArchiveRefused(Exception):
    """The archive is not used; ``reason`` (marked with gettext_noop) says why, for the connection's log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


NOT_AN_ARCHIVE = gettext_noop("it is cut short or not a saved login")
ANOTHER_CONNECTION = gettext_noop("it was saved for another connection")
ANOTHER_KEY = gettext_noop("it was encrypted with another key (WHATSAPP_PROFILE_KEY or SECRET_KEY changed)")
ALTERED = gettext_noop("it was altered or cut short (it does not decrypt)")
UNSAFE = gettext_noop("it holds a file outside the profile")


def archive_key() -> bytes:
    """The 256-bit key: WHATSAPP_PROFILE_KEY, or SECRET_KEY when unset, stretched by HKDF-SHA256."""
    secret = settings.WHATSAPP_PROFILE_KEY or settings.SECRET_KEY
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"helpdesk whatsapp login", info=b"archive v1")
    return hkdf.derive(secret.encode())


def _key_id(key: bytes) -> bytes:
    """Names the key without giving it away: a changed key is told from an altered archive."""
    return hmac.new(key, b"key id", hashlib.sha256).digest()[:8]


def _kept(name: str) -> bool:
    return any(name == kept or name.startswith(kept + "/") for kept in KEPT) and not any(
        part.startswith(LOCK_PREFIX) for part in name.split("/")
    )


def profile_files(profile: Path) -> list[str]:
    """The kept files of ``profile``, as sorted relative POSIX paths."""
    names = []
    for root, _dirs, files in os.walk(profile):
        for file in files:
            name = (Path(root) / file).relative_to(profile).as_posix()
            if _kept(name):
                names.append(name)
    return sorted(names)


def profile_digest(profile: Path) -> str:
    """A digest of the kept files' names, sizes and times: cheap, and changed by any write to them."""
    digest = hashlib.sha256()
    for name in profile_files(profile):
        try:
            stat = (profile / name).stat()
        except FileNotFoundError:
            continue
        digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _copy(profile: Path) -> dict[str, bytes]:
    """The kept files' bytes. A running Chromium may write while they are read: read again (at most
    COPY_ATTEMPTS times) when the files changed during the copy, so that a LevelDB's manifest and its
    tables come from one moment."""
    files: dict[str, bytes] = {}
    for _attempt in range(COPY_ATTEMPTS):
        before = profile_digest(profile)
        files = {}
        for name in profile_files(profile):
            try:
                files[name] = (profile / name).read_bytes()
            except FileNotFoundError:  # compacted away meanwhile
                continue
        if profile_digest(profile) == before:
            break
    return files


def archive_build(*, profile: Path, connection_id: int, key: bytes | None = None) -> bytes:
    """The archive of ``profile``'s login, for ``connection_id`` only."""
    plain = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=plain, mode="wb", compresslevel=6, mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w") as tar,
    ):
        for name, content in _copy(profile).items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(content), 0o600
            tar.addfile(info, io.BytesIO(content))
    key = key or archive_key()
    header = HEADER.pack(MAGIC, FORMAT, connection_id, _key_id(key), os.urandom(12))
    return header + AESGCM(key).encrypt(header[-12:], plain.getvalue(), header)


def archive_open(data: bytes, *, connection_id: int, key: bytes | None = None) -> bytes:
    """The archive's plain (gzip tar) content, or ``ArchiveRefused`` saying why it is not used."""
    if len(data) < HEADER.size + 16:
        raise ArchiveRefused(NOT_AN_ARCHIVE)
    magic, version, owner, key_id, nonce = HEADER.unpack_from(data)
    if magic != MAGIC or version != FORMAT:
        raise ArchiveRefused(NOT_AN_ARCHIVE)
    if owner != connection_id:
        raise ArchiveRefused(ANOTHER_CONNECTION)
    key = key or archive_key()
    if key_id != _key_id(key):
        raise ArchiveRefused(ANOTHER_KEY)
    try:
        return AESGCM(key).decrypt(nonce, data[HEADER.size :], data[: HEADER.size])
    except InvalidTag:
        raise ArchiveRefused(ALTERED) from None


def archive_restore(data: bytes, *, profile: Path, connection_id: int, key: bytes | None = None) -> None:
    """Replace ``profile`` with the archive's login. Checked whole first: a refused archive
    (``ArchiveRefused``) leaves the profile as it was."""
    plain = archive_open(data, connection_id=connection_id, key=key)
    try:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(plain)), mode="r") as tar:
            members = [(m.name, tar.extractfile(m)) for m in tar.getmembers() if m.isfile()]
            files = {name: reader.read() for name, reader in members if reader is not None}
    except (OSError, EOFError, tarfile.TarError):
        raise ArchiveRefused(ALTERED) from None
    for name in files:
        path = PurePosixPath(name)
        if path.is_absolute() or ".." in path.parts or not _kept(name):
            raise ArchiveRefused(UNSAFE)
    shutil.rmtree(profile, ignore_errors=True)
    profile.mkdir(parents=True)
    os.chmod(profile, 0o700)
    for name, content in files.items():
        target = profile / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        os.chmod(target, 0o600)
