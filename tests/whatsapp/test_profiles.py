import os
import time

import pytest

from tests.factories import ConnectionFactory
from whatsapp.browser import browser_diagnosis
from whatsapp.profiles import USED_MARKER, profile_path, profile_prepare
from whatsapp.tasks import profiles_housekeeping


@pytest.fixture(autouse=True)
def sessions_dir(settings, tmp_path):
    settings.WHATSAPP_SESSIONS_DIR = tmp_path / "sessions"
    return settings.WHATSAPP_SESSIONS_DIR


def test_a_new_profile_is_private():
    path, reason = profile_prepare(connection_id=7)

    assert reason == ""
    assert path.stat().st_mode & 0o777 == 0o700


def test_a_login_older_than_the_setting_is_discarded(settings):
    settings.WHATSAPP_PROFILE_MAX_AGE_DAYS = 14
    path, _ = profile_prepare(connection_id=7)
    (path / "Default").mkdir()
    (path / "Default" / "data").write_text("login")
    marker = path / USED_MARKER
    marker.touch()
    twenty_days_ago = time.time() - 20 * 86400
    os.utime(marker, (twenty_days_ago, twenty_days_ago))

    path, reason = profile_prepare(connection_id=7)

    assert "20 days ago" in reason
    assert not (path / "Default").exists()


def test_an_incomplete_profile_is_discarded():
    path, _ = profile_prepare(connection_id=7)
    (path / USED_MARKER).touch()  # once logged in, but the browser's data is gone

    _, reason = profile_prepare(connection_id=7)

    assert reason == "the saved login is incomplete"


@pytest.mark.django_db
def test_housekeeping_removes_profiles_of_deleted_connections():
    kept = ConnectionFactory()
    profile_prepare(connection_id=kept.pk)
    profile_prepare(connection_id=kept.pk + 1000)

    assert profiles_housekeeping() == 1
    assert profile_path(connection_id=kept.pk).exists()
    assert not profile_path(connection_id=kept.pk + 1000).exists()


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            "chromium: error while loading shared libraries: libnss3.so: cannot open shared object file",
            "the system library libnss3.so is missing",
        ),
        ("[FATAL:zygote_host_impl_linux.cc] No usable sandbox!", "sandbox cannot start"),
        ("Running as root without --no-sandbox is not supported", "sandbox cannot start"),
        ("Failed to launch: Cannot allocate memory", "ran out of memory"),
        ("spawn /opt/chrome ENOENT", "No browser at /usr/bin/chromium"),
        (
            "Browser closed.\n==== logs ====\n<launching> something odd",
            "Chromium could not start: Browser closed.",
        ),
    ],
)
def test_launch_failures_are_explained_in_words_an_admin_can_act_on(output, expected):
    assert expected in browser_diagnosis(output, executable="/usr/bin/chromium")
