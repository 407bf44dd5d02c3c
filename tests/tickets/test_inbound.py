import threading
import time
from datetime import timedelta

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import ConnectionFactory, QueueFactory, TicketFactory
from tickets import inbound as tickets_inbound
from tickets.inbound import chat_messages_ingest, message_ingest
from tickets.models import Message, Ticket
from tickets.outbound import message_ack
from whatsapp.wire import InboundMessage, inbound_message

CUSTOMER = "5511988887777@c.us"


def wa_payload(
    number: int, *, chat: str = CUSTOMER, body: str = "Olá", from_me: bool = False, **fields
) -> dict:
    """A message in the bridge's plain form (bridge.js's ``plainMessage``), with ``fields`` changed."""
    return {
        "id": f"{str(from_me).lower()}_{chat}_MSG{number:06d}",
        "from": "5511999990001@c.us" if from_me else chat,
        "to": chat if from_me else "5511999990001@c.us",
        "fromMe": from_me,
        "type": "chat",
        "body": body,
        "t": int(time.time()) + number,
        "notifyName": "Maria",
        **fields,
    }


def inbound(number: int, **options) -> InboundMessage:
    """That message as the session hands it over: read by the wire module."""
    return inbound_message(wa_payload(number, **options))


@pytest.fixture
def events(monkeypatch):
    sent = []
    monkeypatch.setattr("tickets.inbound.ticket_event", lambda **event: sent.append(event))
    return sent


@pytest.mark.django_db
def test_a_message_delivered_three_times_is_stored_and_announced_once(events):
    connection = ConnectionFactory()

    results = [message_ingest(connection=connection, message=inbound(1)) for _ in range(3)]

    assert [r is not None for r in results] == [True, False, False]
    assert Message.objects.count() == 1
    assert len(events) == 1
    ticket = Ticket.objects.get()
    assert (ticket.unread_count, ticket.last_message_preview, ticket.contact.push_name) == (1, "Olá", "Maria")


@pytest.mark.django_db
def test_a_batch_with_replayed_and_repeated_messages_stores_only_the_new_ones_in_order(events):
    connection = ConnectionFactory()
    message_ingest(connection=connection, message=inbound(2))

    stored = chat_messages_ingest(
        connection=connection, chat=CUSTOMER, messages=[inbound(n, body=f"m{n}") for n in (1, 2, 3, 3, 4)]
    )

    assert [message.body for message in stored] == ["m1", "m3", "m4"]
    ticket = Ticket.objects.get()
    assert list(ticket.messages.values_list("body", flat=True)) == ["Olá", "m1", "m3", "m4"]
    assert (ticket.unread_count, ticket.last_message_preview) == (4, "m4")
    assert len(events) == 4


def statements(queries: CaptureQueriesContext) -> list[str]:
    """The SQL run, without transaction control (SQLite's BEGIN IMMEDIATE and COMMIT are counted, PostgreSQL's not)."""
    return [query["sql"].split()[0] for query in queries if not query["sql"].startswith(("BEGIN", "COMMIT"))]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("channel_layer")
def test_a_message_to_an_open_ticket_costs_three_queries():
    connection = ConnectionFactory()
    message_ingest(connection=connection, message=inbound(1))

    with CaptureQueriesContext(db) as one:
        message_ingest(connection=connection, message=inbound(2))
    with CaptureQueriesContext(db) as batch:
        chat_messages_ingest(
            connection=connection, chat=CUSTOMER, messages=[inbound(n) for n in range(3, 13)]
        )

    assert statements(one) == [
        "SELECT",
        "UPDATE",
        "INSERT",
    ]  # the ticket and contact, the counters, the message
    assert statements(batch) == ["SELECT", "UPDATE", "INSERT"]  # ten messages cost the same
    assert Ticket.objects.get().unread_count == 12


@pytest.fixture
def lookups(monkeypatch):
    """Each look for the chat's ticket and contact the ingest makes (one per attempt)."""
    seen = []
    real = tickets_inbound._ticket_and_new_messages

    def counted(connection, chat, messages):
        seen.append([message.id for message in messages])
        return real(connection, chat, messages)

    monkeypatch.setattr(tickets_inbound, "_ticket_and_new_messages", counted)
    return seen


