import threading

import pytest
from django.db import IntegrityError, connection, transaction

from tests.factories import ConnectionFactory, ContactFactory, TicketFactory
from tests.processes import wait_until
from tests.tickets.test_inbound import inbound
from tickets.inbound import message_ingest
from tickets.models import Ticket


def other_transaction_waits_for_a_lock() -> bool:
    """PostgreSQL: whether another session is blocked on a lock (the unique index's, here)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_transactions_cannot_both_open_a_ticket_for_one_contact():
    contact, wa_connection = ContactFactory(), ConnectionFactory()
    first_inserted, second_trying, commit = threading.Event(), threading.Event(), threading.Event()
    outcomes: dict[str, str] = {}

    def open_ticket(name: str) -> None:
        try:
            if name == "second":
                first_inserted.wait(timeout=30)
                second_trying.set()
            with transaction.atomic():
                Ticket.objects.create(contact=contact, connection=wa_connection)
                if name == "first":  # keep the transaction open until the other one tries
                    first_inserted.set()
                    commit.wait(timeout=30)
            outcomes[name] = "created"
        except IntegrityError:
            outcomes[name] = "refused"
        finally:
            connection.close()

    threads = [threading.Thread(target=open_ticket, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    second_trying.wait(timeout=30)
    if connection.vendor == "postgresql":  # SQLite has one writer: the second waits in BEGIN IMMEDIATE
        wait_until(other_transaction_waits_for_a_lock, timeout=30, message="the second INSERT to wait")
    commit.set()
    for thread in threads:
        thread.join(timeout=60)

    assert outcomes == {"first": "created", "second": "refused"}
    assert Ticket.objects.filter(contact=contact, connection=wa_connection).count() == 1


@pytest.mark.django_db
def test_closed_tickets_do_not_count_against_the_open_one():
    first = TicketFactory(status=Ticket.Status.CLOSED)
    TicketFactory(contact=first.contact, connection=first.connection, status=Ticket.Status.CLOSED)
    TicketFactory(contact=first.contact, connection=first.connection, status=Ticket.Status.OPEN)

    with pytest.raises(IntegrityError), transaction.atomic():
        TicketFactory(contact=first.contact, connection=first.connection, status=Ticket.Status.PENDING)


@pytest.mark.django_db
def test_the_same_customer_writing_to_two_connections_gets_a_ticket_on_each():
    sales, support = ConnectionFactory(), ConnectionFactory()

    on_sales = message_ingest(connection=sales, message=inbound(1))
    on_support = message_ingest(connection=support, message=inbound(2))

    assert on_sales.ticket != on_support.ticket
    assert (on_sales.ticket.connection, on_support.ticket.connection) == (sales, support)
    assert on_sales.ticket.contact == on_support.ticket.contact
    assert {on_sales.ticket.status, on_support.ticket.status} == {Ticket.Status.PENDING}
