from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from helpdesk.api_common import ApiError, authenticate
from helpdesk.http import AuthenticatedHttpRequest
from helpdesk.permissions import has_permission, permission_required
from whatsapp.forms import ConnectionForm, PairingCodeForm
from whatsapp.metrics import metrics_text
from whatsapp.models import Connection
from whatsapp.qr import qr_data_url
from whatsapp.selectors import ACTION_STATUSES, connection_action_allowed
from whatsapp.selectors import connection_list as connections
from whatsapp.services import (
    ConnectionLimitReached,
    connection_create,
    connection_request,
    connection_update,
)
from whatsapp.session_requests import (
    BusUnavailable,
    SessionUnavailable,
    session_pairing_code,
    session_snapshot,
)

EVENTS_SHOWN = 50

# Each button of a connection's page: (label, enabled, command, what the user is told).
ACTIONS = {
    "start": (gettext_lazy("Start"), True, "", gettext_lazy("Starting the session.")),
    "stop": (gettext_lazy("Stop"), False, "", gettext_lazy("Stopping the session.")),
    "restart": (
        gettext_lazy("Restart"),
        True,
        Connection.Command.RESTART,
        gettext_lazy("Restarting the session."),
    ),
    "logout": (
        gettext_lazy("Log out"),
        None,
        Connection.Command.LOGOUT,
        gettext_lazy("Logging the phone out."),
    ),
}


BUS_UNAVAILABLE_MESSAGE = gettext_lazy("The realtime bus (Redis) is unavailable: try again in a moment.")


@permission_required("whatsapp.view_connection")
def connection_list(request: HttpRequest) -> HttpResponse:
    return render(request, "whatsapp/connection_list.html", {"connections": connections()})


@permission_required("whatsapp.add_connection")
def connection_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = ConnectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            connection = connection_create(by=request.user, **form.cleaned_data)
        except ConnectionLimitReached as error:
            form.add_error(None, str(error))
        else:
            return _after_save(request, connection, form)
    return render(request, "whatsapp/connection_form.html", {"form": form})


def webhook_secret_page(
    request: HttpRequest, *, connection: Connection, secret: str, back: str
) -> HttpResponse:
    """The one time a generated webhook secret is shown (the page's settings and the admin)."""
    response = render(
        request, "whatsapp/webhook_secret.html", {"connection": connection, "secret": secret, "back": back}
    )
    response["Cache-Control"] = "no-store"
    return response


def _after_save(request: HttpRequest, connection: Connection, form: ConnectionForm) -> HttpResponse:
    if form.new_secret:
        back = reverse("connection-detail", kwargs={"pk": connection.pk})
        return webhook_secret_page(request, connection=connection, secret=form.new_secret, back=back)
    return redirect("connection-detail", pk=connection.pk)


@permission_required("whatsapp.view_connection")
def connection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    context = {
        "connection": connection,
        "events": connection.events.order_by("-at", "-id")[:EVENTS_SHOWN],
        "qr_image": qr_data_url(connection.qr_code) if connection.status == Connection.Status.QR else "",
        "pairing_form": PairingCodeForm(),
        "settings_form": ConnectionForm(instance=connection),
        "actions": [
            {
                "name": action,
                "label": spec[0],
                "allowed": " ".join(sorted(ACTION_STATUSES[action])),
                "enabled": connection_action_allowed(connection=connection, action=action),
            }
            for action, spec in ACTIONS.items()
        ],
    }
    return render(request, "whatsapp/connection_detail.html", context)


@permission_required("whatsapp.change_connection")
@require_POST
def connection_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Save the connection's settings; the running session is not disturbed."""
    connection = get_object_or_404(Connection, pk=pk)
    form = ConnectionForm(request.POST, instance=connection)
    if not form.is_valid():
        # Each field by its label, in the reader's language ("URL do webhook"), not its name ("webhook_url").
        said = [
            f"{form[name].label}: {errors[0]}" if name in form.fields else str(errors[0])
            for name, errors in form.errors.items()
        ]
        messages.error(request, "; ".join(said))
        return redirect("connection-detail", pk=pk)
    connection_update(connection=connection, changes=form.cleaned_data, by=request.user)
    messages.success(request, _("Settings saved."))
    return _after_save(request, connection, form)


@permission_required("whatsapp.change_connection")
@require_POST
def connection_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    if action not in ACTIONS:
        raise Http404
    label, enabled, command, done = ACTIONS[action]
    if not connection_action_allowed(connection=connection, action=action):
        refusal = _("%(action)s is not possible while the connection is %(status)s.")
        messages.error(request, refusal % {"action": label, "status": connection.get_status_display()})
    else:
        connection_request(connection=connection, enabled=enabled, command=command)
        messages.success(request, done)
    return redirect("connection-detail", pk=pk)


@permission_required("whatsapp.change_connection")
@require_POST
def connection_pairing_code(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    form = PairingCodeForm(request.POST)
    if not form.is_valid():
        messages.error(request, str(form.errors["phone"][0]))
    else:
        try:
            code = session_pairing_code(connection_id=connection.pk, phone=form.cleaned_data["phone"])
        except SessionUnavailable:
            messages.error(request, _("The session is not running: start it, then ask for a pairing code."))
        except BusUnavailable:
            messages.error(request, BUS_UNAVAILABLE_MESSAGE)
        else:
            messages.success(
                request,
                _("On the phone, open Linked devices → Link with phone number and enter %(code)s")
                % {"code": code},
            )
    return redirect("connection-detail", pk=pk)


@login_not_required  # a scraper sends a token instead of a cookie
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics, for a signed-in user who may see connections, or an API token of one."""
    if not has_permission(request.user, "whatsapp.view_connection"):
        try:
            authenticate(request)
        except ApiError as error:
            return error.response()
        if not has_permission(request.user, "whatsapp.view_connection"):
            message = _("This needs the permission %(permission)s.") % {
                "permission": "whatsapp.view_connection"
            }
            return ApiError(403, "FORBIDDEN", message).response()
    return HttpResponse(metrics_text(), content_type="text/plain; version=0.0.4")


@permission_required("whatsapp.view_connection")
def connection_snapshot(request: HttpRequest, pk: int) -> HttpResponse:
    connection = get_object_or_404(Connection, pk=pk)
    try:
        png = session_snapshot(connection_id=connection.pk)
    except SessionUnavailable:
        return HttpResponse(_("No browser runs for this connection."), status=409, content_type="text/plain")
    except BusUnavailable:
        return HttpResponse(BUS_UNAVAILABLE_MESSAGE, status=503, content_type="text/plain")
    return HttpResponse(png, content_type="image/png")
