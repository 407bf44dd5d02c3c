"""The closing policy: stale tickets close set-based, in batches; the rest stay open whatever happens meanwhile."""

import threading
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.db import connection as db
from django.db import transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import ConnectionFactory, ContactFactory, QueueFactory, TicketFactory
from tests.tickets.audit_helpers import audit, healthy_connection, healthy_machine  # noqa: F401 (fixture)
from tests.tickets.test_inbox_live import events_after
from tests.websockets import websocket
from tickets.audit import stale
from tickets.audit.stale import tickets_close_stale
from tickets.models import Message, Ticket
from whatsapp.models import Connection

HOURS = timedelta(hours=1)


def quiet_ticket(hours: float, **fields) -> Ticket:
    """A ticket whose last message was ``hours`` ago."""
    return TicketFactory(last_message_at=timezone.now() - hours * HOURS, **fields)


def cutoff(hours: float = 24):
    return timezone.now() - hours * HOURS


@pytest.mark.django_db
def test_stale_tickets_close_with_a_system_line_and_a_second_run_closes_nothing():
    old, fresh = quiet_ticket(26), quiet_ticket(2)
    closed_long_ago = quiet_ticket(100, status=Ticket.Status.CLOSED)

    result = tickets_close_stale(before=cutoff(), ignore_waiting=False)

    assert result.closed == 1
    old.refresh_from_db()
    assert (old.status, old.close_reason, old.closed_by) == (
        Ticket.Status.CLOSED,
        Ticket.CloseReason.AUDIT,
        None,
    )
    assert Ticket.objects.get(pk=fresh.pk).status == Ticket.Status.PENDING
    assert Ticket.objects.get(pk=closed_long_ago.pk).close_reason == ""
    line = Message.objects.get(ticket=old)
    assert (line.kind, line.body) == (Message.Kind.SYSTEM, "Closed by the audit: no message for 26 h")
    assert tickets_close_stale(before=cutoff(), ignore_waiting=False).closed == 0
    assert Message.objects.count() == 1


@pytest.mark.django_db
def test_ignore_waiting_keeps_the_tickets_whose_last_message_is_the_customers():
    now = timezone.now()
    waiting = quiet_ticket(30, last_inbound_at=now - 30 * HOURS, last_outbound_at=now - 31 * HOURS)
    never_answered = quiet_ticket(30, last_inbound_at=now - 30 * HOURS)
    answered = quiet_ticket(30, last_inbound_at=now - 31 * HOURS, last_outbound_at=now - 30 * HOURS)

    assert tickets_close_stale(before=cutoff(), ignore_waiting=True).closed == 1

    statuses = dict(Ticket.objects.values_list("pk", "status"))
    assert statuses == {waiting.pk: "pending", never_answered.pk: "pending", answered.pk: "closed"}


@pytest.mark.django_db
@pytest.mark.usefixtures("healthy_machine")
def test_keep_since_closes_everything_older_and_the_report_says_why(settings):
    connection = healthy_connection()
    yesterday_morning = quiet_ticket(20, connection=connection)
    this_hour = quiet_ticket(0.5, connection=connection)
    since = (timezone.now() - 2 * HOURS).isoformat()

    status, report = audit("--keep-since", since)
    assert status == 1
    assert f"stale (last message before {since}): 1" in report
    assert Ticket.objects.filter(status=Ticket.Status.CLOSED).count() == 0  # the report only reports

    status, report = audit("--keep-since", since, "--close-stale")
    assert status == 0, report
    assert "Closed 1 stale tickets in 1 batches." in report
    assert Ticket.objects.get(pk=yesterday_morning.pk).status == Ticket.Status.CLOSED
    assert Ticket.objects.get(pk=this_hour.pk).status == Ticket.Status.PENDING


