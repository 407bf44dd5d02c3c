"""The closing policy: which open tickets are stale, and closing them set-based.

A ticket is stale when its last message (its creation, if it has none) is older
than ``before``; with ``ignore_waiting`` a ticket whose last message is the
customer's is kept, since it waits for an answer. Closing works in batches of
ids taken by keyset on ``id`` (memory stays flat however many tickets there
are). Each batch is one transaction: one conditional UPDATE that re-checks the
policy in its WHERE, so a ticket whose new message committed first is left
open, and returns what it closed; one INSERT of the system lines; and its
realtime events, sent once it commits.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection as db
from django.db import transaction
from django.db.models import F, Field, Q
from django.db.models.sql import UpdateQuery
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime

from helpdesk.realtime import dashboard_changed, session_wake
from tickets.assignment import backlog_assign
from tickets.conversation_flow import render
from tickets.milestones import tickets_closed
from tickets.models import Message, Ticket
from tickets.realtime import tickets_closed_event
from tickets.system_lines import system_line_text
from tickets.writing import tickets_receiving
from whatsapp.models import Connection

ACTIVE = [Ticket.Status.OPEN, Ticket.Status.PENDING]
INSERT_ROWS = 500  # system lines per INSERT on SQLite: 13 parameters each, well below its limit


@dataclass
class CloseResult:
    closed: int = 0
    batches: int = 0
    farewells_queued: int = 0
    farewells_unsent: int = 0  # the connection was not CONNECTED


def waiting_q() -> Q:
    """The last message is the customer's: an inbound one, and no answer since."""
    return Q(last_inbound_at__isnull=False) & (
        Q(last_outbound_at__isnull=True) | Q(last_inbound_at__gte=F("last_outbound_at"))
    )


def stale_q(*, before: datetime, ignore_waiting: bool) -> Q:
    """Open or pending, and no message since ``before`` (nor, without messages, created since)."""
    quiet = Q(last_message_at__lt=before) | Q(last_message_at__isnull=True, created_at__lt=before)
    condition = Q(status__in=ACTIVE) & quiet
    return condition & ~waiting_q() if ignore_waiting else condition


