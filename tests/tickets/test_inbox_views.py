"""The inbox and ticket pages over HTTP: who may open what, what each action writes, at what query cost."""

import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from tests.factories import ContactFactory, MessageFactory, QueueFactory, TicketFactory, UserFactory
from tickets.models import Message, QuickReply, Ticket

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64


@pytest.fixture
def support(agent):
    queue = QueueFactory(name="Support")
    queue.members.add(agent)
    return queue


@pytest.fixture
def ticket(support):
    ticket = TicketFactory(queue=support, unread_count=2)
    ticket.connection.queues.add(support)
    return ticket


def ticket_urls(ticket: Ticket, message: Message) -> list[tuple[str, str]]:
    """Every URL of a ticket, with the method it answers to."""
    return [
        ("get", reverse("ticket", args=[ticket.pk])),
        ("post", reverse("ticket-read", args=[ticket.pk])),
        ("get", reverse("ticket-head", args=[ticket.pk])),
        ("get", reverse("ticket-messages", args=[ticket.pk])),
        ("get", reverse("ticket-message", args=[ticket.pk, message.pk])),
        ("get", reverse("message-media", args=[ticket.pk, message.pk])),
        ("post", reverse("message-retry", args=[ticket.pk, message.pk])),
        ("post", reverse("ticket-reply", args=[ticket.pk])),
        ("get", reverse("ticket-transfer", args=[ticket.pk])),
        *(
            ("post", reverse("ticket-action", args=[ticket.pk, action]))
            for action in ("accept", "return", "close", "reopen")
        ),
    ]


def test_another_queues_agent_gets_404_on_every_url_of_a_ticket(client, ticket):
    message = MessageFactory(ticket=ticket, kind=Message.Kind.IMAGE, mimetype="image/jpeg")
    message.media.save("photo.jpg", ContentFile(JPEG))
    outsider = UserFactory()
    QueueFactory().members.add(outsider)
    client.force_login(outsider)

    answers = {
        url: getattr(client, method)(url, {"body": "x"}).status_code
        for method, url in ticket_urls(ticket, message)
    }

    assert set(answers.values()) == {404}, answers
    ticket.refresh_from_db()
    assert (ticket.status, ticket.unread_count, ticket.messages.count()) == (Ticket.Status.PENDING, 2, 1)


def test_anonymous_visitors_are_sent_to_sign_in_from_every_url(client, ticket):
    message = MessageFactory(ticket=ticket)
    urls = [
        *ticket_urls(ticket, message),
        ("get", reverse("inbox")),
        ("get", reverse("inbox-more")),
        ("get", reverse("inbox-counts")),
        ("get", reverse("inbox-filters")),
        ("post", reverse("inbox-mute")),
        ("get", reverse("quick-replies")),
    ]

    answers = {url: getattr(client, method)(url).status_code for method, url in urls}

    assert set(answers.values()) == {302}, answers


def test_opening_a_ticket_takes_a_fixed_number_of_queries(
    agent_client, agent, ticket, django_assert_num_queries
):
    MessageFactory.create_batch(30, ticket=ticket)
    now = timezone.now()
    Ticket.objects.filter(pk=ticket.pk).update(  # its SLA details: due times, who answered first, the breach
        first_inbound_at=now - timedelta(hours=2),
        sla_window_start=now - timedelta(hours=2),
        first_response_due=now - timedelta(hours=1),
        first_response_at=now - timedelta(minutes=30),
        first_response_by=agent,
        resolution_due=now + timedelta(hours=2),
        sla_breached_at=now - timedelta(hours=1),
    )
    url = reverse("ticket", args=[ticket.pk])

    # session, user, whether they see every ticket, the ticket; its messages, its scheduled replies,
    # the contact's other tickets
    with django_assert_num_queries(7):
        pane = agent_client.get(url, HTTP_HX_REQUEST="true")
    # a reload, with the list beside it: preferences, tab counts, the page of tickets
    with django_assert_num_queries(10):
        agent_client.get(url)

    assert pane.status_code == 200
    assert 'data-sla="breached"' in pane.content.decode() and "answered at" in pane.content.decode()


def test_live_rows_come_in_one_request_that_also_says_whom_to_notify_of(
    agent_client, support, ticket, django_assert_num_queries
):
    other = TicketFactory(queue=support)
    message = MessageFactory(ticket=ticket, from_me=False)
    url = reverse("inbox-rows")

    # session, user, whether they see every ticket, the rows, whether a customer wrote one of the
    # messages to them (the page, which knows whether the user muted notifications, asks only when not)
    with django_assert_num_queries(5):
        response = agent_client.get(
            url, {"tab": "waiting", "ticket": [ticket.pk, other.pk], "message": message.pk}
        )

    assert response["X-Notify"] == str(ticket.pk)
    assert (
        f'href="/inbox/{ticket.pk}/?tab=waiting"' in response.content.decode()
    )  # the list's link, not the ask
    assert {f'id="row-{ticket.pk}"', f'id="row-{other.pk}"'} <= set(
        re.findall(r'id="row-\d+"', response.content.decode())
    )


