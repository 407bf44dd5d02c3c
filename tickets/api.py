"""The tickets, messages and contacts part of the JSON API (helpdesk/api.py has the common ground)."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q

from contacts.selectors import contacts_visible_to
from contacts.services import contact_upsert
from helpdesk.api import ApiError, endpoint, found_or_404, json_body
from tickets.inbound import ticket_for_contact
from tickets.media import MediaRefused, media_check
from tickets.models import Message, Queue, Ticket
from tickets.outbound import message_send
from tickets.payloads import contact_payload, message_payload, ticket_payload
from tickets.selectors import tickets_visible_to
from tickets.services import (ActionRefused, phone_wa_id, ticket_assign, ticket_close, ticket_reopen, ticket_reply,
                              ticket_transfer)  # fmt: skip
from whatsapp.api import bus_unavailable, connection_or_404
from whatsapp.models import Connection
from whatsapp.session_requests import BusUnavailable, SessionUnavailable, session_number_exists

PAGE = 50
NOT_FOUND = {404: "No such ticket"}


def page_of(queryset, request, payload) -> dict:
    """Cursor pagination on the id: ``?cursor=<id>`` continues after the last item of a page."""
    cursor = request.GET.get("cursor")
    if cursor:
        if not cursor.isdigit():
            raise ApiError(400, "BAD_REQUEST", "cursor must be the next_cursor of a previous page.")
        descending = queryset.query.order_by and queryset.query.order_by[0].startswith("-")
        queryset = queryset.filter(pk__lt=cursor) if descending else queryset.filter(pk__gt=cursor)
    items = list(queryset[: PAGE + 1])
    more = len(items) > PAGE
    items = items[:PAGE]
    return {"results": [payload(item) for item in items], "next_cursor": items[-1].pk if more else None}


def ticket_or_404(request, pk: int) -> Ticket:
    """A ticket the caller may see (tickets_visible_to), else the API's 404."""
    return found_or_404(tickets_visible_to(user=request.user).select_related("contact"), pk)


@endpoint("GET", "tickets", summary="Tickets, newest first; filters: status, queue, connection, assignee, search",
          responses={200: "{results, next_cursor}", 400: "Bad filter"})  # fmt: skip
def tickets_list(request):
    tickets = tickets_visible_to(user=request.user).select_related("contact").order_by("-id")
    filters = {"status": "status", "queue": "queue_id", "connection": "connection_id", "assignee": "assignee_id"}
    for parameter, field in filters.items():
        value = request.GET.get(parameter)
        if value:
            if field != "status" and not value.isdigit():
                raise ApiError(400, "BAD_REQUEST", f"{parameter} must be an id.")
            tickets = tickets.filter(**{field: value})
    if search := request.GET.get("search", "").strip():
        tickets = tickets.filter(Q(contact__name__icontains=search) | Q(contact__push_name__icontains=search)
                                 | Q(contact__phone__contains=search) | Q(last_message_preview__icontains=search))  # fmt: skip
    return page_of(tickets, request, ticket_payload)


@endpoint("GET", "tickets/<int:pk>", summary="One ticket", responses={200: "The ticket", **NOT_FOUND})
def tickets_read(request, pk: int):
    return ticket_payload(ticket_or_404(request, pk))


@endpoint("GET", "tickets/<int:pk>/messages", summary="A ticket's messages, oldest first",
          responses={200: "{results, next_cursor}", **NOT_FOUND})  # fmt: skip
def tickets_messages(request, pk: int):
    ticket = ticket_or_404(request, pk)
    return page_of(ticket.messages.order_by("id"), request, message_payload)


@endpoint("POST", "tickets/<int:pk>/messages",
          summary="Reply (queued, then sent by the session): JSON {body, quoted, internal}, or multipart with a "
                  "media file and body as its caption; internal: true makes a note that is never sent",
          body={"type": "object", "properties": {"body": {"type": "string"}, "quoted": {"type": "integer"},
                                                 "internal": {"type": "boolean"}}},
          responses={201: "The queued message", 400: "No text, bad quoted, or a file that is not what it claims",
                     413: "MEDIA_TOO_LARGE: over WHATSAPP_MAX_MEDIA_MB", **NOT_FOUND})  # fmt: skip
def tickets_reply(request, pk: int):
    ticket = ticket_or_404(request, pk)
    if request.content_type == "multipart/form-data":
        data, upload = request.POST, request.FILES.get("media")
        if upload is None:
            raise ApiError(400, "VALIDATION_ERROR", "Send the file in a part named media.")
        try:
            media = media_check(data=upload.read(), filename=upload.name, declared_type=upload.content_type)
        except MediaRefused as refused:
            raise ApiError(413 if refused.too_large else 400, "MEDIA_TOO_LARGE" if refused.too_large
                           else "MEDIA_REFUSED", str(refused)) from None  # fmt: skip
        return message_payload(_reply(ticket, request.user, body=data.get("body", ""), media=media))
    data = json_body(request)
    body = _text(data)
    if data.get("internal") is True:
        return message_payload(_reply(ticket, request.user, body=body, internal=True))
    quoted = None
    if data.get("quoted") is not None:
        quoted = ticket.messages.filter(pk=data["quoted"]).exclude(wa_id=None).first() if isinstance(
            data["quoted"], int) else None  # fmt: skip
        if quoted is None:
            raise ApiError(400, "VALIDATION_ERROR", "quoted must be the id of a sent or received message of this ticket.")
    return message_payload(_reply(ticket, request.user, body=body, quoted=quoted))


