import threading

import pytest
from django.db import IntegrityError, connection, transaction

from tests.factories import ConnectionFactory, ContactFactory, TicketFactory
from tickets.models import Ticket


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_transactions_cannot_both_open_a_ticket_for_one_contact():
    contact, wa_connection = ContactFactory(), ConnectionFactory()
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def open_ticket() -> None:
        start.wait(timeout=10)
        try:
            with transaction.atomic():
                Ticket.objects.create(contact=contact, connection=wa_connection)
                threading.Event().wait(0.3)  # keep the transaction open while the other one tries
            outcomes.append("created")
        except IntegrityError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=open_ticket) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["created", "refused"]
    assert Ticket.objects.filter(contact=contact, connection=wa_connection).count() == 1


@pytest.mark.django_db
def test_closed_tickets_do_not_count_against_the_open_one():
    first = TicketFactory(status=Ticket.Status.CLOSED)
    TicketFactory(contact=first.contact, connection=first.connection, status=Ticket.Status.CLOSED)
    TicketFactory(contact=first.contact, connection=first.connection, status=Ticket.Status.OPEN)

    with pytest.raises(IntegrityError), transaction.atomic():
        TicketFactory(contact=first.contact, connection=first.connection, status=Ticket.Status.PENDING)


@pytest.mark.django_db
def test_the_same_contact_may_have_an_open_ticket_on_each_connection():
    first = TicketFactory()
    TicketFactory(contact=first.contact)

    assert Ticket.objects.filter(contact=first.contact).exclude(status=Ticket.Status.CLOSED).count() == 2
