"""SLAs: due times from the queue's promises in its business hours, the breach marked once (its
milestone, its webhook, its live event), the ticket API's fields, and the inbox's badge and filter."""

import json
import re
import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection as db
from django.db import connections
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from tests.factories import ConnectionFactory, QueueFactory
from tests.tickets.test_inbound import CUSTOMER, inbound
from tests.tickets.test_inbox_live import conversation
from tests.whatsapp.webhook_helpers import Receiver, run_tasks
from tickets import sla as tickets_sla
from tickets.inbound import message_ingest
from tickets.models import Milestone, Ticket
from tickets.outbound import message_send
from tickets.services import ticket_accept, ticket_close, ticket_reopen, ticket_transfer
from tickets.sla import overdue_tickets, sla_clock, sla_state, sla_watch
from whatsapp.models import WebhookDelivery

ZONE = ZoneInfo("America/Sao_Paulo")
WEEKDAYS = {day: [["09:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


@pytest.fixture
def queue(agent):
    """Answer within an hour, resolve within four, always open; ``agent`` works there."""
    queue = QueueFactory(sla_first_response_minutes=60, sla_resolution_minutes=240)
    queue.members.add(agent)
    return queue


@pytest.fixture
def connection(queue):
    connection = ConnectionFactory()
    connection.queues.add(queue)  # its only queue: new tickets start there
    return connection


def customer_writes(connection, *, at: datetime | None = None, minutes_ago: float = 0, n: int = 1) -> Ticket:
    """Customer ``n`` writes for the first time (at ``at``, or ``minutes_ago``): a new ticket."""
    at = at or timezone.now() - timedelta(minutes=minutes_ago)
    chat = f"55119{n:08d}@c.us" if n > 1 else CUSTOMER
    message_ingest(connection=connection, message=inbound(n, chat=chat, t=int(at.timestamp())))
    return Ticket.objects.get(contact__wa_id=chat)


# -- due times ---------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("holidays", "due_day"),
    [([], 7), (["2026-12-07"], 8)],
    ids=["due-on-monday", "monday-a-holiday-due-on-tuesday"],
)
def test_a_ticket_opened_on_friday_evening_is_due_when_the_queue_opens_again(
    settings, connection, queue, holidays, due_day
):
    settings.TIME_ZONE = "America/Sao_Paulo"
    queue.business_hours, queue.holidays = WEEKDAYS, holidays
    queue.sla_first_response_minutes, queue.sla_resolution_minutes = 30, 120
    queue.save()

    ticket = customer_writes(connection, at=datetime(2026, 12, 4, 19, 0, tzinfo=ZONE))  # a Friday, closed

    assert ticket.first_response_due == datetime(2026, 12, due_day, 9, 30, tzinfo=ZONE)
    assert ticket.resolution_due == datetime(2026, 12, due_day, 11, 0, tzinfo=ZONE)


@pytest.mark.django_db
def test_a_queue_without_promises_sets_no_due_time(connection, queue):
    queue.sla_first_response_minutes = queue.sla_resolution_minutes = None
    queue.save()

    ticket = customer_writes(connection, minutes_ago=300)

    assert (ticket.first_response_due, ticket.resolution_due) == (None, None)
    assert sla_state(ticket, timezone.now()) is None
    assert sla_watch() == 0


@pytest.mark.django_db
def test_a_transfer_to_a_queue_without_sla_clears_the_running_due_time(connection, agent):
    ticket = customer_writes(connection, minutes_ago=10)
    assert ticket.first_response_due is not None

    ticket_transfer(ticket=ticket, queue=QueueFactory(), by=agent)

    ticket.refresh_from_db()
    assert (ticket.first_response_due, ticket.resolution_due) == (None, None)
    assert sla_state(ticket, timezone.now()) is None


@pytest.mark.django_db
def test_reopening_gives_the_resolution_a_new_due_time(connection, agent):
    ticket = customer_writes(connection, minutes_ago=200)
    first_due = ticket.resolution_due
    message_send(ticket=ticket, author=agent, body="Resolvido?")  # late (due 140 min ago): breached
    ticket_close(ticket=ticket, by=agent, reason=Ticket.CloseReason.AGENT, send_farewell=False)

    before = timezone.now()
    ticket_reopen(ticket=ticket, by=agent)

    ticket.refresh_from_db()
    assert ticket.resolution_due > first_due
    assert before + timedelta(minutes=240) <= ticket.resolution_due <= timezone.now() + timedelta(minutes=240)
    assert sla_watch() == 0  # the new due time is ahead, and a breach is marked once anyway


@pytest.mark.django_db
def test_a_reopened_ticket_nobody_answered_waits_for_its_answer_from_the_reopening(connection, agent):
    ticket = customer_writes(connection, minutes_ago=30)
    ticket_close(ticket=ticket, by=agent, reason=Ticket.CloseReason.AGENT, send_farewell=False)
    time_passes(ticket, minutes=120)  # its first answer's due time passed while it was closed

    ticket_reopen(ticket=ticket, by=agent)

    ticket.refresh_from_db()
    assert ticket.first_response_due > timezone.now() + timedelta(minutes=59)
    assert sla_watch() == 0
    assert sla_state(ticket, timezone.now()) == "ok"


@pytest.mark.django_db
def test_a_reopened_ticket_moved_to_another_queue_counts_from_the_reopening(connection, agent):
    ticket = customer_writes(connection, minutes_ago=300)
    message_send(ticket=ticket, author=agent, body="Olá")
    ticket_close(ticket=ticket, by=agent, reason=Ticket.CloseReason.AGENT, send_farewell=False)
    ticket_reopen(ticket=ticket, by=agent)
    other = QueueFactory(sla_resolution_minutes=60)

    ticket_transfer(ticket=ticket, queue=other, by=agent)

    ticket.refresh_from_db()
    assert ticket.resolution_due > timezone.now() + timedelta(minutes=59)


@pytest.mark.django_db
def test_a_reopened_ticket_turns_amber_at_80_percent_of_its_business_time_from_the_reopening(
    settings, connection, queue, agent, monkeypatch
):
    settings.TIME_ZONE = "America/Sao_Paulo"
    queue.business_hours, queue.sla_first_response_minutes, queue.sla_resolution_minutes = WEEKDAYS, None, 240
    queue.save()
    clock = Clock(datetime(2026, 12, 4, 10, 0, tzinfo=ZONE), monkeypatch)  # a Friday; the queue opens 09-18
    ticket = customer_writes(connection, at=clock.now)
    clock.now = datetime(2026, 12, 4, 10, 30, tzinfo=ZONE)
    ticket_close(ticket=ticket, by=agent, reason=Ticket.CloseReason.AGENT, send_farewell=False)
    clock.now = reopening = datetime(2026, 12, 4, 14, 30, tzinfo=ZONE)

    ticket_reopen(ticket=ticket, by=agent)

    ticket = Ticket.objects.select_related("queue").get(pk=ticket.pk)
    # 210 of its 240 minutes on Friday afternoon, the last 30 on Monday morning
    assert (ticket.sla_window_start, ticket.resolution_due) == (
        reopening,
        datetime(2026, 12, 7, 9, 30, tzinfo=ZONE),
    )
    # 80 % is 192 business minutes after the reopening: on Friday at 17:42, not during the weekend
    # (80 % of the wall-clock window) nor on Monday at 08:42 (the promise counted back from the due time)
    amber = datetime(2026, 12, 4, 17, 42, tzinfo=ZONE)
    assert sla_clock(ticket, reopening).warn_at == amber
    assert sla_state(ticket, amber - timedelta(seconds=1)) == "ok"
    assert sla_state(ticket, amber) == "warning"
    assert sla_state(ticket, datetime(2026, 12, 7, 9, 29, tzinfo=ZONE)) == "warning"


class Clock:
    """The time ``timezone.now()`` tells while a test runs: ``now``, moved by hand."""

    def __init__(self, now: datetime, monkeypatch) -> None:
        self.now = now
        monkeypatch.setattr(timezone, "now", lambda: self.now)


def time_passes(ticket: Ticket, *, minutes: float) -> None:
    """As if ``minutes`` had passed since the ticket's times were written (each moved back as much)."""
    back = timedelta(minutes=minutes)
    Ticket.objects.filter(pk=ticket.pk).update(
        **{
            field: F(field) - back
            for field in (
                "first_inbound_at",
                "sla_window_start",
                "first_response_due",
                "resolution_due",
                "closed_at",
                "last_message_at",
            )
        }
    )
    ticket.refresh_from_db()


# -- the breach ----------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.usefixtures("channel_layer")
def test_the_watch_marks_a_breach_once_and_fires_its_webhook_once(
    settings, connection, queue, agent, monkeypatch, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True  # the receiver is on loopback
    receiver = Receiver([])
    connection.webhook_url = receiver.url
    connection.save()
    queued: list = []
    monkeypatch.setattr("whatsapp.webhooks.async_task", lambda func, *args: queued.append(args))
    ticket = customer_writes(connection, minutes_ago=90)  # the first answer was due 30 minutes ago
    ticket_accept(ticket=ticket, by=agent)
    on_time = customer_writes(connection, minutes_ago=10, n=2)

    try:
        with django_capture_on_commit_callbacks(execute=True):
            marked = [sla_watch(), sla_watch()]  # the next minute's run finds nothing more
        run_tasks([task for task in queued if task[1]["event"] == "ticket.sla_breached"])
    finally:
        receiver.close()

    assert marked == [1, 0]
    ticket.refresh_from_db()
    assert ticket.sla_breached_at == ticket.first_response_due  # when it was missed, not when seen
    [breach] = Milestone.objects.filter(kind=Milestone.Kind.SLA_BREACHED)
    assert (breach.ticket, breach.queue, breach.agent, breach.at) == (
        ticket,
        queue,
        agent,
        ticket.sla_breached_at,
    )
    assert WebhookDelivery.objects.filter(event="ticket.sla_breached").count() == 1
    [(_headers, body)] = receiver.requests
    payload = json.loads(body)["payload"]
    assert (payload["id"], payload["sla_breached"], payload["assignee"]) == (ticket.pk, True, agent.pk)
    on_time.refresh_from_db()
    assert on_time.sla_breached_at is None


@pytest.mark.django_db
def test_a_missed_resolution_is_a_breach_too(connection, agent):
    ticket = customer_writes(connection, minutes_ago=300)  # resolution due 60 minutes ago
    message_send(ticket=ticket, author=agent, body="Olá")  # answered (late as well)
    Ticket.objects.filter(pk=ticket.pk).update(sla_breached_at=None)  # as if only the resolution were late
    Milestone.objects.filter(kind=Milestone.Kind.SLA_BREACHED).delete()

    assert sla_watch() == 1

    ticket.refresh_from_db()
    assert ticket.sla_breached_at == ticket.first_response_due  # the earliest due time it missed


@pytest.mark.django_db
def test_a_late_answer_is_a_breach_at_once_and_stays_one(connection, agent, api):
    ticket = customer_writes(connection, minutes_ago=90)
    shown = api("GET", f"tickets/{ticket.pk}").json()
    assert shown["sla_breached"] is True  # the due time passed: breached before the watch ran
    assert shown["first_response_at"] is None

    message_send(ticket=ticket, author=agent, body="Desculpe a demora")

    ticket.refresh_from_db()
    assert ticket.sla_breached_at == ticket.first_response_due
    assert Milestone.objects.filter(kind=Milestone.Kind.SLA_BREACHED).count() == 1
    assert sla_watch() == 0
    shown = api("GET", f"tickets/{ticket.pk}").json()
    assert shown["sla_breached"] is True
    assert shown["first_response_at"] is not None


@pytest.mark.django_db
def test_an_answer_after_the_watch_marked_the_breach_leaves_it_breached(connection, agent, api):
    ticket = customer_writes(connection, minutes_ago=90)
    assert sla_watch() == 1
    ticket.refresh_from_db()
    marked = ticket.sla_breached_at

    message_send(ticket=ticket, author=agent, body="Desculpe a demora")

    ticket.refresh_from_db()
    assert ticket.sla_breached_at == marked
    assert Milestone.objects.filter(kind=Milestone.Kind.SLA_BREACHED).count() == 1
    assert api("GET", f"tickets/{ticket.pk}").json()["sla_breached"] is True


@pytest.mark.django_db
def test_an_answer_in_time_keeps_the_promise(connection, agent, api):
    ticket = customer_writes(connection, minutes_ago=10)

    message_send(ticket=ticket, author=agent, body="Olá!")
    message_send(ticket=ticket, author=None, body="Mensagem automática")

    shown = api("GET", f"tickets/{ticket.pk}").json()
    ticket.refresh_from_db()
    assert shown["first_response_due"] == ticket.first_response_due.isoformat().replace("+00:00", "Z")
    assert shown["resolution_due"] == ticket.resolution_due.isoformat().replace("+00:00", "Z")
    assert shown["first_response_at"] is not None
    assert shown["sla_breached"] is False
    assert sla_watch() == 0
    assert sla_state(ticket, timezone.now()) == "ok"  # the resolution's clock runs


@pytest.mark.django_db
def test_a_close_after_the_resolution_due_time_is_a_breach(connection, agent):
    ticket = customer_writes(connection, minutes_ago=30)
    Ticket.objects.filter(pk=ticket.pk).update(
        first_response_at=timezone.now() - timedelta(minutes=20), resolution_due=timezone.now()
    )
    ticket.refresh_from_db()

    ticket_close(ticket=ticket, by=agent, reason=Ticket.CloseReason.AGENT, send_farewell=False)

    ticket.refresh_from_db()
    assert ticket.sla_breached_at == ticket.resolution_due


@pytest.mark.django_db
def test_a_ticket_closed_in_time_without_an_answer_is_not_breached(connection, agent, agent_client, api):
    ticket = customer_writes(connection, minutes_ago=10)
    ticket_close(ticket=ticket, by=agent, reason=Ticket.CloseReason.AGENT, send_farewell=False)

    time_passes(ticket, minutes=600)

    assert api("GET", f"tickets/{ticket.pk}").json()["sla_breached"] is False
    assert sla_state(ticket, timezone.now()) is None
    closed = agent_client.get(reverse("inbox"), {"tab": "closed", "sla": "breached"})
    assert list(closed.context["page"].items) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("channel_layer")
def test_a_breach_reaches_the_inbox_live(agent_client, connection):
    ticket = customer_writes(connection, minutes_ago=90)

    received = conversation(agent_client, sla_watch)

    assert {"type": "ticket.changed", "ticket": ticket.pk} in [
        {"type": event["type"], "ticket": event.get("ticket")} for event in received
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("channel_layer")
def test_a_first_response_reaches_the_open_ticket_live(agent_client, connection, agent):
    ticket = customer_writes(connection, minutes_ago=5)
    ticket_accept(ticket=ticket, by=agent)  # already open: the answer changes nothing else of it

    received = conversation(agent_client, lambda: message_send(ticket=ticket, author=agent, body="Olá!"))

    # its header and details come again: the badge counts to the resolution now, who answered shows
    assert {"type": "ticket.changed", "ticket": ticket.pk} in [
        {"type": event["type"], "ticket": event.get("ticket")} for event in received
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(db.vendor != "postgresql", reason="two watchers at once need PostgreSQL's row locks")
def test_two_watchers_at_once_mark_the_breach_once(connection, monkeypatch):
    ticket = customer_writes(connection, minutes_ago=90)
    both_read = threading.Barrier(2, timeout=10)
    missed_at = tickets_sla.sla_missed_at

    def read_by_both(ticket, now):  # both have read the ticket unmarked before either marks it
        both_read.wait()
        return missed_at(ticket, now)

    monkeypatch.setattr(tickets_sla, "sla_missed_at", read_by_both)
    results: list[int] = []

    def watcher() -> None:
        try:
            results.append(sla_watch())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=watcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sorted(results) == [0, 1]
    assert Milestone.objects.filter(ticket=ticket, kind=Milestone.Kind.SLA_BREACHED).count() == 1


@pytest.mark.django_db
@pytest.mark.skipif(db.vendor != "postgresql", reason="PostgreSQL's plans")
def test_the_watch_reads_through_the_two_partial_indexes():
    with db.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # few rows: the planner would rather scan
        first, resolution = (overdue.values("pk").explain() for overdue in overdue_tickets(timezone.now()))

    assert "Index Scan using tickets_sla_first_response_idx" in first, first
    assert "Index Scan using tickets_sla_resolution_idx" in resolution, resolution
    assert "Sort" not in first + resolution  # read in the index's order


# -- the inbox --------------------------------------------------------------------------------------
def badges(html: str) -> dict[int, tuple[str, str]]:
    """Each row's SLA badge: ticket id -> (state, text)."""
    found = {}
    for row in re.findall(r'<li class="ticket-row".*?</li>', html, re.S):
        ticket = int(re.search(r'data-ticket="(\d+)"', row).group(1))
        badge = re.search(r'data-sla="(\w+)"[^>]*>([^<]*)<', row)
        found[ticket] = (badge.group(1), badge.group(2)) if badge else None
    return found


@pytest.mark.django_db
def test_inbox_rows_show_the_time_left_amber_near_the_end_and_red_once_breached(
    agent_client, connection, agent
):
    ok = customer_writes(connection, minutes_ago=10, n=1)
    warning = customer_writes(connection, minutes_ago=50, n=2)  # in the last fifth of its hour
    breached = customer_writes(connection, minutes_ago=90, n=3)
    plain_queue = QueueFactory()
    plain_queue.members.add(agent)
    no_sla = customer_writes(connection, minutes_ago=90, n=4)
    ticket_transfer(ticket=no_sla, queue=plain_queue, by=agent)

    page = agent_client.get(reverse("inbox")).content.decode()

    assert badges(page) == {
        ok.pk: ("ok", "50 min"),
        warning.pk: ("warning", "10 min"),
        breached.pk: ("breached", "breached"),
        no_sla.pk: None,
    }
    in_portuguese = agent_client.get(reverse("inbox"), HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    assert badges(in_portuguese)[breached.pk] == ("breached", "estourado")


@pytest.mark.django_db
def test_the_breached_filter_shows_only_breached_tickets(agent_client, connection, agent):
    customer_writes(connection, minutes_ago=10, n=1)
    late = customer_writes(connection, minutes_ago=90, n=2)  # not marked yet: the watch has not run
    answered_late = customer_writes(connection, minutes_ago=90, n=3)
    message_send(ticket=answered_late, author=agent, body="Desculpe")
    ticket_accept(ticket=answered_late, by=agent)

    waiting = agent_client.get(reverse("inbox"), {"sla": "breached"})
    mine = agent_client.get(reverse("inbox"), {"sla": "breached", "tab": "mine"})
    options = agent_client.get(reverse("inbox-filters"), {"sla": "breached"}).content.decode()

    assert [ticket.pk for ticket in waiting.context["page"].items] == [late.pk]
    assert [ticket.pk for ticket in mine.context["page"].items] == [answered_late.pk]
    assert '<option value="breached" selected>' in options


@pytest.mark.django_db
def test_the_sla_badges_cost_the_inbox_no_query(agent_client, connection, agent, django_assert_num_queries):
    for n in range(1, 16):
        customer_writes(connection, minutes_ago=n * 6, n=n)
    reopened = customer_writes(connection, minutes_ago=30, n=20)
    ticket_close(ticket=reopened, by=agent, reason=Ticket.CloseReason.AGENT, send_farewell=False)
    ticket_reopen(ticket=reopened, by=agent)
    Ticket.objects.filter(pk=reopened.pk).update(status=Ticket.Status.PENDING, assignee=None)

    # session, user, whether they see every ticket, the user's preferences (muted?), the tabs' counts,
    # the page of tickets with their relations
    with django_assert_num_queries(6):
        page = agent_client.get(reverse("inbox")).content.decode()

    states = [badge[0] for badge in badges(page).values()]
    assert {"ok", "warning", "breached"} <= set(states) and len(states) == 16


# -- the ticket page ----------------------------------------------------------------------------------
def ticket_head(html: str) -> str:
    return re.search(r'<header class="ticket-head".*?</header>', html, re.S).group(0)


def sla_details(html: str) -> dict[str, str]:
    """The side's SLA details: each term -> its text (tags dropped, spaces collapsed)."""
    section = re.search(r'<section id="ticket-sla".*?</section>', html, re.S).group(0)
    pairs = re.findall(r"<dt>(.*?)</dt><dd[^>]*>(.*?)</dd>", section, re.S)
    return {term: " ".join(re.sub(r"<[^>]+>", "", text).split()) for term, text in pairs}


def local(moment: datetime) -> str:
    """``moment`` as the Portuguese page writes it, in São Paulo."""
    return moment.astimezone(ZONE).strftime("%d/%m/%Y %H:%M")


@pytest.mark.django_db
def test_the_ticket_page_shows_the_badge_and_the_due_times_in_the_viewers_language_and_time_zone(
    settings, agent_client, connection, agent
):
    settings.TIME_ZONE = "America/Sao_Paulo"
    agent.first_name, agent.last_name = "Ana", "Souza"
    agent.save()
    ticket = customer_writes(connection, minutes_ago=90)
    message_send(ticket=ticket, author=agent, body="Desculpe a demora")  # late: breached at its due time
    ticket.refresh_from_db()

    page = agent_client.get(
        reverse("ticket", args=[ticket.pk]), HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="pt-br"
    ).content.decode()

    assert re.search(r'data-sla="breached"[^>]*>estourado<', ticket_head(page))
    assert sla_details(page) == {
        "Primeira resposta até": local(ticket.first_response_due),
        "Primeira resposta": f"respondida em {local(ticket.first_response_at)} por Ana Souza",
        "Resolução até": local(ticket.resolution_due),
        "SLA": f"estourado em {local(ticket.first_response_due)}",
    }


@pytest.mark.django_db
def test_the_ticket_page_counts_down_like_the_inbox_row(agent_client, connection):
    ticket = customer_writes(connection, minutes_ago=50)  # in the last fifth of its hour

    page = agent_client.get(reverse("ticket", args=[ticket.pk])).content.decode()

    head = ticket_head(page)
    badge = re.search(
        r'<span class="sla sla-warning" data-sla="warning" data-due="([^"]+)" data-warn="([^"]+)"', head
    )
    assert badge and re.search(r'data-sla="warning"[^>]*>10 min<', head)
    assert datetime.fromisoformat(badge.group(1)) == ticket.first_response_due
    assert datetime.fromisoformat(badge.group(2)) == ticket.first_response_due - timedelta(minutes=12)
    assert badges(page)[ticket.pk] == ("warning", "10 min")  # the row beside it says the same
    assert set(sla_details(page)) == {
        "First response due",
        "Resolution due",
    }  # nothing answered or broken yet
    for script_reads in ("data-sla-minutes", "data-sla-breached"):  # the page's countdown texts
        assert script_reads in page


@pytest.mark.django_db
def test_the_header_brings_the_sla_details_when_the_ticket_changes(agent_client, connection, agent):
    ticket = customer_writes(connection, minutes_ago=10)
    assert "answered" not in str(
        sla_details(agent_client.get(reverse("ticket", args=[ticket.pk])).content.decode())
    )

    message_send(ticket=ticket, author=agent, body="Olá!")
    live = agent_client.get(reverse("ticket-head", args=[ticket.pk]), HTTP_HX_REQUEST="true").content.decode()
    acted = agent_client.post(reverse("ticket-action", args=[ticket.pk, "accept"]), HTTP_HX_REQUEST="true")

    for answer in (live, acted.content.decode()):
        assert '<section id="ticket-sla" class="sla-details" hx-swap-oob="true">' in answer
        assert sla_details(answer)["First response"].startswith("answered at ")
        assert re.search(r'data-sla="ok"[^>]*>\d+ h<', ticket_head(answer))  # the resolution's clock runs
