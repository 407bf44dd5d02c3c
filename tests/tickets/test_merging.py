"""Two contacts of one person become one: tickets, history, tags and fields in one place."""

import pytest

from contacts.models import Contact, ContactField, ContactMerge, Tag
from tests.factories import ConnectionFactory, ContactFactory, MessageFactory, TicketFactory
from tickets.merging import contact_merge
from tickets.models import Message, Ticket
from tickets.services import ActionRefused

pytestmark = pytest.mark.django_db


def test_the_other_contacts_tickets_and_messages_move_to_the_kept_one(staff):
    keep = ContactFactory(phone="5511988887777", wa_id="5511988887777@c.us")
    other = ContactFactory(phone="551188887777", wa_id="551188887777@c.us")
    old = TicketFactory(contact=other, status=Ticket.Status.CLOSED)
    open_elsewhere = TicketFactory(contact=other, status=Ticket.Status.OPEN)
    message = MessageFactory(ticket=open_elsewhere, body="hello from the old number")

    contact_merge(keep=keep, other=other, by=staff)

    assert not Contact.objects.filter(pk=other.pk).exists()
    assert set(keep.tickets.values_list("pk", flat=True)) == {old.pk, open_elsewhere.pk}
    open_elsewhere.refresh_from_db()
    assert open_elsewhere.status == Ticket.Status.OPEN  # no clash on its connection: it goes on
    message.refresh_from_db()
    assert message.ticket_id == open_elsewhere.pk


def test_of_two_open_tickets_on_one_connection_the_kept_contacts_stays_open(staff):
    connection = ConnectionFactory()
    keep, other = ContactFactory(), ContactFactory()
    kept_ticket = TicketFactory(contact=keep, connection=connection, status=Ticket.Status.OPEN)
    other_ticket = TicketFactory(
        contact=other, connection=connection, status=Ticket.Status.PENDING, unread_count=2
    )

    contact_merge(keep=keep, other=other, by=staff)

    kept_ticket.refresh_from_db()
    other_ticket.refresh_from_db()
    assert kept_ticket.status == Ticket.Status.OPEN
    assert (other_ticket.contact, other_ticket.status, other_ticket.closed_by, other_ticket.unread_count) == (
        keep,
        Ticket.Status.CLOSED,
        staff,
        0,
    )
    line = other_ticket.messages.get(kind=Message.Kind.SYSTEM)
    assert line.system_text() == f"{staff.username} merged this ticket into #{kept_ticket.pk}"
    assert not kept_ticket.messages.filter(kind=Message.Kind.SYSTEM).exists()


def test_tags_fields_and_empty_details_join_the_kept_contact_whose_values_win(staff):
    keep = ContactFactory(name="", email="ana@example.com", notes="")
    other = ContactFactory(name="Ana Souza", email="old@example.com", notes="VIP")
    vip, late = Tag.objects.create(name="vip"), Tag.objects.create(name="late payer")
    keep.tags.add(vip)
    other.tags.add(vip, late)
    ContactField.objects.create(contact=keep, key="CPF", value="111")
    ContactField.objects.create(contact=other, key="CPF", value="222")
    ContactField.objects.create(contact=other, key="plan", value="gold")

    contact_merge(keep=keep, other=other, by=staff)

    keep.refresh_from_db()
    assert (keep.name, keep.email, keep.notes) == ("Ana Souza", "ana@example.com", "VIP")
    assert set(keep.tags.values_list("name", flat=True)) == {"vip", "late payer"}
    assert dict(keep.custom_fields.values_list("key", "value")) == {"CPF": "111", "plan": "gold"}


def test_the_kept_contact_remembers_the_other_id_so_its_messages_still_find_the_person(staff):
    keep = ContactFactory(wa_id="5511988887777@c.us")
    other = ContactFactory(wa_id="551188887777@c.us", alias=None)

    kept = contact_merge(keep=keep, other=other, by=staff)

    assert kept is keep and keep.alias == "551188887777@c.us"  # the caller's instance is current


