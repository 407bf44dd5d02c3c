from django.contrib.auth.models import User

from helpdesk.models import UserPreferences
from helpdesk.permissions import has_permission
from tickets.selectors import ticket_counts
from whatsapp.selectors import connection_status_counts


def dashboard_figures(*, user: User) -> dict[str, object]:
    """The home page's numbers for ``user``: their tickets, and the connections for those who may see them."""
    figures: dict[str, object] = {"tickets": ticket_counts(user=user)}
    if has_permission(user, "whatsapp.view_connection"):
        figures["connections"] = connection_status_counts()
    return figures


def preferences_of(*, user: User) -> UserPreferences:
    """The user's preferences; the defaults (unsaved) for a user who never changed them."""
    return UserPreferences.objects.filter(user=user).first() or UserPreferences(user=user)
