"""Text a request may not carry, refused where it enters, naming the field and the reason.

Two kinds of character break the store, not the code that reads them: a NUL (PostgreSQL's text
cannot hold one) and a lone surrogate (``"\\ud800"`` is valid JSON, but no UTF-8 encodes it, so
SQLite and PostgreSQL both fail on it). Any text that reaches a query or a row could carry them,
so they are refused at the doors a request's text comes through, never field by field:

- query strings, of pages and of the API: ``UntrustedTextMiddleware`` (a 400 page or the API's 422, naming
  the parameter);
- the API's form fields (a multipart reply's caption): the same middleware, as the API has no
  form to show an error in;
- the API's JSON bodies: ``json_body`` (the API's parser, helpdesk/api.py), which also refuses
  nesting deeper than ``MAX_JSON_DEPTH`` before ``json.loads`` recurses into it;
- the pages' forms: Django's CharField already refuses a NUL with a form error, and Django decodes
  form data with replacement characters, so no lone surrogate reaches a page's form.
"""

import json
import re
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.translation import gettext as _

from helpdesk.api_common import ApiError

MAX_JSON_DEPTH = 32  # the API's deepest body is an object holding a list of ids: 2 levels

_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_A_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_INNERMOST_PAIR = re.compile(rb"\[\]|\{\}")


def text_refusal(text: str) -> str | None:
    """Why ``text`` may not be stored, or None when it may."""
    if "\x00" in text:
        return _("Null characters are not allowed.")  # Django's form message, already translated
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _("Lone surrogates (\\ud800 to \\udfff) are not allowed.")
    return None


def refused_fields(data: Any, where: str = "") -> dict[str, list[str]]:
    """Each string of parsed JSON (keys too) that may not be stored, by its dotted path: {"body": [why]}."""
    refused: dict[str, list[str]] = {}
    if isinstance(data, str):
        if reason := text_refusal(data):
            refused[where or "body"] = [reason]
    elif isinstance(data, dict):
        for key, value in data.items():
            path = f"{where}.{key}" if where else str(key)
            if reason := text_refusal(key):
                refused[where or "body"] = [reason]
            refused.update(refused_fields(value, path))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            refused.update(refused_fields(value, f"{where}.{index}" if where else str(index)))
    return refused


def json_body(body: bytes) -> Any:
    """``body`` parsed, or the API's 400 (not JSON, or nested too deep) or 422 (naming each string
    that may not be stored).

    The nesting is checked first: ``json.loads`` recurses once per level, and 50,000 opening
    brackets would exhaust the stack (RecursionError, a 500).

    The depth is measured without recursion: strings are blanked and all but brackets dropped, then
    each pass removes the innermost ``[]`` and ``{}`` pairs; brackets left after MAX_JSON_DEPTH
    passes are nested deeper (or do not close). Each pass is one C-speed substitution.
    """
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_A_BRACKET)
    for _pass in range(MAX_JSON_DEPTH):
        if not brackets:
            break
        brackets = _INNERMOST_PAIR.sub(b"", brackets)
    if brackets:
        message = _(
            "The body is not valid JSON: its brackets must close and nest at most %(depth)d levels deep."
        )
        raise ApiError(400, "BAD_REQUEST", message % {"depth": MAX_JSON_DEPTH})
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "BAD_REQUEST", _("The body is not valid JSON.")) from None
    if refused := refused_fields(data):
        raise fields_refused(refused)
    return data


def fields_refused(refused: dict[str, list[str]]) -> ApiError:
    """The API's 422 naming each field and why, as for a value of the wrong type."""
    return ApiError(422, "VALIDATION_ERROR", _("Some fields are not valid."), fields=refused)


def querydict_refused(data: QueryDict) -> dict[str, list[str]]:
    """Each parameter of a query string or form whose name or value may not be stored."""
    refused: dict[str, list[str]] = {}
    for name, values in data.lists():
        for text in [name, *values]:
            if reason := text_refusal(text):
                refused[name] = [reason]
    return refused


class UntrustedTextMiddleware:
    """Refuses a query string (and an API form) holding text no store keeps, before any view reads it.

    It runs at process_view, after RequestSizeLimitMiddleware parsed a multipart body within its
    limits. The API answers its JSON 422; a page answers a short page naming the parameter.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view, args, kwargs) -> HttpResponse | None:
        api = request.path.startswith("/api/")
        refused = querydict_refused(request.GET)
        if api and request.method == "POST":
            refused.update(querydict_refused(request.POST))
        if not refused:
            return None
        if api:
            return fields_refused(refused).response()
        return render(request, "refused_input.html", {"fields": refused}, status=400)
