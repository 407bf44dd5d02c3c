"""The hourly removal of old events, webhook deliveries and finished tasks (whatsapp/pruning.py)."""

from django.db import migrations

NAME = "whatsapp: remove old events, deliveries and tasks"


def add_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME, defaults={"func": "whatsapp.pruning.records_prune", "schedule_type": "H", "repeats": -1}
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("whatsapp", "0006_dead_letter"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(add_schedule, remove_schedule)]
