"""The connections part of the JSON API (helpdesk/api.py has the common ground)."""

from django.db.models import ProtectedError
from django.http import HttpResponse

from helpdesk.api import ApiError, endpoint, form_errors, found_or_404, json_body
from whatsapp.forms import ConnectionForm, PairingCodeForm, WebhookForm
from whatsapp.models import Connection
from whatsapp.qr import qr_data_url
from whatsapp.services import (
    ConnectionLimitReached,
    connection_create,
    connection_delete,
    connection_payload,
    connection_request,
    event_payload,
)
from whatsapp.session_requests import BusUnavailable, SessionUnavailable, session_pairing_code, session_snapshot

CONNECTION_BODY = {
    "type": "object",
    "properties": {
        "name": {"type": "string"}, "is_default": {"type": "boolean"}, "queues": {"type": "array", "items": {"type": "integer"}},
        "greeting": {"type": "string"}, "farewell": {"type": "string"}, "webhook_url": {"type": "string"},
        "webhook_secret": {"type": "string"},
    },
}  # fmt: skip
NOT_FOUND = {404: "No such connection"}


def connection_or_404(pk: int) -> Connection:
    return found_or_404(Connection.objects.all(), pk)



def bus_unavailable() -> ApiError:
    """The answer when the bus (Redis) refuses or hangs: the session cannot be asked."""
    return ApiError(503, "BUS_UNAVAILABLE", "The realtime bus (Redis) is unavailable: try again in a moment.")


@endpoint("GET", "connections", permission="whatsapp.view_connection", summary="List the connections", responses={200: "The connections"})
def connections_list(request):
    return {"connections": [connection_payload(c) for c in Connection.objects.order_by("name")]}


@endpoint("POST", "connections", permission="whatsapp.add_connection", summary="Add a connection; its session starts and shows a QR code",
          body=CONNECTION_BODY, responses={201: "Created", 400: "Invalid fields",
                                           429: "MAX_ACCOUNT_LIMIT_REACHED: at MAX_WHATSAPP_CONNECTIONS"})  # fmt: skip
def connections_create(request):
    form = ConnectionForm(json_body(request))
    if not form.is_valid():
        raise form_errors(form)
    try:
        connection = connection_create(**form.cleaned_data)
    except ConnectionLimitReached as error:
        raise ApiError(429, "MAX_ACCOUNT_LIMIT_REACHED", str(error), current=error.current, max=error.maximum) from None
    connection_request(connection=connection, enabled=True)
    return connection_payload(connection)


@endpoint("GET", "connections/<int:pk>", permission="whatsapp.view_connection", summary="One connection", responses={200: "The connection", **NOT_FOUND})
def connections_read(request, pk: int):
    return connection_payload(connection_or_404(pk))


@endpoint("PATCH", "connections/<int:pk>", permission="whatsapp.change_connection", summary="Change a connection's settings (the session keeps running)",
          body=CONNECTION_BODY, responses={200: "Changed", 400: "Invalid fields", **NOT_FOUND})  # fmt: skip
def connections_update(request, pk: int):
    connection = connection_or_404(pk)
    current = {name: ConnectionForm(instance=connection).initial.get(name) for name in ConnectionForm.Meta.fields}
    form = ConnectionForm({**current, **json_body(request)}, instance=connection)
    if not form.is_valid():
        raise form_errors(form)
    form.save()
    return connection_payload(connection)


@endpoint("DELETE", "connections/<int:pk>", permission="whatsapp.delete_connection", summary="Delete a connection, its session and its browser profile",
          responses={200: "Deleted", 409: "HAS_TICKETS: tickets keep it", **NOT_FOUND})  # fmt: skip
def connections_delete(request, pk: int):
    connection = connection_or_404(pk)
    try:
        connection_delete(connection=connection)
    except ProtectedError:
        raise ApiError(409, "HAS_TICKETS", "Tickets refer to this connection; disable it instead.") from None
    return {"deleted": pk}


def _action(enabled: bool | None, command: str = ""):
    def view(request, pk: int):
        connection = connection_or_404(pk)
        connection_request(connection=connection, enabled=enabled, command=command)
        return connection_payload(connection)

    return view


