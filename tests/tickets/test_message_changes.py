"""A customer's edits, deletions for everyone and reactions, from the wire to the ticket (tickets/message_changes.py)."""

import logging
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from tests.factories import ConnectionFactory
from tests.tickets.test_inbound import CUSTOMER, inbound, wa_payload
from tickets.inbound import message_ingest
from tickets.message_changes import (
    Outcome,
    deleted_content_prune,
    early_changes_apply,
    message_change_ingest,
)
from tickets.models import EarlyChange, Message, MessageRevision, Reaction, Ticket
from whatsapp.wire import inbound_change

pytestmark = pytest.mark.django_db
OTHER = "5521977776666@c.us"
ME = "5511999990001@c.us"


def edit(target: str, body: str, *, chat: str = CUSTOMER, from_me: bool = False) -> dict:
    """bridge.js's form of chat.msg_edited: the message with its new text."""
    message = wa_payload(0, chat=chat, body=body, from_me=from_me)
    message["id"] = target
    return {"chat": ME, "id": target, "msg": message, "editedAt": None}


def revoke(target: str, *, chat: str = CUSTOMER, from_me: bool = False) -> dict:
    return {
        "id": f"{str(from_me).lower()}_{chat}_REVOKE1",
        "refId": target,
        "from": ME if from_me else chat,
        "to": chat if from_me else ME,
        "fromMe": from_me,
        "type": "revoke",
    }


def reaction(target: str, emoji: str, *, sender: str = CUSTOMER) -> dict:
    return {
        "id": f"false_{sender}_R1",
        "msgId": target,
        "reactionText": emoji,
        "sender": sender,
        "fromMe": False,
    }


def apply(connection, event: str, payload: dict) -> Outcome:
    change = inbound_change(event, payload)
    assert change is not None
    return message_change_ingest(connection=connection, change=change)


@pytest.fixture
def events(monkeypatch):
    sent = []
    monkeypatch.setattr("tickets.message_changes.ticket_event", lambda **event: sent.append(event))
    return sent


@pytest.fixture
def connection():
    return ConnectionFactory()


@pytest.fixture
def question(connection):
    message_ingest(connection=connection, message=inbound(1, body="Qual o preço?"))
    return Message.objects.get()


@pytest.fixture
def reply(connection, question):
    """The agent's answer to the question, sent."""
    return Message.objects.create(
        ticket=question.ticket,
        connection=connection,
        from_me=True,
        body="R$ 10",
        wa_id=f"true_{CUSTOMER}_3EB0X",
    )


def ticket_state() -> tuple:
    ticket = Ticket.objects.get()
    return ticket.status, ticket.unread_count, Message.objects.count()


def test_an_edit_shows_the_new_text_keeps_the_old_and_adds_no_row(connection, question, events):
    before = ticket_state()

    outcome = apply(connection, "chat.msg_edited", edit(question.wa_id, "Qual o preço do plano anual?"))

    question.refresh_from_db()
    assert outcome == Outcome.APPLIED
    assert question.body == "Qual o preço do plano anual?" and question.edited_at is not None
    assert list(MessageRevision.objects.values_list("body", flat=True)) == ["Qual o preço?"]
    assert ticket_state() == before  # no row, no unread, no reopening
    assert Ticket.objects.get().last_message_preview == "Qual o preço do plano anual?"  # it was the last
    assert [(e["ticket"].pk, e["event_type"], e["message"]) for e in events] == [
        (question.ticket_id, "message.changed", question.pk)
    ]


def test_the_same_edit_twice_is_one_revision(connection, question, events):
    apply(connection, "chat.msg_edited", edit(question.wa_id, "v2"))
    outcome = apply(connection, "chat.msg_edited", edit(question.wa_id, "v2"))

    assert outcome == Outcome.UNCHANGED and MessageRevision.objects.count() == 1 and len(events) == 1


def test_a_deletion_blanks_the_content_at_once_by_default(connection, events, settings):
    settings.DELETED_CONTENT_KEEP_DAYS = 0
    message_ingest(connection=connection, message=inbound(1, body="meu cpf é 123"))
    message = Message.objects.get()
    Message.objects.filter(pk=message.pk).update(caption="legenda")
    MessageRevision.objects.create(message=message, body="antes", replaced_at=timezone.now())
    before = ticket_state()

    assert apply(connection, "chat.msg_revoke", revoke(message.wa_id)) == Outcome.APPLIED

    message.refresh_from_db()
    assert message.deleted_at is not None and (message.body, message.caption) == ("", "")
    assert not MessageRevision.objects.exists()
    assert ticket_state() == before
    assert Ticket.objects.get().last_message_preview == "This message was deleted"
    assert len(events) == 1


def test_a_deleted_file_is_removed_from_storage(connection, settings, django_capture_on_commit_callbacks):
    settings.DELETED_CONTENT_KEEP_DAYS = 0
    message_ingest(connection=connection, message=inbound(1, body=""))
    message = Message.objects.get()
    message.media.save("foto.jpg", ContentFile(b"\xff\xd8 jpeg"), save=True)
    name = message.media.name
    assert default_storage.exists(name)

    with django_capture_on_commit_callbacks(execute=True):
        apply(connection, "chat.msg_revoke", revoke(message.wa_id))

    message.refresh_from_db()
    assert message.media.name == "" and not default_storage.exists(name)


