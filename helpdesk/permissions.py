"""Access rules shared by the pages. Sign-in itself is enforced for every view by
LoginRequiredMiddleware; these decide what a signed-in user may do."""

from functools import wraps

from django.core.exceptions import PermissionDenied


def staff_required(view):
    """Refuse (403) a signed-in user who is not staff: connections and settings are the admins'."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_staff:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