for _name, _enabled, _command, _summary in [
    ("start", True, "", "Start the session"),
    ("stop", False, "", "Stop the session"),
    ("restart", True, Connection.Command.RESTART, "Restart the session (a logged-in phone needs no new QR)"),
    ("logout", None, Connection.Command.LOGOUT, "Log the phone out: the next start shows a new QR code"),
]:
    endpoint("POST", f"connections/<int:pk>/{_name}", summary=_summary, responses={200: "Asked", **NOT_FOUND})(
        _action(_enabled, _command)
    )


@endpoint("GET", "connections/<int:pk>/status", permission="whatsapp.view_connection", summary="The connection's status", responses={200: "Status", **NOT_FOUND})
def connections_status(request, pk: int):
    connection = connection_or_404(pk)
    return {"id": pk, "status": connection.status, "phone": connection.phone, "last_error": connection.last_error,
            "last_seen_at": connection.last_seen_at}  # fmt: skip


@endpoint("GET", "connections/<int:pk>/qr", permission="whatsapp.view_connection", summary="The QR code to scan, as text and as a PNG data URL",
          responses={200: "{code, image, generated_at}", 409: "ALREADY_CONNECTED, or QR_NOT_AVAILABLE", **NOT_FOUND})  # fmt: skip
def connections_qr(request, pk: int):
    connection = connection_or_404(pk)
    if connection.status == Connection.Status.CONNECTED:
        raise ApiError(409, "ALREADY_CONNECTED", "This connection is logged in; there is no QR code.")
    if connection.status != Connection.Status.QR or not connection.qr_code:
        raise ApiError(409, "QR_NOT_AVAILABLE", f"No QR code is shown now (status {connection.status}); start it.")
    return {"code": connection.qr_code, "image": qr_data_url(connection.qr_code), "generated_at": connection.qr_generated_at}


@endpoint("POST", "connections/<int:pk>/pairing-code", permission="whatsapp.change_connection", summary="A code to link the phone by number instead of QR",
          body={"type": "object", "properties": {"phone": {"type": "string"}}, "required": ["phone"]},
          responses={200: "{code}", 400: "Invalid phone", 409: "ACCOUNT_NOT_READY: no session runs", **NOT_FOUND})  # fmt: skip
def connections_pairing_code(request, pk: int):
    connection = connection_or_404(pk)
    form = PairingCodeForm(json_body(request))
    if not form.is_valid():
        raise form_errors(form)
    try:
        code = session_pairing_code(connection_id=connection.pk, phone=form.cleaned_data["phone"])
    except SessionUnavailable:
        raise ApiError(409, "ACCOUNT_NOT_READY", "No session runs for this connection: start it first.") from None
    except BusUnavailable:
        raise bus_unavailable() from None
    return {"code": code}


@endpoint("GET", "connections/<int:pk>/logs", permission="whatsapp.view_connection", summary="The connection's log, newest first (100 lines)",
          responses={200: "{events}", **NOT_FOUND})  # fmt: skip
def connections_logs(request, pk: int):
    connection = connection_or_404(pk)
    return {"events": [event_payload(e) for e in connection.events.order_by("-at", "-id")[:100]]}


@endpoint("GET", "connections/<int:pk>/snapshot", permission="whatsapp.view_connection", summary="A PNG of the session's page, as it is now",
          responses={200: "image/png", 409: "ACCOUNT_NOT_READY: no page runs", **NOT_FOUND})  # fmt: skip
def connections_snapshot(request, pk: int):
    connection = connection_or_404(pk)
    try:
        png = session_snapshot(connection_id=connection.pk)
    except SessionUnavailable:
        raise ApiError(409, "ACCOUNT_NOT_READY", "No browser runs for this connection.") from None
    except BusUnavailable:
        raise bus_unavailable() from None
    return HttpResponse(png, content_type="image/png")


@endpoint("PUT", "connections/<int:pk>/webhook", permission="whatsapp.change_connection", summary="Set the webhook URL and secret (the session keeps running)",
          body={"type": "object", "properties": {"url": {"type": "string"}, "secret": {"type": "string"}}},
          responses={200: "Set", 400: "Invalid URL", **NOT_FOUND})  # fmt: skip
def connections_webhook(request, pk: int):
    connection, data = connection_or_404(pk), json_body(request)
    form = WebhookForm({"webhook_url": data.get("url", ""), "webhook_secret": data.get("secret", "")}, instance=connection)
    if not form.is_valid():
        raise form_errors(form)
    form.save()
    return {"id": pk, "url": connection.webhook_url, "secret_set": bool(connection.webhook_secret)}
