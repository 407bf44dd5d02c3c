"""The queue's admin: its schedule, holidays, SLAs and assignment mode, refused with a form error on
the field (the queues API's own check, in the same words) and saved normalised."""

import json

import pytest
from django.urls import reverse

from tests.factories import QueueFactory
from tickets.models import Queue

pytestmark = pytest.mark.django_db


def form(queue: Queue, **changes) -> dict:
    data = {
        "name": queue.name,
        "color": queue.color,
        "ordering": 0,
        "greeting": "",
        "assignment": "manual",
        "business_hours": "",
        "holidays": "[]",
        "out_of_hours_message": "",
        "sla_first_response_minutes": "",
        "sla_resolution_minutes": "",
    }
    return {**data, **changes}


def post(client, queue: Queue, **changes):
    return client.post(reverse("admin:tickets_queue_change", args=[queue.pk]), form(queue, **changes))


def test_the_queue_page_groups_its_settings(staff_client):
    page = staff_client.get(reverse("admin:tickets_queue_change", args=[QueueFactory().pk])).content.decode()

    for heading in ("Business hours", "Service level (SLA)", "Agents"):
        assert f">{heading}<" in page
    for field in (
        "business_hours",
        "holidays",
        "out_of_hours_message",
        "sla_first_response_minutes",
        "supervisors",
    ):
        assert f'name="{field}"' in page
    assert "America/Sao_Paulo" in page  # where the hours are read


def test_the_schedule_is_saved_normalised(staff_client):
    queue = QueueFactory()

    response = post(
        staff_client,
        queue,
        business_hours=json.dumps({"fri": [["13:00", "18:00"], ["08:00", "12:00"]]}),
        holidays=json.dumps(["2026-12-25", "2026-01-01"]),
        out_of_hours_message="Fechado",
        sla_first_response_minutes="30",
        assignment="round_robin",
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    queue.refresh_from_db()
    assert queue.business_hours["fri"] == [["08:00", "12:00"], ["13:00", "18:00"]]
    assert queue.business_hours["mon"] == []
    assert queue.holidays == ["2026-01-01", "2026-12-25"]
    assert (queue.sla_first_response_minutes, queue.assignment) == (30, "round_robin")


def test_empty_boxes_are_always_open_with_no_holiday(staff_client):
    queue = QueueFactory(business_hours={"mon": []}, holidays=["2026-12-25"])

    assert post(staff_client, queue, business_hours="", holidays="").status_code == 302

    queue.refresh_from_db()
    assert (queue.business_hours, queue.holidays) == (None, [])


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"business_hours": '{"mon": [["09:00", "25:00"]]}'}, "business_hours", "25:00 is not a time"),
        ({"business_hours": '{"mon": [["18:00", "09:00"]]}'}, "business_hours", "ends before it starts"),
        (
            {"business_hours": '{"mon": [["09:00", "12:00"], ["10:00", "11:00"]]}'},
            "business_hours",
            "overlap",
        ),
        ({"business_hours": '{"monday": []}'}, "business_hours", "Unknown day monday"),
        ({"business_hours": "{not json"}, "business_hours", "valid JSON"),
        ({"holidays": '["25/12/2026"]'}, "holidays", "25/12/2026 is not a date"),
        ({"sla_first_response_minutes": "0"}, "sla_first_response_minutes", "greater than or equal to 1"),
        ({"sla_resolution_minutes": "-3"}, "sla_resolution_minutes", "greater than or equal to 1"),
        ({"sla_resolution_minutes": "1.5"}, "sla_resolution_minutes", "whole number"),
        ({"assignment": "random"}, "assignment", "Select a valid choice"),
    ],
)
def test_bad_input_is_a_form_error_on_its_field_and_nothing_is_saved(staff_client, changes, field, words):
    queue = QueueFactory(greeting="Olá", business_hours={"mon": [["08:00", "17:00"]]})

    response = post(staff_client, queue, greeting="changed", **changes)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert words in " ".join(errors[field]), errors
    assert len(errors[field]) == 1
    queue.refresh_from_db()
    assert (queue.greeting, queue.business_hours) == ("Olá", {"mon": [["08:00", "17:00"]]})


def test_the_admin_and_the_api_say_the_same(staff_client, api):
    queue = QueueFactory()
    hours = {"tue": [["09:00", "12:00"], ["11:00", "13:00"]]}

    page = post(staff_client, queue, business_hours=json.dumps(hours)).context["adminform"].form.errors
    answer = api("PATCH", f"queues/{queue.pk}", {"business_hours": hours}).json()

    assert page["business_hours"] == answer["fields"]["business_hours"] == ["tue: ranges overlap."]


def test_the_lists_order_box_still_saves_through_the_queues_service(staff_client):
    queue = QueueFactory(ordering=0)

    response = staff_client.post(
        reverse("admin:tickets_queue_changelist"),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(queue.pk),
            "form-0-ordering": "7",
            "_save": "Save",
        },
    )

    assert response.status_code == 302
    queue.refresh_from_db()
    assert queue.ordering == 7
