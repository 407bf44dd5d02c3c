from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HelpdeskConfig(AppConfig):
    """The project package is an app too, for its templates and management commands."""

    name = "helpdesk"
    verbose_name = _("Helpdesk")
