"""The queues API: every field echoed, a change of only the fields given, each bad input of issue 20
refused with a 422 naming its field (nothing saved), and its doors."""

import pytest
from django.contrib.auth.models import Permission

from helpdesk.models import ApiToken
from tests.factories import QueueFactory, StaffFactory
from tickets.models import Queue

pytestmark = pytest.mark.django_db

WEEKDAYS = {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], "sat": [["09:00", "13:00"]]}


def as_user(client, user):
    _token, key = ApiToken.issue(user=user)

    def call(method: str, path: str, body=None):
        return getattr(client, method.lower())(
            f"/api/{path}",
            data=body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )

    return call


def test_a_queue_echoes_every_field(api):
    queue = QueueFactory(
        name="Suporte",
        greeting="Olá!",
        business_hours={"mon": [["09:00", "18:00"]]},
        holidays=["2026-12-25"],
        out_of_hours_message="Fechado",
        sla_first_response_minutes=30,
        assignment=Queue.Assignment.ROUND_ROBIN,
    )

    answer = api("GET", f"queues/{queue.pk}").json()

    assert answer == {
        "id": queue.pk,
        "name": "Suporte",
        "color": "#2563eb",
        "greeting": "Olá!",
        "business_hours": {
            "mon": [["09:00", "18:00"]],
            "tue": [],
            "wed": [],
            "thu": [],
            "fri": [],
            "sat": [],
            "sun": [],
        },
        "holidays": ["2026-12-25"],
        "out_of_hours_message": "Fechado",
        "sla_first_response_minutes": 30,
        "sla_resolution_minutes": None,
        "assignment": "round_robin",
    }
    assert [row["name"] for row in api("GET", "queues").json()["queues"]] == ["Suporte"]
    assert api("GET", f"queues/{queue.pk + 1}").status_code == 404


