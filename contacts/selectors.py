"""Reads of contacts."""

import re

from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q, QuerySet

from contacts.models import Contact
from helpdesk.permissions import sees_every_ticket
from tickets.selectors import tickets_visible_to

NUMBER = re.compile(r"^[\d\s+\-().]+$")


def contacts_visible_to(*, user: User) -> QuerySet[Contact]:
    """Who sees every ticket sees every contact; an agent, the contacts with at least one ticket
    they may see (docs/decisions.md, "Who sees which contact"). One query: an EXISTS, no join."""
    contacts = Contact.objects.all()
    if sees_every_ticket(user):
        return contacts
    return contacts.filter(Exists(tickets_visible_to(user=user).filter(contact=OuterRef("pk"))))


def contact_search(*, user: User, query: str = "") -> QuerySet[Contact]:
    """The user's contacts whose name or WhatsApp name contain ``query``, or whose number or either
    address (a LID's digits, for a customer whose phone WhatsApp hides) contains its digits when
    ``query`` is a number (spaces, +, dashes and brackets ignored)."""
    contacts = contacts_visible_to(user=user)
    if not query:
        return contacts
    matches = Q(name__icontains=query) | Q(push_name__icontains=query)
    digits = "".join(ch for ch in query if ch.isascii() and ch.isdigit())
    if digits and NUMBER.match(query):
        matches |= Q(phone__contains=digits) | Q(wa_id__contains=digits) | Q(alias__contains=digits)
    return contacts.filter(matches)


def contacts_at(*, addresses: list[str]) -> list[Contact]:
    """The contacts known by any of ``addresses`` (their WhatsApp id or their other id), in the
    order of ``addresses``: one query."""
    found = Contact.objects.filter(Q(wa_id__in=addresses) | Q(alias__in=addresses))

    def rank(contact: Contact) -> int:
        return min(addresses.index(a) for a in (contact.wa_id, contact.alias) if a in addresses)

    return sorted(found, key=rank)
