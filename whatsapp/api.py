"""The connections part of the JSON API (helpdesk/api.py has the common ground)."""

from datetime import datetime

from django.db.models import ProtectedError
from django.http import HttpResponse
from django.utils.translation import gettext
from ninja import Router, Schema, Status
from pydantic import Field, StrictBool, StrictStr

from helpdesk.api import BODY, BY_ID, TOKEN, Error, Id, RowId, StaffToken
from helpdesk.api_common import ApiError, form_errors, found_or_404
from whatsapp.forms import ConnectionForm, PairingCodeForm, WebhookForm
from whatsapp.models import Connection
from whatsapp.qr import qr_data_url
from whatsapp.services import (
    ConnectionLimitReached,
    connection_create,
    connection_delete,
    connection_payload,
    connection_request,
    connection_update,
    event_payload,
)
from whatsapp.session_requests import (
    BusUnavailable,
    SessionUnavailable,
    session_pairing_code,
    session_snapshot,
)

router = Router(tags=["connections"])


class ConnectionChange(Schema):
    name: StrictStr | None = Field(None, min_length=1)
    is_default: StrictBool | None = None
    queues: list[RowId] | None = None
    greeting: StrictStr | None = None
    farewell: StrictStr | None = None
    csat_enabled: StrictBool | None = None
    csat_question: StrictStr | None = None
    webhook_url: StrictStr | None = None
    webhook_secret: StrictStr | None = None
    rotate_webhook_secret: StrictBool | None = None


class ConnectionNew(ConnectionChange):
    name: StrictStr = Field(min_length=1)


class ConnectionOut(Schema):
    id: int
    name: str
    phone: str
    status: str
    status_label: str
    enabled: bool
    qr_code: str
    qr_generated_at: str | None
    last_error: str
    web_version: str = Field(
        "", description="The WhatsApp Web version the session last ran, as WhatsApp Web reports it."
    )
    csat_enabled: bool = Field(
        False,
        description="When an agent closes a ticket, the customer is asked to rate the service (1 to 5).",
    )
    csat_question: str = Field(
        "", description="The question asked; empty: the helpdesk's own, in its language."
    )
    webhook_secret: str | None = Field(
        None, description="Only in the answer that generated it (left blank, or rotated): shown once."
    )


class ConnectionList(Schema):
    connections: list[ConnectionOut]


class LimitReached(Error):
    current: int
    max: int


class Deleted(Schema):
    deleted: int


class StatusOut(Schema):
    id: int
    status: str
    phone: str
    last_error: str
    last_seen_at: datetime | None


class QrOut(Schema):
    code: str
    image: str
    generated_at: datetime | None


class PairingIn(Schema):
    phone: StrictStr = Field(min_length=1)


class PairingOut(Schema):
    code: str


class EventOut(Schema):
    id: int
    at: str
    kind: str
    from_status: str
    to_status: str
    message: str


class EventList(Schema):
    events: list[EventOut]


class WebhookIn(Schema):
    url: StrictStr = ""
    secret: StrictStr = Field("", description="Left blank: kept, or generated when the webhook has none.")
    rotate: StrictBool = Field(False, description="Generate a new secret (the old one stops working).")


class WebhookOut(Schema):
    id: int
    url: str
    secret_set: bool
    secret: str | None = Field(None, description="The generated secret, in this answer only.")


def connection_or_404(pk: int) -> Connection:
    return found_or_404(Connection.objects.all(), pk)


def bus_unavailable() -> ApiError:
    """The answer when the bus (Redis) refuses or hangs: the session cannot be asked."""
    return ApiError(
        503, "BUS_UNAVAILABLE", gettext("The realtime bus (Redis) is unavailable: try again in a moment.")
    )


def _form_data(change: ConnectionChange) -> dict:
    """The fields given; a null one is left as it is (or at its default), as a field not sent."""
    return change.dict(exclude_unset=True, exclude_none=True)


