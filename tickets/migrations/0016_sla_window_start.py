"""When each ticket's running SLA windows began (``Ticket.sla_window_start``, docs/sla.md): kept from
now on by tickets/milestones.py, read back here for the tickets written before. A ticket reopened
starts at its latest REOPENED milestone (written at the reopening, or by migration 0015's backfill
from its "reopened" lines); any other, and a reopened one without such a row, at the customer's
first message. Two UPDATEs over the table, never a query per ticket."""

from django.db import migrations, models
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce


def backfill(apps, schema_editor):
    Ticket = apps.get_model("tickets", "Ticket")
    Milestone = apps.get_model("tickets", "Milestone")
    Ticket.objects.filter(reopen_count=0, first_inbound_at__isnull=False).update(
        sla_window_start=F("first_inbound_at")
    )
    reopened = Milestone.objects.filter(ticket=OuterRef("pk"), kind="reopened").order_by("-at", "-id")
    Ticket.objects.filter(reopen_count__gt=0).update(
        sla_window_start=Coalesce(Subquery(reopened.values("at")[:1]), F("first_inbound_at"))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0015_backfill_milestones"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="sla_window_start",
            field=models.DateTimeField(blank=True, null=True, verbose_name="SLA window start"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
