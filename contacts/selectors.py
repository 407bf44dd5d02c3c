"""Reads of contacts."""

from django.db.models import Q, QuerySet

from contacts.models import Contact


def contact_search(*, query: str = "") -> QuerySet[Contact]:
    """Contacts whose name, WhatsApp name, phone or email contain ``query``."""
    contacts = Contact.objects.all()
    if query:
        contacts = contacts.filter(
            Q(name__icontains=query)
            | Q(push_name__icontains=query)
            | Q(phone__contains=query)
            | Q(email__icontains=query)
        )
    return contacts
