"""Send later: a reply written now, queued when its time comes, sent once by the outbox."""

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.factories import MessageFactory, QueueFactory, TicketFactory, UserFactory
from tests.tickets.test_outbound import session_told
from tickets.models import Message, Ticket
from tickets.outbound import outbound_pending, scheduled_promote
from tickets.scheduling import scheduled_cancel, scheduled_edit
from tickets.selectors import InboxFilters, Tab, inbox_tickets
from tickets.services import ActionRefused, ticket_close, ticket_reply

pytestmark = pytest.mark.django_db


def later(seconds: float = 3600):
    return timezone.now() + timedelta(seconds=seconds)


def iso(when) -> str:
    return when.isoformat()


@pytest.fixture
def ticket(staff):
    return TicketFactory(status="open", assignee=staff)


def scheduled(ticket, by, body="Bom dia!", seconds: float = 3600) -> Message:
    return ticket_reply(ticket=ticket, by=by, body=body, send_at=later(seconds))


def test_a_scheduled_reply_waits_without_being_the_last_message(
    ticket, staff, django_capture_on_commit_callbacks
):
    MessageFactory(ticket=ticket, body="Oi", from_me=False, status="received")
    Ticket.objects.filter(pk=ticket.pk).update(last_message_preview="Oi")
    with django_capture_on_commit_callbacks(execute=True):
        message = scheduled(ticket, staff, "Amanhã cedo te respondo")

    ticket.refresh_from_db()
    assert message.status == "scheduled" and message.send_at is not None
    assert ticket.last_message_preview == "Oi" and ticket.last_outbound_at is None
    assert outbound_pending(connection_id=ticket.connection_id) == []
    row = inbox_tickets(user=staff, filters=InboxFilters(tab=Tab.ALL)).get(pk=ticket.pk)
    assert row.my_last_status is None  # no ticks for what has not gone


def test_its_time_comes_it_is_queued_as_if_written_then(ticket, staff):
    message = scheduled(ticket, staff, seconds=60)
    later_one = scheduled(ticket, staff, "depois", seconds=600)
    Message.objects.filter(pk=message.pk).update(send_at=timezone.now() - timedelta(seconds=1))

    due_in = scheduled_promote(connection_id=ticket.connection_id)

    message.refresh_from_db()
    assert message.status == "queued" and message.created_at > later_one.created_at
    assert [m.id for m in outbound_pending(connection_id=ticket.connection_id)] == [message.pk]
    assert 590 < due_in <= 600
    assert Message.objects.get(pk=later_one.pk).status == "scheduled"
    assert scheduled_promote(connection_id=ticket.connection_id) == pytest.approx(due_in, abs=2)


def test_nothing_scheduled_says_no_time(ticket):
    assert scheduled_promote(connection_id=ticket.connection_id) is None


def test_a_ticket_closed_meanwhile_still_sends_it_and_says_so(ticket, staff):
    staff.first_name = "Ana"
    staff.save()
    message = scheduled(ticket, staff)
    ticket_close(ticket=ticket, by=staff, reason=Ticket.CloseReason.AGENT, send_farewell=False)
    Message.objects.filter(pk=message.pk).update(send_at=timezone.now())

    scheduled_promote(connection_id=ticket.connection_id)

    assert Message.objects.get(pk=message.pk).status == "queued"
    line = ticket.messages.filter(kind="system").last()
    assert line.body == "The message scheduled by Ana goes out although the ticket was closed"


def test_a_contact_blocked_meanwhile_gets_nothing(ticket, staff):
    message = scheduled(ticket, staff)
    ticket.contact.blocked = True
    ticket.contact.save()
    Message.objects.filter(pk=message.pk).update(send_at=timezone.now())

    scheduled_promote(connection_id=ticket.connection_id)

    message.refresh_from_db()
    assert message.status == "failed" and "blocked" in message.error
    assert outbound_pending(connection_id=ticket.connection_id) == []


@pytest.mark.parametrize(
    ("when", "reason"),
    [(-60, "passed"), (366 * 86400, "year")],
)
def test_a_time_past_or_too_far_is_refused(ticket, staff, when, reason):
    with pytest.raises(ValidationError) as refused:
        scheduled(ticket, staff, seconds=when)
    assert reason in refused.value.message_dict["send_at"][0]
    assert not ticket.messages.exists()


def test_a_note_is_never_scheduled(ticket, staff):
    with pytest.raises(ValidationError):
        ticket_reply(ticket=ticket, by=staff, body="nota", internal=True, send_at=later())


def test_edit_changes_text_and_time_until_it_goes(ticket, staff, django_capture_on_commit_callbacks):
    message = scheduled(ticket, staff)
    new_time = later(7200)
    with django_capture_on_commit_callbacks() as callbacks:
        scheduled_edit(message=message, by=staff, body="Novo texto", send_at=new_time)

    message.refresh_from_db()
    assert (message.body, message.send_at, message.status) == ("Novo texto", new_time, "scheduled")
    assert callbacks  # the pages and the session hear of it
    with pytest.raises(ValidationError):
        scheduled_edit(message=message, by=staff, send_at=later(-5))
    Message.objects.filter(pk=message.pk).update(status="queued")
    message.refresh_from_db()
    with pytest.raises(ActionRefused):
        scheduled_edit(message=message, by=staff, body="tarde demais")
    assert Message.objects.get(pk=message.pk).body == "Novo texto"