@pytest.mark.django_db
def test_a_message_committed_between_the_selection_and_the_update_keeps_its_ticket_open(monkeypatch):
    writes, quiet = quiet_ticket(30), quiet_ticket(30)
    close_batch = stale._close_batch

    def customer_writes_first(ids, condition):
        Ticket.objects.filter(pk=writes.pk).update(
            last_message_at=timezone.now(), last_inbound_at=timezone.now()
        )
        return close_batch(ids, condition)

    monkeypatch.setattr(stale, "_close_batch", customer_writes_first)

    result = tickets_close_stale(before=cutoff(), ignore_waiting=False)

    assert result.closed == 1
    assert Ticket.objects.get(pk=writes.pk).status == Ticket.Status.PENDING
    assert Ticket.objects.get(pk=quiet.pk).status == Ticket.Status.CLOSED
    assert not Message.objects.filter(ticket=writes).exists()


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_message_that_commits_first_wins_on_postgresql():
    """A real second transaction holds the ticket's row while the audit's UPDATE waits for it."""
    if db.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: no concurrent transaction to race with")
    writes = quiet_ticket(30)
    locked, release = threading.Event(), threading.Event()

    def customer() -> None:
        with transaction.atomic():
            Ticket.objects.select_for_update().filter(pk=writes.pk).update(last_message_at=timezone.now())
            locked.set()
            release.wait(10)
        db.close()

    thread = threading.Thread(target=customer)
    thread.start()
    locked.wait(10)
    threading.Timer(0.5, release.set).start()  # commits while the audit's UPDATE waits on the row

    result = tickets_close_stale(before=cutoff(), ignore_waiting=False)
    thread.join()

    assert result.closed == 0
    assert Ticket.objects.get(pk=writes.pk).status == Ticket.Status.PENDING


@pytest.mark.django_db
def test_farewells_go_only_through_connected_connections_and_the_rest_are_counted():
    online = ConnectionFactory(
        status=Connection.Status.CONNECTED, farewell="Bye {{name}}, ticket {{protocol}}"
    )
    offline = ConnectionFactory(status=Connection.Status.DISCONNECTED, farewell="Bye")
    silent = ConnectionFactory(status=Connection.Status.CONNECTED, farewell="")
    reached = quiet_ticket(30, connection=online, contact=ContactFactory(name="Ana"))
    quiet_ticket(30, connection=offline)
    quiet_ticket(30, connection=silent)

    result = tickets_close_stale(before=cutoff(), ignore_waiting=False, farewell=True)

    assert (result.closed, result.farewells_queued, result.farewells_unsent) == (3, 1, 1)
    farewell = Message.objects.get(kind=Message.Kind.TEXT)
    assert (farewell.ticket_id, farewell.status, farewell.from_me) == (
        reached.pk,
        Message.Status.QUEUED,
        True,
    )
    assert farewell.body == f"Bye Ana, ticket {reached.pk}"


@pytest.mark.django_db
@pytest.mark.parametrize("farewell", [False, True])
def test_queries_grow_with_batches_not_with_tickets(farewell):
    connection = ConnectionFactory(status=Connection.Status.CONNECTED, farewell="Bye")

    def queries_to_close(count: int, batch_size: int) -> int:
        TicketFactory.create_batch(count, connection=connection, last_message_at=timezone.now() - 30 * HOURS)
        with CaptureQueriesContext(db) as queries:
            result = tickets_close_stale(
                before=cutoff(), ignore_waiting=False, batch_size=batch_size, farewell=farewell
            )
        assert (result.closed, result.batches) == (count, 2)
        return len(queries)

    assert queries_to_close(6, batch_size=3) == queries_to_close(60, batch_size=30)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("channel_layer")
def test_an_agents_inbox_hears_the_closed_tickets_of_its_queues_only(agent_client, agent):
    mine, theirs = QueueFactory(), QueueFactory()
    mine.members.add(agent)
    first, second = quiet_ticket(30, queue=mine), quiet_ticket(30, queue=mine)
    quiet_ticket(30, queue=theirs)

    async def run() -> list[dict]:
        communicator = websocket("/ws/inbox/", agent_client)
        assert await communicator.connect() == (True, None)
        received = await events_after(
            communicator, lambda: tickets_close_stale(before=cutoff(), ignore_waiting=False, batch_size=2)
        )
        await communicator.disconnect()
        return received

    received = async_to_sync(run)()

    assert [(event["type"], event["tickets"]) for event in received] == [
        ("tickets.closed", [first.pk, second.pk])
    ]


@pytest.mark.django_db
@pytest.mark.usefixtures("healthy_machine")
def test_audit_ignore_waiting_is_the_default_the_command_can_turn_off(settings):
    settings.AUDIT_IGNORE_WAITING = True
    connection = healthy_connection()
    waiting = quiet_ticket(30, connection=connection, last_inbound_at=timezone.now() - 30 * HOURS)

    status, report = audit("--close-stale")
    assert "kept because they wait for an answer: 1" in report
    assert Ticket.objects.get(pk=waiting.pk).status == Ticket.Status.PENDING

    status, report = audit("--close-stale", "--no-ignore-waiting")
    assert (status, Ticket.objects.get(pk=waiting.pk).status) == (0, Ticket.Status.CLOSED)
