"""Small helpers for the inbox's templates."""

import re
from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import timesince
from django.utils.translation import gettext

from tickets.selectors import Tab, inbox_sort_value

register = template.Library()

WHATSAPP_STYLES = [
    (re.compile(r"(?<![\w*])\*(\S(?:[^*\n]*\S)?)\*(?![\w*])"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![\w_])_(\S(?:[^_\n]*\S)?)_(?![\w_])"), r"<em>\1</em>"),
    (re.compile(r"(?<![\w~])~(\S(?:[^~\n]*\S)?)~(?![\w~])"), r"<del>\1</del>"),
]


@register.filter
def sort_key(ticket, tab: str) -> str:
    """Where the row stands in its tab (the page inserts live rows in this order)."""
    return inbox_sort_value(ticket, Tab(tab))


@register.filter
def isoformat(moment: datetime) -> str:
    """The instant as ISO 8601 for a ``datetime`` attribute, as stored (UTC): ``date:'c'`` converts it to
    the local zone first, which costs a tenth of a row's rendering for the same instant."""
    return moment.isoformat()


@register.filter
def waited(since: datetime | None) -> str:
    """How long a ticket has waited: "waiting 5 minutes", and under a minute "waiting less than a
    minute" (timesince alone says "0 minutes", in Portuguese "há 0 minuto")."""
    if since is None:
        return ""
    if timezone.now() - since < timedelta(minutes=1):
        return gettext("waiting less than a minute")
    return gettext("waiting %(time)s") % {"time": timesince(since)}


@register.filter
def initials(name: str) -> str:
    words = [word for word in str(name).split() if word[:1].isalnum()]
    return "".join(word[0] for word in words[:2]).upper() or "?"


@register.filter
def whatsapp_text(text: str) -> SafeString:
    """WhatsApp's own formatting (*bold*, _italic_, ~strike~) on escaped text, lines kept."""
    html: str = escape(text)
    for pattern, replacement in WHATSAPP_STYLES:
        html = pattern.sub(replacement, html)
    return mark_safe(html.replace("\n", "<br>"))


@register.filter
def shows_ticks(ticket) -> bool:
    """A row shows the ticks of our last message only when nothing came after it."""
    if not getattr(ticket, "my_last_status", None) or ticket.last_outbound_at is None:
        return False
    return ticket.last_inbound_at is None or ticket.last_outbound_at >= ticket.last_inbound_at
