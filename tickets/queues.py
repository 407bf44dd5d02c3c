"""A queue's settings as the queues API and the admin read and change them: who may read which
queue, the change itself (checked as the admin's form checks it) and the answer's shape."""

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from helpdesk.permissions import has_permission
from helpdesk.realtime import dashboard_changed
from tickets.assignment import AUTOMATIC, backlog_on_commit
from tickets.business_time import hours_dump
from tickets.hours import queue_hours, schedule_clean
from tickets.models import Queue

SCHEDULE = ("business_hours", "holidays")
PEOPLE = ("members", "supervisors")  # the admin's form sets them; the API does not


def queues_readable_by(*, user: User) -> QuerySet[Queue]:
    """Every queue for who holds ``tickets.view_queue``; an agent, the queues they are a member of."""
    if has_permission(user, "tickets.view_queue"):
        return Queue.objects.all()
    return Queue.objects.filter(members=user)


def queue_update(*, queue: Queue, changes: dict[str, Any]) -> Queue:
    """Change the given fields of ``queue`` (the others stay) and save them, or save nothing and
    raise ValidationError naming every field refused: the schedule through ``schedule_clean``, the
    rest through the model's own rules (a name another queue has, an SLA under one minute...).
    ``members`` and ``supervisors`` (the admin's) are the whole new lists.

    A queue that assigns by itself after the change, when it did not before or has a new member,
    gives its waiting tickets at once (once this commits): nobody waits for the next one to come
    online or free a slot. A change of members changes the wall's figures."""
    people = {name: list(changes[name]) for name in PEOPLE if name in changes}
    changes = {name: value for name, value in changes.items() if name not in PEOPLE}
    errors: dict[str, list[str]] = {}
    if any(name in changes for name in SCHEDULE):
        try:
            changes["business_hours"], changes["holidays"] = schedule_clean(
                business_hours=changes.get("business_hours", queue.business_hours),
                holidays=changes.get("holidays", queue.holidays),
            )
        except ValidationError as invalid:
            errors.update(invalid.message_dict)
    for name, value in changes.items():
        setattr(queue, name, value)
    try:
        queue.full_clean(exclude=list(SCHEDULE))
    except ValidationError as invalid:
        errors.update(invalid.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        stored = Queue.objects.select_for_update().get(pk=queue.pk)
        members_before = set(stored.members.values_list("pk", flat=True))
        if changes:
            queue.save(update_fields=list(changes))
        for name, users in people.items():
            getattr(queue, name).set(users)
        members = {user.pk for user in people["members"]} if "members" in people else members_before
        if members != members_before:
            dashboard_changed()
        if queue.assignment in AUTOMATIC and (stored.assignment not in AUTOMATIC or members - members_before):
            backlog_on_commit(queue_id=queue.pk)
    return queue


def queue_payload(queue: Queue) -> dict[str, Any]:
    """The queue as the API answers it; the schedule normalised as ``hours_dump`` writes it."""
    hours = queue_hours(queue)
    return {
        "id": queue.pk,
        "name": queue.name,
        "color": queue.color,
        "greeting": queue.greeting,
        "business_hours": hours_dump(hours),
        "holidays": sorted(hours.holidays),
        "out_of_hours_message": queue.out_of_hours_message,
        "sla_first_response_minutes": queue.sla_first_response_minutes,
        "sla_resolution_minutes": queue.sla_resolution_minutes,
        "assignment": queue.assignment,
    }
