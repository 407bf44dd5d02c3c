"""Merging two contacts of one person from the contact's page and from the admin: staff with the
right to merge only, a choice of which stays, a confirm step."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from contacts.models import Contact, ContactMerge
from tests.factories import ConnectionFactory, ContactFactory, QueueFactory, TicketFactory
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def two():
    """Maria, written with and without the ninth digit, a ticket each on one connection."""
    connection = ConnectionFactory()
    new = ContactFactory(name="Maria", phone="5511988887777", wa_id="5511988887777@c.us")
    old = ContactFactory(name="Maria antiga", phone="551188887777", wa_id="551188887777@c.us")
    TicketFactory(contact=new, connection=connection, status=Ticket.Status.OPEN)
    TicketFactory(contact=old, connection=connection, status=Ticket.Status.PENDING)
    return new, old


def test_staff_find_the_other_contact_confirm_and_merge_it(staff_client, staff, two):
    new, old = two
    page = staff_client.get(reverse("contact", args=[new.pk])).content.decode()
    assert reverse("contact-merge", args=[new.pk]) in page

    found = staff_client.get(reverse("contact-merge", args=[new.pk]), {"q": "1188887777"})
    by_id = staff_client.get(reverse("contact-merge", args=[new.pk]), {"q": f"#{old.pk}"})
    confirm = staff_client.get(reverse("contact-merge", args=[new.pk]), {"other": old.pk})

    assert [c.pk for c in found.context["found"]] == [old.pk]  # not the contact itself
    assert [c.pk for c in by_id.context["found"]] == [old.pk]
    assert "Which contact stays?" in confirm.content.decode()
    assert Contact.objects.count() == 2  # nothing merged before the confirmation

    merged = staff_client.post(reverse("contact-merge", args=[new.pk]), {"other": old.pk, "keep": new.pk})

    assert merged.url == reverse("contact", args=[new.pk])
    assert list(Contact.objects.values_list("pk", flat=True)) == [new.pk]
    assert list(new.tickets.values_list("status", flat=True).order_by("pk")) == ["open", "closed"]
    assert ContactMerge.objects.get().by == staff


def test_the_contact_of_the_page_may_be_the_one_merged_away(staff_client, two):
    new, old = two

    merged = staff_client.post(reverse("contact-merge", args=[old.pk]), {"other": new.pk, "keep": new.pk})

    assert merged.url == reverse("contact", args=[new.pk])
    assert not Contact.objects.filter(pk=old.pk).exists()


def test_an_agent_without_the_right_to_merge_sees_no_button_and_is_refused(agent, agent_client, two):
    new, old = two
    queue = QueueFactory()
    queue.members.add(agent)
    Ticket.objects.update(queue=queue)

    page = agent_client.get(reverse("contact", args=[new.pk])).content.decode()
    refused = agent_client.post(reverse("contact-merge", args=[new.pk]), {"other": old.pk, "keep": new.pk})

    assert reverse("contact-merge", args=[new.pk]) not in page
    assert refused.status_code == 403
    assert Contact.objects.count() == 2

    agent.user_permissions.add(Permission.objects.get(codename="add_contactmerge"))
    agent_client.force_login(agent)
    allowed = agent_client.post(reverse("contact-merge", args=[new.pk]), {"other": old.pk, "keep": new.pk})
    assert allowed.status_code == 302 and Contact.objects.count() == 1


def test_the_admin_action_merges_exactly_two_contacts_keeping_the_chosen_one(staff_client, two):
    new, old = two
    changelist = reverse("admin:contacts_contact_changelist")
    third = ContactFactory()

    three = staff_client.post(
        changelist, {"action": "merge_contacts", "_selected_action": [new.pk, old.pk, third.pk]}, follow=True
    )
    choose = staff_client.post(changelist, {"action": "merge_contacts", "_selected_action": [new.pk, old.pk]})
    assert "Select exactly two contacts to merge." in three.content.decode()
    assert "Which contact stays?" in choose.content.decode()
    assert Contact.objects.count() == 3

    staff_client.post(
        changelist,
        {"action": "merge_contacts", "_selected_action": [new.pk, old.pk], "apply": "1", "keep": old.pk},
    )

    assert set(Contact.objects.values_list("pk", flat=True)) == {old.pk, third.pk}
    old.refresh_from_db()
    assert old.tickets.count() == 2 and old.alias == "5511988887777@c.us"
    assert ContactMerge.objects.get().merged_wa_id == "5511988887777@c.us"
