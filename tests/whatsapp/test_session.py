"""The session's reactions to a connection deleted while its browser runs (whatsapp/session.py).

A QR code arriving after the row is gone ends the run as "deleted" (its profile is wiped by the
session's finish), where it used to fail on the missing row.
"""

import pytest

from tests.factories import ConnectionFactory
from whatsapp.outcomes import Outcome
from whatsapp.session import Session

pytestmark = pytest.mark.django_db(transaction=True)  # the session closes old connections, as a worker does


@pytest.fixture
def session_of_deleted_connection():
    connection = ConnectionFactory()
    session = Session(connection.pk)
    connection.delete()
    yield session
    session.messages.chat_threads.shutdown()


def test_a_qr_code_for_a_deleted_connection_ends_the_run_as_deleted(session_of_deleted_connection):
    assert session_of_deleted_connection._qr_shown("2@code") == Outcome.DELETED


def test_the_qr_codes_running_out_for_a_deleted_connection_ends_the_run_as_deleted(
    session_of_deleted_connection,
):
    assert session_of_deleted_connection._qr_expired() == Outcome.DELETED
