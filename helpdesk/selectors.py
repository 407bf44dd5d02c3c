from django.contrib.auth.models import AbstractBaseUser

from helpdesk.models import UserPreferences
from tickets.selectors import ticket_counts
from whatsapp.selectors import connection_status_counts


def dashboard_figures(*, user: AbstractBaseUser) -> dict:
    """The home page's numbers for ``user``: their tickets, and for staff the connections."""
    figures = {"tickets": ticket_counts(user=user)}
    if user.is_staff:
        figures["connections"] = connection_status_counts()
    return figures


def preferences_of(*, user: AbstractBaseUser) -> UserPreferences:
    """The user's preferences; the defaults (unsaved) for a user who never changed them."""
    return UserPreferences.objects.filter(user=user).first() or UserPreferences(user=user)
