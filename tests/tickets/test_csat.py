"""Customer satisfaction: asked when an agent closes, answered 1 to 5 without reopening (tickets/csat.py)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from tests.factories import ConnectionFactory, QueueFactory, TicketFactory
from tests.tickets.test_inbound import inbound
from tickets.audit.stale import tickets_close_stale
from tickets.csat import CSAT_COMMENT_MINUTES, rating_of
from tickets.inbound import chat_messages_ingest, message_ingest
from tickets.models import Message, Milestone, Ticket
from tickets.services import ticket_assign, ticket_close, ticket_reopen
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db
THANKS = "Thank you for your rating!"
ASKED = "How would you rate our service? Please answer with a number from 1 (very bad) to 5 (excellent)."


def said(ticket: Ticket) -> list[str]:
    """What the helpdesk sent the customer by itself (no author), in order."""
    sent = ticket.messages.filter(from_me=True, author=None, kind=Message.Kind.TEXT)
    return list(sent.order_by("id").values_list("body", flat=True))


def closed_by_agent(agent, **connection) -> Ticket:
    """The customer wrote, ``agent`` took the ticket and closed it (the page's reason)."""
    ticket = message_ingest(
        connection=ConnectionFactory(**{"csat_enabled": True, **connection}), message=inbound(1, body="Oi")
    ).ticket
    ticket_assign(ticket=ticket, assignee=agent, by=agent)
    return ticket_close(ticket=ticket, by=agent, reason=Ticket.CloseReason.AGENT)


def answer(ticket: Ticket, number: int, body: str = "", **fields) -> Ticket:
    """The customer's message ``number`` arrives; the ticket it went to, as stored."""
    return message_ingest(connection=ticket.connection, message=inbound(number, body=body, **fields)).ticket


def test_an_agents_close_asks_after_the_farewell_and_not_as_a_first_response(agent):
    ticket = closed_by_agent(agent, farewell="Tchau, {{name}}!")

    assert said(ticket) == ["Tchau, Maria!", ASKED]
    assert Ticket.objects.get(pk=ticket.pk).csat_asked_at is not None
    assert Ticket.objects.get(pk=ticket.pk).first_response_at is None


def test_the_question_is_the_connections_own_or_the_helpdesks_in_its_language(agent, settings):
    own = closed_by_agent(agent, csat_question="De 1 a 5, {{name}}, que nota nos dá? (#{{protocol}})")
    assert said(own) == [f"De 1 a 5, Maria, que nota nos dá? (#{own.pk})"]

    settings.LANGUAGE_CODE = "pt-br"
    helpdesks = closed_by_agent(agent)
    assert said(helpdesks) == [
        "Como você avalia o nosso atendimento? Responda com um número de 1 (muito ruim) a 5 (excelente)."
    ]


def test_closing_on_the_page_and_through_the_api_asks(staff_client, api):
    on_page, through_api = (
        TicketFactory(status=Ticket.Status.OPEN, connection=ConnectionFactory(csat_enabled=True))
        for _ in range(2)
    )

    staff_client.post(reverse("ticket-action", args=[on_page.pk, "close"]), HTTP_HX_REQUEST="true")
    api("POST", f"tickets/{through_api.pk}/close", {})

    assert said(on_page) == [ASKED] and said(through_api) == [ASKED]


@pytest.mark.parametrize("reason", [Ticket.CloseReason.AUDIT, Ticket.CloseReason.ADMIN])
def test_the_audit_and_the_admin_do_not_ask(agent, reason):
    ticket = TicketFactory(status=Ticket.Status.OPEN, connection=ConnectionFactory(csat_enabled=True))

    ticket_close(ticket=ticket, by=None if reason == Ticket.CloseReason.AUDIT else agent, reason=reason)

    assert said(ticket) == []
    assert Ticket.objects.get(pk=ticket.pk).csat_asked_at is None


def test_the_audits_stale_close_does_not_ask():
    stale = TicketFactory(
        connection=ConnectionFactory(
            csat_enabled=True, farewell="Tchau!", status=Connection.Status.CONNECTED
        ),
        last_message_at=timezone.now() - timedelta(days=3),
    )

    tickets_close_stale(before=timezone.now() - timedelta(days=1), ignore_waiting=False, farewell=True)

    assert said(stale) == ["Tchau!"]


def test_nothing_is_asked_when_the_connection_does_not_ask_nor_of_a_blocked_contact(agent):
    quiet = closed_by_agent(agent, csat_enabled=False)
    assert said(quiet) == []

    blocked = TicketFactory(
        status=Ticket.Status.OPEN, connection=ConnectionFactory(csat_enabled=True), contact__blocked=True
    )
    ticket_close(ticket=blocked, by=agent, reason=Ticket.CloseReason.API)
    assert said(blocked) == []


def test_a_5_is_kept_without_reopening_thanked_once_and_a_comment_after_it_too(agent):
    ticket = closed_by_agent(agent)

    answer(ticket, 2, "5")
    answer(ticket, 3, "Muito bem atendido, obrigado")

    ticket.refresh_from_db()
    assert (ticket.status, ticket.unread_count, ticket.reopen_count) == (Ticket.Status.CLOSED, 0, 0)
    assert (ticket.csat_rating, ticket.csat_comment) == (5, "Muito bem atendido, obrigado")
    assert ticket.csat_rated_at is not None
    assert said(ticket) == [ASKED, THANKS]
    received = ticket.messages.filter(from_me=False).order_by("id").values_list("body", flat=True)
    assert list(received) == ["Oi", "5", "Muito bem atendido, obrigado"]
    rated = Milestone.objects.get(ticket=ticket, kind=Milestone.Kind.RATED)
    assert (rated.rating, rated.agent) == (5, agent)
    assert not Milestone.objects.filter(ticket=ticket, kind=Milestone.Kind.REOPENED).exists()

    answer(ticket, 4, "Ah, e outra coisa")  # a second text is no comment: it reopens, as any message

    ticket.refresh_from_db()
    assert (ticket.status, ticket.unread_count, ticket.csat_comment) == (
        Ticket.Status.OPEN,
        1,
        "Muito bem atendido, obrigado",
    )


def test_a_rating_its_comment_and_a_question_in_one_batch(agent):
    ticket = closed_by_agent(agent)

    chat_messages_ingest(
        connection=ticket.connection,
        chat=ticket.contact.wa_id,
        messages=[inbound(2, body="4️⃣"), inbound(3, body="demorou um pouco"), inbound(4, body="e o boleto?")],
    )

    ticket.refresh_from_db()
    assert (ticket.csat_rating, ticket.csat_comment) == (4, "demorou um pouco")
    assert (ticket.status, ticket.unread_count) == (Ticket.Status.OPEN, 1)
    assert said(ticket) == [ASKED, THANKS]


@pytest.fixture
def rated_events(monkeypatch):
    """The ``ticket.rated`` webhook events queued so far (when their change committed): (rating, comment) each."""
    queued: list[dict] = []
    monkeypatch.setattr("whatsapp.webhooks.async_task", lambda func, *args: queued.append(args[1]))

    def sent() -> list[tuple[int, str]]:
        rated = [envelope["payload"] for envelope in queued if envelope["event"] == "ticket.rated"]
        return [(payload["csat_rating"], payload["csat_comment"]) for payload in rated]

    return sent


def test_a_rating_tells_the_webhook_once_and_its_comment_once_more(
    agent, rated_events, django_capture_on_commit_callbacks
):
    ticket = closed_by_agent(agent, webhook_url="https://hooks.example.com/helpdesk")

    with django_capture_on_commit_callbacks(execute=True):
        answer(ticket, 2, "5")
        answer(ticket, 3, "5")  # a double tap changes nothing: nothing to tell
    assert rated_events() == [(5, "")]

    with django_capture_on_commit_callbacks(execute=True):
        answer(ticket, 4, "Muito bem atendido")
    assert rated_events() == [(5, ""), (5, "Muito bem atendido")]  # as Chatwoot updates its survey's answer

    with django_capture_on_commit_callbacks(execute=True):
        answer(ticket, 5, "e o boleto?")  # no answer: reopens, rates nothing
    assert len(rated_events()) == 2


def test_a_rating_and_its_comment_in_one_batch_tell_the_webhook_once(
    agent, rated_events, django_capture_on_commit_callbacks
):
    ticket = closed_by_agent(agent, webhook_url="https://hooks.example.com/helpdesk")

    with django_capture_on_commit_callbacks(execute=True):
        chat_messages_ingest(
            connection=ticket.connection,
            chat=ticket.contact.wa_id,
            messages=[inbound(2, body="⭐⭐⭐"), inbound(3, body="podia ser mais rápido")],
        )

    assert rated_events() == [(3, "podia ser mais rápido")]


@pytest.mark.parametrize(
    "body", ["10", "5 stars!!!", "great", "0", "5.0", "nota 5", "⭐⭐⭐⭐⭐⭐", "²", "５"]
)
def test_anything_else_reopens_the_ticket_as_today(agent, body):
    ticket = closed_by_agent(agent)

    again = answer(ticket, 2, body)

    assert again.pk == ticket.pk
    ticket.refresh_from_db()
    assert (ticket.status, ticket.csat_rating, ticket.unread_count) == (Ticket.Status.OPEN, None, 1)
    assert said(ticket) == [ASKED]


def test_a_sticker_reopens_the_ticket(agent):
    ticket = closed_by_agent(agent)

    answer(ticket, 2, type="sticker", mimetype="image/webp")

    ticket.refresh_from_db()
    assert (ticket.status, ticket.csat_rating) == (Ticket.Status.OPEN, None)


def test_the_first_rating_wins_and_a_second_one_changes_nothing(agent):
    ticket = closed_by_agent(agent)

    answer(ticket, 2, "2")
    answer(ticket, 3, "five")

    ticket.refresh_from_db()
    assert (ticket.status, ticket.csat_rating, ticket.csat_comment) == (Ticket.Status.CLOSED, 2, "")
    assert said(ticket) == [ASKED, THANKS]
    assert Milestone.objects.filter(ticket=ticket, kind=Milestone.Kind.RATED).count() == 1
    assert ticket.messages.filter(body="five").exists()


def test_a_comment_after_the_few_minutes_reopens(agent):
    ticket = closed_by_agent(agent)
    answer(ticket, 2, "3")
    Ticket.objects.filter(pk=ticket.pk).update(
        csat_rated_at=timezone.now() - timedelta(minutes=CSAT_COMMENT_MINUTES + 1)
    )

    answer(ticket, 3, "podia ser melhor")

    ticket.refresh_from_db()
    assert (ticket.status, ticket.csat_rating, ticket.csat_comment) == (Ticket.Status.OPEN, 3, "")


def test_a_rating_after_the_reopen_window_starts_a_new_ticket(agent, settings):
    settings.TICKET_REOPEN_WINDOW = 2 * 3600
    ticket = closed_by_agent(agent)
    long_ago = timezone.now() - timedelta(hours=3)
    Ticket.objects.filter(pk=ticket.pk).update(closed_at=long_ago, csat_asked_at=long_ago)

    new = answer(ticket, 2, "5")

    assert new.pk != ticket.pk and new.status == Ticket.Status.PENDING
    assert Ticket.objects.get(pk=ticket.pk).csat_rating is None
    assert new.csat_rating is None


def test_after_a_close_that_did_not_ask_a_5_reopens(agent):
    """Asked at an agent's close, reopened, then closed by the admin: that close asked nothing."""
    ticket = closed_by_agent(agent)
    ticket_reopen(ticket=ticket, by=agent)
    ticket_close(ticket=ticket, by=agent, reason=Ticket.CloseReason.ADMIN)

    answer(ticket, 2, "5")

    ticket.refresh_from_db()
    assert (ticket.status, ticket.csat_rating) == (Ticket.Status.OPEN, None)


def test_a_rated_ticket_closed_again_is_not_asked_again(agent):
    ticket = closed_by_agent(agent)
    answer(ticket, 2, "5")
    ticket_reopen(ticket=Ticket.objects.get(pk=ticket.pk), by=agent)

    ticket_close(ticket=Ticket.objects.get(pk=ticket.pk), by=agent, reason=Ticket.CloseReason.AGENT)

    assert said(ticket) == [ASKED, THANKS]


def test_a_1_to_a_closed_ticket_that_showed_the_menu_is_a_rating_not_a_choice(agent):
    connection = ConnectionFactory(csat_enabled=True)
    connection.queues.add(QueueFactory(name="Vendas", ordering=1), QueueFactory(name="Suporte", ordering=2))
    ticket = message_ingest(connection=connection, message=inbound(1, body="Oi")).ticket
    assert ticket.menu_sent_at is not None
    ticket_close(ticket=ticket, by=agent, reason=Ticket.CloseReason.AGENT)

    answer(ticket, 2, "1")

    ticket.refresh_from_db()
    assert (ticket.status, ticket.csat_rating, ticket.queue) == (Ticket.Status.CLOSED, 1, None)


def test_the_rating_shows_on_the_ticket_page_and_in_the_api(agent, staff_client, api):
    ticket = closed_by_agent(agent)
    head = reverse("ticket-head", args=[ticket.pk])
    assert "data-csat" not in staff_client.get(head).content.decode()

    answer(ticket, 2, "4")
    answer(ticket, 3, "Rápido <b>e</b> gentil")

    page = staff_client.get(head).content.decode()
    assert 'data-csat="4"' in page and page.count('class="on"') == 4 and page.count('class="off"') == 1
    assert "Rated 4 of 5 by the customer" in page and "Rápido &lt;b&gt;e&lt;/b&gt; gentil" in page
    in_portuguese = staff_client.get(head, HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    assert "Avaliado pelo cliente com 4 de 5" in in_portuguese
    shown = api("GET", f"tickets/{ticket.pk}").json()
    assert (shown["csat_rating"], shown["csat_comment"]) == (4, "Rápido <b>e</b> gentil")
    assert shown["status"] == "closed"


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("1", 1),
        (" 5. ", 5),
        ("*3*", 3),
        ("5!!!", 5),
        ("5️⃣", 5),
        ("2⃣", 2),
        ("Cinco!", 5),
        ("TRÊS", 3),
        ("tres", 3),
        ("duas", 2),
        ("Four.", 4),
        ("⭐⭐⭐⭐", 4),
        ("⭐️", 1),
    ],
)
def test_the_forms_a_rating_takes(text, rating):
    assert rating_of(text) == rating


