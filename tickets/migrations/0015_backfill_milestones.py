"""The figures of the tickets written before they were kept as things happen (tickets/milestones.py),
read back once from their messages and system lines (docs/measures.md, "The backfill"):

- ``first_inbound_at``: the ticket's first message not from us (WhatsApp's time of it);
- ``first_response_at`` / ``first_response_by``: the first message an agent wrote to the customer
  after it (from us, with an author, neither a note nor a system line, not still scheduled);
- ``reopen_count``: its "reopened" system lines;
- Milestones: OPENED and QUEUED (its present queue) at its creation, FIRST_RESPONSE, one REOPENED per
  "reopened" line, CLOSED for a closed ticket (its ``closed_at``, credited to ``closed_by`` or else
  its assignee), with wall-clock and business seconds in its queue's hours (tickets/business_time.py).

Tickets a batch at a time (keyset on the id): one UPDATE of the batch's figures from subqueries of
their messages, one read of their "reopened" lines, one INSERT of their milestones; never a query
per ticket. A ticket that already has a milestone is skipped, so running it again (or
after the hooks wrote some) adds nothing.
"""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations
from django.db.models import Count, Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce

from tickets.business_time import Hours, HoursInvalid, business_seconds, hours_parse

BATCH = 2000
UNSENT_KINDS = ["note", "system"]
TICKET_COLUMNS = [
    "id",
    "connection_id",
    "queue_id",
    "assignee_id",
    "closed_by_id",
    "created_at",
    "closed_at",
    "first_inbound_at",
    "first_response_at",
    "first_response_by_id",
]
MILESTONE_COLUMNS = ["ticket_id", "kind", "at", "connection_id", "queue_id", "agent_id", "seconds", "business_seconds"]


def backfill(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    Message = apps.get_model("tickets", "Message")
    Milestone = apps.get_model("tickets", "Milestone")
    hours = _queues_hours(apps.get_model("tickets", "Queue"))
    figures = _figures(Message)
    todo = Ticket.objects.filter(~Exists(Milestone.objects.filter(ticket=OuterRef("pk")))).order_by("pk")
    last = 0
    while ids := list(todo.filter(pk__gt=last).values_list("pk", flat=True)[:BATCH]):
        last = ids[-1]
        Ticket.objects.filter(pk__in=ids).update(**figures)  # one statement: no instance a ticket
        reopenings: dict[int, list[tuple]] = {}
        for ticket_id, at, author in (
            Message.objects.filter(ticket_id__in=ids, kind="system", event__event="reopened")
            .order_by("created_at", "id")
            .values_list("ticket_id", "created_at", "author_id")
        ):
            reopenings.setdefault(ticket_id, []).append((at, author))
        tickets = Ticket.objects.filter(pk__in=ids).values_list(*TICKET_COLUMNS)
        rows = [
            row
            for values in tickets
            for row in _milestones(dict(zip(TICKET_COLUMNS, values)), hours, reopenings)
        ]
        _insert(schema_editor.connection, Milestone, rows)


def _figures(Message) -> dict:
    """A ticket's figures as subqueries of its messages, for one UPDATE of a batch of tickets."""
    inbound = Message.objects.filter(ticket=OuterRef("pk"), from_me=False).order_by("created_at", "id")
    answer = (
        Message.objects.filter(
            ticket=OuterRef("pk"),
            from_me=True,
            author__isnull=False,
            created_at__gte=Subquery(
                Message.objects.filter(ticket=OuterRef(OuterRef("pk")), from_me=False)
                .order_by("created_at", "id")
                .values("created_at")[:1]
            ),
        )
        .exclude(kind__in=UNSENT_KINDS)
        .exclude(status="scheduled")
        .order_by("created_at", "id")
    )
    reopened = (
        Message.objects.filter(ticket=OuterRef("pk"), kind="system", event__event="reopened")
        .values("ticket")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return {
        "first_inbound_at": Subquery(inbound.values(at=Coalesce("wa_timestamp", "created_at"))[:1]),
        "first_response_at": Subquery(answer.values("created_at")[:1]),
        "first_response_by": Subquery(answer.values("author_id")[:1]),
        "reopen_count": Coalesce(Subquery(reopened), 0),
    }


def _milestones(ticket: dict, hours: dict[int, Hours], reopenings: dict[int, list[tuple]]) -> list[tuple]:
    """The ticket's milestones as rows of MILESTONE_COLUMNS."""
    start, queue = ticket["first_inbound_at"], ticket["queue_id"]

    def row(kind: str, at, agent=None, waited: bool = False) -> tuple:
        seconds = business = None
        if waited and start is not None:
            seconds = max(0.0, (at - start).total_seconds())
            business = business_seconds(hours[queue], start, at) if queue in hours else seconds
        return (ticket["id"], kind, at, ticket["connection_id"], queue, agent, seconds, business)

    rows = [row("opened", ticket["created_at"])]
    if queue is not None:
        rows.append(row("queued", ticket["created_at"]))
    if ticket["first_response_at"] is not None:
        rows.append(row("first_response", ticket["first_response_at"], ticket["first_response_by_id"], True))
    rows += [row("reopened", at, author) for at, author in reopenings.get(ticket["id"], [])]
    if ticket["closed_at"] is not None:
        rows.append(row("closed", ticket["closed_at"], ticket["closed_by_id"] or ticket["assignee_id"], True))
    return rows


def _insert(connection, Milestone, rows: list[tuple]) -> None:
    """The rows in multi-row INSERTs (as many as the database takes parameters), without a model
    instance each: bulk_create's preparation of every field of every row was most of the time, and
    executemany a round trip a row on PostgreSQL."""
    ops, width = connection.ops, len(MILESTONE_COLUMNS)
    at = MILESTONE_COLUMNS.index("at")
    rows = [(*row[:at], ops.adapt_datetimefield_value(row[at]), *row[at + 1 :]) for row in rows]
    into = (
        f"INSERT INTO {ops.quote_name(Milestone._meta.db_table)} "
        f"({', '.join(ops.quote_name(column) for column in MILESTONE_COLUMNS)}) VALUES "
    )
    placeholders = "(" + ", ".join(["%s"] * width) + ")"
    chunk = (connection.features.max_query_params or BATCH * width) // width
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            cursor.execute(into + ", ".join([placeholders] * len(part)), [value for row in part for value in row])


def _queues_hours(Queue) -> dict[int, Hours]:
    """Each queue's hours, as tickets/hours.py reads them (a schedule that cannot be read: always open)."""
    zone = ZoneInfo(settings.TIME_ZONE)
    hours = {}
    for pk, schedule, holidays in Queue.objects.values_list("pk", "business_hours", "holidays"):
        try:
            hours[pk] = hours_parse(business_hours=schedule, holidays=holidays or [], zone=zone)
        except HoursInvalid:
            hours[pk] = Hours(zone=zone)
    return hours


class Migration(migrations.Migration):
    dependencies = [("tickets", "0014_sla_watch_schedule")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
