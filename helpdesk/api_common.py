"""What the JSON API and /metrics share: the error they answer with and the bearer-token check.

Every error is JSON: ``{"error_code": "...", "message": "...", ...}``.
"""

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext

from helpdesk.models import ApiToken


class ApiError(Exception):
    def __init__(self, status: int, error_code: str, message: str, **extra) -> None:
        super().__init__(message)
        self.status, self.error_code, self.message, self.extra = status, error_code, message, extra

    def response(self) -> JsonResponse:
        return JsonResponse(
            {"error_code": self.error_code, "message": self.message, **self.extra}, status=self.status
        )


def authenticate(request: HttpRequest) -> None:
    """Sets ``request.user`` from the bearer token, or raises 401 (no valid token) / 403 (not staff)."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key:
        raise ApiError(
            401,
            "UNAUTHENTICATED",
            gettext("Send Authorization: Bearer <token> (manage.py create_api_token)."),
        )
    token = ApiToken.objects.select_related("user").filter(key_hash=ApiToken.hash(key.strip())).first()
    if token is None or not token.user.is_active:
        raise ApiError(401, "UNAUTHENTICATED", gettext("This token is not valid."))
    if not token.user.is_staff:
        raise ApiError(403, "FORBIDDEN", gettext("Only admins (staff users) may use this API."))
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    request.user = token.user


def found_or_404(queryset, pk: int):
    """The object ``pk`` of ``queryset``, or the API's 404 naming what was not found."""
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise ApiError(
            404,
            "NOT_FOUND",
            gettext("No %(thing)s %(id)s.") % {"thing": queryset.model._meta.verbose_name, "id": pk},
        )
    return found


def form_errors(form) -> ApiError:
    errors = {name: [str(e) for e in messages] for name, messages in form.errors.items()}
    return ApiError(400, "VALIDATION_ERROR", gettext("Some fields are not valid."), fields=errors)
