"""Writes to contacts."""

from datetime import timedelta

from django.utils import timezone

from contacts.models import Contact

AVATAR_REFRESH = timedelta(days=1)


def contact_upsert(*, wa_id: str, push_name: str = "") -> Contact:
    """The contact for a phone number's WhatsApp id (one an agent typed, resolved by WhatsApp), made on
    first sight with the number as its phone; its WhatsApp name kept current."""
    contact, created = Contact.objects.get_or_create(wa_id=wa_id, defaults=_first_sight(wa_id, push_name))
    if not created:
        contact_name_refresh(contact=contact, push_name=push_name)
    return contact


def contact_create(*, wa_id: str, phone: str, alias: str = "", push_name: str = "") -> Contact:
    """A contact seen for the first time, at the addresses and with the phone the channel told (""
    when it hides the phone: never guessed from an address). Raises IntegrityError when another
    transaction made it first: for callers that retry their whole transaction (the ingest does)."""
    fields = {**_first_sight(wa_id, push_name), "phone": phone}
    return Contact.objects.create(wa_id=wa_id, alias=alias or None, **fields)


def contact_addresses_set(*, contact: Contact, wa_id: str, alias: str, phone: str) -> Contact:
    """What the channel revealed about the contact: the address replies go to, the other one ("" for
    none) and the phone (kept when "": a hidden phone does not erase one known). No query when nothing
    changed."""
    changed = {"wa_id": wa_id, "alias": alias or None, "phone": phone or contact.phone}
    changed = {name: value for name, value in changed.items() if getattr(contact, name) != value}
    if changed:
        for name, value in changed.items():
            setattr(contact, name, value)
        contact.save(update_fields=[*changed, "updated_at"])
    return contact


def contact_name_refresh(*, contact: Contact, push_name: str) -> None:
    """Keep the name the customer gave WhatsApp; no query when it did not change."""
    if push_name and contact.push_name != push_name:
        contact.push_name = push_name
        contact.save(update_fields=["push_name", "updated_at"])


def _first_sight(wa_id: str, push_name: str) -> dict:
    number = wa_id.split("@")[0]
    return {
        "phone": number if number.isdigit() and len(number) <= 15 else "",
        "push_name": push_name,
        "is_group": wa_id.endswith("@g.us"),
    }


def contact_avatar_due(*, wa_id: str) -> bool:
    """Whether the contact's profile picture should be asked for again (at most once a day)."""
    checked = Contact.objects.filter(wa_id=wa_id).values_list("avatar_fetched_at", flat=True).first()
    return checked is None or timezone.now() - checked >= AVATAR_REFRESH


def contact_avatar_set(*, wa_id: str, url: str) -> None:
    Contact.objects.filter(wa_id=wa_id).update(avatar_url=url or "", avatar_fetched_at=timezone.now())


def contact_update(*, contact: Contact, name: str, email: str) -> Contact:
    """The name and email an agent gave the contact (the WhatsApp name stays the customer's own)."""
    contact.name, contact.email = name, email
    contact.save(update_fields=["name", "email", "updated_at"])
    return contact


def contact_block(*, contact: Contact, blocked: bool) -> Contact:
    """Block or unblock: a blocked contact's messages are still stored, but the helpdesk
    sends them nothing (no reply, greeting, menu or farewell; docs/decisions.md)."""
    if contact.blocked != blocked:
        contact.blocked = blocked
        contact.save(update_fields=["blocked", "updated_at"])
    return contact
