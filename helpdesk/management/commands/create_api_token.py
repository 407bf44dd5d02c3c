from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from helpdesk.models import ApiToken


class Command(BaseCommand):
    help = "Make an API token for USERNAME and print it (it is shown this once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="what the token is for")

    def handle(self, *, username: str, name: str, **options) -> None:
        try:
            user = get_user_model()._default_manager.get_by_natural_key(username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        _token, key = ApiToken.issue(user=user, name=name)
        self.stdout.write(key)
