"""What every page's layout needs to know about its user."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from helpdesk.permissions import has_permission


def navigation(request: HttpRequest) -> dict:
    """Which menu entries the user may follow (asked only when a page shows the menu)."""
    user = request.user
    return {"may_see_connections": SimpleLazyObject(lambda: has_permission(user, "whatsapp.view_connection"))}
