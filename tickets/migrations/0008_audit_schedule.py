"""The hourly audit as a django-q2 schedule (editable in the admin), like whatsapp's restore schedule.

The interval is AUDIT_SCHEDULE minutes as set when this migration runs.
"""

from django.conf import settings
from django.db import migrations

NAME = "tickets: audit"


def add_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={"func": "tickets.audit.service.audit_scheduled", "schedule_type": "I",
                  "minutes": settings.AUDIT_SCHEDULE, "repeats": -1},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0007_auditreport"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(add_schedule, remove_schedule)]