def test_a_new_time_tells_the_session_to_read_its_schedule_again(
    ticket, staff, channel_layer, django_capture_on_commit_callbacks
):
    message = scheduled(ticket, staff)

    def move() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            scheduled_edit(message=message, by=staff, send_at=later(60))

    assert session_told(channel_layer, ticket.connection_id, move) == {
        "type": "session.wake",
        "schedule_changed": True,
    }


def test_cancel_deletes_it_and_nothing_is_sent(ticket, staff):
    message = scheduled(ticket, staff)

    cancelled = scheduled_cancel(message=message, by=staff)

    assert cancelled.deleted_at is not None and not Message.objects.filter(pk=message.pk).exists()
    with pytest.raises(ActionRefused):
        scheduled_cancel(message=cancelled, by=staff)


def test_another_queues_agent_cannot_touch_it(ticket, staff):
    ticket.queue = QueueFactory()
    ticket.save()
    message = scheduled(ticket, staff)
    outsider = UserFactory()

    with pytest.raises(ActionRefused):
        scheduled_cancel(message=message, by=outsider)
    with pytest.raises(ActionRefused):
        scheduled_edit(message=message, by=outsider, body="x")
    assert Message.objects.get(pk=message.pk).body == "Bom dia!"


# -- the API -------------------------------------------------------------------------------------


def test_api_schedules_a_reply(api, ticket):
    when = later(600).replace(microsecond=0)

    response = api("POST", f"tickets/{ticket.pk}/messages", {"body": "Bom dia!", "send_at": iso(when)})

    assert response.status_code == 201, response.content
    assert response.json()["status"] == "scheduled"
    assert datetime.fromisoformat(response.json()["send_at"]) == when
    assert Message.objects.get().send_at == when
    assert (
        api("POST", f"tickets/{ticket.pk}/messages", {"body": "já", "send_at": None}).json()["status"]
        == "queued"
    )


@pytest.mark.parametrize(
    "send_at",
    [
        iso(timezone.now() - timedelta(minutes=5)),  # in the past
        iso(timezone.now() + timedelta(days=400)),  # more than a year ahead
        (timezone.now() + timedelta(hours=1)).replace(tzinfo=None).isoformat(),  # no time zone
        "amanhã",
        1893456000,  # a number is no ISO 8601 text
        "",
    ],
)
def test_api_refuses_a_bad_send_at_naming_the_field(api, ticket, send_at):
    response = api("POST", f"tickets/{ticket.pk}/messages", {"body": "Bom dia!", "send_at": send_at})

    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error_code"] == "VALIDATION_ERROR" and list(body["fields"]) == ["send_at"]
    assert not Message.objects.exists()


def test_api_refuses_a_scheduled_note(api, ticket):
    response = api(
        "POST", f"tickets/{ticket.pk}/messages", {"body": "nota", "internal": True, "send_at": iso(later())}
    )

    assert response.status_code == 422 and list(response.json()["fields"]) == ["send_at"]


def test_api_schedules_a_file_with_its_caption(api, ticket, staff, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("nota.pdf", b"%PDF-1.4 hello", content_type="application/pdf")
    response = api(
        "POST",
        f"tickets/{ticket.pk}/messages",
        {"media": upload, "body": "o boleto", "send_at": iso(later())},
        multipart=True,
    )
    bad = api(
        "POST",
        f"tickets/{ticket.pk}/messages",
        {
            "media": SimpleUploadedFile("b.pdf", b"%PDF-1.4", content_type="application/pdf"),
            "send_at": "2020-01-01T00:00:00Z",
        },
        multipart=True,
    )
    empty = api(  # a send_at given empty is no time (as "" in JSON), not "send now"
        "POST",
        f"tickets/{ticket.pk}/messages",
        {"media": SimpleUploadedFile("c.pdf", b"%PDF-1.4", content_type="application/pdf"), "send_at": ""},
        multipart=True,
    )

    assert response.status_code == 201, response.content
    assert empty.status_code == 422 and list(empty.json()["fields"]) == ["send_at"]
    assert response.json()["status"] == "scheduled" and response.json()["caption"] == "o boleto"
    assert bad.status_code == 422 and list(bad.json()["fields"]) == ["send_at"]
    message = Message.objects.get()
    storage, name = message.media.storage, message.media.name
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        scheduled_cancel(message=message, by=staff)
    assert not storage.exists(name)  # cancelled: its file goes with it


def test_api_edits_and_cancels_a_scheduled_reply_before_it_goes(api, ticket):
    """PATCH and DELETE /api/messages/{id} on a scheduled reply change its text and cancel it (the
    15 minutes of an edit and the rules of a sent message do not apply to what has not gone)."""
    sent = api("POST", f"tickets/{ticket.pk}/messages", {"body": "Bom dia!", "send_at": iso(later())}).json()

    edited = api("PATCH", f"messages/{sent['id']}", {"body": "Boa tarde!"})

    assert edited.status_code == 200, edited.content
    assert edited.json()["status"] == "scheduled" and Message.objects.get().body.endswith("Boa tarde!")

    cancelled = api("DELETE", f"messages/{sent['id']}")

    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["deleted_at"] is not None
    assert not Message.objects.exists()
