"""Queues that assign by themselves: round robin and least busy, to online members under capacity;
nobody available waits, and is assigned when someone comes online or frees a slot (tickets/assignment.py)."""

import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact
from helpdesk.models import AgentState
from helpdesk.presence import away_set, presence_of, socket_open
from tests.factories import ConnectionFactory, QueueFactory, TicketFactory, UserFactory
from tests.tickets.test_inbound import inbound
from tickets.assignment import agent_away_set, backlog_assign, ticket_autoassign
from tickets.audit.stale import tickets_close_stale
from tickets.inbound import message_ingest
from tickets.models import Message, Milestone, Queue, Ticket
from tickets.services import ticket_close, ticket_reply, ticket_return, ticket_transfer

pytestmark = pytest.mark.django_db


def online(*agents) -> None:
    """Each agent with an inbox page open (as its socket makes it), active now."""
    for agent in agents:
        socket_open(user=agent, channel_name=f"test!{agent.pk}")


def team(mode: str = Queue.Assignment.ROUND_ROBIN, size: int = 2):
    queue = QueueFactory(assignment=mode)
    agents = [UserFactory(first_name=f"Agent{n}") for n in range(size)]
    queue.members.add(*agents)
    return queue, agents


def waiting(queue: Queue, count: int) -> list[Ticket]:
    return [TicketFactory(queue=queue) for _ in range(count)]


def assignees(tickets: list[Ticket]) -> list:
    return [ticket_autoassign(ticket=ticket) for ticket in tickets]


def assignee_of(ticket: Ticket):
    """Who the ticket is assigned to now, as the database has it."""
    return Ticket.objects.get(pk=ticket.pk).assignee


def one_online_agent_on_a_line():
    """A queue of one agent, online, and a number whose every new conversation goes to that queue."""
    queue, (ana,) = team(size=1)
    online(ana)
    line = ConnectionFactory()
    line.queues.add(queue)
    return queue, ana, line


def test_round_robin_alternates_and_the_conversation_says_who_got_it():
    queue, (ana, bia) = team()
    online(ana, bia)
    tickets = waiting(queue, 4)

    assert assignees(tickets) == [ana, bia, ana, bia]  # never assigned first, then the least recently

    first = Ticket.objects.get(pk=tickets[0].pk)
    assert (first.assignee, first.status) == (ana, Ticket.Status.OPEN)
    line = first.messages.get(kind=Message.Kind.SYSTEM)
    assert line.body == "The helpdesk gave the ticket to Agent0"
    assert Milestone.objects.filter(ticket=first, kind=Milestone.Kind.ASSIGNED, agent=ana).count() == 1


def test_least_busy_gives_to_the_fewest_open_tickets_then_the_least_recently_assigned():
    queue, (ana, bia) = team(Queue.Assignment.LEAST_BUSY)
    online(ana, bia)
    TicketFactory.create_batch(2, queue=queue, assignee=ana, status=Ticket.Status.OPEN)
    TicketFactory(queue=queue, assignee=bia, status=Ticket.Status.CLOSED)  # closed: not counted

    # bia 0 -> 1 -> 2 open; then tied 2 and 2: ana, never assigned automatically, first
    assert assignees(waiting(queue, 4)) == [bia, bia, ana, bia]


def test_capacity_is_respected_and_with_nobody_under_it_the_ticket_waits(settings):
    settings.AGENT_CAPACITY = 2
    queue, (ana, bia) = team()
    online(ana, bia)
    AgentState.objects.filter(user=ana).update(capacity=1)
    TicketFactory(assignee=ana, status=Ticket.Status.OPEN)  # of another queue: capacity is per agent

    tickets = waiting(queue, 3)

    assert assignees(tickets) == [bia, bia, None]
    last = Ticket.objects.get(pk=tickets[-1].pk)
    assert (last.assignee, last.status) == (None, Ticket.Status.PENDING)


def test_away_and_offline_agents_are_skipped(settings):
    queue, (ana, bia, _caio) = team(size=3)
    online(ana, bia)  # caio has no page open
    away_set(user=bia, away=True)
    idle = UserFactory()
    queue.members.add(idle)
    online(idle)
    AgentState.objects.filter(user=idle).update(
        last_activity_at=timezone.now() - timedelta(minutes=settings.AGENT_AWAY_MINUTES + 1)
    )

    assert assignees(waiting(queue, 3)) == [ana, ana, ana]


