"""The recurring tasks of the whatsapp app, as django-q2 schedules (editable in the admin)."""

from django.db import migrations

SCHEDULES = [
    ("whatsapp: restore sessions", "whatsapp.tasks.sessions_restore", 1),
    ("whatsapp: remove orphaned browser profiles", "whatsapp.tasks.profiles_housekeeping", 60),
]


def add_schedules(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    for name, func, minutes in SCHEDULES:
        Schedule.objects.update_or_create(
            name=name, defaults={"func": func, "schedule_type": "I", "minutes": minutes, "repeats": -1}
        )


def remove_schedules(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("whatsapp", "0002_session_fields"), ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more")]
    operations = [migrations.RunPython(add_schedules, remove_schedules)]