def tickets_close_stale(
    *, before: datetime, ignore_waiting: bool, batch_size: int = 2000, farewell: bool = False
) -> CloseResult:
    """Close every stale ticket (``close_reason=audit``), batch by batch; a second run closes nothing."""
    condition = stale_q(before=before, ignore_waiting=ignore_waiting)
    connections = {c.pk: c for c in Connection.objects.only("pk", "status", "farewell")} if farewell else {}
    result, last_id, woken = CloseResult(), 0, set[int]()
    while True:
        ids = list(
            Ticket.objects.filter(condition, pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            break
        last_id = ids[-1]
        with transaction.atomic():
            closed = _close_batch(ids, condition)
            if farewell:
                _farewell(closed, connections, result, woken)
        result.closed += len(closed)
        result.batches += 1
    if result.closed:
        dashboard_changed()
        backlog_assign()  # slots were freed: the waiting tickets of queues that assign by themselves go
    _wake(woken)
    return result


def _close_batch(ids: list[int], condition: Q) -> list[dict]:
    """Close those of ``ids`` still stale now; return what was closed (one UPDATE ... RETURNING, one
    INSERT of the system lines, one of the CLOSED milestones, and the queues' hours when any)."""
    now = timezone.now()
    closed = _update_returning(
        Ticket.objects.filter(condition, pk__in=ids),
        {
            "status": Ticket.Status.CLOSED,
            "closed_at": now,
            "closed_by": None,
            "unread_count": 0,
            "updated_at": now,
            "close_reason": Ticket.CloseReason.AUDIT,
        },
        returning=[
            "id",
            "connection_id",
            "queue_id",
            "assignee_id",
            "last_message_at",
            "created_at",
            "first_inbound_at",
        ],
    )
    _insert_system_lines(closed, now)
    tickets_closed(rows=closed, at=now)
    tickets_closed_event(rows=closed)
    return closed


def _update_returning(queryset, values: dict, *, returning: list[str]) -> list[dict]:
    """``queryset.update(**values)`` that also says which rows it changed, by RETURNING (PostgreSQL and
    SQLite ≥ 3.35): the rows that still matched the WHERE when the update took their lock, ordered by id."""
    query = queryset.query.chain(UpdateQuery)
    query.add_update_values(values)
    compiler = query.get_compiler(queryset.db)
    compiler.pre_sql_setup()
    sql, params = compiler.as_sql()
    with db.cursor() as cursor:
        cursor.execute(
            f"{sql} RETURNING {', '.join(db.ops.quote_name(column) for column in returning)}", params
        )
        rows = [dict(zip(returning, row, strict=False)) for row in cursor.fetchall()]
    for row in rows:
        row["pk"] = row["id"]
        for moment in ("last_message_at", "created_at", "first_inbound_at"):
            row[moment] = _aware(row[moment])
    return sorted(rows, key=lambda row: row["id"])


def _aware(value) -> datetime | None:
    """A datetime from a raw cursor: PostgreSQL gives an aware one, SQLite the UTC text Django stored."""
    if value is None or (isinstance(value, datetime) and timezone.is_aware(value)):
        return value
    parsed = value if isinstance(value, datetime) else parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not a datetime: {value!r}")
    return timezone.make_aware(parsed, UTC)


def _column(name: str) -> tuple[Field, str]:
    """Message's field ``name`` and its column (get_field may also answer a relation that has none)."""
    field = Message._meta.get_field(name)
    if not isinstance(field, Field) or field.column is None:
        raise TypeError(f"Message.{name} is not a column")
    return field, field.column


def _insert_system_lines(closed: list[dict], now: datetime) -> None:
    """One line per closed ticket, inserted without a model instance per row (bulk_create prepares every
    field of every row: most of the time at 100,000 tickets). PostgreSQL takes the varying columns as three
    arrays in one small statement; SQLite a multi-row VALUES."""
    if not closed:
        return
    events = [{"event": "audit_closed", "hours": int(_hours_quiet(row, now))} for row in closed]
    with translation.override(settings.LANGUAGE_CODE):  # the body: as system_line_record, once for all
        varying = [
            (row["pk"], row["connection_id"], system_line_text(event), json.dumps(event))
            for row, event in zip(closed, events, strict=True)
        ]
    constant = {
        "from_me": True,
        "kind": Message.Kind.SYSTEM,
        "status": Message.Status.SENT,
        "created_at": now,
        "caption": "",
        "media": "",
        "mimetype": "",
        "filename": "",
        "error": "",
        "voice": False,
    }
    fields = [_column(name) for name in ["ticket_id", "connection_id", "body", "event", *constant]]
    constants = [field.get_db_prep_save(constant[field.name], db) for field, _column_name in fields[4:]]
    columns = ", ".join(db.ops.quote_name(column) for _field, column in fields)
    into = f"INSERT INTO {db.ops.quote_name(Message._meta.db_table)} ({columns})"
    with db.cursor() as cursor:
        if db.vendor == "postgresql":
            cursor.execute(
                f"{into} SELECT t, c, b, e::jsonb, {', '.join(['%s'] * len(constants))} "
                "FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]) AS rows(t, c, b, e)",
                [*constants, *(list(column) for column in zip(*varying, strict=False))],
            )
            return
        row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
        for start in range(0, len(varying), INSERT_ROWS):
            chunk = varying[start : start + INSERT_ROWS]
            cursor.execute(
                f"{into} VALUES {', '.join([row_sql] * len(chunk))}",
                [value for row in chunk for value in (*row, *constants)],
            )


def _hours_quiet(row: dict, now: datetime) -> float:
    return (now - (row["last_message_at"] or row["created_at"])).total_seconds() / 3600


def _farewell(
    closed: list[dict], connections: dict[int, Connection], result: CloseResult, woken: set[int]
) -> None:
    """Queue the connection's farewell for each closed ticket whose connection is CONNECTED; count the rest."""
    sendable = []
    for row in closed:
        connection = connections.get(row["connection_id"])
        if connection is None or not connection.farewell:
            continue
        if connection.status == Connection.Status.CONNECTED:
            sendable.append(row["pk"])
        else:
            result.farewells_unsent += 1
    if not sendable:
        return
    tickets = list(tickets_receiving(Ticket.objects.filter(pk__in=sendable)).select_related("contact"))
    Message.objects.bulk_create(
        [
            Message(
                ticket_id=ticket.pk,
                connection_id=ticket.connection_id,
                from_me=True,
                kind=Message.Kind.TEXT,
                status=Message.Status.QUEUED,
                body=render(connections[ticket.connection_id].farewell, ticket=ticket),
            )
            for ticket in tickets
        ],
        batch_size=1000,
    )
    result.farewells_queued += len(tickets)
    woken.update(ticket.connection_id for ticket in tickets)


def _wake(connection_ids: set[int]) -> None:
    """Each session with farewells to send is woken once, after every batch."""

    if not connection_ids:
        return
    with transaction.atomic():
        for connection_id in connection_ids:
            session_wake(connection_id=connection_id)
