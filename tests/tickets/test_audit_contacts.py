"""The audit lists the contacts that may be one person (a phone with and without the ninth digit),
for staff to merge; it merges nothing."""

import json

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from tests.factories import ContactFactory
from tests.tickets.audit_helpers import audit, healthy_connection, healthy_machine  # noqa: F401 (fixture)
from tickets.audit.contacts import contacts_section

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("healthy_machine")]


def test_a_phone_written_with_and_without_the_ninth_digit_is_listed_not_merged():
    healthy_connection()
    old = ContactFactory(name="Maria", phone="551188887777", wa_id="551188887777@c.us")
    new = ContactFactory(name="", push_name="Maria S", phone="5511988887777", wa_id="5511988887777@c.us")
    ContactFactory(phone="551133334444", wa_id="551133334444@c.us")  # a landline: no ninth digit
    ContactFactory(phone="5511933334444", wa_id="5511933334444@c.us")
    ContactFactory(phone="5521988887777", wa_id="5521988887777@c.us")  # another area code

    status, text = audit("--format", "json")

    section = next(s for s in json.loads(text)["sections"] if s["key"] == "contacts")
    assert section["data"]["ninth_digit_pairs"] == [
        {"contacts": [old.pk, new.pk], "phones": ["551188887777", "5511988887777"]}
    ]
    assert section["findings"] == [
        {
            "status": "WARNING",
            "text": "1 pairs of contacts may be one person (one phone written with and without the "
            "ninth digit): merge them on the contact's page.",
        }
    ]
    assert f"#{old.pk} Maria (+551188887777) and #{new.pk} Maria S (+55 11 98888-7777)" in section["evidence"]
    assert status == 1
    assert Contact.objects.count() == 5


def test_no_pair_no_finding():
    ContactFactory(phone="5511988887777")
    ContactFactory(phone="", wa_id="123456789012345@lid")

    section = contacts_section()

    assert (section.findings, section.data["ninth_digit_pairs"]) == ([], [])


def test_the_check_reads_the_contacts_in_a_few_queries_however_many():
    for n in range(120):
        ContactFactory(phone=f"551187{n:06d}", wa_id=f"551187{n:06d}@c.us")
        ContactFactory(phone=f"5511987{n:06d}", wa_id=f"5511987{n:06d}@c.us")

    with CaptureQueriesContext(db) as queries:
        section = contacts_section()

    assert len(section.data["ninth_digit_pairs"]) == 50  # listed; the figure counts them all
    assert "120 pairs" in section.findings[0].text
    assert len(queries) <= 3
