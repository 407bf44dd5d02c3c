"""Old records removed on a schedule, so the tables that grow with every event stay small.

Connection events, webhook deliveries, django-q's finished tasks (successful
and failed) and its spent one-off schedules (each webhook retry is one) grow
without bound otherwise. Each kind is deleted by date, in batches of primary
keys, so no single statement holds a long lock on a busy table.
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django_q.models import Schedule, Task

from tickets.message_changes import deleted_content_prune
from whatsapp.models import ConnectionEvent, WebhookDelivery

BATCH = 1000


def records_prune() -> dict[str, int]:
    """The task: delete what is older than its retention setting; returns how many of each went."""
    now = timezone.now()
    tasks_before = now - timedelta(days=settings.TASKS_KEEP_DAYS)
    return {
        "events": _delete_in_batches(
            ConnectionEvent.objects.filter(at__lt=now - timedelta(days=settings.EVENTS_KEEP_DAYS))
        ),
        "webhook deliveries": _delete_in_batches(
            WebhookDelivery.objects.filter(at__lt=now - timedelta(days=settings.WEBHOOK_DELIVERIES_KEEP_DAYS))
        ),
        "tasks": _delete_in_batches(Task.objects.filter(stopped__lt=tasks_before)),
        "one-off schedules": _delete_in_batches(
            Schedule.objects.filter(schedule_type=Schedule.ONCE, repeats=0, next_run__lt=tasks_before)
        ),
        **deleted_content_prune(),
    }


def _delete_in_batches(records: QuerySet) -> int:
    deleted = 0
    while ids := list(records.order_by().values_list("pk", flat=True)[:BATCH]):
        records.model.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted
