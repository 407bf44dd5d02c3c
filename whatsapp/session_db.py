"""A session's database side, shared by its parts (whatsapp/session.py, session_messages.py).

The session runs on an event loop; its ORM calls run in Django's thread (``db``) or in a
pool of its own, each on a connection checked first. Every write is fenced by the
session's lease (whatsapp/lease.py): a session that lost its lease writes nothing.
"""

import functools

from asgiref.sync import sync_to_async
from django.db import close_old_connections

from whatsapp.lease import lease_fenced
from whatsapp.models import Connection, ConnectionEvent
from whatsapp.services import connection_log, connection_transition


def db(function):
    """``function`` run in Django's thread, off the event loop. Its connection is checked first
    (``close_old_connections``, then CONN_HEALTH_CHECKS): one the database dropped is replaced
    instead of failing the call, so a database restart costs the session nothing but a wait."""

    @functools.wraps(function)
    def checked(*args, **kwargs):
        close_old_connections()
        return function(*args, **kwargs)

    return sync_to_async(checked)


class SessionDatabase:
    """The connection as the session ``owner`` reads and writes it; called in a thread, never on the loop."""

    def __init__(self, *, connection_id: int, owner: str) -> None:
        self.connection_id, self.owner = connection_id, owner

    def load(self) -> Connection | None:
        close_old_connections()
        return Connection.objects.filter(pk=self.connection_id).first()

    def status(self) -> str | None:
        return Connection.objects.filter(pk=self.connection_id).values_list("status", flat=True).first()

    def fenced(self, write, /, **arguments):
        """``write(**arguments)`` in a transaction that commits only while this session holds the lease."""
        with lease_fenced(connection_id=self.connection_id, owner=self.owner):
            return write(**arguments)

    def write(self, service, /, **arguments) -> None:
        """``service(connection=..., **arguments)``, fenced, unless the connection was deleted."""
        connection = self.load()
        if connection is not None:
            self.fenced(service, connection=connection, **arguments)

    def transition(self, status: str, message: str, data: dict | None = None, **fields) -> None:
        self.write(connection_transition, to=status, message=message, data=data, **fields)

    def log(self, message: str, kind: str = ConnectionEvent.Kind.INFO, data: dict | None = None) -> None:
        self.write(connection_log, message=message, kind=kind, data=data)