def test_a_manual_queue_a_ticket_with_an_agent_and_a_closed_one_are_left_alone():
    manual, (ana,) = team(Queue.Assignment.MANUAL, size=1)
    online(ana)
    robin, (bia,) = team(size=1)
    online(bia)

    assert assignees(
        [
            TicketFactory(queue=manual),
            TicketFactory(queue=robin, assignee=ana, status=Ticket.Status.OPEN),
            TicketFactory(queue=robin, status=Ticket.Status.CLOSED),
            TicketFactory(queue=None),
        ]
    ) == [None, None, None, None]


def test_nobody_online_waits_then_the_oldest_go_to_whoever_comes_back(settings, channel_layer):
    settings.AGENT_CAPACITY = 2
    queue, (ana, _bia) = team()  # bia has no page open
    older, newer, newest = waiting(queue, 3)
    Ticket.objects.filter(pk=older.pk).update(waiting_since=timezone.now() - timedelta(hours=1))
    online(ana)
    away_set(user=ana, away=True)

    assert assignees([newer]) == [None]  # the only one with a page open is away

    assert agent_away_set(user=ana, away=False) == "online"  # the header's switch: back

    assert {t.pk: t.assignee for t in Ticket.objects.all()} == {older.pk: ana, newer.pk: ana, newest.pk: None}


