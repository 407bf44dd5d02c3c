"""The API's reaction, edit and deletion of a message: 200 with the message, 409 for what WhatsApp
would refuse, 404 for a message the caller cannot see."""

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.models import ApiToken
from tests.factories import MessageFactory, QueueFactory, StaffFactory, TicketFactory, UserFactory
from tickets.models import Message, MessageChange

pytestmark = pytest.mark.django_db


def sent(author, **fields) -> Message:
    return MessageFactory(
        from_me=True,
        author=author,
        body="Olá",
        status=Message.Status.SENT,
        wa_id=f"true_5511988887777@c.us_3EB0{Message.objects.count() + 1:016X}",
        **fields,
    )


def test_react_edit_and_delete_answer_the_message(api, staff, django_assert_num_queries):
    message = sent(staff)

    reacted = api("POST", f"messages/{message.pk}/reaction", {"emoji": "👍"})
    # The token (2), the message (visible to the caller), the write check, then in a savepoint (2) the
    # revision, the message and the change, and the answer's reactions.
    with django_assert_num_queries(10):
        edited = api("PATCH", f"messages/{message.pk}", {"body": "Olá, Maria"})
    unreacted = api("POST", f"messages/{message.pk}/reaction", {"emoji": ""})
    deleted = api("DELETE", f"messages/{message.pk}")

    assert reacted.status_code == 200 and reacted.json()["reactions"] == [{"emoji": "👍", "from_me": True}]
    assert edited.status_code == 200
    assert (edited.json()["body"], edited.json()["edited_at"] is not None) == ("Olá, Maria", True)
    assert (unreacted.status_code, unreacted.json()["reactions"]) == (200, [])
    assert deleted.status_code == 200 and deleted.json()["deleted_at"] is not None
    assert deleted.json()["body"] == ""  # its content is no longer served
    listed = api("GET", f"tickets/{message.ticket_id}/messages").json()["results"]
    assert [(m["body"], m["deleted_at"] is not None) for m in listed] == [("", True)]
    assert list(MessageChange.objects.order_by("id").values_list("kind", "value", "status")) == [
        ("reaction", "👍", "queued"),
        ("edit", "Olá, Maria", "queued"),
        ("reaction", "", "queued"),
        ("delete", "", "queued"),
    ]


def test_what_whatsapp_would_refuse_is_409_action_refused(api, staff):
    others = sent(StaffFactory())
    old = sent(staff)
    Message.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=20))
    note = MessageFactory(kind=Message.Kind.NOTE, from_me=True, author=staff)
    queued = MessageFactory(from_me=True, author=staff, status=Message.Status.QUEUED)

    answers = [
        api("PATCH", f"messages/{others.pk}", {"body": "x"}),
        api("DELETE", f"messages/{others.pk}"),
        api("PATCH", f"messages/{old.pk}", {"body": "x"}),
        api("PATCH", f"messages/{note.pk}", {"body": "x"}),
        api("POST", f"messages/{note.pk}/reaction", {"emoji": "👍"}),
        api("PATCH", f"messages/{queued.pk}", {"body": "x"}),
        api("POST", f"messages/{others.pk}/reaction", {"emoji": "ok"}),
    ]

    assert [(a.status_code, a.json()["error_code"]) for a in answers] == [(409, "ACTION_REFUSED")] * 7
    assert "15 minutes" in answers[2].json()["message"]
    assert not MessageChange.objects.exists()


def test_a_message_the_caller_cannot_see_is_404(client):
    agent = UserFactory(is_staff=True)  # staff, yet an agent of one queue: sees its tickets only
    queue, other = QueueFactory(), QueueFactory()
    queue.members.add(agent)
    hidden = sent(agent, ticket=TicketFactory(queue=other, status="open"))
    _token, key = ApiToken.issue(user=agent)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}

    answers = [
        client.post(
            f"/api/messages/{hidden.pk}/reaction", {"emoji": "👍"}, content_type="application/json", **auth
        ),
        client.patch(f"/api/messages/{hidden.pk}", {"body": "x"}, content_type="application/json", **auth),
        client.delete(f"/api/messages/{hidden.pk}", **auth),
        client.delete("/api/messages/999999", **auth),
    ]

    assert [(a.status_code, a.json()["error_code"]) for a in answers] == [(404, "NOT_FOUND")] * 4
    assert not MessageChange.objects.exists()


def test_bodies_are_validated(api, staff):
    message = sent(staff)

    assert api("PATCH", f"messages/{message.pk}", {"body": ""}).status_code == 422
    assert api("PATCH", f"messages/{message.pk}", {"body": "  "}).json()["error_code"] == "VALIDATION_ERROR"
    assert api("POST", f"messages/{message.pk}/reaction", {"emoji": 1}).status_code == 422
    assert api("POST", f"messages/{message.pk}/reaction", {}).status_code == 422
