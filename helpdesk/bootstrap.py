"""What a fresh machine needs before the helpdesk can serve: tables, static files, an admin."""

import logging
import os
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from helpdesk.local_secrets import read_or_create_secret

logger = logging.getLogger(__name__)

ADMIN_PASSWORD_FILE = "admin_password"


def database_prepare() -> None:
    """Apply migrations and collect static files; both skip what is already done."""
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


def admin_account_ensure(*, username: str, var_dir: Path) -> str:
    """Make sure a superuser named ``username`` exists, and say how to sign in.

    Its password is ``HELPDESK_ADMIN_PASSWORD`` when set (then never printed), or
    one generated once into ``var_dir/admin_password`` (mode 0600), printed once. An existing account is left as
    it is: its password may have been changed since.
    """
    users = get_user_model()._default_manager
    password_file = var_dir / ADMIN_PASSWORD_FILE
    if users.filter(username=username).exists():
        where = f" (first password in {password_file})" if password_file.exists() else ""
        return f"Admin account: {username}{where}"
    given = os.environ.get("HELPDESK_ADMIN_PASSWORD")
    password = given or read_or_create_secret(password_file, length=12)
    users.create_superuser(username=username, email="", password=password)
    logger.info("admin account created", extra={"username": username})
    if given:  # the operator knows it; it does not belong in a terminal's scrollback or a log
        return f"Admin account created: {username} (password from HELPDESK_ADMIN_PASSWORD)"
    return f"Admin account created: {username} / {password}"


def prepare() -> str:
    database_prepare()
    return admin_account_ensure(username=settings.HELPDESK_ADMIN_USERNAME, var_dir=settings.VAR_DIR)
