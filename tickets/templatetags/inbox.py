"""Small helpers for the inbox's templates."""

from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.translation import gettext, gettext_lazy

from tickets.models import Message, Ticket
from tickets.selectors import Tab, inbox_sort_value
from tickets.sla_clock import SlaClock, sla_clock, sla_missed_at
from tickets.text import text_html, text_plain, without_signature

register = template.Library()


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
    """WhatsApp's own formatting (*bold*, _italic_, ~strike~, monospace) on escaped text, lines kept."""
    return text_html(text)


@register.filter
def plain(text: str) -> str:
    """A preview's text without WhatsApp's marks."""
    return text_plain(text)


@register.filter
def body_html(message: Message) -> SafeString:
    """A bubble's text: formatted, without the signature line the bubble's header already shows."""
    body = message.body
    if message.from_me and message.author is not None:
        body = without_signature(body=body, by=message.author)
    return text_html(body)


@register.filter
def reactions_of(message: Message) -> list:
    """A bubble's reactions: read with its page (``conversation_changes``), or else now."""
    if getattr(message, "has_reactions", True) is False or message.pk is None:
        return []
    return list(message.reactions.all())


@register.filter
def revisions_of(message: Message) -> list:
    """An edited message's earlier texts, oldest first; none for a deleted one (its content is served to nobody)."""
    if message.edited_at is None or message.deleted_at is not None:
        return []
    return list(message.revisions.all())


@register.filter
def shows_ticks(ticket) -> bool:
    """A row shows the ticks of our last message only when nothing came after it."""
    if not getattr(ticket, "my_last_status", None) or ticket.last_outbound_at is None:
        return False
    return ticket.last_inbound_at is None or ticket.last_outbound_at >= ticket.last_inbound_at


@register.filter
def unsigned(message: Message) -> str:
    """A reply's text as its agent typed it, without the signature line (a scheduled reply's edit form)."""
    if message.from_me and message.author is not None:
        return without_signature(body=message.body, by=message.author)
    return message.body


# The SLA badge's texts; the inbox's script counts down with the same ones (templates/tickets/inbox.html).
SLA_TEXTS = {
    "minutes": gettext_lazy("{n} min"),
    "hours": gettext_lazy("{n} h"),
    "days": gettext_lazy("{n} d"),
    "breached": gettext_lazy("breached"),
}


@register.filter
def sla_of(ticket: Ticket) -> SlaClock | None:
    """The row's SLA badge: its state and the due time it counts down to (None: no SLA runs)."""
    return sla_clock(ticket, timezone.now())


@register.filter
def sla_breached_at(ticket: Ticket) -> datetime | None:
    """When the ticket's SLA was breached: as the watch marked it, or the due time that passed unmet
    before the watch ran (the badge says "breached" then too)."""
    return ticket.sla_breached_at or sla_missed_at(ticket, timezone.now())


@register.filter
def sla_left(clock: SlaClock) -> str:
    """The time left to the due time, rounded up to the minute ("12 min", "3 h", "2 d"), or "breached";
    static/js/inbox.js's ``slaText`` says the same as time passes."""
    if clock.state == "breached" or clock.due is None:
        return str(SLA_TEXTS["breached"])
    minutes = max(1, -(-int((clock.due - timezone.now()).total_seconds()) // 60))
    if minutes < 60:
        unit, n = "minutes", minutes
    elif minutes < 48 * 60:
        unit, n = "hours", minutes // 60
    else:
        unit, n = "days", minutes // (24 * 60)
    return str(SLA_TEXTS[unit]).replace("{n}", str(n))


@register.simple_tag
def sla_texts() -> dict[str, str]:
    """The badge's texts for the inbox's script, in the page's language."""
    return {unit: str(text) for unit, text in SLA_TEXTS.items()}
