"""The figures, from milestones the real services wrote."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection as db

from reports.selectors import (
    Filters,
    Scope,
    busiest_hours,
    days_and_hours,
    percentile,
    report_days,
    report_summary,
    reportable_queues,
)
from tests.factories import ConnectionFactory, QueueFactory, UserFactory
from tests.reports.conversations import Clock, conversation
from tickets.models import Milestone

pytestmark = pytest.mark.django_db
ZONE = ZoneInfo("America/Sao_Paulo")
DAY = date(2026, 3, 10)


def at(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def team():
    queue = QueueFactory(name="Suporte")
    connection = ConnectionFactory()
    connection.queues.add(queue)
    ana, bruno = UserFactory(first_name="Ana", last_name="Lima"), UserFactory(username="bruno")
    queue.members.add(ana, bruno)
    return connection, queue, ana, bruno


def summary_of(user, **filters):
    queues = reportable_queues(user=user)
    names = {u.pk: u.get_full_name() or u.username for u in type(user).objects.all()}
    return report_summary(
        filters=Filters(start=filters.pop("start", DAY), end=filters.pop("end", DAY), **filters),
        scope=Scope(),
        queues=queues,
        users=names,
    )


def test_first_response_and_resolution_come_from_what_the_agents_did(clock, team, staff):
    connection, _queue, ana, bruno = team
    for minute, wait, resolution in [(0, 30, 600), (10, 90, 1200), (20, 60, 1800), (30, 300, 3600)]:
        conversation(
            clock=clock,
            connection=connection,
            agent=ana,
            start=at(9, minute),
            answer_after=wait,
            close_after=resolution,
        )
    conversation(clock=clock, connection=connection, agent=bruno, start=at(11), answer_after=10)
    conversation(clock=clock, connection=connection, agent=bruno, start=at(12))  # nobody answered yet

    summary = summary_of(staff)

    totals = summary.totals
    assert (totals.opened, totals.closed) == (6, 4)
    assert totals.first_response.count == 5  # the one waiting has no first response
    assert totals.first_response.median == pytest.approx(60)  # 10, 30, 60, 90, 300
    assert totals.first_response.p90 == pytest.approx(90 + 0.6 * 210)  # interpolated as percentile_cont
    assert totals.first_response.average == pytest.approx(98)
    assert totals.resolution.median == pytest.approx(1500)
    assert totals.first_response.business_median == pytest.approx(60)  # always open: the same
    rows = {line.name: line for line in summary.agents}
    assert rows["Ana Lima"].first_response.median == pytest.approx(75)
    assert rows["Ana Lima"].closed == 4 and rows["Ana Lima"].messages == 4
    assert (
        rows["bruno"].first_response.median == pytest.approx(10) and rows["bruno"].resolution.median is None
    )
    [suporte] = summary.queues
    assert (suporte.name, suporte.opened, suporte.closed, suporte.waiting) == ("Suporte", 6, 4, 1)
    assert suporte.resolution.median == pytest.approx(1500)


def test_days_count_by_local_date(clock, team, staff):
    connection, queue, ana, _bruno = team
    late = at(23, 30)  # 02:30 UTC the next day: still the 10th in São Paulo
    conversation(clock=clock, connection=connection, agent=ana, start=late, answer_after=60, close_after=3600)
    conversation(clock=clock, connection=connection, agent=ana, start=at(8, day=date(2026, 3, 12)))

    period = Filters(start=DAY, end=date(2026, 3, 12))
    days = report_days(filters=period, scope=Scope())

    assert [(d.day.day, d.opened, d.closed) for d in days] == [(10, 1, 0), (11, 0, 1), (12, 1, 0)]
    # The page's single query per local hour sums to the same days and weekday x hour grid.
    for scope in (Scope(), Scope(queues=frozenset({queue.pk}))):
        page_days, hours = days_and_hours(filters=period, scope=scope)
        assert page_days == report_days(filters=period, scope=scope)
        assert hours == busiest_hours(filters=period, scope=scope)
    assert hours[1][23] == 1  # Tuesday the 10th, 23:30 local


def test_percentile_matches_postgresql_percentile_cont():
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([10, 30, 60, 90, 300], 0.9) == pytest.approx(216)
    assert percentile([1, 2, 3, 4], 0.5) == 2.5


def test_medians_in_sql_equal_the_python_ones(clock, team, staff):
    """On PostgreSQL the medians are percentile_cont in SQL; on SQLite Python computes them: the
    same figures either way."""
    connection, _queue, ana, _bruno = team
    waits = [5, 17, 29, 41, 300, 1000, 7]
    for index, wait in enumerate(waits):
        conversation(clock=clock, connection=connection, agent=ana, start=at(10, index), answer_after=wait)

    totals = summary_of(staff).totals

    assert totals.first_response.median == pytest.approx(percentile([float(w) for w in waits], 0.5))
    assert totals.first_response.p90 == pytest.approx(percentile([float(w) for w in waits], 0.9))
    assert Milestone.objects.filter(kind=Milestone.Kind.FIRST_RESPONSE).count() == len(waits)
    assert db.vendor in ("sqlite", "postgresql")
