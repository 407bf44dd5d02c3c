"""Fixtures of the whatsapp tests: a session holding its lease (no browser), a webhook receiver on
loopback, and the tasks a change queued."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from tests.factories import ConnectionFactory
from tests.whatsapp.webhook_helpers import Receiver
from whatsapp.lease import lease_acquire
from whatsapp.models import Connection
from whatsapp.session import Session


@pytest.fixture
def session(settings, tmp_path):
    """A session holding the lease of a connected connection, with a renewal every 0.1 s of a 1 s lease."""
    settings.WHATSAPP_LEASE, settings.WHATSAPP_HEARTBEAT = 1, 0.1
    settings.WHATSAPP_SESSIONS_DIR = tmp_path / "sessions"
    connection = ConnectionFactory(status=Connection.Status.CONNECTED, enabled=True)
    session = Session(connection.pk)
    assert lease_acquire(connection_id=connection.pk, owner=session.owner)
    yield session
    asyncio.run(sync_to_async(connections.close_all)())  # the thread of the session's ORM calls
    for pool in (session.lease_thread, session.messages.chat_threads):
        pool.submit(connections.close_all).result()
        pool.shutdown()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the receiver is on loopback
    receivers = []

    def make(statuses=()):
        receivers.append(Receiver(list(statuses)))
        return receivers[-1]

    yield make
    for made in receivers:
        made.close()


@pytest.fixture
def queued(monkeypatch):
    tasks = []
    monkeypatch.setattr("whatsapp.webhooks.async_task", lambda func, *args: tasks.append(args))
    return tasks
