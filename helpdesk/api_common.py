"""What the JSON API and /metrics share: the error they answer with and the bearer-token check.

Every error is JSON: ``{"error_code": "...", "message": "...", ...}``, including those Django answers
before or around the API's views (``ApiErrorsAsJson``).
"""

from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse
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


API_PREFIX = "/api/"
API_PAGES = ("/api/docs/",)  # under the prefix but pages for people: their errors stay pages


class ApiErrorsAsJson:
    """Every error under /api/ is the API's JSON, whoever answered it: the 404 of a path no route
    parses (``/api/connections/null,null``), the 405 of a method a route does not take (its
    ``Allow`` header kept), the 400 of a body Django refuses, the 500 of a view that failed (still
    logged by Django). One door, so no route and no future middleware can answer a client HTML.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code < 400
            or not request.path.startswith(API_PREFIX)
            or request.path.startswith(API_PAGES)
            or response.get("Content-Type", "").startswith("application/json")
        ):
            return response
        error = _error_for(response)
        for header in ("Allow", "Retry-After"):
            if header in response:
                error[header] = response[header]
        return error


def _error_for(response: HttpResponse) -> JsonResponse:
    status = response.status_code
    messages = {
        404: gettext("No such call or object in the API."),
        405: gettext("Use %(methods)s.") % {"methods": response.get("Allow", "")},
        500: gettext("The server failed to answer; the error is logged."),
    }
    try:
        known = HTTPStatus(status)
    except ValueError:
        return ApiError(status, "ERROR", messages.get(status, str(status))).response()
    return ApiError(status, known.name, messages.get(status, known.phrase)).response()
