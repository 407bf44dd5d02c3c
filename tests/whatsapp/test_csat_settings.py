"""A connection's satisfaction survey (csat_enabled, csat_question): the API, the settings page, the admin."""

import pytest
from django.urls import reverse

from helpdesk.models import ApiToken
from tests.api_inputs import assert_field_refused
from tests.factories import ConnectionFactory
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db
QUESTION = "Dê uma nota de 1 a 5, {{name}}"


def test_the_api_accepts_echoes_and_shows_the_survey_settings(api):
    connection = ConnectionFactory(greeting="Olá!")
    assert api("GET", f"connections/{connection.pk}").json()["csat_enabled"] is False

    changed = api("PATCH", f"connections/{connection.pk}", {"csat_enabled": True, "csat_question": QUESTION})

    assert changed.status_code == 200
    assert (changed.json()["csat_enabled"], changed.json()["csat_question"]) == (True, QUESTION)
    shown = api("GET", f"connections/{connection.pk}").json()
    assert (shown["csat_enabled"], shown["csat_question"]) == (True, QUESTION)
    connection.refresh_from_db()
    assert (connection.csat_enabled, connection.csat_question, connection.greeting) == (
        True,
        QUESTION,
        "Olá!",
    )
    assert connection.events.filter(message__contains="ask for satisfaction").exists()  # the log says who

    api("PATCH", f"connections/{connection.pk}", {"name": "Vendas"})  # a change of something else
    assert Connection.objects.get(pk=connection.pk).csat_enabled is True


def test_a_new_connection_through_the_api_may_ask(api):
    created = api("POST", "connections", {"name": "Vendas", "csat_enabled": True})

    assert created.status_code == 201 and created.json()["csat_enabled"] is True
    assert Connection.objects.get(name="Vendas").csat_enabled is True


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ('{"csat_enabled": "yes"}', "csat_enabled", "Input should be a valid boolean"),
        ('{"csat_enabled": 1}', "csat_enabled", "Input should be a valid boolean"),
        ('{"csat_question": 5}', "csat_question", "Input should be a valid string"),
        ('{"csat_question": ["x"]}', "csat_question", "Input should be a valid string"),
    ],
)
def test_a_survey_setting_of_the_wrong_type_is_422_and_nothing_is_saved(api, body, field, reason):
    connection = ConnectionFactory(csat_question="Nota?")

    response = api("PATCH", f"connections/{connection.pk}", body)

    assert_field_refused(response, field, reason)
    connection.refresh_from_db()
    assert (connection.csat_enabled, connection.csat_question) == (False, "Nota?")


def test_the_settings_page_has_both_fields_and_saves_them(staff_client):
    connection = ConnectionFactory()
    page = staff_client.get(reverse("connection-detail", args=[connection.pk])).content.decode()
    assert 'name="csat_enabled"' in page and 'name="csat_question"' in page

    response = staff_client.post(
        reverse("connection-edit", args=[connection.pk]),
        {"name": connection.name, "webhook_secret": "", "csat_enabled": "on", "csat_question": QUESTION},
    )

    assert response.status_code == 302
    connection.refresh_from_db()
    assert (connection.csat_enabled, connection.csat_question) == (True, QUESTION)

    staff_client.post(  # the box unticked: the survey stops
        reverse("connection-edit", args=[connection.pk]), {"name": connection.name, "webhook_secret": ""}
    )
    assert Connection.objects.get(pk=connection.pk).csat_enabled is False


def test_the_admin_edits_the_survey(staff_client):
    connection = ConnectionFactory(name="Vendas")
    url = reverse("admin:whatsapp_connection_change", args=[connection.pk])
    page = staff_client.get(url).content.decode()
    assert 'name="csat_enabled"' in page and 'name="csat_question"' in page

    response = staff_client.post(
        url,
        {
            "name": "Vendas",
            "enabled": "on",
            "csat_enabled": "on",
            "csat_question": QUESTION,
            "events-TOTAL_FORMS": "0",
            "events-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    connection.refresh_from_db()
    assert (connection.csat_enabled, connection.csat_question) == (True, QUESTION)


def test_a_plain_agent_may_not_change_the_survey(client, agent):
    connection = ConnectionFactory()
    _token, key = ApiToken.issue(user=agent)

    response = client.patch(
        f"/api/connections/{connection.pk}",
        data='{"csat_enabled": true}',
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )

    assert response.status_code == 403
    assert Connection.objects.get(pk=connection.pk).csat_enabled is False