def test_a_deletion_kept_for_some_days_is_served_to_nobody_then_blanked(connection, settings, agent_client):
    settings.DELETED_CONTENT_KEEP_DAYS = 30
    message_ingest(connection=connection, message=inbound(1, body="segredo"))
    message = Message.objects.get()

    apply(connection, "chat.msg_revoke", revoke(message.wa_id))

    message.refresh_from_db()
    assert message.body == "segredo"  # kept, for the team that must
    page = agent_client.get(
        reverse("ticket", args=[message.ticket_id]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "segredo" not in page and "Deleted by the customer" in page and "data-deleted" in page
    search = agent_client.get(reverse("inbox"), {"tab": "waiting", "q": "segredo"})
    assert f"row-{message.ticket_id}" not in search.content.decode()

    assert deleted_content_prune()["deleted contents"] == 0  # not yet
    Message.objects.filter(pk=message.pk).update(deleted_at=timezone.now() - timedelta(days=31))
    assert deleted_content_prune()["deleted contents"] == 1
    message.refresh_from_db()
    assert message.body == ""


def test_a_reaction_is_replaced_then_removed_and_adds_no_row(connection, question, events):
    before = ticket_state()

    apply(connection, "chat.new_reaction", reaction(question.wa_id, "👍"))
    apply(connection, "chat.new_reaction", reaction(question.wa_id, "❤️"))
    assert list(Reaction.objects.values_list("emoji", "from_me", "sender")) == [("❤️", False, CUSTOMER)]
    apply(connection, "chat.new_reaction", reaction(question.wa_id, ""))

    assert not Reaction.objects.exists()
    assert ticket_state() == before
    assert Ticket.objects.get().last_message_preview == "Qual o preço?"
    assert len(events) == 3


def test_a_customer_reacts_to_the_agents_reply(connection, reply):
    apply(connection, "chat.new_reaction", reaction(reply.wa_id, "🙏"))

    assert list(reply.reactions.values_list("emoji", flat=True)) == ["🙏"]


def test_a_long_or_non_emoji_reaction_is_cut_to_one_grapheme(connection, question):
    apply(connection, "chat.new_reaction", reaction(question.wa_id, "👨‍👩‍👧‍👦" + "x" * 5000))
    assert Reaction.objects.get().emoji == "👨‍👩‍👧‍👦"
    apply(connection, "chat.new_reaction", reaction(question.wa_id, "hello"))
    assert Reaction.objects.get().emoji == "h"


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("chat.msg_edited", lambda target: edit(target, "mudou", chat=OTHER)),
        ("chat.msg_revoke", lambda target: revoke(target, chat=OTHER)),
        ("chat.new_reaction", lambda target: reaction(target, "😡", sender=OTHER)),
    ],
)
def test_a_change_naming_another_chats_message_is_ignored_with_a_log_line(
    connection, question, events, event, payload, caplog
):
    with caplog.at_level(logging.WARNING, logger="tickets.message_changes"):
        outcome = apply(connection, event, payload(question.wa_id))

    question.refresh_from_db()
    assert outcome == Outcome.UNCHANGED and events == []
    assert (question.body, question.edited_at, question.deleted_at) == ("Qual o preço?", None, None)
    assert not Reaction.objects.exists()
    assert "of another chat" in caplog.text


def test_the_customer_cannot_delete_or_edit_the_agents_reply(connection, reply, events, caplog):
    apply(connection, "chat.msg_revoke", revoke(reply.wa_id))
    payload = edit(reply.wa_id, "R$ 0")
    payload["msg"]["fromMe"] = False  # the customer's client says it is theirs
    apply(connection, "chat.msg_edited", payload)

    reply.refresh_from_db()
    assert (reply.body, reply.deleted_at, reply.edited_at) == ("R$ 10", None, None)
    assert events == [] and caplog.text.count("only its author") == 2


def test_a_change_of_another_connections_message_is_never_applied_there(question, events):
    elsewhere = ConnectionFactory()

    outcome = apply(elsewhere, "chat.msg_revoke", revoke(question.wa_id))

    question.refresh_from_db()
    assert outcome == Outcome.WAITING and question.deleted_at is None and events == []


def test_a_change_heard_before_its_message_is_applied_when_it_arrives(connection, events):
    target = inbound(7, body="primeira versão")
    apply(connection, "chat.new_reaction", reaction(target.id, "👍"))
    assert apply(connection, "chat.msg_edited", edit(target.id, "segunda versão")) == Outcome.WAITING
    assert EarlyChange.objects.count() == 2 and not Message.objects.exists()

    stored = message_ingest(connection=connection, message=target)
    assert early_changes_apply(connection=connection, messages=[stored]) == 2

    message = Message.objects.get()
    assert message.body == "segunda versão" and list(message.revisions.values_list("body", flat=True)) == [
        "primeira versão"
    ]
    assert list(message.reactions.values_list("emoji", flat=True)) == ["👍"]
    assert not EarlyChange.objects.exists()
    assert Ticket.objects.get().unread_count == 1


