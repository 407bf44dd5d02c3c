import pytest
from django.core.management import call_command

from helpdesk.models import ApiToken
from tests.factories import ConnectionEventFactory, ConnectionFactory, TicketFactory
from whatsapp.models import Connection

pytestmark = pytest.mark.django_db


def test_calls_without_a_valid_token_are_refused(client, agent):
    assert client.get("/api/connections").json()["error_code"] == "UNAUTHENTICATED"
    response = client.get("/api/connections", HTTP_AUTHORIZATION="Bearer nope")
    assert (response.status_code, response.json()["error_code"]) == (401, "UNAUTHENTICATED")
    _token, key = ApiToken.issue(user=agent)
    response = client.get("/api/connections", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert (response.status_code, response.json()["error_code"]) == (403, "FORBIDDEN")


def test_a_token_made_on_the_command_line_works(client, staff, capsys):
    call_command("create_api_token", staff.username)
    key = capsys.readouterr().out.strip()

    assert client.get("/api/connections", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    assert ApiToken.objects.get().last_used_at is not None


def test_create_read_update_delete(api):
    created = api("POST", "connections", {"name": "Vendas", "greeting": "Olá!"})
    assert created.status_code == 201
    pk = created.json()["id"]
    assert Connection.objects.get(pk=pk).enabled is True

    assert api("GET", f"connections/{pk}").json()["name"] == "Vendas"
    changed = api("PATCH", f"connections/{pk}", {"name": "Suporte"})
    assert changed.status_code == 200 and changed.json()["name"] == "Suporte"
    assert Connection.objects.get(pk=pk).greeting == "Olá!"  # untouched fields stay
    assert [c["name"] for c in api("GET", "connections").json()["connections"]] == ["Suporte"]

    assert api("DELETE", f"connections/{pk}").status_code == 200
    assert api("GET", f"connections/{pk}").status_code == 404


def test_a_connection_with_tickets_is_not_deleted(api):
    ticket = TicketFactory()

    response = api("DELETE", f"connections/{ticket.connection_id}")

    assert (response.status_code, response.json()["error_code"]) == (409, "HAS_TICKETS")


def test_the_limit_answers_429_with_the_figures(api, settings):
    settings.MAX_WHATSAPP_CONNECTIONS = 2
    ConnectionFactory.create_batch(2)

    response = api("POST", "connections", {"name": "Third"})

    assert response.status_code == 429
    assert response.json() | {"message": ""} == {
        "error_code": "MAX_ACCOUNT_LIMIT_REACHED",
        "current": 2,
        "max": 2,
        "message": "",
    }


def test_bad_input_is_explained(api):
    ConnectionFactory(name="Vendas")

    not_json = api("POST", "connections", "{nope")
    duplicate = api("POST", "connections", {"name": "Vendas"})
    wrong_method = api("PUT", "connections", {})

    assert (not_json.status_code, not_json.json()["error_code"]) == (400, "BAD_REQUEST")
    assert duplicate.status_code == 400 and "name" in duplicate.json()["fields"]
    assert (wrong_method.status_code, wrong_method.json()["error_code"]) == (405, "METHOD_NOT_ALLOWED")
    assert api("GET", "connections/999").json()["error_code"] == "NOT_FOUND"


def test_start_and_stop_record_the_wish(api):
    connection = ConnectionFactory(enabled=False)

    api("POST", f"connections/{connection.pk}/start")
    assert Connection.objects.get().enabled is True
    api("POST", f"connections/{connection.pk}/logout")
    assert Connection.objects.get().command == "logout"
    api("POST", f"connections/{connection.pk}/stop")
    assert Connection.objects.get().enabled is False


def test_the_qr_code_is_served_only_while_one_is_shown(api):
    connected = ConnectionFactory(status=Connection.Status.CONNECTED)
    stopped = ConnectionFactory()
    waiting = ConnectionFactory(status=Connection.Status.QR, qr_code="2@abc,def,ghi")

    assert api("GET", f"connections/{connected.pk}/qr").json()["error_code"] == "ALREADY_CONNECTED"
    assert api("GET", f"connections/{stopped.pk}/qr").json()["error_code"] == "QR_NOT_AVAILABLE"
    qr = api("GET", f"connections/{waiting.pk}/qr").json()
    assert qr["code"] == "2@abc,def,ghi"
    assert qr["image"].startswith("data:image/png;base64,")


def test_status_and_logs(api):
    event = ConnectionEventFactory(message="Browser launched")

    assert api("GET", f"connections/{event.connection_id}/status").json()["status"] == "STOPPED"
    assert (
        api("GET", f"connections/{event.connection_id}/logs").json()["events"][0]["message"]
        == "Browser launched"
    )


def test_a_snapshot_without_a_running_session_is_refused(api, channel_layer, monkeypatch):
    monkeypatch.setattr("whatsapp.session_requests.REPLY_TIMEOUT", 0.5)
    connection = ConnectionFactory()

    response = api("GET", f"connections/{connection.pk}/snapshot")

    assert (response.status_code, response.json()["error_code"]) == (409, "ACCOUNT_NOT_READY")


def test_the_schema_describes_every_call(client, staff):
    schema = client.get("/api/openapi.json").json()

    assert schema["paths"]["/api/connections"].keys() == {"get", "post"}
    assert "429" in schema["paths"]["/api/connections"]["post"]["responses"]
    assert "409" in schema["paths"]["/api/connections/{id}/snapshot"]["get"]["responses"]
    client.force_login(staff)
    assert "/api/connections/{id}/pairing-code" in client.get("/api/docs/").content.decode()


def test_a_null_field_in_a_change_leaves_it_as_it_is(api):
    """The schema allows null for each field of a change: it means "not changed", not "required"."""
    connection = ConnectionFactory(name="Vendas", greeting="Olá!")

    response = api(
        "PATCH", f"connections/{connection.pk}", {"name": None, "greeting": None, "farewell": "Tchau"}
    )

    assert response.status_code == 200, response.content
    connection.refresh_from_db()
    assert (connection.name, connection.greeting, connection.farewell) == ("Vendas", "Olá!", "Tchau")
