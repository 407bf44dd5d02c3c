from django.contrib.auth.models import AbstractBaseUser

from tickets.selectors import ticket_counts
from whatsapp.selectors import connection_status_counts


def dashboard_figures(*, user: AbstractBaseUser) -> dict:
    """The home page's numbers for ``user``: their tickets, and for staff the connections."""
    figures = {"tickets": ticket_counts(user=user)}
    if user.is_staff:
        figures["connections"] = connection_status_counts()
    return figures
