"""For the tests of a data migration: the database taken back to the migration before it, the old
rows written there, then migrated forward as ``migrate`` runs it.

The old tickets are written by the ``Ticket`` model of that migration, not today's: today's names
the columns added since, which the table did not have yet."""

from django.db import connection as db
from django.db import models
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

from tests.factories import ConnectionFactory, ContactFactory
from tickets.models import Ticket

Targets = list[tuple[str, str]]


def migrate(targets: Targets) -> None:
    executor = MigrationExecutor(db)
    executor.loader.build_graph()
    executor.migrate(targets)


def newest() -> Targets:
    """The tickets app's newest migration (read from the files): where a test leaves the database."""
    return MigrationLoader(None).graph.leaf_nodes("tickets")


def ticket_as_of(targets: Targets, **fields) -> Ticket:
    """A ticket written by the ``Ticket`` model of ``targets`` (the database is there), with a new
    contact and connection unless given; returned as today's model (its columns of then) for the
    factories of its messages and for ``refresh_from_db`` once migrated forward."""
    old_model = MigrationExecutor(db).loader.project_state(targets).apps.get_model("tickets", "Ticket")
    fields.setdefault("contact", ContactFactory())
    fields.setdefault("connection", ConnectionFactory())
    row = old_model.objects.create(
        **{
            (f"{name}_id" if isinstance(value, models.Model) else name): (
                value.pk if isinstance(value, models.Model) else value
            )
            for name, value in fields.items()
        }
    )
    return Ticket(**{field.attname: getattr(row, field.attname) for field in old_model._meta.concrete_fields})