def test_an_early_change_of_another_chat_is_not_applied_when_the_message_arrives(connection, events):
    target = inbound(7, body="minha")
    apply(connection, "chat.msg_revoke", revoke(target.id, chat=OTHER))

    stored = message_ingest(connection=connection, message=target)

    assert early_changes_apply(connection=connection, messages=[stored]) == 0
    assert Message.objects.get().deleted_at is None and not EarlyChange.objects.exists()


def test_an_early_change_is_forgotten_after_a_day(connection):
    apply(connection, "chat.new_reaction", reaction(f"false_{CUSTOMER}_NEVER", "👍"))
    EarlyChange.objects.update(at=timezone.now() - timedelta(days=2))

    assert deleted_content_prune()["early changes"] == 1


def test_the_api_lists_reactions_and_serves_no_content_of_a_deleted_message(connection, api, settings):
    settings.DELETED_CONTENT_KEEP_DAYS = 30  # kept in the database, still served to nobody
    message_ingest(connection=connection, message=inbound(1, body="apague isto"))
    message_ingest(connection=connection, message=inbound(2, body="fica"))
    gone, kept = Message.objects.order_by("pk")
    Message.objects.filter(pk=gone.pk).update(
        caption="legenda", filename="a.pdf", mimetype="application/pdf", size=9
    )
    apply(connection, "chat.msg_revoke", revoke(gone.wa_id))
    apply(connection, "chat.new_reaction", reaction(kept.wa_id, "👍"))
    apply(connection, "chat.msg_edited", edit(kept.wa_id, "ficou"))

    results = api("GET", f"tickets/{gone.ticket_id}/messages").json()["results"]

    deleted, edited = results
    assert deleted["deleted_at"] is not None
    assert [deleted[k] for k in ("body", "caption", "mimetype", "filename", "size")] == ["", "", "", "", None]
    assert "apague" not in str(results)
    assert (edited["body"], edited["reactions"]) == ("ficou", [{"emoji": "👍", "from_me": False}])
    assert edited["edited_at"] is not None and edited["deleted_at"] is None


def test_the_media_url_of_a_deleted_message_answers_404(connection, agent_client, settings):
    settings.DELETED_CONTENT_KEEP_DAYS = 30
    message_ingest(connection=connection, message=inbound(1, body=""))
    message = Message.objects.get()
    message.media.save("foto.jpg", ContentFile(b"\xff\xd8 jpeg"), save=True)
    url = reverse("message-media", args=[message.ticket_id, message.pk])
    assert agent_client.get(url).status_code == 200

    apply(connection, "chat.msg_revoke", revoke(message.wa_id))

    assert agent_client.get(url).status_code == 404


def test_the_bubble_shows_the_edit_its_earlier_versions_and_the_reactions(connection, question, agent_client):
    apply(connection, "chat.msg_edited", edit(question.wa_id, "Qual o preço anual?"))
    apply(connection, "chat.new_reaction", reaction(question.wa_id, "👍"))
    url = reverse("ticket-message", args=[question.ticket_id, question.pk])

    bubble = agent_client.get(url).content.decode()

    assert "Qual o preço anual?" in bubble and "data-edited" in bubble
    assert '<details class="revisions">' in bubble and "Qual o preço?" in bubble
    assert "data-reactions" in bubble and 'data-emoji="👍" data-from="customer"' in bubble


def test_a_conversation_with_changes_costs_a_query_more_for_each_kind(
    connection, question, agent_client, django_assert_num_queries
):
    for n in range(2, 12):
        message_ingest(connection=connection, message=inbound(n, body=f"m{n}"))
    for message in Message.objects.all():
        apply(connection, "chat.msg_edited", edit(message.wa_id, f"{message.body}!"))
        apply(connection, "chat.new_reaction", reaction(message.wa_id, "👍"))
    url = reverse("ticket", args=[question.ticket_id])

    # session, user, whether they see every ticket, the ticket; its messages, their reactions, their
    # earlier versions; the contact's other tickets; its scheduled replies
    with django_assert_num_queries(9):
        page = agent_client.get(url, HTTP_HX_REQUEST="true").content.decode()

    assert page.count("data-edited") == 11 and page.count('data-emoji="👍"') == 11


def test_a_change_in_a_closed_ticket_leaves_it_closed_and_a_change_of_nothing_makes_no_ticket(
    connection, question
):
    Ticket.objects.update(status=Ticket.Status.CLOSED, closed_at=timezone.now(), unread_count=0)

    apply(connection, "chat.new_reaction", reaction(question.wa_id, "👍"))
    apply(connection, "chat.msg_edited", edit(question.wa_id, "outra"))
    apply(connection, "chat.msg_revoke", revoke(f"false_{OTHER}_NOTHING", chat=OTHER))

    assert list(Ticket.objects.values_list("status", "unread_count")) == [(Ticket.Status.CLOSED, 0)]
    assert Message.objects.count() == 1 and Reaction.objects.count() == 1