@router.get(
    "/connections",
    auth=StaffToken("whatsapp.view_connection"),
    summary="List the connections",
    response={200: ConnectionList, **TOKEN},
)
def connections_list(request):
    return {"connections": [connection_payload(c) for c in Connection.objects.order_by("name")]}


@router.post(
    "/connections",
    auth=StaffToken("whatsapp.add_connection"),
    summary="Add a connection; its session starts and shows a QR code",
    response={201: ConnectionOut, **TOKEN, **BODY, 429: LimitReached},
)
def connections_create(request, payload: ConnectionNew):
    form = ConnectionForm(_form_data(payload))
    if not form.is_valid():
        raise form_errors(form)
    try:
        connection = connection_create(by=request.user, **form.cleaned_data)
    except ConnectionLimitReached as error:
        raise ApiError(
            429, "MAX_ACCOUNT_LIMIT_REACHED", str(error), current=error.current, max=error.maximum
        ) from None
    return Status(201, {**connection_payload(connection), "webhook_secret": form.new_secret or None})


@router.get(
    "/connections/{int:id}",
    auth=StaffToken("whatsapp.view_connection"),
    summary="One connection",
    response={200: ConnectionOut, **TOKEN, **BY_ID},
)
def connections_read(request, id: Id):
    return connection_payload(connection_or_404(id))


@router.patch(
    "/connections/{int:id}",
    auth=StaffToken("whatsapp.change_connection"),
    summary="Change a connection's settings (the session keeps running)",
    response={200: ConnectionOut, **TOKEN, **BY_ID, **BODY},
)
def connections_update(request, id: Id, payload: ConnectionChange):
    connection = connection_or_404(id)
    current = {
        name: ConnectionForm(instance=connection).initial.get(name) for name in ConnectionForm.Meta.fields
    }
    form = ConnectionForm({**current, **_form_data(payload)}, instance=connection)
    if not form.is_valid():
        raise form_errors(form)
    connection_update(connection=connection, changes=form.cleaned_data, by=request.user)
    return {**connection_payload(connection), "webhook_secret": form.new_secret or None}


@router.delete(
    "/connections/{int:id}",
    auth=StaffToken("whatsapp.delete_connection"),
    summary="Delete a connection, its session and its browser profile",
    response={200: Deleted, **TOKEN, **BY_ID, 409: Error},
)
def connections_delete(request, id: Id):
    connection = connection_or_404(id)
    try:
        connection_delete(connection=connection)
    except ProtectedError:
        raise ApiError(
            409, "HAS_TICKETS", gettext("Tickets refer to this connection; disable it instead.")
        ) from None
    return {"deleted": id}


def _action(name: str, enabled: bool | None, command: str, summary: str) -> None:
    def view(request, id: Id):
        connection = connection_or_404(id)
        connection_request(connection=connection, enabled=enabled, command=command)
        return connection_payload(connection)

    view.__name__ = f"connections_{name}"
    router.post(
        f"/connections/{{int:id}}/{name}", summary=summary, response={200: ConnectionOut, **TOKEN, **BY_ID}
    )(view)


_action("start", True, "", "Start the session")
_action("stop", False, "", "Stop the session")
_action(
    "restart", True, Connection.Command.RESTART, "Restart the session (a logged-in phone needs no new QR)"
)
_action("logout", None, Connection.Command.LOGOUT, "Log the phone out: the next start shows a new QR code")


@router.get(
    "/connections/{int:id}/status",
    auth=StaffToken("whatsapp.view_connection"),
    summary="The connection's status",
    response={200: StatusOut, **TOKEN, **BY_ID},
)
def connections_status(request, id: Id):
    connection = connection_or_404(id)
    return {
        "id": id,
        "status": connection.status,
        "phone": connection.phone,
        "last_error": connection.last_error,
        "last_seen_at": connection.last_seen_at,
    }