def _reply(ticket: Ticket, user, **message) -> Message:
    """The page's composer service: answering a waiting ticket accepts it; never signed (API clients are programs)."""
    try:
        return ticket_reply(ticket=ticket, by=user, **message)
    except ActionRefused as refused:
        raise ApiError(409, "ACTION_REFUSED", str(refused)) from None


@endpoint("POST", "tickets/<int:pk>/close", summary="Close the ticket, with the farewell unless send_farewell is false",
          body={"type": "object", "properties": {"send_farewell": {"type": "boolean"}}},
          responses={200: "Closed", **NOT_FOUND})  # fmt: skip
def tickets_close(request, pk: int):
    send_farewell = json_body(request).get("send_farewell", True) is not False
    return ticket_payload(ticket_close(ticket=ticket_or_404(request, pk), by=request.user, reason=Ticket.CloseReason.API,
                                       send_farewell=send_farewell))  # fmt: skip


@endpoint("POST", "tickets/<int:pk>/reopen", summary="Reopen the ticket",
          responses={200: "Reopened", 409: "TICKET_ALREADY_OPEN: the contact has another open ticket", **NOT_FOUND})  # fmt: skip
def tickets_reopen(request, pk: int):
    try:
        return ticket_payload(ticket_reopen(ticket=ticket_or_404(request, pk), by=request.user))
    except ValidationError as error:
        raise ApiError(409, "TICKET_ALREADY_OPEN", error.messages[0]) from None


@endpoint("POST", "tickets/<int:pk>/assign", summary="Give the ticket to a user (null: to nobody)",
          body={"type": "object", "properties": {"user": {"type": ["integer", "null"]}}},
          responses={200: "Assigned", 400: "No such user", **NOT_FOUND})  # fmt: skip
def tickets_assign(request, pk: int):
    ticket, user_id = ticket_or_404(request, pk), json_body(request).get("user")
    user = None
    if user_id is not None:
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first() if isinstance(user_id, int) else None
        if user is None:
            raise ApiError(400, "VALIDATION_ERROR", f"No active user {user_id!r}.")
    return ticket_payload(ticket_assign(ticket=ticket, assignee=user, by=request.user))


@endpoint("POST", "tickets/<int:pk>/transfer", summary="Move the ticket to another queue",
          body={"type": "object", "properties": {"queue": {"type": "integer"}}, "required": ["queue"]},
          responses={200: "Transferred", 400: "No such queue", **NOT_FOUND})  # fmt: skip
def tickets_transfer(request, pk: int):
    ticket, queue_id = ticket_or_404(request, pk), json_body(request).get("queue")
    queue = Queue.objects.filter(pk=queue_id).first() if isinstance(queue_id, int) else None
    if queue is None:
        raise ApiError(400, "VALIDATION_ERROR", f"No queue {queue_id!r}.")
    return ticket_payload(ticket_transfer(ticket=ticket, queue=queue, by=request.user))


@endpoint("GET", "contacts", summary="Contacts; search by name, phone or email", responses={200: "{results, next_cursor}"})
def contacts_list(request):
    contacts = contacts_visible_to(user=request.user).order_by("-id")
    if search := request.GET.get("search", "").strip():
        contacts = contacts.filter(Q(name__icontains=search) | Q(push_name__icontains=search)
                                   | Q(phone__contains=search) | Q(email__icontains=search))  # fmt: skip
    return page_of(contacts, request, contact_payload)


@endpoint("GET", "contacts/<int:pk>", summary="One contact", responses={200: "The contact", 404: "No such contact"})
def contacts_read(request, pk: int):
    return contact_payload(found_or_404(contacts_visible_to(user=request.user), pk))


@endpoint("POST", "connections/<int:pk>/messages", summary="Write to a phone number from this connection",
          body={"type": "object", "required": ["to", "body"], "properties": {
              "to": {"type": "string"}, "body": {"type": "string"}, "queue_if_offline": {"type": "boolean"}}},
          responses={201: "The queued message", 400: "Bad number or text",
                     409: "ACCOUNT_NOT_READY: not CONNECTED (unless queue_if_offline)",
                     422: "NOT_ON_WHATSAPP: the number has no WhatsApp", 404: "No such connection"})  # fmt: skip
def connections_send(request, pk: int):
    connection, data = connection_or_404(pk), json_body(request)
    body = _text(data)
    try:
        wa_id = phone_wa_id(str(data.get("to", "")))
    except ValidationError:
        message = "to must be a phone number with country code, e.g. 5511988887777."
        raise ApiError(400, "VALIDATION_ERROR", message) from None
    if connection.status != Connection.Status.CONNECTED:
        if not data.get("queue_if_offline"):
            raise ApiError(409, "ACCOUNT_NOT_READY", f"The connection is {connection.status}, not CONNECTED.")
    else:
        try:
            exists = session_number_exists(connection_id=connection.pk, wa_id=wa_id)
        except SessionUnavailable:
            raise ApiError(409, "ACCOUNT_NOT_READY", "The connection's session does not answer.") from None
        except BusUnavailable:
            raise bus_unavailable() from None
        if not exists:
            raise ApiError(422, "NOT_ON_WHATSAPP", f"+{wa_id.split('@')[0]} has no WhatsApp.")
    ticket, _ = ticket_for_contact(contact=contact_upsert(wa_id=wa_id), connection=connection)
    return message_payload(message_send(ticket=ticket, author=request.user, body=body))


def _text(data: dict) -> str:
    body = data.get("body")
    if not isinstance(body, str) or not body.strip():
        raise ApiError(400, "VALIDATION_ERROR", "body must be a non-empty text.")
    return body
