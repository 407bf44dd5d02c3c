"""The SLA watch (tickets/sla.py) as a django-q2 schedule, every minute: it marks the tickets whose
due time passed unmet as breached, once, and fires ``ticket.sla_breached``."""

from django.db import migrations

NAME = "tickets: SLA watch"


def add_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={"func": "tickets.sla.sla_watch", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0013_manager_figures"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(add_schedule, remove_schedule)]
