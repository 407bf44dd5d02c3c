"""Contacts: the ones that may be one person, written with and without a Brazilian mobile's ninth
digit (made before numbers were asked of WhatsApp, or from two devices of one customer). Listed for
staff to merge on the contact page or in the admin, never merged here (docs/decisions.md)."""

from django.db.models.functions import Length
from django.utils.translation import gettext as _

from contacts.models import Contact
from helpdesk.phones import phone_display
from tickets.audit.checks import Level, Section
from whatsapp.numbers import ninth_digit_twin

LISTED = 50  # pairs listed in the report; the figure counts them all
CHUNK = 500  # phones looked up per query


def contacts_section() -> Section:
    section = Section("contacts", _("Contacts"))
    pairs = duplicate_pairs()
    section.data["ninth_digit_pairs"] = [
        {"contacts": [first.pk, second.pk], "phones": [first.phone, second.phone]}
        for first, second in pairs[:LISTED]
    ]
    section.evidence.append(
        _("Pairs of contacts whose phones differ only by the ninth digit: %(n)d") % {"n": len(pairs)}
    )
    for first, second in pairs[:LISTED]:
        section.evidence.append(
            _(
                "#%(first)d %(first_name)s (%(first_phone)s) and #%(second)d %(second_name)s (%(second_phone)s)"
            )
            % {
                "first": first.pk,
                "first_name": first.display_name,
                "first_phone": phone_display(first.phone),
                "second": second.pk,
                "second_name": second.display_name,
                "second_phone": phone_display(second.phone),
            }
        )
    if pairs:
        section.flag(
            Level.WARNING,
            _(
                "%(n)d pairs of contacts may be one person (one phone written with and without the "
                "ninth digit): merge them on the contact's page."
            )
            % {"n": len(pairs)},
        )
    return section


def duplicate_pairs() -> list[tuple[Contact, Contact]]:
    """Pairs (the contact written without the ninth digit, the one with it) of people's contacts
    whose phones are one Brazilian mobile written both ways, oldest first. Only the contacts whose
    phone could lack the ninth digit (12 digits) are read, then their twins a chunk at a time."""
    people = Contact.objects.filter(is_group=False).only("pk", "phone", "name", "push_name", "wa_id")
    short = people.alias(length=Length("phone")).filter(length=12, phone__startswith="55").order_by("pk")
    candidates: dict[str, list[Contact]] = {}
    for contact in short.iterator(chunk_size=2000):
        twin = ninth_digit_twin(contact.phone)
        if twin:
            candidates.setdefault(twin, []).append(contact)
    pairs = []
    twins = list(candidates)
    for start in range(0, len(twins), CHUNK):
        for long in people.filter(phone__in=twins[start : start + CHUNK]).order_by("pk"):
            pairs += [(contact, long) for contact in candidates[long.phone]]
    return sorted(pairs, key=lambda pair: (pair[0].pk, pair[1].pk))