@pytest.mark.django_db(transaction=True)
def test_two_first_messages_at_the_same_instant_make_one_ticket(lookups):
    """Both transactions look, find no contact, and insert: the second one's INSERT waits on the
    unique index, fails once the first commits, and its retry stores into the first one's ticket.
    SQLite cannot interleave them (BEGIN IMMEDIATE: the second waits before its first read), so
    there the same retry is reached by the test after this one."""
    if db.vendor != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: nothing to interleave")
    connection = ConnectionFactory()
    both_looked = threading.Barrier(2)
    real = tickets_inbound._ticket_and_new_messages

    def look_then_wait(connection, chat, messages):
        found = real(connection, chat, messages)
        if len(lookups) <= 2:  # the first look of each: insert only once both saw nothing
            both_looked.wait(timeout=30)
        return found

    errors = []

    def deliver(number: int) -> None:
        try:
            message_ingest(connection=connection, message=inbound(number))
        except Exception as error:  # the test fails on any
            errors.append(error)
        finally:
            db.close()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tickets_inbound, "_ticket_and_new_messages", look_then_wait)
        threads = [threading.Thread(target=deliver, args=(n,)) for n in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert errors == []
    assert len(lookups) == 3  # two first looks, then the loser's retry
    ticket = Ticket.objects.get()
    assert sorted(ticket.messages.values_list("body", flat=True)) == ["Olá", "Olá"]
    assert ticket.unread_count == 2


@pytest.mark.django_db
def test_a_first_message_that_lost_the_race_for_the_contact_is_stored_by_the_retry(monkeypatch, lookups):
    """What the loser of the race above sees, on any database: no contact when it looked, one
    when it inserts (the other transaction committed in between)."""
    connection = ConnectionFactory()
    message_ingest(connection=connection, message=inbound(1))  # the winner, committed
    real = tickets_inbound._ticket_and_new_messages

    def stale_first_look(connection, chat, messages):
        found = real(connection, chat, messages)
        return (None, None, messages) if len(lookups) == 2 else found  # lookups[0] was the winner's

    monkeypatch.setattr(tickets_inbound, "_ticket_and_new_messages", stale_first_look)

    stored = message_ingest(connection=connection, message=inbound(2, body="segunda"))

    assert len(lookups) == 3  # the winner's, the stale one, the retry's
    ticket = Ticket.objects.get()
    assert stored.ticket == ticket
    assert list(ticket.messages.values_list("body", flat=True)) == ["Olá", "segunda"]
    assert ticket.unread_count == 2


@pytest.mark.django_db
def test_a_message_older_than_the_newest_stored_one_does_not_become_the_tickets_last(events):
    """The phone delivers late (it was offline): the ticket keeps showing the newest message."""
    connection = ConnectionFactory()
    now = int(time.time())
    message_ingest(connection=connection, message=inbound(1, body="newest", t=now))

    late = message_ingest(connection=connection, message=inbound(2, body="written earlier", t=now - 600))
    chat_messages_ingest(
        connection=connection,
        chat=CUSTOMER,
        messages=[inbound(3, body="later still", t=now + 60), inbound(4, body="older again", t=now - 300)],
    )

    ticket = Ticket.objects.get()
    assert late.wa_timestamp < ticket.last_message_at
    assert (ticket.last_message_preview, ticket.last_message_at.timestamp()) == ("later still", now + 60)
    assert ticket.last_inbound_at.timestamp() == now + 60
    assert ticket.unread_count == 4
    ordered = ticket.messages.order_by("wa_timestamp").values_list("body", flat=True)
    assert list(ordered) == ["written earlier", "older again", "newest", "later still"]


@pytest.mark.django_db
def test_a_ticket_closed_within_the_window_is_reopened_and_an_older_one_is_not(settings):
    settings.TICKET_REOPEN_WINDOW = 2 * 3600
    connection = ConnectionFactory()
    first = message_ingest(connection=connection, message=inbound(1)).ticket
    Ticket.objects.filter(pk=first.pk).update(status="closed", closed_at=timezone.now() - timedelta(hours=1))

    again = message_ingest(connection=connection, message=inbound(2)).ticket
    assert again.pk == first.pk and again.status == "pending"

    Ticket.objects.filter(pk=first.pk).update(status="closed", closed_at=timezone.now() - timedelta(hours=3))
    later = message_ingest(connection=connection, message=inbound(3)).ticket
    assert later.pk != first.pk
    assert Ticket.objects.filter(status="closed").count() == 1


@pytest.mark.django_db
def test_status_broadcasts_and_groups_are_ignored(settings):
    connection = ConnectionFactory()

    assert message_ingest(connection=connection, message=inbound(1, chat="status@broadcast")) is None
    assert message_ingest(connection=connection, message=inbound(2, chat="120363025@g.us")) is None
    settings.WHATSAPP_ACCEPT_GROUPS = True
    assert message_ingest(
        connection=connection, message=inbound(3, chat="120363025@g.us")
    ).ticket.contact.is_group


@pytest.mark.django_db
def test_what_the_agent_sent_from_the_phone_is_stored_as_ours():
    connection = ConnectionFactory()

    message = message_ingest(connection=connection, message=inbound(1, from_me=True, body="Bom dia"))

    assert message.from_me and message.status == "sent"
    assert message.ticket.unread_count == 0
    assert message.ticket.contact.wa_id == CUSTOMER


@pytest.mark.django_db
def test_a_connection_with_one_queue_routes_new_tickets_to_it():
    connection = ConnectionFactory()
    support = QueueFactory(name="Support")
    connection.queues.add(support)

    assert message_ingest(connection=connection, message=inbound(1)).ticket.queue == support


@pytest.mark.django_db
def test_acks_move_a_message_forward_only():
    ticket = TicketFactory()
    sent = Message.objects.create(
        ticket=ticket,
        connection=ticket.connection,
        from_me=True,
        wa_id="true_x_1",
        status=Message.Status.SENT,
    )

    message_ack(connection=ticket.connection, wa_ids=["true_x_1"], ack=3)
    message_ack(connection=ticket.connection, wa_ids=["true_x_1"], ack=2)

    sent.refresh_from_db()
    assert sent.status == "read"


@pytest.mark.django_db
def test_locations_and_contact_cards_are_stored_readably():
    connection = ConnectionFactory()

    location = message_ingest(
        connection=connection, message=inbound(1, type="location", lat=-23.55, lng=-46.63)
    )
    card = message_ingest(
        connection=connection, message=inbound(2, type="vcard", vcard="BEGIN:VCARD\nFN:Ana")
    )

    assert (location.kind, location.body) == ("location", "-23.55, -46.63")
    assert (card.kind, card.body) == ("contact", "BEGIN:VCARD\nFN:Ana")
