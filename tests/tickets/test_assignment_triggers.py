"""Tickets already waiting go at once, when the change that lets someone take them commits: a queue
turned automatic (admin or API), a member added, a capacity raised, an agent back from away. Fairly
and within capacity, as any assignment (tickets/assignment.py, docs/assignment.md)."""

from collections import Counter
from datetime import timedelta

import pytest
from django.forms import MultiWidget
from django.urls import reverse
from django.utils import timezone

from helpdesk.models import AgentState
from helpdesk.presence import away_set, socket_open
from tests.factories import QueueFactory, TicketFactory, UserFactory
from tests.tickets.test_queue_admin import form as queue_page_form
from tickets.models import Queue, Ticket

pytestmark = pytest.mark.django_db


def online(*agents) -> None:
    for agent in agents:
        socket_open(user=agent, channel_name=f"test!{agent.pk}")


def waiting(queue: Queue, count: int) -> list[Ticket]:
    """``count`` pending tickets, the first the longest waiting."""
    now = timezone.now()
    return [
        TicketFactory(queue=queue, waiting_since=now - timedelta(minutes=count - n)) for n in range(count)
    ]


def held() -> Counter:
    """Open tickets per agent."""
    return Counter(
        Ticket.objects.filter(status=Ticket.Status.OPEN).values_list("assignee__first_name", flat=True)
    )


def unassigned(tickets: list[Ticket]) -> list[int]:
    return list(
        Ticket.objects.filter(pk__in=[t.pk for t in tickets], assignee=None)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def team(mode: str, *names: str) -> tuple[Queue, list]:
    """A queue in ``mode`` whose members (first names ``names``) have the inbox open."""
    queue = QueueFactory(assignment=mode)
    agents = [UserFactory(first_name=name) for name in names]
    queue.members.add(*agents)
    online(*agents)
    return queue, agents


def queue_form(queue: Queue, **changes) -> dict:
    """The queue's admin page as posted, its mode and members as they are unless ``changes``."""
    members = [user.pk for user in queue.members.all()]
    return queue_page_form(queue, **{"assignment": queue.assignment, "members": members, **changes})


def user_form(client, user, **changes) -> dict:
    """What the admin's user page posts back unchanged, with ``changes``."""
    page = client.get(reverse("admin:auth_user_change", args=[user.pk])).context
    forms = [page["adminform"].form]
    for inline in page["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data: dict = {}
    for form in forms:
        for name, field in form.fields.items():
            if field.disabled:
                continue
            key, value = form.add_prefix(name), form[name].value()
            if isinstance(field.widget, MultiWidget):
                parts = field.widget.decompress(value)
                data.update({f"{key}_{n}": part for n, part in enumerate(parts) if part is not None})
            elif value is True:
                data[key] = "on"
            elif value not in (None, False):
                data[key] = value
    return {**data, **changes}


def test_a_manual_queue_turned_round_robin_in_the_api_shares_its_waiting_tickets_at_once(
    api, settings, django_capture_on_commit_callbacks
):
    settings.AGENT_CAPACITY = 2
    queue, _agents = team(Queue.Assignment.MANUAL, "Ana", "Bia")
    tickets = waiting(queue, 5)

    with django_capture_on_commit_callbacks(execute=True):
        response = api("PATCH", f"queues/{queue.pk}", {"assignment": "round_robin"})

    assert response.status_code == 200
    assert held() == {"Ana": 2, "Bia": 2}  # alternating, nobody over capacity
    assert unassigned(tickets) == [tickets[-1].pk]  # the newest waits for a free slot


def test_a_change_that_keeps_a_queue_manual_assigns_nothing(api, django_capture_on_commit_callbacks):
    queue, _agents = team(Queue.Assignment.MANUAL, "Ana")
    tickets = waiting(queue, 2)

    with django_capture_on_commit_callbacks(execute=True):
        api("PATCH", f"queues/{queue.pk}", {"name": "Vendas"})

    assert len(unassigned(tickets)) == 2


def test_the_admin_turning_a_queue_least_busy_assigns_its_waiting_tickets(
    staff_client, settings, django_capture_on_commit_callbacks
):
    settings.AGENT_CAPACITY = 3
    queue, (ana, _bia) = team(Queue.Assignment.MANUAL, "Ana", "Bia")
    TicketFactory.create_batch(2, queue=queue, assignee=ana, status=Ticket.Status.OPEN)
    tickets = waiting(queue, 3)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:tickets_queue_change", args=[queue.pk]), queue_form(queue, assignment="least_busy")
        )

    assert response.status_code == 302
    assert held() == {"Ana": 3, "Bia": 2}  # Bia first (fewest open), then one each
    assert unassigned(tickets) == []


def test_a_member_added_in_the_admin_takes_the_waiting_tickets_at_once(
    staff_client, settings, django_capture_on_commit_callbacks
):
    settings.AGENT_CAPACITY = 2
    queue = QueueFactory(assignment=Queue.Assignment.ROUND_ROBIN)
    ana, bia = UserFactory(first_name="Ana"), UserFactory(first_name="Bia")
    queue.members.add(ana)
    online(ana, bia)  # Bia has the inbox open for another queue
    TicketFactory.create_batch(2, queue=queue, assignee=ana, status=Ticket.Status.OPEN)  # Ana is full
    tickets = waiting(queue, 3)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:tickets_queue_change", args=[queue.pk]),
            queue_form(queue, members=[ana.pk, bia.pk]),
        )

    assert response.status_code == 302
    assert list(queue.members.order_by("pk")) == [ana, bia]
    assert held() == {"Ana": 2, "Bia": 2}
    assert unassigned(tickets) == [tickets[-1].pk]


