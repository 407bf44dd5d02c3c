"""Access rules shared by the pages and the API. Sign-in itself is enforced for every view
by LoginRequiredMiddleware; these decide what a signed-in user may do.

Roles are Django's model permissions, as in the admin: a user (or a group such as
"Supervisors", made by a migration) holds ``whatsapp.change_connection``,
``tickets.view_ticket``... Being staff only opens the admin's door; it grants nothing.
"""

from functools import wraps

from django.contrib.auth.models import AnonymousUser, Permission, User
from django.core.exceptions import PermissionDenied
from django.db.models import Q

EVERY_TICKET = "tickets.view_ticket"
# Where has_permission remembers the user's permissions, as Django's ModelBackend keeps its _perm_cache.
_CACHE = "_helpdesk_permissions"


def has_permission(user: User | AnonymousUser, permission: str) -> bool:
    """Whether ``user`` holds ``permission`` ("app_label.codename"), from their groups or their own.

    One query per request at most (remembered on the user object), where Django's
    backend spends two; pages ask on every request (the menu, the inbox's scope).
    """
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    if not hasattr(user, _CACHE):
        held = Permission.objects.filter(Q(user=user) | Q(group__user=user)).values_list(
            "content_type__app_label", "codename"
        )
        setattr(user, _CACHE, {f"{app_label}.{codename}" for app_label, codename in held})
    held_permissions: set[str] = getattr(user, _CACHE)
    return permission in held_permissions


def permission_required(permission: str):
    """Refuse (403) a signed-in user without ``permission``."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not has_permission(request.user, permission):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def sees_every_ticket(user: User) -> bool:
    """Admins and supervisors (``tickets.view_ticket``) see every ticket; agents, their queues'."""
    return has_permission(user, EVERY_TICKET)
