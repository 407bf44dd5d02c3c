"""Fixtures of the webhook tests: a receiver on loopback, and the tasks a change queued."""

import pytest

from tests.whatsapp.webhook_helpers import Receiver


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
