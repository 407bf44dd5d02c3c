"""The benchmarks' bulk seed (tests/seeding.py) fills every column as the model does, or names the one it cannot."""

import pytest

from tests.factories import ConnectionFactory, ContactFactory
from tests.seeding import insert_select
from tickets.models import Ticket

ONE_ROW = "(SELECT 1 AS n) AS one"  # a series of one row, on SQLite and PostgreSQL


@pytest.mark.django_db
def test_a_seeded_row_has_the_models_values_in_the_columns_the_seed_does_not_name():
    contact, connection = ContactFactory(), ConnectionFactory()

    insert_select(
        Ticket,
        rows_from=ONE_ROW,
        values={"contact_id": "%(contact)s", "connection_id": "%(connection)s", "unread_count": "n + 2"},
        params={"contact": contact.pk, "connection": connection.pk},
    )

    ticket = Ticket.objects.get()
    assert (ticket.contact, ticket.connection, ticket.unread_count) == (contact, connection, 3)
    assert (ticket.status, ticket.close_reason, ticket.queue) == (Ticket.Status.PENDING, "", None)
    assert None not in (ticket.waiting_since, ticket.last_message_at, ticket.created_at, ticket.updated_at)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("values", "error"),
    [
        (
            {"connection_id": "1"},
            "the seed gives tickets_ticket.contact_id no value, and the model no default",
        ),
        ({"contact_id": "1", "connection_id": "1", "contact": "1"}, "tickets_ticket has no column contact"),
    ],
)
def test_a_column_the_seed_cannot_fill_is_named_before_anything_is_written(values, error):
    with pytest.raises(ValueError, match=error):
        insert_select(Ticket, rows_from=ONE_ROW, values=values, params={})
