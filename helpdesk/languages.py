"""Which language a page, an event or a record is written in (docs/decisions.md, "Languages").

A person reads the helpdesk in the language they chose in their preferences, else the one their
browser asks for (Accept-Language), else LANGUAGE_CODE. The choice is copied into the session
at sign-in and when it is saved, so a page costs no query to learn it. What is written down
for everyone (a system line in a conversation, a message's failure) is in LANGUAGE_CODE,
whoever's request wrote it.
"""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_noop

from helpdesk.selectors import preferences_of

SESSION_KEY = "helpdesk_language"

# Django's own Portuguese capitalises the months ("7 de Dezembro"), which Portuguese writes in lower
# case. Our catalogue is read before Django's: marked here, its lower-case months stay in it.
MONTHS = [
    gettext_noop("January"),
    gettext_noop("February"),
    gettext_noop("March"),
    gettext_noop("April"),
    gettext_noop("May"),
    gettext_noop("June"),
    gettext_noop("July"),
    gettext_noop("August"),
    gettext_noop("September"),
    gettext_noop("October"),
    gettext_noop("November"),
    gettext_noop("December"),
]


def language_for(*, session: SessionBase | dict, request: HttpRequest) -> str:
    """The user's saved choice when they made one, else what ``request``'s browser asks for."""
    saved = session.get(SESSION_KEY)
    if saved in dict(settings.LANGUAGES):
        return saved
    return translation.get_language_from_request(request)


def socket_language(scope: Mapping[str, Any]) -> str:
    """``language_for`` a websocket: its session and the Accept-Language of its handshake.
    Reads the session: call it from synchronous code (database_sync_to_async)."""
    request = HttpRequest()
    headers = dict(scope.get("headers", []))
    request.META["HTTP_ACCEPT_LANGUAGE"] = headers.get(b"accept-language", b"").decode("latin-1")
    request.COOKIES = scope.get("cookies", {})
    return language_for(session=scope.get("session") or {}, request=request)


def remember_language(*, session: SessionBase, language: str) -> None:
    """Keep the user's choice for the rest of their session ("" goes back to the browser's)."""
    if language:
        session[SESSION_KEY] = language
    else:
        session.pop(SESSION_KEY, None)


def language_at_login(sender, request: HttpRequest, user: User, **kwargs) -> None:
    """``user_logged_in`` receiver: the saved preference, read once per sign-in."""
    if request is not None and hasattr(request, "session"):
        remember_language(session=request.session, language=preferences_of(user=user).language)


class UserLanguageMiddleware(LocaleMiddleware):
    """Django's LocaleMiddleware, with the user's own choice before the browser's."""

    def process_request(self, request: HttpRequest) -> None:
        translation.activate(language_for(session=request.session, request=request))
        request.LANGUAGE_CODE = translation.get_language()


def in_helpdesk_language(text: str | Promise, **values) -> str:
    """``text`` (marked with gettext_noop) translated into LANGUAGE_CODE and filled with ``values``
    (lazy ones, like another gettext_lazy string, are translated there too): for what is written
    down once and read by everyone, like a line in a conversation or a connection's log.
    A text that depends on a count is ``ngettext_lazy(singular, plural, "count")``: its form is
    chosen there, by ``values["count"]``."""
    with translation.override(settings.LANGUAGE_CODE):
        filled = {name: str(value) if isinstance(value, Promise) else value for name, value in values.items()}
        template = text if isinstance(text, Promise) else translation.gettext(text)
        return str(template % filled if filled else template)
