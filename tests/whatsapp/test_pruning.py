"""Old records go on schedule; recent ones and live schedules stay."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule, Task

from tests.factories import ConnectionFactory
from whatsapp import pruning
from whatsapp.models import ConnectionEvent, WebhookDelivery
from whatsapp.pruning import records_prune

pytestmark = pytest.mark.django_db


def test_records_older_than_their_retention_are_removed_in_batches(settings, monkeypatch):
    settings.EVENTS_KEEP_DAYS, settings.WEBHOOK_DELIVERIES_KEEP_DAYS, settings.TASKS_KEEP_DAYS = 30, 10, 7
    monkeypatch.setattr(pruning, "BATCH", 2)  # several batches with few rows
    connection = ConnectionFactory()
    now = timezone.now()
    for days in (31, 32, 33, 29):
        ConnectionEvent.objects.create(
            connection=connection, message=f"{days} days ago", at=now - timedelta(days=days)
        )
    for days in (11, 9):
        WebhookDelivery.objects.create(
            connection=connection,
            event_id=uuid.uuid4(),
            event="x",
            envelope={},
            url="http://127.0.0.1/",
            attempt=1,
            at=now - timedelta(days=days),
        )
    for days, success in ((8, True), (8, False), (6, False)):
        Task.objects.create(
            id=uuid.uuid4().hex,
            name=f"t{days}{success}",
            func="f",
            started=now - timedelta(days=days),
            stopped=now - timedelta(days=days),
            success=success,
        )
    week_ago = now - timedelta(days=8)
    spent = Schedule.objects.create(func="f", schedule_type=Schedule.ONCE, repeats=0, next_run=week_ago)
    pending = Schedule.objects.create(func="f", schedule_type=Schedule.ONCE, repeats=1, next_run=week_ago)
    hourly = Schedule.objects.create(func="f", schedule_type=Schedule.HOURLY, repeats=-1, next_run=week_ago)

    removed = records_prune()

    assert removed == {
        "events": 3,
        "webhook deliveries": 1,
        "tasks": 2,
        "one-off schedules": 1,
        "deleted contents": 0,
        "early changes": 0,
    }
    assert list(ConnectionEvent.objects.values_list("message", flat=True)) == ["29 days ago"]
    assert WebhookDelivery.objects.count() == 1 and Task.objects.count() == 1
    assert set(Schedule.objects.filter(pk__in=[spent.pk, pending.pk, hourly.pk])) == {pending, hourly}


def test_the_migration_schedules_the_pruning():
    assert Schedule.objects.filter(func="whatsapp.pruning.records_prune", repeats=-1).exists()
