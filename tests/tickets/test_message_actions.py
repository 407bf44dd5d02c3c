"""An agent's reaction, edit and deletion of a message (tickets/message_actions.py): the rules, the
helpdesk's copy changed at once, the change queued for the session, the pages told."""

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk import realtime
from tests.factories import MessageFactory, TicketFactory, UserFactory
from tickets import realtime as ticket_realtime
from tickets.message_actions import message_actions, message_delete, message_edit, message_react
from tickets.models import Message, MessageChange, MessageRevision, Reaction
from tickets.outbound import change_mark_failed, change_mark_sent, changes_pending
from tickets.writing import ActionRefused
from whatsapp.wire import OutboundChange

pytestmark = pytest.mark.django_db


@pytest.fixture
def published(monkeypatch):
    """The events sent on commit: (event type, payload)."""
    events = []

    def publish(*, groups, event_type, payload=None):
        events.append((event_type, payload or {}))

    monkeypatch.setattr(realtime, "publish_on_commit", publish)
    monkeypatch.setattr(ticket_realtime, "publish_on_commit", publish)
    return events


def sent_by(agent, **fields) -> Message:
    ticket = fields.pop("ticket", None) or TicketFactory(contact__wa_id="5511988887777@c.us")
    fields.setdefault("wa_id", f"true_5511988887777@c.us_3EB0{Message.objects.count():016X}")
    return MessageFactory(
        ticket=ticket, from_me=True, author=agent, body="Olá", status=Message.Status.SENT, **fields
    )


def test_an_edit_keeps_the_earlier_text_and_is_queued_for_the_session(
    agent, published, django_capture_on_commit_callbacks
):
    message = sent_by(agent)

    with django_capture_on_commit_callbacks(execute=True):
        message_edit(message=message, by=agent, body="Olá, Maria")

    message.refresh_from_db()
    assert (message.body, message.edited_at is not None) == ("Olá, Maria", True)
    assert list(MessageRevision.objects.filter(message=message).values_list("body", flat=True)) == ["Olá"]
    assert changes_pending(connection_id=message.connection_id) == [
        OutboundChange(
            id=MessageChange.objects.get().pk,
            chat="5511988887777@c.us",
            target=message.wa_id,
            kind="edit",
            value="Olá, Maria",
        )
    ]
    assert ("session.wake", {}) in published
    assert [p["message"] for t, p in published if t == "message.changed"] == [message.pk]


def test_a_reaction_replaces_ours_and_an_empty_one_removes_it(agent, published):
    received = MessageFactory(
        wa_id="false_5511988887777@c.us_AAA", ticket__contact__wa_id="5511988887777@c.us"
    )
    Reaction.objects.create(
        message=received, from_me=False, sender="5511988887777@c.us", emoji="😂", at=timezone.now()
    )

    message_react(message=received, by=agent, emoji="👍")
    message_react(message=received, by=agent, emoji="❤️")
    assert sorted(received.reactions.values_list("emoji", "from_me", "author")) == [
        ("❤️", True, agent.pk),
        ("😂", False, None),
    ]
    message_react(message=received, by=agent, emoji="")
    message_react(message=received, by=agent, emoji="")  # nothing of ours left: nothing to send

    assert list(received.reactions.values_list("emoji", flat=True)) == ["😂"]
    assert [(c.kind, c.value) for c in changes_pending(connection_id=received.connection_id)] == [
        ("reaction", "👍"),
        ("reaction", "❤️"),
        ("reaction", ""),
    ]


def test_a_deletion_marks_the_message_deleted_and_nothing_more_can_change_it(agent, published):
    message = sent_by(agent)

    message_delete(message=message, by=agent)

    assert Message.objects.get(pk=message.pk).deleted_at is not None
    for change in (
        lambda: message_edit(message=message, by=agent, body="outra"),
        lambda: message_delete(message=message, by=agent),
        lambda: message_react(message=message, by=agent, emoji="👍"),
    ):
        with pytest.raises(ActionRefused, match="deleted"):
            change()
    assert [c.kind for c in changes_pending(connection_id=message.connection_id)] == ["delete"]