@pytest.mark.parametrize(
    "text", ["", " ", ".", "6", "0", "10", "55", "5 stars", "5/5", "1️⃣0", "#️⃣", "⭐" * 6, "１", "٥", "seis"]
)
def test_what_is_no_rating(text):
    assert rating_of(text) is None


REPLIES = st.one_of(
    st.sampled_from(["5", "5️⃣", " três! ", "⭐⭐", "10", "5 stars!!!", "\x005", "5\x00", "\ud800", "５", ""]),
    st.text(alphabet=st.sampled_from("12345 .!*⭐\ufe0f\u20e3abcinotuw"), max_size=6),
    st.text(max_size=12),
)


@examples(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=REPLIES)
def test_any_reply_is_either_a_kept_rating_or_an_ordinary_message(agent, body):
    """Whatever the customer sends, the ticket is rated and stays closed, or it reopens unrated, as
    the stored text (after the wire module's checks) says: never both, never an error."""
    ticket = closed_by_agent(agent)

    answer(ticket, 2, body)

    ticket.refresh_from_db()
    stored = ticket.messages.filter(from_me=False).order_by("id").last()
    rating = rating_of(stored.body)
    if rating is None:
        assert (ticket.status, ticket.csat_rating) == (Ticket.Status.OPEN, None)
    else:
        assert (ticket.status, ticket.csat_rating, ticket.unread_count) == (Ticket.Status.CLOSED, rating, 0)