def test_a_change_saves_only_the_fields_given_normalised(api):
    queue = QueueFactory(name="Vendas", greeting="Oi", sla_resolution_minutes=600)

    answer = api(
        "PATCH",
        f"queues/{queue.pk}",
        {
            "business_hours": WEEKDAYS,
            "holidays": ["2026-12-25", "2026-01-01", "2026-12-25"],
            "out_of_hours_message": "Voltamos às 9h, {{name}}.",
            "sla_first_response_minutes": 15,
            "assignment": "least_busy",
        },
    )

    assert answer.status_code == 200, answer.json()
    queue.refresh_from_db()
    assert queue.business_hours == {
        "mon": [["09:00", "12:00"], ["13:00", "18:00"]],
        "tue": [],
        "wed": [],
        "thu": [],
        "fri": [],
        "sat": [["09:00", "13:00"]],
        "sun": [],
    }
    assert queue.holidays == ["2026-01-01", "2026-12-25"]
    assert (queue.sla_first_response_minutes, queue.sla_resolution_minutes) == (15, 600)
    assert (queue.name, queue.greeting, queue.assignment) == ("Vendas", "Oi", "least_busy")
    assert answer.json()["business_hours"] == queue.business_hours
    assert answer.json()["holidays"] == ["2026-01-01", "2026-12-25"]

    cleared = api("PATCH", f"queues/{queue.pk}", {"business_hours": None, "sla_resolution_minutes": None})

    queue.refresh_from_db()
    assert cleared.json()["business_hours"] is None and queue.business_hours is None
    assert queue.sla_resolution_minutes is None and queue.sla_first_response_minutes == 15
    assert queue.holidays == ["2026-01-01", "2026-12-25"]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"business_hours": {"mon": [["09:00", "25:00"]]}}, "business_hours", "25:00"),
        ({"business_hours": {"tue": [["18:00", "09:00"]]}}, "business_hours", "ends before it starts"),
        (
            {"business_hours": {"wed": [["09:00", "12:00"], ["11:00", "14:00"]]}},
            "business_hours",
            "overlap",
        ),
        ({"business_hours": {"funday": [["09:00", "12:00"]]}}, "business_hours", "funday"),
        ({"business_hours": {"mon": None}}, "business_hours", "mon"),
        ({"business_hours": "always"}, "business_hours", "object"),
        ({"holidays": ["2026-02-30"]}, "holidays", "2026-02-30"),
        ({"holidays": None}, "holidays", "list"),
        ({"sla_first_response_minutes": 0}, "sla_first_response_minutes", "greater than or equal to 1"),
        ({"sla_resolution_minutes": -5}, "sla_resolution_minutes", "greater than or equal to 1"),
        ({"sla_resolution_minutes": 1.5}, "sla_resolution_minutes", "integer"),
        ({"assignment": "random"}, "assignment", "round_robin"),
        ({"name": ""}, "name", "at least 1"),
        ({"name": "Taken"}, "name", "already exists"),
        ({"color": "blue"}, "color", "pattern"),
        ({"bogus": 1}, "bogus", "not permitted"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_saved(api, change, field, words):
    QueueFactory(name="Taken")
    queue = QueueFactory(
        name="Suporte", business_hours={"mon": [["08:00", "17:00"]]}, holidays=["2026-01-01"]
    )

    answer = api("PATCH", f"queues/{queue.pk}", {"greeting": "changed", **change})

    assert answer.status_code == 422, answer.json()
    body = answer.json()
    assert body["error_code"] == "VALIDATION_ERROR"
    assert words in " ".join(body["fields"][field]), body
    saved = Queue.objects.get(pk=queue.pk)
    assert (saved.greeting, saved.business_hours, saved.holidays, saved.name) == (
        "",
        {"mon": [["08:00", "17:00"]]},
        ["2026-01-01"],
        "Suporte",
    )


def test_both_schedule_fields_are_named_at_once(api):
    queue = QueueFactory()

    answer = api("PATCH", f"queues/{queue.pk}", {"business_hours": {"sun": [["9", "10"]]}, "holidays": ["x"]})

    assert set(answer.json()["fields"]) == {"business_hours", "holidays"}


def test_an_agent_reads_their_own_queues_only(client, agent):
    agent.is_staff = True
    agent.save()
    mine, other = QueueFactory(name="Mine"), QueueFactory(name="Other")
    mine.members.add(agent)
    call = as_user(client, agent)

    assert [row["name"] for row in call("GET", "queues").json()["queues"]] == ["Mine"]
    assert call("GET", f"queues/{mine.pk}").status_code == 200
    assert call("GET", f"queues/{other.pk}").status_code == 404
    refused = call("PATCH", f"queues/{mine.pk}", {"name": "Renamed"})
    assert (refused.status_code, refused.json()["error_code"]) == (403, "FORBIDDEN")
    assert Queue.objects.get(pk=mine.pk).name == "Mine"


def test_view_queue_reads_every_queue_and_change_queue_changes_them(client):
    user = StaffFactory(is_superuser=False)
    user.user_permissions.add(Permission.objects.get(codename="view_queue"))
    queue = QueueFactory(name="Any")
    reader = as_user(client, user)

    assert [row["name"] for row in reader("GET", "queues").json()["queues"]] == ["Any"]
    assert reader("PATCH", f"queues/{queue.pk}", {"name": "X"}).status_code == 403

    user.user_permissions.add(Permission.objects.get(codename="change_queue"))
    changer = as_user(client, StaffFactory._meta.model.objects.get(pk=user.pk))

    assert changer("PATCH", f"queues/{queue.pk}", {"name": "X"}).json()["name"] == "X"


def test_without_a_token_every_call_is_refused(client):
    queue = QueueFactory()

    for method, path in [("get", "queues"), ("get", f"queues/{queue.pk}"), ("patch", f"queues/{queue.pk}")]:
        answer = getattr(client, method)(f"/api/{path}", content_type="application/json", data={})
        assert (answer.status_code, answer.json()["error_code"]) == (401, "UNAUTHENTICATED")


def test_the_document_describes_the_queues_calls(client):
    paths = client.get("/api/openapi.json").json()["paths"]

    assert set(paths["/api/queues"]["get"]["responses"]) == {"200", "401", "403"}
    assert set(paths["/api/queues/{id}"]["patch"]["responses"]) == {"200", "400", "401", "403", "404", "422"}


def test_a_refusal_is_in_the_callers_language(api):
    queue = QueueFactory()

    answer = api(
        "PATCH",
        f"queues/{queue.pk}",
        {"business_hours": {"mon": [["18:00", "09:00"]]}},
        HTTP_ACCEPT_LANGUAGE="pt-BR",
    )

    assert answer.json()["fields"]["business_hours"] == ["mon: 18:00 a 09:00 termina antes de começar."]


def test_the_list_costs_the_same_queries_for_many_queues(api, django_assert_num_queries):
    QueueFactory(business_hours={"mon": [["09:00", "18:00"]]})
    with django_assert_num_queries(
        3
    ):  # the token, its last use, the queues (a superuser: no permission read)
        assert len(api("GET", "queues").json()["queues"]) == 1
    for _ in range(5):
        QueueFactory(business_hours={"tue": [["09:00", "18:00"]]}, holidays=["2026-12-25"])

    with django_assert_num_queries(3):
        assert len(api("GET", "queues").json()["queues"]) == 6
