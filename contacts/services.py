"""Writes to contacts."""

from contacts.models import Contact


def contact_upsert(*, wa_id: str, push_name: str = "") -> Contact:
    """The contact for a WhatsApp id, made on first sight; its WhatsApp name kept current."""
    number = wa_id.split("@")[0]
    contact, created = Contact.objects.get_or_create(
        wa_id=wa_id,
        defaults={"phone": number if number.isdigit() and len(number) <= 15 else "", "push_name": push_name,
                  "is_group": wa_id.endswith("@g.us")},
    )  # fmt: skip
    if not created and push_name and contact.push_name != push_name:
        contact.push_name = push_name
        contact.save(update_fields=["push_name", "updated_at"])
    return contact
