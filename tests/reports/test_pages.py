"""The reports page, its CSV and the API summary: what each reader sees, bad input, query counts."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection as db

from helpdesk.models import ApiToken
from tests.factories import ConnectionFactory, QueueFactory, StaffFactory, UserFactory
from tests.reports.conversations import Clock, conversation
from tests.reports.test_figures import DAY, at

pytestmark = pytest.mark.django_db
PERIOD = f"from={DAY}&to={DAY}"


@pytest.fixture
def world(monkeypatch):
    """Two queues on one number; Ana answers in Suporte (30 s), Bruno in Vendas (120 s)."""
    clock = Clock(monkeypatch)
    suporte, vendas = QueueFactory(name="Suporte"), QueueFactory(name="Vendas")
    support_line, sales_line = ConnectionFactory(), ConnectionFactory()
    support_line.queues.add(suporte)
    sales_line.queues.add(vendas)
    ana, bruno = UserFactory(first_name="Ana", last_name="Lima"), UserFactory(username="bruno")
    suporte.members.add(ana)
    vendas.members.add(bruno)
    conversation(
        clock=clock, connection=support_line, agent=ana, start=at(9), answer_after=30, close_after=600
    )
    conversation(
        clock=clock, connection=sales_line, agent=bruno, start=at(10), answer_after=120, close_after=900
    )
    monkeypatch.undo()  # the pages run at the real time; the period is explicit
    return {"suporte": suporte, "vendas": vendas, "ana": ana, "bruno": bruno}


def figure(response) -> str:
    page = response.content.decode()
    start = page.index('data-figure="first-response-median"')
    return page[start : page.index("</dd>", start)]


def test_staff_see_every_agent_and_queue(client, staff, world):
    client.force_login(staff)

    response = client.get(f"/reports/?{PERIOD}")

    assert 'data-seconds="75.000"' in figure(response) and "1m 15s" in figure(response)
    page = response.content.decode()
    assert f'data-agent="{world["ana"].pk}"' in page and f'data-agent="{world["bruno"].pk}"' in page
    assert f'data-queue="{world["suporte"].pk}"' in page and f'data-queue="{world["vendas"].pk}"' in page
    assert 'data-chart="days"' in page and 'id="report-days"' in page


def test_a_queue_supervisor_sees_only_the_queues_they_supervise(client, world):
    supervisor = UserFactory()
    world["vendas"].supervisors.add(supervisor)
    client.force_login(supervisor)

    page = client.get(f"/reports/?{PERIOD}")

    assert 'data-seconds="120.000"' in figure(page)
    text = page.content.decode()
    assert f'data-queue="{world["vendas"].pk}"' in text and f'data-queue="{world["suporte"].pk}"' not in text
    assert f'data-agent="{world["ana"].pk}"' not in text


def test_a_plain_agent_sees_only_their_own_figures(client, world):
    client.force_login(world["ana"])

    page = client.get(f"/reports/?{PERIOD}")

    assert 'data-seconds="30.000"' in figure(page)
    text = page.content.decode()
    assert f'data-agent="{world["ana"].pk}"' in text and f'data-agent="{world["bruno"].pk}"' not in text
    assert "bruno" not in text  # not even in a filter's choices


def test_the_supervisors_group_sees_everything(client, world):
    member = UserFactory()
    member.groups.add(Group.objects.get(name="Supervisors"))
    client.force_login(member)

    assert 'data-seconds="75.000"' in figure(client.get(f"/reports/?{PERIOD}"))


def test_anonymous_visitors_are_sent_to_sign_in(client):
    assert client.get("/reports/").url.startswith("/login/")
    assert client.get("/reports/export.csv").url.startswith("/login/")
    assert client.get("/api/reports/summary").status_code == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-03-10&to=2026-03-01", "from"),
        ("from=2023-01-01&to=2026-03-01", "to"),
        ("from=2026-13-45&to=2026-03-01", "from"),
        ("queue=999999", "queue"),
        ("from=9999-12-31", "from"),
    ],
)
def test_bad_input_is_a_form_error_naming_the_field(staff_client, query, field):
    page = staff_client.get(f"/reports/?{query}").content.decode()

    assert f'data-error="{field}"' in page
    assert 'data-figure="first-response-median"' not in page
    assert staff_client.get(f"/reports/export.csv?{query}").status_code == 422


def test_the_default_period_is_the_last_seven_days(staff_client):
    page = staff_client.get("/reports/").content.decode()

    today = date.today()
    assert (
        f'data-day="{today - timedelta(days=6)}"' in page or f'data-day="{today - timedelta(days=7)}"' in page
    )
    assert page.count("data-day=") == 7


def test_the_page_costs_a_fixed_number_of_queries(staff_client, world, django_assert_num_queries):
    staff_client.get(f"/reports/?{PERIOD}")  # the session's first read

    # session, user, queues, people, connections, the tallies' counts, the conversations each agent
    # took, the percentiles (PostgreSQL: totals, agents, queues; SQLite: the waits in one), messages
    # sent, days, hours, comments; a superuser's permissions cost none
    with django_assert_num_queries(14 if db.vendor == "postgresql" else 12):
        staff_client.get(f"/reports/?{PERIOD}")
    with django_assert_num_queries(14 if db.vendor == "postgresql" else 12):
        staff_client.get("/reports/?from=2025-03-11&to=2026-03-10")  # a year: the same


def rows_of(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_csv_has_one_row_per_agent_and_per_queue(staff_client, world):
    response = staff_client.get(f"/reports/export.csv?{PERIOD}")

    assert response["Content-Type"].startswith("text/csv")
    rows = rows_of(response)
    assert {"first_response_median_seconds", "resolution_median_seconds"} <= set(rows[0])
    named = {(row["row"], row["name"]): row for row in rows}
    assert float(named[("agent", "Ana Lima")]["first_response_median_seconds"]) == 30
    assert float(named[("agent", "bruno")]["resolution_median_seconds"]) == 900
    assert float(named[("queue", "Vendas")]["first_response_median_seconds"]) == 120


def test_the_csv_of_days_and_of_tickets(staff_client, world):
    days = rows_of(
        staff_client.get(f"/reports/export.csv?from={DAY}&to={DAY + timedelta(days=1)}&report=days")
    )
    tickets = rows_of(staff_client.get(f"/reports/export.csv?{PERIOD}&report=tickets"))

    assert days == [
        {"day": str(DAY), "opened": "2", "closed": "2", "reopened": "0"},
        {"day": str(DAY + timedelta(days=1)), "opened": "0", "closed": "0", "reopened": "0"},
    ]
    assert sorted(float(row["first_response_seconds"]) for row in tickets) == [30, 120]
    assert {row["first_response_by"] for row in tickets} == {"Ana Lima", "bruno"}


def test_a_plain_agents_csv_holds_nothing_of_another_queue(client, world):
    client.force_login(world["ana"])  # of Suporte; Bruno's conversation is Vendas's

    summary = rows_of(client.get(f"/reports/export.csv?{PERIOD}"))
    tickets = rows_of(client.get(f"/reports/export.csv?{PERIOD}&report=tickets"))
    asked_for_vendas = rows_of(
        client.get(f"/reports/export.csv?{PERIOD}&report=tickets&queue={world['vendas'].pk}")
    )

    assert {(row["row"], row["name"]) for row in summary if row["row"] == "agent"} == {("agent", "Ana Lima")}
    assert "bruno" not in str(summary)
    assert [row["first_response_by"] for row in tickets] == ["Ana Lima"]
    assert asked_for_vendas == []


def api_get(client, user, query: str):
    key = user if isinstance(user, str) else ApiToken.issue(user=user)[1]
    return client.get(f"/api/reports/summary?{query}", HTTP_AUTHORIZATION=f"Bearer {key}")


def test_the_api_summary_has_the_pinned_shape(client, world, django_assert_num_queries):
    staff = StaffFactory()
    _token, key = ApiToken.issue(user=staff)

    # token, its last use, queues, people, the tallies' counts, the conversations taken, the
    # percentiles (PostgreSQL three, SQLite one), messages sent
    with django_assert_num_queries(10 if db.vendor == "postgresql" else 8):
        answer = api_get(client, key, PERIOD)

    body = answer.json()
    assert answer.status_code == 200
    assert {
        "from",
        "to",
        "opened",
        "closed",
        "first_response_median_seconds",
        "first_response_avg_seconds",
        "resolution_median_seconds",
        "resolution_avg_seconds",
        "csat_average",
        "csat_responses",
        "sla_breaches",
        "agents",
        "queues",
    } <= set(body)
    assert (body["from"], body["to"], body["opened"], body["closed"]) == (str(DAY), str(DAY), 2, 2)
    assert body["first_response_median_seconds"] == 75 and body["csat_average"] is None
    ana = next(row for row in body["agents"] if row["id"] == world["ana"].pk)
    assert (ana["name"], ana["opened"], ana["closed"], ana["first_response_median_seconds"]) == (
        "Ana Lima",
        1,
        1,
        30,
    )
    vendas = next(row for row in body["queues"] if row["id"] == world["vendas"].pk)
    assert vendas["resolution_avg_seconds"] == 900
    only_ana = api_get(client, staff, f"{PERIOD}&agent={world['ana'].pk}").json()
    assert only_ana["first_response_median_seconds"] == 30


def test_the_api_needs_view_ticket_and_refuses_bad_periods(client, world):
    staff_without = StaffFactory(is_superuser=False)

    assert api_get(client, staff_without, PERIOD).status_code == 403
    boss = StaffFactory()
    refused = api_get(client, boss, "from=2026-03-10&to=2026-03-01")
    assert refused.status_code == 422 and "from" in refused.json()["fields"]
    assert "to" in api_get(client, boss, "from=2020-01-01&to=2026-03-01").json()["fields"]
    assert "queue" in api_get(client, boss, "queue=987654").json()["fields"]
    assert "from" in api_get(client, boss, "from=yesterday").json()["fields"]
    assert "to" in api_get(client, boss, "to=0").json()["fields"]  # not a Unix time