@pytest.mark.parametrize(
    ("case", "refusal"),
    [
        ("another agent's", "your own"),
        ("the customer's", "your own"),
        ("a file", "Only a text"),
        ("older than 15 minutes", "15 minutes"),
        ("a note", "note"),
        ("a system line", "note"),
        ("not sent yet", "not been sent"),
        ("to a blocked contact", "blocked"),
        ("empty", "new text"),
    ],
)
def test_an_edit_is_refused_unless_it_is_the_agents_own_recent_sent_text(agent, case, refusal):
    message = sent_by(agent)
    body = "Novo texto"
    if case == "another agent's":
        message.author = UserFactory()
    elif case == "the customer's":
        message.from_me, message.author = False, None
    elif case == "a file":
        message.kind = Message.Kind.IMAGE
    elif case == "older than 15 minutes":
        Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=16))
        message.refresh_from_db()
    elif case == "a note":
        message.kind, message.wa_id = Message.Kind.NOTE, None
    elif case == "a system line":
        message.kind, message.wa_id = Message.Kind.SYSTEM, None
    elif case == "not sent yet":
        message.wa_id, message.status = None, Message.Status.QUEUED
    elif case == "to a blocked contact":
        message.ticket.contact.blocked = True
    elif case == "empty":
        body = "  "

    with pytest.raises(ActionRefused, match=refusal):
        message_edit(message=message, by=agent, body=body)

    assert Message.objects.get(pk=message.pk).body == "Olá"
    assert not MessageChange.objects.exists() and not MessageRevision.objects.exists()


def test_a_reaction_is_one_emoji_on_a_message_that_is_on_whatsapp(agent):
    received = MessageFactory(wa_id="false_5511988887777@c.us_AAA")
    note = MessageFactory(ticket=received.ticket, kind=Message.Kind.NOTE, from_me=True)

    for emoji in ("ok", "👍 👍", "👍" * 17):
        with pytest.raises(ActionRefused, match="one emoji"):
            message_react(message=received, by=agent, emoji=emoji)
    with pytest.raises(ActionRefused, match="note"):
        message_react(message=note, by=agent, emoji="👍")
    message_react(message=received, by=agent, emoji="👍🏽")  # a skin tone is part of the emoji

    assert list(Reaction.objects.values_list("emoji", flat=True)) == ["👍🏽"]


def test_the_controls_a_page_shows_are_the_ones_that_would_be_accepted(agent):
    mine = sent_by(agent)
    ticket = mine.ticket
    theirs = MessageFactory(ticket=ticket, wa_id="false_x@c.us_B")
    old = sent_by(agent, ticket=ticket)
    Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=1))
    old.refresh_from_db()
    queued = MessageFactory(ticket=ticket, from_me=True, author=agent, status=Message.Status.QUEUED)

    assert message_actions(message=mine, ticket=ticket, user=agent) == {"react", "edit", "delete"}
    assert message_actions(message=mine, ticket=ticket, user=UserFactory()) == {"react"}
    assert message_actions(message=theirs, ticket=ticket, user=agent) == {"react"}
    assert message_actions(message=old, ticket=ticket, user=agent) == {"react", "delete"}
    assert message_actions(message=queued, ticket=ticket, user=agent) == set()
    ticket.contact.blocked = True
    assert message_actions(message=mine, ticket=ticket, user=agent) == set()


def test_a_change_whatsapp_refused_is_told_in_the_conversation(agent, published):
    agent.first_name = "Ana"
    agent.save()
    message = sent_by(agent)
    message_edit(message=message, by=agent, body="Olá, Maria")
    message_react(message=message, by=agent, emoji="👍")
    edit, reaction = MessageChange.objects.order_by("id")

    change_mark_failed(change_id=edit.pk, error="Message not found")
    change_mark_sent(change_id=reaction.pk)
    change_mark_failed(change_id=reaction.pk, error="late")  # made already: stays sent

    assert list(MessageChange.objects.order_by("id").values_list("status", "error")) == [
        ("failed", "Message not found"),
        ("sent", ""),
    ]
    lines = message.ticket.messages.filter(kind=Message.Kind.SYSTEM)
    assert [line.system_text() for line in lines] == ["WhatsApp refused the edit of Ana: Message not found"]
    assert changes_pending(connection_id=message.connection_id) == []