@router.get(
    "/connections/{int:id}/qr",
    auth=StaffToken("whatsapp.view_connection"),
    summary="The QR code to scan, as text and as a PNG data URL",
    response={200: QrOut, **TOKEN, **BY_ID, 409: Error},
)
def connections_qr(request, id: Id):
    connection = connection_or_404(id)
    if connection.status == Connection.Status.CONNECTED:
        raise ApiError(
            409, "ALREADY_CONNECTED", gettext("This connection is logged in; there is no QR code.")
        )
    if connection.status != Connection.Status.QR or not connection.qr_code:
        raise ApiError(
            409,
            "QR_NOT_AVAILABLE",
            gettext("No QR code is shown now (status %(status)s); start it.") % {"status": connection.status},
        )
    return {
        "code": connection.qr_code,
        "image": qr_data_url(connection.qr_code),
        "generated_at": connection.qr_generated_at,
    }


@router.post(
    "/connections/{int:id}/pairing-code",
    auth=StaffToken("whatsapp.change_connection"),
    summary="A code to link the phone by number instead of QR",
    response={200: PairingOut, **TOKEN, **BY_ID, **BODY, 409: Error, 503: Error},
)
def connections_pairing_code(request, id: Id, payload: PairingIn):
    connection = connection_or_404(id)
    form = PairingCodeForm(payload.dict())
    if not form.is_valid():
        raise form_errors(form)
    message = gettext("No session runs for this connection: start it first.")
    try:
        code = session_pairing_code(connection_id=connection.pk, phone=form.cleaned_data["phone"])
    except SessionUnavailable:
        raise ApiError(409, "ACCOUNT_NOT_READY", message) from None
    except BusUnavailable:
        raise bus_unavailable() from None
    return {"code": code}


@router.get(
    "/connections/{int:id}/logs",
    auth=StaffToken("whatsapp.view_connection"),
    summary="The connection's log, newest first (100 lines)",
    response={200: EventList, **TOKEN, **BY_ID},
)
def connections_logs(request, id: Id):
    connection = connection_or_404(id)
    return {"events": [event_payload(e) for e in connection.events.order_by("-at", "-id")[:100]]}


@router.get(
    "/connections/{int:id}/snapshot",
    auth=StaffToken("whatsapp.view_connection"),
    summary="A PNG of the session's page, as it is now",
    response={**TOKEN, **BY_ID, 409: Error, 503: Error},
    # The PNG itself, declared here (a ``response`` entry for 200 would be a second "200" key).
    openapi_extra={
        "responses": {
            "200": {
                "description": "The page as a PNG image",
                "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def connections_snapshot(request, id: Id):
    connection = connection_or_404(id)
    message = gettext("No browser runs for this connection.")
    try:
        png = session_snapshot(connection_id=connection.pk)
    except SessionUnavailable:
        raise ApiError(409, "ACCOUNT_NOT_READY", message) from None
    except BusUnavailable:
        raise bus_unavailable() from None
    return HttpResponse(png, content_type="image/png")


@router.put(
    "/connections/{int:id}/webhook",
    auth=StaffToken("whatsapp.change_connection"),
    summary="Set the webhook URL and secret (the session keeps running)",
    response={200: WebhookOut, **TOKEN, **BY_ID, **BODY},
)
def connections_webhook(request, id: Id, payload: WebhookIn):
    connection = connection_or_404(id)
    form = WebhookForm(
        {
            "webhook_url": payload.url,
            "webhook_secret": payload.secret,
            "rotate_webhook_secret": payload.rotate,
        },
        instance=connection,
    )
    if not form.is_valid():
        raise form_errors(form)
    connection_update(connection=connection, changes=form.cleaned_data, by=request.user)
    return {
        "id": id,
        "url": connection.webhook_url,
        "secret_set": bool(connection.webhook_secret),
        "secret": form.new_secret or None,
    }
