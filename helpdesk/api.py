"""The JSON API's common ground: token authentication, errors, routes and the OpenAPI schema.

An endpoint is a plain function ``(request, **path_args) -> dict | HttpResponse``
registered with ``@endpoint``; it raises ``ApiError`` for anything that is not
a success. Every error is JSON: ``{"error_code": "...", "message": "...", ...}``.
"""

import json
from dataclasses import dataclass, field
from functools import wraps

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from helpdesk.models import ApiToken
from helpdesk.permissions import has_permission


class ApiError(Exception):
    def __init__(self, status: int, error_code: str, message: str, **extra) -> None:
        super().__init__(message)
        self.status, self.error_code, self.message, self.extra = status, error_code, message, extra

    def response(self) -> JsonResponse:
        return JsonResponse({"error_code": self.error_code, "message": self.message, **self.extra}, status=self.status)


@dataclass
class Operation:
    method: str
    view: object
    summary: str
    responses: dict[int, str] = field(default_factory=dict)
    body: dict | None = None  # JSON schema of the request body
    permission: str = ""  # the model permission the caller needs, e.g. "whatsapp.change_connection"


# path (Django syntax, e.g. "connections/<int:pk>/qr") -> {method: Operation}
ROUTES: dict[str, dict[str, Operation]] = {}


def endpoint(method: str, route: str, *, summary: str, responses: dict[int, str] | None = None,
             body: dict | None = None, permission: str = ""):  # fmt: skip
    """Register ``view`` as ``method route`` of the API, for staff token holders with ``permission``."""

    def register(view):
        ROUTES.setdefault(route, {})[method] = Operation(method, view, summary, responses or {}, body, permission)
        return view

    return register


def authenticate(request: HttpRequest) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key:
        raise ApiError(401, "UNAUTHENTICATED", "Send Authorization: Bearer <token> (manage.py create_api_token).")
    token = ApiToken.objects.select_related("user").filter(key_hash=ApiToken.hash(key.strip())).first()
    if token is None or not token.user.is_active:
        raise ApiError(401, "UNAUTHENTICATED", "This token is not valid.")
    if not token.user.is_staff:
        raise ApiError(403, "FORBIDDEN", "Only admins (staff users) may use this API.")
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    request.user = token.user


def json_body(request: HttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "BAD_REQUEST", "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "BAD_REQUEST", "The body must be a JSON object.")
    return body


def found_or_404(queryset, pk: int):
    """The object ``pk`` of ``queryset``, or the API's 404 naming what was not found."""
    found = queryset.filter(pk=pk).first()
    if found is None:
        raise ApiError(404, "NOT_FOUND", f"No {queryset.model._meta.verbose_name} {pk}.")
    return found


def form_errors(form) -> ApiError:
    errors = {name: [str(e) for e in messages] for name, messages in form.errors.items()}
    return ApiError(400, "VALIDATION_ERROR", "Some fields are not valid.", fields=errors)


def _dispatcher(operations: dict[str, Operation]):
    @csrf_exempt  # token-authenticated: no cookie, so no CSRF to fear
    @wraps(next(iter(operations.values())).view)
    def dispatch(request: HttpRequest, **kwargs) -> HttpResponse:
        try:
            operation = operations.get(request.method)
            if operation is None:
                raise ApiError(405, "METHOD_NOT_ALLOWED", f"Use {', '.join(sorted(operations))}.")
            authenticate(request)
            if operation.permission and not has_permission(request.user, operation.permission):
                raise ApiError(403, "FORBIDDEN", f"This needs the permission {operation.permission}.")
            result = operation.view(request, **kwargs)
        except ApiError as error:
            return error.response()
        if isinstance(result, HttpResponse):
            return result
        status = 201 if request.method == "POST" and operation.responses.get(201) else 200
        return JsonResponse(result, status=status, safe=False)

    return dispatch


def api_urlpatterns() -> list:
    patterns = [path(route, login_not_required(_dispatcher(ops))) for route, ops in ROUTES.items()]
    patterns.append(path("openapi.json", login_not_required(openapi_view), name="api-openapi"))
    return patterns


def openapi_schema() -> dict:
    paths = {}
    for route, operations in ROUTES.items():
        openapi_path = "/api/" + route.replace("<int:pk>", "{id}")
        parameters = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}] if "<int:pk>" in route else []
        paths[openapi_path] = {
            method.lower(): {
                "summary": op.summary,
                "parameters": parameters,
                **({"requestBody": {"content": {"application/json": {"schema": op.body}}}} if op.body else {}),
                "responses": {str(code): {"description": text} for code, text in
                              {**op.responses, 401: "No valid token", 403: "Not staff"}.items()},
            }  # fmt: skip
            for method, op in operations.items()
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Helpdesk API", "version": "1"},
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        "security": [{"token": []}],
        "paths": paths,
    }


def openapi_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_schema())


def api_docs(request: HttpRequest) -> HttpResponse:
    """The API described for people: every operation of the schema, on one page."""
    operations = [
        {"method": method.upper(), "path": api_path, **spec}
        for api_path, methods in openapi_schema()["paths"].items()
        for method, spec in methods.items()
    ]
    return render(request, "api_docs.html", {"operations": operations})