def test_a_slot_freed_by_closing_or_returning_gives_the_oldest_waiting(
    settings, channel_layer, django_capture_on_commit_callbacks
):
    settings.AGENT_CAPACITY = 1
    queue, (ana,) = team(size=1)
    online(ana)
    held = TicketFactory(queue=queue, assignee=ana, status=Ticket.Status.OPEN)
    first, second = waiting(queue, 2)
    Ticket.objects.filter(pk=first.pk).update(waiting_since=timezone.now() - timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        ticket_close(ticket=held, by=ana, reason=Ticket.CloseReason.AGENT)

    assert assignee_of(first) == ana
    assert assignee_of(second) is None  # full again

    with django_capture_on_commit_callbacks(execute=True):
        ticket_return(ticket=Ticket.objects.get(pk=first.pk), by=ana)

    assert assignee_of(second) == ana  # waited longer than the one returned


def test_an_idle_agent_who_answers_is_back_and_gets_the_waiting_tickets(
    settings, channel_layer, django_capture_on_commit_callbacks
):
    queue, (ana,) = team(size=1)
    online(ana)
    mine = TicketFactory(queue=queue, assignee=ana, status=Ticket.Status.OPEN)
    AgentState.objects.filter(user=ana).update(
        last_activity_at=timezone.now() - timedelta(minutes=settings.AGENT_AWAY_MINUTES + 1)
    )
    queued = waiting(queue, 1)[0]
    assert assignees([queued]) == [None]  # idle: away

    with django_capture_on_commit_callbacks(execute=True):
        ticket_reply(ticket=mine, by=ana, body="Já vejo")

    assert presence_of(user_ids=[ana.pk])[ana.pk] == "online"
    assert assignee_of(queued) == ana


def test_the_audit_closing_stale_tickets_frees_their_slots(settings):
    settings.AGENT_CAPACITY = 1
    queue, (ana,) = team(size=1)
    online(ana)
    TicketFactory(
        queue=queue,
        assignee=ana,
        status=Ticket.Status.OPEN,
        last_message_at=timezone.now() - timedelta(days=9),
    )
    queued = waiting(queue, 1)[0]

    tickets_close_stale(before=timezone.now() - timedelta(days=7), ignore_waiting=True)

    assert assignee_of(queued) == ana


def test_a_transfer_to_a_queue_assigns_there_and_frees_the_slot_it_leaves(
    settings, channel_layer, django_capture_on_commit_callbacks
):
    settings.AGENT_CAPACITY = 1
    sales, (ana,) = team(size=1)
    support, (bia,) = team(size=1)
    online(ana, bia)
    moving = TicketFactory(queue=sales, assignee=ana, status=Ticket.Status.OPEN)
    queued = TicketFactory(queue=sales)

    with django_capture_on_commit_callbacks(execute=True):
        ticket_transfer(ticket=moving, queue=support)

    assert assignee_of(moving) == bia
    assert assignee_of(queued) == ana


def test_a_new_ticket_and_the_menus_answer_are_assigned_as_they_come_in(
    channel_layer, django_capture_on_commit_callbacks
):
    queue, ana, direct = one_online_agent_on_a_line()
    menu = ConnectionFactory()
    menu.queues.add(queue, QueueFactory())

    with django_capture_on_commit_callbacks(execute=True):
        new = message_ingest(connection=direct, message=inbound(1)).ticket
        asked = message_ingest(connection=menu, message=inbound(2, chat="5511977770000@c.us")).ticket
    assert assignee_of(asked) is None  # no queue yet
    with django_capture_on_commit_callbacks(execute=True):
        message_ingest(connection=menu, message=inbound(3, chat="5511977770000@c.us", body="1"))

    assert assignee_of(new) == ana
    assert assignee_of(asked) == ana


def test_a_message_to_an_open_ticket_asks_nothing_of_the_assignment(
    django_capture_on_commit_callbacks, django_assert_num_queries
):
    _queue, _ana, direct = one_online_agent_on_a_line()
    message_ingest(connection=direct, message=inbound(1))

    # the ticket with its contact (and whether any message is stored), the ticket's counters, the INSERT
    # (and the savepoint of the test's transaction, twice)
    with django_capture_on_commit_callbacks() as callbacks, django_assert_num_queries(5):
        message_ingest(connection=direct, message=inbound(2))
    assert len(callbacks) == 1  # the event, no assignment


def test_1000_tickets_among_20_online_agents_by_round_robin_are_shared_evenly(settings):
    settings.AGENT_CAPACITY = 1000
    queue, agents = team(size=20)
    online(*agents)
    wa = ConnectionFactory()
    contacts = Contact.objects.bulk_create(
        Contact(wa_id=f"55119{n:08d}@c.us", phone=f"55119{n:08d}") for n in range(1000)
    )
    tickets = Ticket.objects.bulk_create(Ticket(contact=c, connection=wa, queue=queue) for c in contacts)

    for ticket in tickets:
        ticket_autoassign(ticket=ticket)

    counts = Counter(Ticket.objects.values_list("assignee", flat=True))
    assert None not in counts
    assert len(counts) == 20
    assert max(counts.values()) - min(counts.values()) <= 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite runs one write transaction at a time: nothing to race"
)
def test_8_concurrent_assigners_never_give_a_ticket_twice_nor_go_over_capacity(settings):
    settings.AGENT_CAPACITY = 4
    sales, agents = team(size=3)
    support = QueueFactory(assignment=Queue.Assignment.LEAST_BUSY)
    support.members.add(*agents)  # one agent's capacity spans both queues
    online(*agents)
    tickets = [
        ticket for pair in zip(waiting(sales, 20), waiting(support, 20), strict=True) for ticket in pair
    ]
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def assigner() -> None:
        try:
            start.wait(timeout=30)
            for ticket in tickets:  # all at once on the same ticket, as it was when they read it
                ticket_autoassign(ticket=Ticket.objects.get(pk=ticket.pk))
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=assigner) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    per_agent = Counter(
        Ticket.objects.exclude(assignee=None).exclude(status="closed").values_list("assignee", flat=True)
    )
    assert sorted(per_agent.values()) == [4, 4, 4]  # every slot filled, none over
    twice = Counter(Milestone.objects.filter(kind=Milestone.Kind.ASSIGNED).values_list("ticket", flat=True))
    assert [ticket for ticket, times in twice.items() if times > 1] == []
    lines = Counter(Message.objects.filter(kind=Message.Kind.SYSTEM).values_list("ticket", flat=True))
    assert set(lines.values()) == {1}


def test_backlog_without_a_user_or_queue_serves_every_queue_that_assigns(settings):
    settings.AGENT_CAPACITY = 5
    sales, (ana,) = team(size=1)
    support, (bia,) = team(Queue.Assignment.LEAST_BUSY, size=1)
    online(ana, bia)
    waiting(sales, 2)
    waiting(support, 3)

    with transaction.atomic():
        assert backlog_assign() == 5


def test_the_admin_edits_a_queues_mode_and_an_agents_capacity_and_away_flag(staff_client):
    agent = UserFactory()

    queue_page = staff_client.get(reverse("admin:tickets_queue_add")).content.decode()
    user_page = staff_client.get(reverse("admin:auth_user_change", args=[agent.pk])).content.decode()

    assert 'name="assignment"' in queue_page and 'value="least_busy"' in queue_page
    assert 'name="agent_state-0-capacity"' in user_page and 'name="agent_state-0-away"' in user_page
