from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import User
from django.http import HttpRequest

from helpdesk.models import UserPreferences
from helpdesk.overview import overview_wall
from helpdesk.permissions import has_permission
from tickets.selectors import ticket_counts
from whatsapp.selectors import connection_status_counts


def dashboard_figures(*, user: User) -> dict[str, object]:
    """The home page's numbers for ``user``: their tickets, the wall of their queues (helpdesk/overview.py),
    and the connections for those who may see them."""
    figures: dict[str, object] = {"tickets": ticket_counts(user=user), "wall": overview_wall(user=user)}
    if has_permission(user, "whatsapp.view_connection"):
        figures["connections"] = connection_status_counts()
    return figures


def preferences_of(*, user: User) -> UserPreferences:
    """The user's preferences; the defaults (unsaved) for a user who never changed them."""
    return UserPreferences.objects.filter(user=user).first() or UserPreferences(user=user)


def session_user(*, session_key: str | None) -> User | None:
    """The user signed in on the login session ``session_key`` now, as a page request would find
    them (``django.contrib.auth.get_user``): None once they signed out, the session expired, their
    password changed or they were deactivated. The websockets ask it again while they are open."""
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(request)
    return user if isinstance(user, User) else None
