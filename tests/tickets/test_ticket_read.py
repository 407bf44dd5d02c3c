"""A GET changes nothing: the ticket page, once shown, says it was read, by a POST a foreign site cannot forge."""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from django.urls import reverse

from helpdesk.realtime import session_group
from tests.factories import QueueFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(agent):
    queue = QueueFactory()
    queue.members.add(agent)
    return TicketFactory(queue=queue, unread_count=3)


def test_opening_a_ticket_by_a_link_reads_nothing_and_tells_the_phone_nothing(
    agent_client, ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as sent:
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            assert agent_client.get(reverse("ticket", args=[ticket.pk]), **headers).status_code == 200

    ticket.refresh_from_db()
    assert ticket.unread_count == 3
    assert sent == []  # no read receipt, no event


def test_the_page_reads_the_ticket_by_post_and_the_phone_is_told(
    agent_client, ticket, channel_layer, django_capture_on_commit_callbacks
):
    ticket.connection.mark_chats_read = True
    ticket.connection.save()
    phone = async_to_sync(channel_layer.new_channel)()
    async_to_sync(channel_layer.group_add)(session_group(ticket.connection_id), phone)

    with django_capture_on_commit_callbacks(execute=True):
        answer = agent_client.post(reverse("ticket-read", args=[ticket.pk]), HTTP_HX_REQUEST="true")

    assert answer.status_code == 204
    ticket.refresh_from_db()
    assert ticket.unread_count == 0

    async def heard():
        return await asyncio.wait_for(channel_layer.receive(phone), timeout=5)

    request = async_to_sync(heard)()
    assert (request["action"], request["chat"]) == ("mark_read", ticket.contact.wa_id)


def test_a_forged_read_from_another_site_is_refused(agent, ticket):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(agent)

    assert browser.post(reverse("ticket-read", args=[ticket.pk])).status_code == 403
    assert browser.get(reverse("ticket-read", args=[ticket.pk])).status_code == 405

    ticket.refresh_from_db()
    assert ticket.unread_count == 3


def test_nobody_else_reads_the_ticket(client, ticket):
    """Another queue's agent gets the 404 of a ticket that is not theirs, a deactivated agent and an
    anonymous request are sent to sign in: the unread count stays."""
    outsider = UserFactory()
    QueueFactory().members.add(outsider)
    gone = UserFactory(is_active=False)
    ticket.queue.members.add(gone)
    url = reverse("ticket-read", args=[ticket.pk])

    client.force_login(outsider)
    assert client.post(url).status_code == 404
    client.logout()
    client.force_login(gone)
    assert client.post(url).status_code == 302
    client.logout()
    assert client.post(url).status_code == 302

    ticket.refresh_from_db()
    assert ticket.unread_count == 3