def test_live_rows_leave_out_what_the_user_may_not_see_or_what_is_not_an_id(client, ticket):
    message = MessageFactory(ticket=ticket, from_me=False)
    outsider = UserFactory()
    QueueFactory().members.add(outsider)
    client.force_login(outsider)

    response = client.get(
        reverse("inbox-rows"),
        {"tab": "waiting", "ticket": [ticket.pk, "²", "1" + "0" * 21, "x"], "message": message.pk},
    )

    assert (response.status_code, response.content.decode().strip(), response.has_header("X-Notify")) == (
        200,
        "",
        False,
    )


def test_the_conversation_pages_upwards_without_repeating(agent_client, ticket):
    messages = MessageFactory.create_batch(45, ticket=ticket)

    first = agent_client.get(reverse("ticket", args=[ticket.pk]), HTTP_HX_REQUEST="true").context[
        "conversation"
    ]
    older = agent_client.get(reverse("ticket-messages", args=[ticket.pk]), {"cursor": first.next_cursor})

    shown = [m.pk for m in first.items] + [m.pk for m in older.context["conversation"].items]
    assert shown == [m.pk for m in reversed(messages)]


def test_answering_a_waiting_ticket_accepts_it_and_signs_with_the_agents_name(agent_client, agent, ticket):
    agent.first_name = "Ana"
    agent.save()

    response = agent_client.post(
        reverse("ticket-reply", args=[ticket.pk]), {"body": "Olá!"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == (Ticket.Status.OPEN, agent)
    sent = ticket.messages.get(kind=Message.Kind.TEXT)
    assert (sent.body, sent.status) == ("*Ana:*\nOlá!", Message.Status.QUEUED)
    assert list(ticket.messages.filter(kind=Message.Kind.SYSTEM).values_list("body", flat=True)) == [
        "Ana accepted the ticket"
    ]


def test_an_agent_who_turned_the_signature_off_sends_the_text_as_typed(agent_client, agent, ticket):
    from helpdesk.services import preferences_update

    preferences_update(user=agent, signature=False)
    agent_client.post(reverse("ticket-reply", args=[ticket.pk]), {"body": "Olá!"}, HTTP_HX_REQUEST="true")

    assert ticket.messages.get(kind=Message.Kind.TEXT).body == "Olá!"


def test_an_internal_note_is_never_queued(agent_client, ticket):
    agent_client.post(
        reverse("ticket-reply", args=[ticket.pk]), {"body": "VIP", "internal": "on"}, HTTP_HX_REQUEST="true"
    )

    note = ticket.messages.get()
    assert (note.kind, note.status) == (Message.Kind.NOTE, Message.Status.SENT)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.PENDING  # a note does not accept the ticket


@pytest.mark.parametrize(
    ("name", "data", "status", "error"),
    [
        ("photo.jpg", b"not a picture at all", 400, "is not a real image file"),
        ("tool.bin", b"\x7fELF\x02\x01\x01" + b"\0" * 32, 400, "Programs cannot be sent"),
    ],
)
def test_a_refused_file_says_why_beside_the_composer_and_queues_nothing(
    agent_client, ticket, name, data, status, error
):
    upload = ContentFile(data, name=name)

    response = agent_client.post(
        reverse("ticket-reply", args=[ticket.pk]), {"body": "veja", "media": upload}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == status
    assert response["HX-Retarget"] == "#composer-error"
    assert error in response.content.decode()
    assert not ticket.messages.exists()


def test_a_file_over_the_limit_is_refused_with_413(agent_client, ticket, settings):
    settings.WHATSAPP_MAX_MEDIA_MB = 0.001
    response = agent_client.post(
        reverse("ticket-reply", args=[ticket.pk]),
        {"media": ContentFile(JPEG * 30, name="big.jpg")},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 413
    assert "the most WhatsApp takes: nothing was sent" in response.content.decode()


def test_a_blocked_contact_gets_no_answer_and_the_agent_is_told(agent_client, support):
    ticket = TicketFactory(queue=support, contact=ContactFactory(blocked=True, name="Spam"))

    response = agent_client.post(
        reverse("ticket-reply", args=[ticket.pk]), {"body": "oi"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 400
    assert "Spam is blocked" in response.content.decode()
    assert not ticket.messages.exists()


@pytest.mark.parametrize(
    ("action", "status", "line"),
    [
        ("accept", Ticket.Status.OPEN, "{agent} accepted the ticket"),
        ("close", Ticket.Status.CLOSED, "{agent} closed the ticket"),
    ],
)
def test_each_action_changes_the_ticket_and_says_so_in_the_conversation(
    agent_client, agent, ticket, action, status, line, django_assert_max_num_queries
):
    with django_assert_max_num_queries(10):
        response = agent_client.post(
            reverse("ticket-action", args=[ticket.pk, action]), HTTP_HX_REQUEST="true"
        )

    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == status
    assert ticket.messages.get(kind=Message.Kind.SYSTEM).body == line.format(agent=agent.username)


def test_returning_to_waiting_and_reopening(agent_client, agent, ticket):
    ticket.status, ticket.assignee = Ticket.Status.OPEN, agent
    ticket.save()
    agent_client.post(reverse("ticket-action", args=[ticket.pk, "return"]), HTTP_HX_REQUEST="true")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == (Ticket.Status.PENDING, None)

    agent_client.post(reverse("ticket-action", args=[ticket.pk, "close"]), HTTP_HX_REQUEST="true")
    agent_client.post(reverse("ticket-action", args=[ticket.pk, "reopen"]), HTTP_HX_REQUEST="true")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == (Ticket.Status.OPEN, agent)
    assert list(ticket.messages.values_list("body", flat=True)) == [
        f"{agent.username} returned the ticket to waiting",
        f"{agent.username} closed the ticket",
        f"{agent.username} reopened the ticket",
    ]


def test_transfer_to_an_agent_gives_it_to_them_with_the_note(agent_client, agent, ticket):
    sales, bruno = QueueFactory(name="Sales"), UserFactory(username="bruno")
    sales.members.add(bruno)

    agent_client.post(
        reverse("ticket-transfer", args=[ticket.pk]),
        {"queue": sales.pk, "assignee": bruno.pk, "note": "quer desconto"},
        HTTP_HX_REQUEST="true",
    )

    ticket.refresh_from_db()
    assert (ticket.queue, ticket.assignee, ticket.status) == (sales, bruno, Ticket.Status.OPEN)
    assert list(ticket.messages.values_list("kind", "body")) == [
        (Message.Kind.SYSTEM, f"{agent.username} transferred to Sales, bruno"),
        (Message.Kind.NOTE, "quer desconto"),
    ]


def test_retry_queues_a_failed_message_once(agent_client, ticket):
    failed = MessageFactory(ticket=ticket, from_me=True, status=Message.Status.FAILED, error="offline")

    for _ in range(2):
        agent_client.post(reverse("message-retry", args=[ticket.pk, failed.pk]), HTTP_HX_REQUEST="true")

    failed.refresh_from_db()
    assert (failed.status, failed.error) == (Message.Status.QUEUED, "")
    assert ticket.messages.count() == 1


def test_a_failed_message_is_not_sent_again_to_a_contact_blocked_since(agent_client, ticket):
    failed = MessageFactory(ticket=ticket, from_me=True, status=Message.Status.FAILED, error="offline")
    ticket.contact.blocked = True
    ticket.contact.save()

    agent_client.post(reverse("message-retry", args=[ticket.pk, failed.pk]), HTTP_HX_REQUEST="true")

    failed.refresh_from_db()
    assert (failed.status, failed.error) == (Message.Status.FAILED, "offline")


def test_media_is_shown_inline_only_when_it_is_a_picture_or_sound(agent_client, ticket):
    picture = MessageFactory(ticket=ticket, kind=Message.Kind.IMAGE, mimetype="image/jpeg")
    picture.media.save("photo.jpg", ContentFile(JPEG))
    page = MessageFactory(ticket=ticket, kind=Message.Kind.DOCUMENT, mimetype="text/html", filename="x.html")
    page.media.save("x.html", ContentFile(b"<script>alert(1)</script>"))

    inline = agent_client.get(reverse("message-media", args=[ticket.pk, picture.pk]))
    download = agent_client.get(reverse("message-media", args=[ticket.pk, page.pk]))

    assert (inline["Content-Type"], inline["Content-Disposition"].split(";")[0]) == ("image/jpeg", "inline")
    assert (download["Content-Type"], download["Content-Disposition"].split(";")[0]) == (
        "application/octet-stream",
        "attachment",
    )
    assert b"".join(inline.streaming_content) == JPEG


def test_quick_replies_are_listed_for_the_composer(agent_client):
    QuickReply.objects.create(shortcut="hours", body="8 to 18")

    assert agent_client.get(reverse("quick-replies")).json() == {
        "results": [{"shortcut": "hours", "body": "8 to 18"}]
    }


def test_blocking_from_the_ticket_page_says_so_and_stops_replies(agent_client, agent, ticket):
    agent_client.post(reverse("ticket-action", args=[ticket.pk, "block"]), HTTP_HX_REQUEST="true")
    refused = agent_client.post(
        reverse("ticket-reply", args=[ticket.pk]), {"body": "oi"}, HTTP_HX_REQUEST="true"
    )
    agent_client.post(reverse("ticket-action", args=[ticket.pk, "unblock"]), HTTP_HX_REQUEST="true")

    assert refused.status_code == 400
    ticket.contact.refresh_from_db()
    assert ticket.contact.blocked is False
    assert list(ticket.messages.values_list("body", flat=True)) == [
        f"{agent.username} blocked the contact",
        f"{agent.username} unblocked the contact",
    ]


def test_the_side_panel_edits_the_contact_and_returns_to_the_ticket(agent_client, ticket):
    back = reverse("ticket", args=[ticket.pk])

    response = agent_client.post(
        reverse("contact-edit", args=[ticket.contact.pk]),
        {"name": "Maria Souza", "email": "maria@example.com", "next": back},
    )
    elsewhere = agent_client.post(
        reverse("contact-edit", args=[ticket.contact.pk]),
        {"name": "Maria", "email": "", "next": "https://evil.example/"},
    )

    assert response.url == back
    assert elsewhere.url == reverse("contact", args=[ticket.contact.pk])
    ticket.contact.refresh_from_db()
    assert ticket.contact.name == "Maria"


def test_the_live_page_reads_the_messages_stored_after_the_newest_it_shows_in_one_request(
    agent_client, ticket, django_assert_num_queries, settings
):
    shown = MessageFactory(ticket=ticket, body="já na tela")
    burst = MessageFactory.create_batch(3, ticket=ticket)
    url = reverse("ticket-messages", args=[ticket.pk])

    # session, user, whether they see every ticket, the ticket, the messages
    with django_assert_num_queries(5):
        response = agent_client.get(url, {"after": shown.pk})

    html = response.content.decode()
    assert [html.index(f'id="msg-{m.pk}"') for m in burst] == sorted(
        html.index(f'id="msg-{m.pk}"') for m in burst
    )
    assert f'id="msg-{shown.pk}"' not in html and "X-More" not in response


def test_a_burst_longer_than_a_page_says_more_follow(agent_client, ticket):
    messages = MessageFactory.create_batch(41, ticket=ticket)

    response = agent_client.get(reverse("ticket-messages", args=[ticket.pk]), {"after": 0})

    assert response["X-More"] == "1"
    assert f'id="msg-{messages[39].pk}"' in response.content.decode()
    assert f'id="msg-{messages[40].pk}"' not in response.content.decode()


@pytest.mark.parametrize("after", ["²", "x", ""])
def test_a_malformed_after_is_a_bad_request(agent_client, ticket, after):
    response = agent_client.get(reverse("ticket-messages", args=[ticket.pk]), {"after": after})

    assert response.status_code == 400


def test_an_after_beyond_any_id_answers_nothing(agent_client, ticket):
    MessageFactory(ticket=ticket)

    response = agent_client.get(reverse("ticket-messages", args=[ticket.pk]), {"after": "9" * 30})

    assert response.status_code == 200 and "msg-" not in response.content.decode()


def test_the_live_page_reads_again_what_it_let_go_from_the_oldest_it_kept(agent_client, ticket):
    messages = MessageFactory.create_batch(45, ticket=ticket)
    url = reverse("ticket-messages", args=[ticket.pk])

    older = agent_client.get(url, {"before": messages[44].pk}).content.decode()
    oldest = agent_client.get(url, {"before": messages[10].pk}).content.decode()

    shown = [int(pk) for pk in re.findall(r'id="msg-(\d+)"', older)]
    assert shown == [m.pk for m in messages[4:44]]  # a page, oldest at the top, the kept one not again
    assert 'class="older"' in older  # and more above it
    assert [int(pk) for pk in re.findall(r'id="msg-(\d+)"', oldest)] == [m.pk for m in messages[:10]]
    assert 'class="older"' not in oldest


@pytest.mark.parametrize("before", ["²", "x", "", "0", "-3", "9" * 30])
def test_a_malformed_before_is_a_bad_request(agent_client, ticket, before):
    response = agent_client.get(reverse("ticket-messages", args=[ticket.pk]), {"before": before})

    assert response.status_code == 400


def test_before_a_message_of_another_ticket_shows_nothing_of_either(agent_client, ticket):
    MessageFactory(ticket=ticket, body="deste ticket")
    elsewhere = MessageFactory(body="de outro ticket")

    response = agent_client.get(reverse("ticket-messages", args=[ticket.pk]), {"before": elsewhere.pk})

    assert response.status_code == 200 and "msg-" not in response.content.decode()
