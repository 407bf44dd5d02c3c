"""The overview as the team's wall: per queue who is online and who waits, the agents' presence and
open tickets, today's figures; each reader sees their own queues only, in a fixed number of queries
(helpdesk/overview.py, docs/overview.md)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from helpdesk.models import AgentSocket, AgentState
from helpdesk.overview import local_midnight, sla_at_risk_q
from tests.factories import QueueFactory, TicketFactory, UserFactory
from tickets.models import Milestone, Ticket

pytestmark = pytest.mark.django_db


def online(*users, away: bool = False, idle: bool = False) -> None:
    """``users`` have an inbox page open (their socket's row), as the presence tracking writes it."""
    now = timezone.now()
    for user in users:
        AgentSocket.objects.create(user=user, channel_name=f"page-{user.pk}", seen_at=now)
        AgentState.objects.update_or_create(
            user=user, defaults={"away": away, "last_activity_at": now - timedelta(hours=1 if idle else 0)}
        )


def queue_row(page: str, queue) -> str:
    """The HTML of ``queue``'s row on the wall."""
    start = page.index(f'data-overview-queue="{queue.pk}"')
    return page[start : page.index("</tr>", start)]


def figure(row: str, name: str) -> str:
    start = row.index(f'data-figure="{name}"')
    return row[row.index(">", start) + 1 : row.index("<", start)]


def test_each_queue_shows_its_members_online_its_waiting_tickets_and_the_longest_wait(client, supervisor):
    support, sales = QueueFactory(name="Support"), QueueFactory(name="Sales")
    ana, bruno, carla, dora = (UserFactory(first_name=name) for name in ("Ana", "Bruno", "Carla", "Dora"))
    support.members.add(ana, bruno, carla)
    sales.members.add(ana)
    online(ana, bruno)
    online(carla, away=True)  # a page open, but away: not counted online
    started = timezone.now() - timedelta(minutes=42)
    TicketFactory(queue=support, status=Ticket.Status.PENDING, waiting_since=started)
    TicketFactory(queue=support, status=Ticket.Status.PENDING)
    TicketFactory(queue=support, status=Ticket.Status.OPEN, assignee=ana)
    TicketFactory(queue=support, status=Ticket.Status.CLOSED)

    page = client.get(reverse("home")).content.decode()

    row = queue_row(page, support)
    assert (figure(row, "queue-online"), figure(row, "queue-waiting")) == ("2", "2")
    assert f'<time datetime="{timezone.localtime(started).isoformat()}">42\xa0minutes</time>' in row
    row = queue_row(page, sales)
    assert (figure(row, "queue-online"), figure(row, "queue-waiting")) == ("1", "0")
    assert dora.first_name not in page  # in no queue: not one of the wall's agents


def test_agents_are_listed_online_then_away_then_offline_with_their_open_tickets(client, supervisor):
    queue = QueueFactory()
    ana, bruno, carla = (UserFactory(first_name=name) for name in ("Ana", "Bruno", "Carla"))
    queue.members.add(ana, bruno, carla)
    online(carla)
    online(ana, idle=True)  # no activity for an hour: away
    TicketFactory.create_batch(2, queue=queue, status=Ticket.Status.OPEN, assignee=carla)
    TicketFactory(queue=queue, status=Ticket.Status.CLOSED, assignee=carla)

    agents = client.get(reverse("overview")).context["wall"].agents

    assert [(a.name, a.presence, a.open_tickets) for a in agents] == [
        ("Carla", "online", 2),
        ("Ana", "away", 0),
        ("Bruno", "offline", 0),
    ]


def test_the_wall_speaks_portuguese_to_a_portuguese_browser(client, supervisor):
    queue = QueueFactory()
    queue.members.add(UserFactory())
    TicketFactory.create_batch(3, queue=queue, status=Ticket.Status.PENDING)

    page = client.get(reverse("overview"), HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()

    assert figure(queue_row(page, queue), "queue-waiting") == "3"
    for text in ("Hoje", "conversas abertas", "Maior espera", "SLAs em risco", "Presença", "Offline"):
        assert text in page


def no_queue_row(page: str) -> str:
    start = page.index("data-overview-no-queue")
    return page[start : page.index("</tr>", start)]


def test_tickets_without_a_queue_have_their_own_line_while_any_is_under_way(client, supervisor):
    queue = QueueFactory()
    TicketFactory(queue=queue, status=Ticket.Status.PENDING)
    assert "data-overview-no-queue" not in client.get(reverse("overview")).content.decode()

    started = timezone.now() - timedelta(minutes=12)
    TicketFactory(queue=None, status=Ticket.Status.PENDING, waiting_since=started)
    TicketFactory(queue=None, status=Ticket.Status.PENDING)
    TicketFactory(queue=None, status=Ticket.Status.OPEN, assignee=UserFactory())  # under way, not waiting
    TicketFactory(queue=None, status=Ticket.Status.CLOSED)

    page = client.get(reverse("overview")).content.decode()

    row = no_queue_row(page)
    assert ">No queue<" in row
    assert (figure(row, "queue-waiting"), figure(row, "queue-sla-at-risk")) == ("2", "0")  # no SLA: no queue
    assert f'<time datetime="{timezone.localtime(started).isoformat()}">12\xa0minutes</time>' in row
    assert figure(queue_row(page, queue), "queue-waiting") == "1"  # the queue's own line is unchanged
    assert page.count("data-overview-queue=") == 1  # a line, not a queue


def test_a_line_of_closed_tickets_without_a_queue_is_not_shown(client, supervisor):
    TicketFactory(queue=None, status=Ticket.Status.CLOSED)

    assert "data-overview-no-queue" not in client.get(reverse("overview")).content.decode()


def test_an_agent_sees_the_no_queue_line_as_their_inbox_shows_them_those_tickets(client):
    """Tickets no queue has taken are every agent's to see (docs/decisions.md), so their line is too,
    even for an agent in no queue yet; in Portuguese as well."""
    agent = UserFactory()
    TicketFactory.create_batch(3, queue=None, status=Ticket.Status.PENDING)
    client.force_login(agent)

    page = client.get(reverse("overview"), HTTP_ACCEPT_LANGUAGE="pt-BR").content.decode()

    assert figure(no_queue_row(page), "queue-waiting") == "3"
    assert ">Sem fila<" in no_queue_row(page)
    assert len(client.get(reverse("inbox"), {"tab": "waiting"}).context["page"].items) == 3


NOW = datetime(2026, 3, 10, 15, 0, tzinfo=ZoneInfo("UTC"))
REOPENED = {"first_inbound_at": NOW - timedelta(days=2), "sla_window_start": NOW - timedelta(minutes=10)}


@pytest.mark.parametrize(
    ("fields", "at_risk"),
    [
        # The customer wrote 90 minutes before NOW: a due time at NOW + x gives 90 + x minutes.
        ({"first_response_due": NOW + timedelta(minutes=10)}, True),  # 10 of 100 minutes left
        ({"first_response_due": NOW + timedelta(minutes=30)}, False),  # 30 of 120: 25 % left
        ({"first_response_due": NOW + timedelta(minutes=22, seconds=30)}, True),  # exactly 20 % left
        ({"first_response_due": NOW + timedelta(minutes=23)}, False),  # 23 of 113: just over 20 %
        ({"first_response_due": NOW - timedelta(minutes=1)}, True),  # passed, still unanswered
        ({"first_response_due": NOW + timedelta(minutes=5), "first_response_at": NOW}, False),  # met
        ({"resolution_due": NOW + timedelta(minutes=5)}, True),
        ({"resolution_due": NOW + timedelta(hours=5)}, False),
        ({"resolution_due": NOW - timedelta(hours=1), "status": Ticket.Status.CLOSED}, False),
        ({"resolution_due": NOW - timedelta(hours=1), "sla_breached_at": NOW}, True),  # breached, not met
        ({}, False),  # no promise
        # The customer first wrote two days ago and the ticket was reopened 10 minutes before NOW: its
        # new resolution window counts from the reopening (sla_window_start), so 230 of its 240 minutes
        # left is not at risk; 2 of 12 is.
        (REOPENED | {"resolution_due": NOW + timedelta(minutes=230)}, False),
        (REOPENED | {"resolution_due": NOW + timedelta(minutes=2)}, True),
    ],
)
def test_an_sla_is_at_risk_in_the_last_fifth_of_its_time_or_once_passed_until_met(fields, at_risk):
    ticket = TicketFactory(**{"first_inbound_at": NOW - timedelta(minutes=90), **fields})

    assert Ticket.objects.filter(sla_at_risk_q(now=NOW), pk=ticket.pk).exists() is at_risk


def test_the_queue_counts_its_slas_at_risk(client, supervisor):
    queue = QueueFactory()
    now = timezone.now()
    TicketFactory(
        queue=queue,
        first_inbound_at=now - timedelta(minutes=58),
        first_response_due=now + timedelta(minutes=2),
    )
    TicketFactory(
        queue=queue,
        first_inbound_at=now - timedelta(minutes=5),
        first_response_due=now + timedelta(minutes=55),
    )

    page = client.get(reverse("overview")).content.decode()

    assert figure(queue_row(page, queue), "queue-sla-at-risk") == "1"


def test_today_counts_openings_closings_and_ratings_since_midnight_in_the_helpdesks_time_zone(
    client, supervisor, settings
):
    settings.TIME_ZONE = "America/Sao_Paulo"
    now = timezone.now()
    midnight = local_midnight(now)
    assert midnight.utcoffset() == timedelta(hours=-3) and midnight.hour == 0
    ticket = TicketFactory()

    def milestone(kind, at, **fields):
        Milestone.objects.create(ticket=ticket, connection=ticket.connection, kind=kind, at=at, **fields)

    milestone(Milestone.Kind.OPENED, midnight - timedelta(minutes=1))  # yesterday, local time
    milestone(Milestone.Kind.OPENED, midnight)  # counts from midnight on
    milestone(Milestone.Kind.OPENED, now)
    milestone(Milestone.Kind.CLOSED, now)
    milestone(Milestone.Kind.RATED, now, rating=5)
    milestone(Milestone.Kind.RATED, now, rating=4)
    milestone(Milestone.Kind.RATED, midnight - timedelta(hours=1), rating=1)

    today = client.get(reverse("overview")).context["wall"].today

    assert (today.opened, today.closed, today.csat_average, today.csat_responses) == (2, 1, 4.5, 2)


def test_an_agent_sees_only_their_queues_and_their_colleagues(client):
    agent, colleague, stranger = (
        UserFactory(),
        UserFactory(first_name="Colleague"),
        UserFactory(first_name="Stranger"),
    )
    mine, other = QueueFactory(), QueueFactory()
    mine.members.add(agent, colleague)
    other.members.add(stranger)
    TicketFactory.create_batch(4, queue=other, status=Ticket.Status.PENDING)
    TicketFactory(queue=other, status=Ticket.Status.OPEN, assignee=colleague)  # not in the agent's queues
    client.force_login(agent)

    for url in (reverse("home"), reverse("overview")):
        response = client.get(url)
        page = response.content.decode()
        assert f'data-overview-queue="{mine.pk}"' in page
        assert f'data-overview-queue="{other.pk}"' not in page
        assert "Colleague" in page and "Stranger" not in page
        agents = {a.name: a.open_tickets for a in response.context["wall"].agents}
        assert agents["Colleague"] == 0


def test_a_queues_supervisor_sees_it_without_being_a_member(client):
    boss = UserFactory()
    supervised, other = QueueFactory(), QueueFactory()
    supervised.supervisors.add(boss)
    client.force_login(boss)

    page = client.get(reverse("overview")).content.decode()

    assert f'data-overview-queue="{supervised.pk}"' in page
    assert f'data-overview-queue="{other.pk}"' not in page


def test_supervisors_see_every_queue(client, supervisor):
    queues = QueueFactory.create_batch(3)

    page = client.get(reverse("overview")).content.decode()

    assert all(f'data-overview-queue="{queue.pk}"' in page for queue in queues)


def test_the_live_part_asks_a_visitor_to_sign_in(client):
    response = client.get(reverse("overview"))

    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_demoted_admin_reads_the_figures_without_the_connections(client):
    admin = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(admin)
    assert "Connections by status" in client.get(reverse("overview")).content.decode()
    admin.is_superuser = False
    admin.save()

    assert "Connections by status" not in client.get(reverse("overview")).content.decode()


def build_team(*, queues: int, agents: int) -> None:
    team = UserFactory.create_batch(agents)
    online(*team[: agents // 2])
    for n in range(queues):
        queue = QueueFactory()
        queue.members.add(*team)
        TicketFactory(queue=queue, status=Ticket.Status.PENDING)
        TicketFactory(queue=queue, status=Ticket.Status.OPEN, assignee=team[n % agents])
    TicketFactory(queue=None, status=Ticket.Status.PENDING)  # the "No queue" line costs no query more


@pytest.mark.parametrize(("queues", "agents"), [(2, 2), (6, 9)])
def test_the_wall_costs_a_fixed_number_of_queries_whatever_the_queues_and_agents(
    client, supervisor, django_assert_num_queries, queues, agents
):
    build_team(queues=queues, agents=agents)

    # session, user, permissions, ticket counts, then the wall: queues, members, agents and their
    # open tickets, two for presence, the queues' ticket figures, today's milestones; connections.
    with django_assert_num_queries(12):
        client.get(reverse("overview"))
