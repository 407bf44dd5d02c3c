"""The tallies (reports/models.py, reports/tally.py) give the figures the milestones give: for any
period (today, one ending today, one in the past), any scope and filter, folded or not, with
milestones written after the fold for days already folded, deleted with their ticket, or whose
queue was deleted."""

import dataclasses
import random
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connection as db
from django.db import transaction
from django.utils import timezone

from reports.models import Tally
from reports.selectors import (
    Filters,
    Scope,
    busiest_hours,
    lines_of_milestones,
    lines_of_tallies,
    report_days,
    report_summary,
    reportable_queues,
    zone,
)
from reports.tally import fold, tally_fold
from tests.factories import ConnectionFactory, QueueFactory, StaffFactory, TicketFactory, UserFactory
from tickets.milestone_rows import milestone_add
from tickets.models import Milestone, Ticket

pytestmark = pytest.mark.django_db
Kind = Milestone.Kind


@pytest.fixture
def world():
    queues = [QueueFactory(), QueueFactory()]
    connections = [ConnectionFactory(), ConnectionFactory()]
    agents = [UserFactory(), UserFactory(), UserFactory()]
    return queues, connections, agents


def write(world, count: int, *, seed: int, days: int = 75) -> None:
    """``count`` tickets' milestones through ``milestone_add``, at random times of the last ``days``
    days up to now (across local midnights), in random queues (or none), connections and agents."""
    queues, connections, agents = world
    chance = random.Random(seed)
    now = timezone.now()
    for _ in range(count):
        ticket = TicketFactory(
            connection=chance.choice(connections), queue=chance.choice([*queues, None]), status="closed"
        )
        start = now - timedelta(seconds=chance.randrange(days * 86400))
        agent = chance.choice(agents)

        def later(start=start):
            return min(now, start + timedelta(seconds=chance.randrange(1, 20000)))

        milestone_add(ticket=ticket, kind=Kind.OPENED, at=start)
        if ticket.queue_id:
            milestone_add(ticket=ticket, kind=Kind.QUEUED, at=start)
        milestone_add(ticket=ticket, kind=Kind.ASSIGNED, at=later(), agent=agent)
        wait = chance.uniform(1, 5000)
        milestone_add(
            ticket=ticket, kind=Kind.FIRST_RESPONSE, at=later(), agent=agent, seconds=wait, business=wait / 2
        )
        if chance.random() < 0.7:
            spent = chance.uniform(100, 90000)
            milestone_add(
                ticket=ticket, kind=Kind.CLOSED, at=later(), agent=agent, seconds=spent, business=spent * 0.3
            )
        if chance.random() < 0.4:
            milestone_add(
                ticket=ticket, kind=Kind.RATED, at=later(), agent=agent, rating=chance.randint(1, 5)
            )
        if chance.random() < 0.2:
            milestone_add(ticket=ticket, kind=Kind.REOPENED, at=later(), agent=chance.choice([agent, None]))
        if chance.random() < 0.2:  # a breach is written at its due time, however long ago
            milestone_add(
                ticket=ticket, kind=Kind.SLA_BREACHED, at=start + timedelta(minutes=30), agent=agent
            )
        ticket.queue = chance.choice([*queues, None])  # a transfer: the next queue gets a QUEUED
        if ticket.queue is not None and chance.random() < 0.3:
            milestone_add(ticket=ticket, kind=Kind.QUEUED, at=later())


def flat(lines) -> dict:
    """The lines as comparable values: floats to the ninth digit (a sum of the same values added in
    another order may differ in the last bits)."""

    def rounded(value):
        return round(value, 6) if isinstance(value, float) else value

    totals, agents, by_queue, csat = lines
    out = {"csat": csat, "totals": {k: rounded(v) for k, v in _items(totals)}}
    for name, group in (("agent", agents), ("queue", by_queue)):
        for key, figures in group.items():
            out[(name, key)] = {k: rounded(v) for k, v in _items(figures)}
    return out


def _items(figures):
    for key, value in dataclasses.asdict(figures).items():
        if isinstance(value, dict):
            yield from ((f"{key}.{inner}", v) for inner, v in value.items())
        else:
            yield key, value


def periods():
    today = timezone.localdate()
    return [
        (today, today),
        (today - timedelta(days=2), today),
        (today - timedelta(days=5), today - timedelta(days=1)),
        (today - timedelta(days=30), today + timedelta(days=1)),
        (today - timedelta(days=80), today),  # whole months and days at both ends
        ((today - timedelta(days=70)).replace(day=1), today - timedelta(days=today.day)),  # whole months
    ]


def expected_days(start, end, *, kinds=(Kind.OPENED, Kind.CLOSED, Kind.REOPENED), **narrowed):
    """The days' figures counted here, one milestone at a time."""
    counted = Counter()
    for milestone in Milestone.objects.filter(kind__in=kinds, **narrowed):
        day = milestone.at.astimezone(zone()).date()
        if start <= day <= end:
            counted[(day, "opened" if milestone.kind == kinds[0] else milestone.kind)] += 1
    return [
        (day, counted[(day, "opened")], counted[(day, "closed")], counted[(day, "reopened")])
        for day in (start + timedelta(days=n) for n in range((end - start).days + 1))
    ]


