"""The ticket page's controls on a message: react to any, edit and delete the agent's own; only the
controls that would be accepted are shown, and a refusal is said in the bubble."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from tests.factories import MessageFactory, QueueFactory, TicketFactory, UserFactory
from tests.tickets.test_inbox_live import conversation
from tickets.message_actions import message_delete, message_edit, message_react
from tickets.models import Message, MessageChange

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def ticket(agent):
    return TicketFactory(assignee=agent, status="open", contact__wa_id="5511988887777@c.us")


def sent(ticket, author, **fields) -> Message:
    return MessageFactory(
        ticket=ticket,
        from_me=True,
        author=author,
        body="Olá",
        status=Message.Status.SENT,
        wa_id=f"true_5511988887777@c.us_3EB0{Message.objects.count() + 1:016X}",
        **fields,
    )


def controls(html: str, message: Message) -> str:
    """The part of the page with the message's controls ("" when it has none)."""
    start = html.find(f'data-controls="{message.pk}"')
    return "" if start < 0 else html[start : html.find("</div>", start)]


def test_the_page_shows_only_the_controls_that_would_be_accepted(agent_client, agent, ticket):
    mine = sent(ticket, agent)
    colleagues = sent(ticket, UserFactory())
    theirs = MessageFactory(ticket=ticket, wa_id="false_5511988887777@c.us_A", body="Oi")
    old = sent(ticket, agent)
    Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=16))
    queued = MessageFactory(ticket=ticket, from_me=True, author=agent, status=Message.Status.QUEUED)
    note = MessageFactory(ticket=ticket, from_me=True, author=agent, kind=Message.Kind.NOTE)

    html = agent_client.get(reverse("ticket", args=[ticket.pk])).content.decode()

    def shown(message) -> set[str]:
        part = controls(html, message)
        marks = {"react": 'data-react="👍"', "edit": 'data-action="edit"', "delete": 'data-action="delete"'}
        return {name for name, mark in marks.items() if mark in part}

    assert shown(mine) == {"react", "edit", "delete"}
    assert shown(colleagues) == shown(theirs) == {"react"}
    assert shown(old) == {"react", "delete"}
    assert controls(html, queued) == controls(html, note) == ""


def test_react_edit_and_delete_from_the_page(agent_client, agent, ticket):
    message = sent(ticket, agent)
    url = lambda action: reverse(f"message-{action}", args=[ticket.pk, message.pk])  # noqa: E731

    reacted = agent_client.post(url("reaction"), {"emoji": "❤️"}, **HTMX)
    form = agent_client.get(url("edit"), **HTMX)
    edited = agent_client.post(url("edit"), {"body": "Olá, Maria"}, **HTMX)
    deleted = agent_client.post(url("delete"), **HTMX)

    assert reacted.status_code == 200 and f'id="msg-{message.pk}"' in reacted.content.decode()
    assert '<textarea id="edit-' in form.content.decode() and ">Olá</textarea>" in form.content.decode()
    assert "Olá, Maria" in edited.content.decode()
    assert deleted.status_code == 200 and controls(deleted.content.decode(), message) == ""
    message.refresh_from_db()
    assert (message.body, message.deleted_at is not None) == ("Olá, Maria", True)
    assert list(message.reactions.values_list("emoji", "author")) == [("❤️", agent.pk)]
    assert list(MessageChange.objects.order_by("id").values_list("kind", flat=True)) == [
        "reaction",
        "edit",
        "delete",
    ]


def test_a_refusal_is_said_in_the_bubble(agent_client, agent, ticket):
    message = sent(ticket, agent)
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=16))

    answer = agent_client.post(
        reverse("message-edit", args=[ticket.pk, message.pk]), {"body": "tarde demais"}, **HTMX
    )

    assert answer.status_code == 200
    assert "A message can be edited for 15 minutes after it was sent." in answer.content.decode()
    assert Message.objects.get(pk=message.pk).body == "Olá" and not MessageChange.objects.exists()


def test_a_message_of_a_ticket_the_agent_cannot_see_is_404(agent_client):
    hidden = TicketFactory(queue=QueueFactory(name="Other"), status="open")
    message = sent(hidden, UserFactory())

    for action in ("reaction", "edit", "delete"):
        url = reverse(f"message-{action}", args=[hidden.pk, message.pk])
        assert agent_client.post(url, {"emoji": "👍", "body": "x"}, **HTMX).status_code == 404
    assert not MessageChange.objects.exists()


def test_the_file_of_a_message_deleted_for_everyone_is_no_longer_served(
    agent_client, agent, ticket, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    message = sent(
        ticket, agent, kind=Message.Kind.DOCUMENT, mimetype="application/pdf", filename="boleto.pdf"
    )
    message.media.save("boleto.pdf", ContentFile(b"%PDF-1.7\n"), save=True)
    url = reverse("message-media", args=[ticket.pk, message.pk])
    assert agent_client.get(url).status_code == 200

    agent_client.post(reverse("message-delete", args=[ticket.pk, message.pk]), **HTMX)

    assert agent_client.get(url).status_code == 404


@pytest.mark.usefixtures("channel_layer")
@pytest.mark.django_db(transaction=True)
def test_each_change_reaches_the_open_inbox_pages_as_message_changed(agent_client, agent):
    ticket = TicketFactory(assignee=agent, status="open", contact__wa_id="5511988887777@c.us")
    message = sent(ticket, agent)

    def react_edit_delete() -> None:
        message_react(message=message, by=agent, emoji="👍")
        message_edit(message=message, by=agent, body="Olá, Maria")
        message_delete(message=message, by=agent)

    received = conversation(agent_client, react_edit_delete)

    assert [e["message"] for e in received if e["type"] == "message.changed"] == [message.pk] * 3


def test_remove_reaction_is_offered_only_where_we_reacted(agent_client, agent, ticket):
    reacted, other = sent(ticket, agent), sent(ticket, agent)
    message_react(message=reacted, by=agent, emoji="👍")

    html = agent_client.get(reverse("ticket", args=[ticket.pk])).content.decode()

    assert 'data-react=""' in controls(html, reacted)
    assert 'data-react=""' not in controls(html, other)