def test_a_capacity_raised_in_the_admin_fills_the_new_slots_at_once(
    staff_client, settings, django_capture_on_commit_callbacks
):
    settings.AGENT_CAPACITY = 1
    queue, (ana,) = team(Queue.Assignment.ROUND_ROBIN, "Ana")
    TicketFactory(queue=queue, assignee=ana, status=Ticket.Status.OPEN)
    tickets = waiting(queue, 4)

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:auth_user_change", args=[ana.pk]),
            user_form(staff_client, ana, **{"agent_state-0-capacity": "3"}),
        )

    assert response.status_code == 302
    assert AgentState.objects.get(user=ana).capacity == 3
    assert held() == {"Ana": 3}  # two more, not four
    assert unassigned(tickets) == [tickets[-2].pk, tickets[-1].pk]


def test_an_agent_set_back_from_away_in_the_admin_gets_the_waiting_tickets(
    staff_client, django_capture_on_commit_callbacks
):
    queue, (ana,) = team(Queue.Assignment.ROUND_ROBIN, "Ana")
    away_set(user=ana, away=True)
    tickets = waiting(queue, 2)
    posted = user_form(staff_client, ana)
    assert posted["agent_state-0-away"] == "on"
    del posted["agent_state-0-away"]

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("admin:auth_user_change", args=[ana.pk]), posted)

    assert response.status_code == 302
    assert unassigned(tickets) == []
    assert held() == {"Ana": 2}


def test_the_admin_clearing_away_is_not_the_agents_activity(
    staff_client, settings, django_capture_on_commit_callbacks
):
    """An idle agent set back by someone else stays away (no tickets) until they do something."""
    queue, (ana,) = team(Queue.Assignment.ROUND_ROBIN, "Ana")
    away_set(user=ana, away=True)
    AgentState.objects.filter(user=ana).update(
        last_activity_at=timezone.now() - timedelta(minutes=settings.AGENT_AWAY_MINUTES + 1)
    )
    tickets = waiting(queue, 1)
    posted = user_form(staff_client, ana)
    del posted["agent_state-0-away"]

    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(reverse("admin:auth_user_change", args=[ana.pk]), posted)

    assert AgentState.objects.get(user=ana).away is False
    assert len(unassigned(tickets)) == 1