def expected_hours(start, end):
    grid = [[0] * 24 for _ in range(7)]
    for milestone in Milestone.objects.filter(kind__in=[Kind.OPENED, Kind.REOPENED]):
        local = milestone.at.astimezone(zone())
        if start <= local.date() <= end:
            grid[local.isoweekday() - 1][local.hour] += 1
    return grid


def assert_as_the_milestones(world) -> None:
    queues, connections, _agents = world
    staff = StaffFactory()
    known = reportable_queues(user=staff)
    users = {user.pk: user.username for user in type(staff).objects.all()}
    for start, end in periods():
        for scope, narrowed in [
            (Scope(), {}),
            (Scope(queues=frozenset({queues[0].pk})), {}),
            (Scope(), {"queue": queues[1].pk}),
            (Scope(), {"connection": connections[0].pk}),
        ]:
            filters = Filters(start=start, end=end, **narrowed)
            tallied = lines_of_tallies(filters=filters, scope=scope, queues=known, users=users)
            assert flat(tallied) == flat(lines_of_milestones(filters=filters, scope=scope)), (
                start,
                end,
                scope,
                narrowed,
            )
        days = [
            (d.day, d.opened, d.closed, d.reopened)
            for d in report_days(filters=Filters(start, end), scope=Scope())
        ]
        assert days == expected_days(start, end)
        queue = queues[0].pk
        in_queue = report_days(filters=Filters(start, end, queue=queue), scope=Scope())
        assert [(d.day, d.opened, d.closed, d.reopened) for d in in_queue] == expected_days(
            start, end, kinds=(Kind.QUEUED, Kind.CLOSED, Kind.REOPENED), queue=queue
        )
        assert busiest_hours(filters=Filters(start, end), scope=Scope()) == expected_hours(start, end)


def test_the_tallies_give_the_milestones_figures_folded_or_not(world):
    write(world, 40, seed=1)
    assert_as_the_milestones(world)  # nothing folded: every figure from the milestones

    assert tally_fold() == Milestone.objects.count()
    assert Tally.objects.exists()
    assert_as_the_milestones(world)  # all folded

    write(world, 25, seed=2)  # after the fold, on days already folded too
    assert_as_the_milestones(world)  # folded and not yet folded together
    assert fold(apps, step=40) == 40  # a part of them (a fold takes so many ids at most)
    assert_as_the_milestones(world)
    while fold(apps, step=40):
        pass
    assert_as_the_milestones(world)
    assert tally_fold() == 0  # again: nothing new, nothing counted twice
    assert_as_the_milestones(world)


def test_a_deleted_ticket_or_queue_leaves_the_figures_as_the_milestones_say(world):
    queues, connections, agents = world
    write(world, 30, seed=3)
    tally_fold()

    queues[1].delete()  # its milestones' queue is NULL now: the "No queue" line; its tallies keep its id
    assert_as_the_milestones(([queues[0], QueueFactory()], connections, agents))

    Ticket.objects.filter(pk__in=Ticket.objects.order_by("pk").values("pk")[:3]).delete()  # the admin
    tally_fold()  # notices that folded milestones are gone: folds them all again
    assert Tally.objects.exists()
    assert_as_the_milestones(([queues[0], QueueFactory()], connections, agents))


def test_a_milestone_written_now_is_in_the_report_at_once(world):
    queues, connections, agents = world
    write(world, 10, seed=4)
    tally_fold()
    staff = StaffFactory()
    today = Filters(start=timezone.localdate(), end=timezone.localdate())
    users = {user.pk: user.username for user in type(staff).objects.all()}

    def closed() -> int:
        summary = report_summary(
            filters=today, scope=Scope(), queues=reportable_queues(user=staff), users=users
        )
        return summary.totals.closed

    before = closed()
    ticket = TicketFactory(connection=connections[0], queue=queues[0])
    milestone_add(ticket=ticket, kind=Kind.CLOSED, agent=agents[0], seconds=60.0, business=60.0)

    assert closed() == before + 1
    tally_fold()
    assert closed() == before + 1


@pytest.mark.django_db(transaction=True)
def test_the_fold_never_passes_a_milestone_still_being_written(world):
    """A milestone whose transaction is still open when the fold runs has an id below the ones
    committed after it: the fold must not move past it (PostgreSQL; SQLite has one writer)."""
    if db.vendor != "postgresql":
        pytest.skip("PostgreSQL writes milestones from several transactions at once")
    queues, connections, agents = world
    write(world, 5, seed=5)
    ticket = TicketFactory(connection=connections[0], queue=queues[0])
    writing, release = threading.Event(), threading.Event()

    def writer() -> None:
        try:
            with transaction.atomic():
                milestone_add(ticket=ticket, kind=Kind.CLOSED, agent=agents[0], seconds=30.0, business=30.0)
                writing.set()
                release.wait(10)
        finally:
            db.close()

    thread = threading.Thread(target=writer)
    thread.start()
    assert writing.wait(10)
    write(world, 2, seed=6)  # committed meanwhile, with higher ids

    assert tally_fold() == 0  # it waits for the open transaction a moment, then leaves it for the next run

    release.set()
    thread.join(10)
    assert tally_fold() == Milestone.objects.count()
    assert_as_the_milestones(world)
