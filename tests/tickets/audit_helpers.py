"""Running the audit command in the test's process, and the real state the audit tests start from."""

import os
import socket
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.factories import ConnectionFactory
from tickets.management.commands.audit import Command
from whatsapp.models import Connection


def audit(*args: str) -> tuple[int, str]:
    """``manage.py audit *args`` (without the browser check unless asked): its exit status and its report."""
    command, out = Command(), StringIO()
    if "--browser" in args:
        args = tuple(arg for arg in args if arg != "--browser")
    else:
        args = ("--no-browser", *args)
    call_command(command, *args, stdout=out)
    return command.exit_status, out.getvalue()


def live_owner() -> str:
    """A lease owner that is this very process: alive."""
    return f"{socket.gethostname()}:{os.getpid()}:test"


def healthy_connection(**fields) -> Connection:
    now = timezone.now()
    defaults = {
        "status": Connection.Status.CONNECTED,
        "last_seen_at": now,
        "lease_owner": live_owner(),
        "lease_expires_at": now + timedelta(minutes=1),
    }
    return ConnectionFactory(**{**defaults, **fields})


@pytest.fixture
def healthy_machine(settings, redis_url, tmp_path):
    """The bus answers, and profiles and media live in this test's own folders."""
    settings.REDIS_URL = redis_url
    settings.WHATSAPP_SESSIONS_DIR = tmp_path / "sessions"
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings
