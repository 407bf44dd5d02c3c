"""The JSON API on django-ninja: one NinjaAPI, its token auth, its error bodies and its docs page.

The routers live with their apps (whatsapp/api.py, tickets/api.py). Every answer that is not a
success has the body ``{"error_code": "...", "message": "...", ...}`` (helpdesk/api_common.py).
"""

from typing import Annotated

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Path, Query, Router, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser
from ninja.security.http import HttpBearer
from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from helpdesk.api_common import ApiError, authenticate
from helpdesk.permissions import has_permission
from helpdesk.untrusted import json_body

MAX_ID = 2**63 - 1  # the largest id a database row can have: a larger one is refused, not looked up
Id = Annotated[int, Path(ge=1, le=MAX_ID)]  # an id in the URL
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]  # an optional id in the query (?queue=, ?cursor=)


def _a_number(value):
    """JSON's 3.0 is the integer 3 (JSON Schema says so, and clients send it); true and "3" are not."""
    if isinstance(value, (bool, str)):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


RowId = Annotated[int, Field(ge=1, le=MAX_ID), BeforeValidator(_a_number)]  # an id in a JSON body
# A count in a JSON body, 1 or more, within the databases' integer (a queue's SLA minutes).
Positive = Annotated[int, Field(ge=1, le=2**31 - 1), BeforeValidator(_a_number)]


def json_object(body: bytes) -> dict:
    """A request's JSON body, which every call that takes one documents as an object: read through
    helpdesk/untrusted.py's ``json_body`` (nesting bounded before parsing, no NUL or lone surrogate in
    any string), then a list, a number or text is refused (400), not read as an object with no fields."""
    data = json_body(body)
    if not isinstance(data, dict):
        raise ApiError(400, "BAD_REQUEST", _("The body must be a JSON object."))
    return data


class ObjectBodies(Parser):
    """ninja's parser: every JSON body of the API is read by ``json_object``."""

    def parse_body(self, request: HttpRequest) -> dict:
        return json_object(request.body)


class Error(Schema):
    error_code: str
    message: str


class ValidationErrorOut(Error):
    fields: dict[str, list[str]] = {}


class StaffToken(HttpBearer):
    """Bearer token of an active staff user, holding ``permission`` when one is named."""

    openapi_scheme = "bearer"

    def __init__(self, permission: str = "") -> None:
        super().__init__()
        self.permission = permission

    def authenticate(self, request: HttpRequest, token: str):
        authenticate(request)  # raises ApiError 401 (token not valid) or 403 (not staff)
        if self.permission and not has_permission(request.user, self.permission):
            raise ApiError(
                403,
                "FORBIDDEN",
                _("This needs the permission %(permission)s.") % {"permission": self.permission},
            )
        return request.user


# What a call can answer besides its success, by what it takes; each operation declares the sum of
# its parts, so the schema and the docs page list what that call can answer, not every code of all.
TOKEN = {401: Error, 403: Error}  # every call: no valid token; not staff, or without the permission
BY_ID = {404: Error, 422: ValidationErrorOut}  # an id in the path: no such row; an id out of range
QUERY = {422: ValidationErrorOut}  # typed query parameters (a cursor, an id) that are not
# A JSON body: 400 when it is not a JSON object or a rule refuses a value; 422 for a field of the wrong type.
BODY = {400: ValidationErrorOut, 422: ValidationErrorOut}


api = NinjaAPI(
    title="Helpdesk API",
    version="1",
    auth=StaffToken(),
    docs_url=None,
    openapi_url="/openapi.json",
    urls_namespace="api",
    parser=ObjectBodies(),
)


def _error(error_code: str, message: str, status: int, **extra) -> JsonResponse:
    return ApiError(status, error_code, message, **extra).response()


@api.exception_handler(ApiError)
def _api_error(request, error: ApiError):
    return error.response()


@api.exception_handler(ValidationError)
def _validation_error(request, error: ValidationError):
    """422 naming each field (``name``, ``queue``, ``id``…) with its reasons."""
    fields: dict[str, list[str]] = {}
    for problem in error.errors:
        where = [
            str(part)
            for part in problem.get("loc", ())
            if part not in ("body", "query", "path", "payload", "form")
        ]
        fields.setdefault(".".join(where) or "body", []).append(problem.get("msg", "invalid"))
    return _error("VALIDATION_ERROR", _("Some fields are not valid."), 422, fields=fields)


@api.exception_handler(HttpError)
def _http_error(request, error: HttpError):
    if isinstance(error.__cause__, ApiError):  # ninja wraps what the parser raises: answer the parser's own
        return error.__cause__.response()
    codes = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
    message = _("The body must be a JSON object.") if error.status_code == 400 else str(error)
    return _error(codes.get(error.status_code, "ERROR"), message, error.status_code)


@api.exception_handler(Http404)
def _not_found(request, error: Http404):
    return _error("NOT_FOUND", _("Not found."), 404)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, error: AuthenticationError):
    return _error(
        "UNAUTHENTICATED", _("Send Authorization: Bearer <token> (manage.py create_api_token)."), 401
    )


def api_urlpatterns(*routers: Router) -> list:
    """The API's URLs made of the apps' ``routers`` (helpdesk/urls.py passes them, so this module
    imports no app), open to LoginRequiredMiddleware (the token is the login); their errors that
    ninja answers in plain text (a wrong method's 405) become JSON in ``ApiErrorsAsJson``."""
    for router in routers:
        api.add_router("", router)
    patterns, _app_name, _namespace = api.urls
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            pattern.callback = csrf_exempt(login_not_required(pattern.callback))
    return patterns


def api_docs(request: HttpRequest) -> HttpResponse:
    """The API described for people: every operation of the schema, and Swagger UI from our static files."""
    operations = [
        {
            "method": method.upper(),
            "path": api_path,
            **spec,
            "responses": dict(sorted(spec["responses"].items(), key=lambda code: str(code[0]))),
        }
        for api_path, methods in api.get_openapi_schema()["paths"].items()
        for method, spec in methods.items()
    ]
    swagger_settings = {"url": reverse("api:openapi-json"), "layout": "BaseLayout", "deepLinking": True}
    return render(request, "api_docs.html", {"operations": operations, "swagger_settings": swagger_settings})