def test_the_other_contacts_lid_is_kept_rather_than_its_phone_id(staff):
    keep = ContactFactory(wa_id="5511988887777@c.us", alias=None)
    other = ContactFactory(wa_id="5511977776666@c.us", alias="123456789012345@lid")

    contact_merge(keep=keep, other=other, by=None)

    keep.refresh_from_db()
    assert keep.alias == "123456789012345@lid"


def test_a_third_id_that_does_not_fit_stays_in_the_audit_line(staff):
    keep = ContactFactory(wa_id="5511988887777@c.us", alias="111111111111111@lid")
    other = ContactFactory(wa_id="551188887777@c.us", alias="222222222222222@lid")

    contact_merge(keep=keep, other=other, by=staff)

    keep.refresh_from_db()
    assert keep.alias == "111111111111111@lid"
    audit = ContactMerge.objects.get()
    assert (audit.merged_wa_id, audit.merged_alias) == ("551188887777@c.us", "222222222222222@lid")


def test_an_audit_line_records_who_merged_what(staff):
    keep = ContactFactory(wa_id="5511988887777@c.us")
    other = ContactFactory(wa_id="551188887777@c.us", phone="551188887777", name="Ana")
    connection = ConnectionFactory()
    TicketFactory(contact=keep, connection=connection, status=Ticket.Status.OPEN)
    clash = TicketFactory(contact=other, connection=connection, status=Ticket.Status.OPEN)
    closed = TicketFactory(contact=other, status=Ticket.Status.CLOSED)

    contact_merge(keep=keep, other=other, by=staff)

    audit = ContactMerge.objects.get()
    assert (audit.by, audit.kept, audit.kept_wa_id) == (staff, keep, "5511988887777@c.us")
    assert (audit.merged_id, audit.merged_wa_id, audit.merged_phone, audit.merged_name) == (
        other.pk,
        "551188887777@c.us",
        "551188887777",
        "Ana",
    )
    assert sorted(audit.tickets) == sorted([clash.pk, closed.pk])
    assert audit.closed_tickets == [clash.pk]


def test_open_pages_hear_of_every_ticket_that_moved(staff, monkeypatch, django_capture_on_commit_callbacks):
    heard = []
    monkeypatch.setattr(
        "tickets.realtime.publish_on_commit",
        lambda *, groups, event_type, payload=None: heard.append((event_type, payload["ticket"])),
    )
    keep, other = ContactFactory(), ContactFactory()
    first, second = TicketFactory(contact=other), TicketFactory(contact=other, status=Ticket.Status.CLOSED)

    contact_merge(keep=keep, other=other, by=staff)

    assert ("ticket.changed", first.pk) in heard
    assert ("ticket.changed", second.pk) in heard


def test_a_contact_is_not_merged_with_itself_nor_a_group_with_a_person(staff):
    person = ContactFactory()
    group = ContactFactory(wa_id="120363000000000000@g.us", phone="", is_group=True)

    with pytest.raises(ActionRefused):
        contact_merge(keep=person, other=person, by=staff)
    with pytest.raises(ActionRefused):
        contact_merge(keep=person, other=group, by=staff)

    assert Contact.objects.count() == 2


def test_a_merge_that_fails_midway_changes_nothing(staff, monkeypatch):
    keep, other = ContactFactory(name=""), ContactFactory(name="Ana")
    ticket = TicketFactory(contact=other)

    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("tickets.merging._details_move", broken)
    with pytest.raises(RuntimeError):
        contact_merge(keep=keep, other=other, by=staff)

    ticket.refresh_from_db()
    keep.refresh_from_db()
    assert (ticket.contact_id, keep.name) == (other.pk, "")
    assert Contact.objects.filter(pk=other.pk).exists()
    assert not ContactMerge.objects.exists()


def test_a_blocked_contact_stays_blocked_whichever_is_kept(staff):
    keep, other = ContactFactory(blocked=False), ContactFactory(blocked=True)

    contact_merge(keep=keep, other=other, by=staff)

    keep.refresh_from_db()
    assert keep.blocked
