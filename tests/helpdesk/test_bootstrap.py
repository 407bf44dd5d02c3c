"""A fresh machine's setup: the admin account, and files only their owner can read."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from helpdesk.bootstrap import admin_account_ensure


@pytest.mark.django_db
def test_a_password_given_in_the_environment_is_not_printed(monkeypatch, tmp_path):
    monkeypatch.setenv("HELPDESK_ADMIN_PASSWORD", "given-secret-123")

    said = admin_account_ensure(username="boss", var_dir=tmp_path)

    assert "given-secret-123" not in said and "HELPDESK_ADMIN_PASSWORD" in said
    assert get_user_model().objects.get(username="boss").check_password("given-secret-123")
    assert not (tmp_path / "admin_password").exists()


@pytest.mark.django_db
def test_a_generated_password_is_shown_once_and_kept_private(monkeypatch, tmp_path):
    monkeypatch.delenv("HELPDESK_ADMIN_PASSWORD", raising=False)

    said = admin_account_ensure(username="boss", var_dir=tmp_path / "var")

    password = (tmp_path / "var" / "admin_password").read_text().strip()
    assert said.endswith(password)
    assert _mode(tmp_path / "var" / "admin_password") == 0o600 and _mode(tmp_path / "var") == 0o700
    assert password not in admin_account_ensure(username="boss", var_dir=tmp_path / "var")


def test_the_var_folder_the_database_and_its_wal_are_private(tmp_path):
    """The settings as a fresh `make run` loads them: SQLite in a new var folder, written once in WAL mode."""
    var = tmp_path / "var"
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "SECRET_KEY")}
    env.update(HELPDESK_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="helpdesk.settings", HELPDESK_ENV="local")
    code = (
        "import django; django.setup(); from django.db import connection\n"
        "with connection.cursor() as c: c.execute('CREATE TABLE t (x int)'); c.execute('INSERT INTO t VALUES (1)')\n"
        "import os, stat\n"  # the WAL is gone once the last connection closes: look while it is open
        "for name in ('', '-wal', '-shm'):\n"
        "    print(oct(stat.S_IMODE(os.stat(connection.settings_dict['NAME'] + name).st_mode)))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        check=True,
        cwd=Path(__file__).parents[2],
        timeout=60,
        capture_output=True,
        text=True,
    )

    assert run.stdout.split() == ["0o600"] * 3  # the database, its WAL and its shared memory
    assert _mode(var) == 0o700 and _mode(var / "secret_key") == 0o600


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
