from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HelpdeskConfig(AppConfig):
    """The project package is an app too, for its templates and management commands."""

    name = "helpdesk"
    verbose_name = _("Helpdesk")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from helpdesk.languages import language_at_login

        user_logged_in.connect(language_at_login, dispatch_uid="helpdesk-language-at-login")
