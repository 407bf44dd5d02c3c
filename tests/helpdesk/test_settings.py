"""Settings come from the environment; each case runs in a fresh interpreter."""

import json
import os
import subprocess
import sys

from django.conf import settings

PRODUCTION_ENV = {
    "HELPDESK_ENV": "production",
    "SECRET_KEY": "a-production-secret-that-is-long-and-random-enough-0123456789-abcdefghijklmnop",
    "ALLOWED_HOSTS": "helpdesk.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://helpdesk.example.com",
}


def run_django(args: list[str], *, env: dict[str, str], tmp_path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    clean.update({"HELPDESK_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "helpdesk.settings", **env})
    return subprocess.run(
        [sys.executable, *args], cwd=settings.BASE_DIR, env=clean, capture_output=True, text=True, timeout=60
    )


def read_settings(names: list[str], *, env: dict[str, str], tmp_path) -> dict:
    code = (
        "import json; from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {names!r}}}, default=str))"
    )
    result = run_django(["-c", code], env=env, tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_settings_are_read_from_the_environment(tmp_path):
    values = read_settings(
        ["DEBUG", "ALLOWED_HOSTS", "TIME_ZONE", "LANGUAGE_CODE", "MEDIA_ROOT", "DATABASES", "CHANNEL_LAYERS"],
        env={
            "DEBUG": "true",
            "ALLOWED_HOSTS": "a.example,b.example",
            "TIME_ZONE": "UTC",
            "LANGUAGE_CODE": "pt-br",
            "MEDIA_ROOT": str(tmp_path / "files"),
            "DATABASE_URL": "postgres://helpdesk:pw@db.internal:5433/helpdesk",
            "REDIS_URL": "redis://cache.internal:6380/2",
        },
        tmp_path=tmp_path,
    )

    assert values["DEBUG"] is True
    assert values["ALLOWED_HOSTS"] == ["a.example", "b.example"]
    assert values["TIME_ZONE"] == "UTC"
    assert values["LANGUAGE_CODE"] == "pt-br"
    assert values["MEDIA_ROOT"] == str(tmp_path / "files")
    database = values["DATABASES"]["default"]
    assert (database["ENGINE"], database["HOST"], database["PORT"], database["NAME"]) == (
        "django.db.backends.postgresql",
        "db.internal",
        5433,
        "helpdesk",
    )
    assert (
        values["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"][0]["address"]
        == "redis://cache.internal:6380/2"
    )


def test_embedded_defaults_keep_everything_under_the_var_dir(tmp_path):
    values = read_settings(
        ["DEBUG", "TIME_ZONE", "DATABASES", "CHANNEL_LAYERS", "MEDIA_ROOT"], env={}, tmp_path=tmp_path
    )

    assert values["DEBUG"] is False
    assert values["TIME_ZONE"] == "America/Sao_Paulo"
    assert values["DATABASES"]["default"]["NAME"] == str(tmp_path / "db.sqlite3")
    assert (
        values["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"][0]["address"]
        == f"unix://{tmp_path / 'redis.sock'}"
    )
    assert values["MEDIA_ROOT"] == str(tmp_path / "media")


def test_the_local_secret_key_is_generated_once_and_kept_private(tmp_path):
    first = read_settings(["SECRET_KEY"], env={}, tmp_path=tmp_path)["SECRET_KEY"]
    second = read_settings(["SECRET_KEY"], env={}, tmp_path=tmp_path)["SECRET_KEY"]

    assert first == second and len(first) >= 50
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {**PRODUCTION_ENV}
    del env["SECRET_KEY"]

    result = run_django(["manage.py", "check"], env=env, tmp_path=tmp_path)

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = run_django(
        ["manage.py", "check", "--deploy", "--fail-level", "DEBUG"], env=PRODUCTION_ENV, tmp_path=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    code = (
        "import django; django.setup(); from django.db import connection; c = connection.cursor(); "
        "print(c.execute('PRAGMA journal_mode').fetchone()[0], c.execute('PRAGMA busy_timeout').fetchone()[0])"
    )
    result = run_django(["-c", code], env={}, tmp_path=tmp_path)

    journal_mode, busy_timeout_ms = result.stdout.split()
    assert journal_mode == "wal"
    assert int(busy_timeout_ms) >= 5000
