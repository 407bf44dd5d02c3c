"""A "Supervisors" group as an example of a role: every ticket and contact, the connections to look at.

Roles are Django groups of model permissions (docs/decisions.md); admins add
people to this one, copy it, or make their own in the admin.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SUPERVISORS = "Supervisors"
PERMISSIONS = [
    ("tickets", "view_ticket"), ("tickets", "change_ticket"), ("tickets", "view_message"),
    ("tickets", "view_queue"), ("tickets", "view_quickreply"), ("tickets", "add_quickreply"),
    ("tickets", "change_quickreply"), ("contacts", "view_contact"), ("contacts", "change_contact"),
    ("whatsapp", "view_connection"), ("whatsapp", "view_connectionevent"),
]


def make_group(apps, schema_editor):
    for app_label in {app_label for app_label, _ in PERMISSIONS}:  # a fresh database has none yet
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True  # the migration state's stand-in has none; create_permissions asks
        create_permissions(app_config, apps=apps, verbosity=0)
    Group, Permission = apps.get_model("auth", "Group"), apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=SUPERVISORS)
    for app_label, codename in PERMISSIONS:
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=SUPERVISORS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("helpdesk", "0002_user_preferences"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contacts", "0002_contact_avatar_fetched_at"),
        ("tickets", "0006_message_voice"),
        ("whatsapp", "0005_mark_chats_read"),
    ]

    operations = [migrations.RunPython(make_group, remove_group)]
