"""Writes to what belongs to the helpdesk itself rather than to an app: users' preferences."""

from django.contrib.auth.models import User

from helpdesk.models import UserPreferences

PREFERENCE_FIELDS = ("language", "notifications_muted", "signature")


def preferences_update(*, user: User, **changes) -> UserPreferences:
    """Save some of the user's preferences (``language``, ``notifications_muted``, ``signature``)."""
    unknown = set(changes) - set(PREFERENCE_FIELDS)
    if unknown:
        raise TypeError(f"not a preference: {', '.join(sorted(unknown))}")
    preferences, _ = UserPreferences.objects.update_or_create(user=user, defaults=changes)
    return preferences
