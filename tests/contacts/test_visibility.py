"""Who sees which contact (docs/decisions.md): an agent, the contacts of the tickets they may see."""

import pytest
from django.urls import reverse

from contacts.selectors import contacts_visible_to
from helpdesk.models import ApiToken
from tests.factories import ContactFactory, QueueFactory, TicketFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mine_and_theirs(agent):
    """A contact with a ticket in the agent's queue, one with a ticket only in another queue."""
    sales, support = QueueFactory(), QueueFactory()
    sales.members.add(agent)
    mine = TicketFactory(queue=sales, contact=ContactFactory(name="Ana Mine")).contact
    theirs = TicketFactory(queue=support, contact=ContactFactory(name="Carla Theirs")).contact
    TicketFactory(queue=support, contact=theirs)
    return mine, theirs


def test_an_agent_sees_the_contacts_of_the_tickets_they_may_see(agent, staff, mine_and_theirs):
    mine, _theirs = mine_and_theirs
    unrouted = TicketFactory(queue=None).contact  # a ticket no queue took yet: everyone's
    assigned = TicketFactory(queue=QueueFactory(), assignee=agent).contact
    ContactFactory()  # no ticket at all

    assert set(contacts_visible_to(user=agent)) == {mine, unrouted, assigned}
    assert set(contacts_visible_to(user=staff)) == set(ContactFactory._meta.model.objects.all())


def test_another_queues_contact_is_a_404_on_every_page(agent_client, mine_and_theirs):
    mine, theirs = mine_and_theirs

    assert agent_client.get(reverse("contact", args=[mine.pk])).status_code == 200
    assert agent_client.get(reverse("contact", args=[theirs.pk])).status_code == 404
    assert agent_client.get(reverse("contact-edit", args=[theirs.pk])).status_code == 404
    assert (
        agent_client.post(reverse("contact-edit", args=[theirs.pk]), {"name": "X", "email": ""}).status_code
        == 404
    )
    assert agent_client.get(reverse("contact-block", args=[theirs.pk])).status_code == 404
    assert agent_client.post(reverse("contact-block", args=[theirs.pk]), {"blocked": "1"}).status_code == 404

    theirs.refresh_from_db()
    assert (theirs.name, theirs.blocked) == ("Carla Theirs", False)


def test_another_queues_contact_is_not_listed(agent_client, mine_and_theirs):
    page = agent_client.get(reverse("contact-list")).context["page"]

    assert [contact.name for contact in page.items] == ["Ana Mine"]


def test_the_api_shows_an_agent_only_their_contacts(client, agent, mine_and_theirs):
    mine, theirs = mine_and_theirs
    agent.is_staff = True  # the API's door; being staff grants no ticket, so no contact
    agent.save(update_fields=["is_staff"])
    _token, key = ApiToken.issue(user=agent)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}

    listed = client.get("/api/contacts", **auth).json()["results"]

    assert [contact["id"] for contact in listed] == [mine.pk]
    assert client.get(f"/api/contacts/{mine.pk}", **auth).status_code == 200
    assert client.get(f"/api/contacts/{theirs.pk}", **auth).status_code == 404


def test_a_contact_page_lists_only_the_tickets_the_agent_may_see(agent_client, agent):
    sales = QueueFactory(name="Vendas")
    sales.members.add(agent)
    seen = TicketFactory(queue=sales)
    hidden = TicketFactory(queue=QueueFactory(), contact=seen.contact)

    response = agent_client.get(reverse("contact", args=[seen.contact.pk]))

    assert list(response.context["tickets"]) == [seen]
    assert reverse("ticket", args=[seen.pk]) in response.content.decode()
    assert reverse("ticket", args=[hidden.pk]) not in response.content.decode()
