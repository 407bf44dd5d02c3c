"""The tickets, messages and contacts part of the JSON API (helpdesk/api.py has the common ground)."""

from datetime import datetime
from typing import Annotated, TypeVar

import pydantic
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from ninja import Router, Schema, Status
from ninja.errors import ValidationError as RequestInvalid
from pydantic import Field, PlainValidator, StrictBool, StrictStr, WithJsonSchema
from pydantic_core import PydanticCustomError

from contacts.selectors import contact_search, contacts_visible_to
from helpdesk.api import BODY, BY_ID, QUERY, TOKEN, Error, Id, QueryId, RowId, ValidationErrorOut, json_object
from helpdesk.api_common import ApiError, found_or_404
from tickets.media import MediaRefused, media_check
from tickets.message_actions import EMOJI_MAX, message_delete, message_edit, message_react
from tickets.models import Message, Queue, Ticket
from tickets.payloads import contact_payload, message_payload, ticket_payload
from tickets.scheduling import scheduled_cancel, scheduled_edit, send_at_check, send_at_parse
from tickets.selectors import ticket_search, tickets_visible_to
from tickets.services import (
    ActionRefused,
    number_message_send,
    phone_digits,
    ticket_assign,
    ticket_close,
    ticket_reopen,
    ticket_reply,
    ticket_transfer,
)
from whatsapp.api import connection_or_404

SchemaT = TypeVar("SchemaT", bound=Schema)

router = Router(tags=["tickets"])


class ContactOut(Schema):
    id: int
    wa_id: str
    lid: str | None = Field(
        description='WhatsApp\'s LID of the person ("<digits>@lid"), or null when none is known'
    )
    phone: str = Field(description='E.164 digits; "" when WhatsApp hides the phone')
    name: str
    email: str
    blocked: bool


class TicketOut(Schema):
    id: int
    status: str
    contact: ContactOut
    connection: int
    queue: int | None
    assignee: int | None
    unread_count: int
    last_message_at: datetime | None
    last_message_preview: str
    closed_at: datetime | None
    close_reason: str
    csat_rating: int | None = Field(
        None, description="The customer's answer (1 to 5) to the satisfaction question; null: not rated."
    )
    csat_comment: str = Field("", description="What the customer wrote just after their rating.")
    created_at: datetime
    first_response_due: datetime | None = Field(
        description="When the queue promised a first answer: the customer's first message (or the "
        "reopening of a ticket nobody answered) plus its SLA, in business hours; null: no promise."
    )
    first_response_at: datetime | None = Field(
        description="The first message an agent wrote (automatic messages and notes do not count)."
    )
    resolution_due: datetime | None = Field(
        description="When the queue promised to resolve it (from the first message, or the last "
        "reopening, in business hours); null: no promise."
    )
    sla_breached: bool = Field(
        description="True as soon as a due time passes unmet; stays true after a late answer."
    )


class ReactionOut(Schema):
    emoji: str
    from_me: bool


class MessageOut(Schema):
    id: int
    ticket: int
    wa_id: str | None
    from_me: bool
    author: int | None
    kind: str
    body: str
    caption: str
    mimetype: str
    filename: str
    size: int | None
    status: str
    error: str
    wa_timestamp: datetime | None
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    send_at: datetime | None
    reactions: list[ReactionOut]


class TicketPage(Schema):
    results: list[TicketOut]
    next_cursor: int | None


class MessagePage(Schema):
    results: list[MessageOut]
    next_cursor: int | None


class ContactPage(Schema):
    results: list[ContactOut]
    next_cursor: int | None


def _send_at(value):
    """ISO 8601 text with its offset, as tickets/scheduling.py reads it (a number, or a time without a
    zone, is refused: 422 on send_at); a time that has passed or is more than a year ahead too."""
    try:
        when = send_at_parse(value)
        send_at_check(when)
    except ValidationError as invalid:
        raise PydanticCustomError(
            "send_at", "{reason}", {"reason": invalid.message_dict["send_at"][0]}
        ) from None
    return when


SendAt = Annotated[
    datetime, PlainValidator(_send_at), WithJsonSchema({"type": "string", "format": "date-time"})
]


class ReplyIn(Schema):
    body: StrictStr = Field(min_length=1)
    quoted: RowId | None = None
    internal: StrictBool = False
    send_at: SendAt | None = None


class ReactionIn(Schema):
    emoji: StrictStr = Field(max_length=EMOJI_MAX)  # "" removes our reaction


class EditIn(Schema):
    body: StrictStr = Field(min_length=1)


class CloseIn(Schema):
    send_farewell: StrictBool = True


FAREWELL = CloseIn()  # a close without a body: with the farewell


class AssignIn(Schema):
    user: RowId | None = None


class TransferIn(Schema):
    queue: RowId


class SendIn(Schema):
    to: StrictStr = Field(min_length=1)
    body: StrictStr = Field(min_length=1)
    queue_if_offline: StrictBool = False


REPLY_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ReplyIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["media"],
                    "properties": {
                        "media": {"type": "string", "format": "binary"},
                        "body": {"type": "string"},
                        "send_at": {"type": "string", "format": "date-time"},
                    },
                }
            },
        },
    }
}

PAGE = 50


def page_of(queryset, cursor: int | None, payload) -> dict:
    """Cursor pagination on the id: ``?cursor=<id>`` continues after the last item of a page."""
    if cursor is not None:
        descending = queryset.query.order_by and queryset.query.order_by[0].startswith("-")
        queryset = queryset.filter(pk__lt=cursor) if descending else queryset.filter(pk__gt=cursor)
    items = list(queryset[: PAGE + 1])
    more = len(items) > PAGE
    items = items[:PAGE]
    return {"results": [payload(item) for item in items], "next_cursor": items[-1].pk if more else None}


def ticket_or_404(request, pk: int) -> Ticket:
    """A ticket the caller may see (tickets_visible_to), else the API's 404."""
    return found_or_404(tickets_visible_to(user=request.user).select_related("contact"), pk)


@router.get(
    "/tickets",
    summary="Tickets, newest first; filters: status, queue, connection, assignee, search (the contact's "
    "name or number, or a message's text, as the inbox's search)",
    response={200: TicketPage, **TOKEN, **QUERY},
)
def tickets_list(
    request,
    status: str = "",
    queue: QueryId = None,
    connection: QueryId = None,
    assignee: QueryId = None,
    search: str = "",
    cursor: QueryId = None,
):
    tickets = tickets_visible_to(user=request.user).select_related("contact").order_by("-id")
    if status:
        tickets = tickets.filter(status=status)
    for field, value in [("queue_id", queue), ("connection_id", connection), ("assignee_id", assignee)]:
        if value is not None:
            tickets = tickets.filter(**{field: value})
    if search := search.strip():
        tickets = tickets.filter(ticket_search(search))  # what the inbox's search finds
    return page_of(tickets, cursor, ticket_payload)


@router.get("/tickets/{int:id}", summary="One ticket", response={200: TicketOut, **TOKEN, **BY_ID})
def tickets_read(request, id: Id):
    return ticket_payload(ticket_or_404(request, id))


@router.get(
    "/tickets/{int:id}/messages",
    summary="A ticket's messages, oldest first",
    response={200: MessagePage, **TOKEN, **BY_ID},
)
def tickets_messages(request, id: Id, cursor: QueryId = None):
    ticket = ticket_or_404(request, id)
    return page_of(ticket.messages.prefetch_related("reactions").order_by("id"), cursor, message_payload)


@router.post(
    "/tickets/{int:id}/messages",
    summary="Reply (queued, then sent by the session): JSON {body, quoted, internal, send_at}, or multipart "
    "with a media file and body as its caption (and send_at); internal: true makes a note that is never sent; "
    "send_at (ISO 8601 with its offset, ahead, within a year) schedules it: status scheduled until then",
    response={201: MessageOut, **TOKEN, **BY_ID, **BODY, 409: Error, 413: Error},
    openapi_extra=REPLY_BODY,
)
def tickets_reply(request, id: Id):
    ticket = ticket_or_404(request, id)
    if request.content_type == "multipart/form-data":
        data, upload = request.POST, request.FILES.get("media")
        if upload is None:
            raise ApiError(400, "VALIDATION_ERROR", gettext("Send the file in a part named media."))
        try:
            media = media_check(data=upload.read(), filename=upload.name, declared_type=upload.content_type)
        except MediaRefused as refused:
            raise ApiError(
                413 if refused.too_large else 400,
                "MEDIA_TOO_LARGE" if refused.too_large else "MEDIA_REFUSED",
                str(refused),
            ) from None
        send_at = None
        if "send_at" in data:  # given empty is no time, as in JSON: refused
            try:
                send_at = send_at_parse(data["send_at"])
                send_at_check(send_at)
            except ValidationError as invalid:
                raise _invalid(invalid) from None
        reply_with_file = _reply(
            ticket, request.user, body=data.get("body", ""), media=media, send_at=send_at
        )
        return Status(201, message_payload(reply_with_file, new=True))
    reply = _json_body(request, ReplyIn)
    body = _text(reply.body)
    if reply.internal:
        if reply.send_at is not None:
            raise _invalid(
                ValidationError(
                    {"send_at": gettext("An internal note is never sent: it cannot be scheduled.")}
                )
            )
        return Status(201, message_payload(_reply(ticket, request.user, body=body, internal=True), new=True))
    quoted = None
    if reply.quoted is not None:
        quoted = ticket.messages.filter(pk=reply.quoted).exclude(wa_id=None).first()
        if quoted is None:
            raise ApiError(
                400,
                "VALIDATION_ERROR",
                gettext("quoted must be the id of a sent or received message of this ticket."),
            )
    sent = _reply(ticket, request.user, body=body, quoted=quoted, send_at=reply.send_at)
    return Status(201, message_payload(sent, new=True))


def _json_body(request, schema: type[SchemaT]) -> SchemaT:
    """The JSON body validated as ``schema`` (for the reply, whose body may also be multipart)."""
    data = json_object(request.body)
    try:
        return schema.model_validate(data)
    except pydantic.ValidationError as invalid:
        raise RequestInvalid([dict(error) for error in invalid.errors(include_url=False)]) from None


def _reply(ticket: Ticket, user, **message) -> Message:
    """The page's composer service: answering a waiting ticket accepts it; never signed (API clients are programs)."""
    try:
        return ticket_reply(ticket=ticket, by=user, **message)
    except ActionRefused as refused:
        raise ApiError(409, "ACTION_REFUSED", str(refused)) from None
    except ValidationError as invalid:  # send_at, checked again as it is written
        raise _invalid(invalid) from None


def _invalid(invalid: ValidationError) -> RequestInvalid:
    """A service's refusal of fields (``{"send_at": [...]}``) as the API's 422 naming them."""
    return RequestInvalid(
        [
            {"loc": (field,), "msg": message}
            for field, messages in invalid.message_dict.items()
            for message in messages
        ]
    )


def message_or_404(request, pk: int) -> Message:
    """A message of a ticket the caller may see (tickets_visible_to), else the API's 404."""
    visible = tickets_visible_to(user=request.user)
    return found_or_404(
        Message.objects.filter(ticket__in=visible).select_related("ticket__contact", "connection"), pk
    )


def _changed(request, message: Message, change, **values) -> dict:
    """Make one of tickets/message_actions.py's (or tickets/scheduling.py's) changes; its refusal is the
    API's 409."""
    try:
        return message_payload(change(message=message, by=request.user, **values))
    except ActionRefused as refused:
        raise ApiError(409, "ACTION_REFUSED", str(refused)) from None


CHANGE_ANSWERS = {200: MessageOut, **TOKEN, **BY_ID, 409: Error}


@router.post(
    "/messages/{int:id}/reaction",
    summary='React to a message with one emoji, for the helpdesk (a new one replaces ours; "" removes '
    "it); made on WhatsApp by the session. Refused (409) for a note, a system line, a deleted message, "
    "a message not sent yet or a blocked contact",
    response={**CHANGE_ANSWERS, **BODY},
)
def messages_react(request, id: Id, payload: ReactionIn):
    return _changed(request, message_or_404(request, id), message_react, emoji=payload.emoji)


@router.patch(
    "/messages/{int:id}",
    summary="Edit your own text message within 15 minutes of its sending (the earlier text is kept), or "
    "a scheduled reply's text before it goes; "
    "made on WhatsApp by the session. Anything else is refused (409)",
    response={**CHANGE_ANSWERS, **BODY},
)
def messages_edit(request, id: Id, payload: EditIn):
    message = message_or_404(request, id)
    scheduled = message.status == Message.Status.SCHEDULED  # not gone yet: any text, any time before
    return _changed(request, message, scheduled_edit if scheduled else message_edit, body=_text(payload.body))


@router.delete(
    "/messages/{int:id}",
    summary="Delete your own message for everyone (within 60 hours of its sending; made on WhatsApp by "
    "the session), or cancel a scheduled reply before it goes. Anything else is refused (409)",
    response=CHANGE_ANSWERS,
)
def messages_delete(request, id: Id):
    message = message_or_404(request, id)
    scheduled = message.status == Message.Status.SCHEDULED  # cancelled: nothing is sent
    return _changed(request, message, scheduled_cancel if scheduled else message_delete)


@router.post(
    "/tickets/{int:id}/close",
    summary="Close the ticket, with the farewell unless send_farewell is false",
    response={200: TicketOut, **TOKEN, **BY_ID, **BODY},
)
def tickets_close(request, id: Id, payload: CloseIn = FAREWELL):
    send_farewell = payload.send_farewell
    return ticket_payload(
        ticket_close(
            ticket=ticket_or_404(request, id),
            by=request.user,
            reason=Ticket.CloseReason.API,
            send_farewell=send_farewell,
        )
    )


@router.post(
    "/tickets/{int:id}/reopen",
    summary="Reopen the ticket",
    response={200: TicketOut, **TOKEN, **BY_ID, 409: Error},
)
def tickets_reopen(request, id: Id):
    try:
        return ticket_payload(ticket_reopen(ticket=ticket_or_404(request, id), by=request.user))
    except ValidationError as error:
        raise ApiError(409, "TICKET_ALREADY_OPEN", error.messages[0]) from None


@router.post(
    "/tickets/{int:id}/assign",
    summary="Give the ticket to a user (null: to nobody)",
    response={200: TicketOut, **TOKEN, **BY_ID, **BODY},
)
def tickets_assign(request, id: Id, payload: AssignIn):
    ticket, user = ticket_or_404(request, id), None
    if payload.user is not None:
        user = get_user_model().objects.filter(pk=payload.user, is_active=True).first()
        if user is None:
            raise ApiError(400, "VALIDATION_ERROR", gettext("No active user %(id)r.") % {"id": payload.user})
    return ticket_payload(ticket_assign(ticket=ticket, assignee=user, by=request.user))


@router.post(
    "/tickets/{int:id}/transfer",
    summary="Move the ticket to another queue",
    response={200: TicketOut, **TOKEN, **BY_ID, **BODY},
)
def tickets_transfer(request, id: Id, payload: TransferIn):
    ticket = ticket_or_404(request, id)
    queue = Queue.objects.filter(pk=payload.queue).first()
    if queue is None:
        raise ApiError(400, "VALIDATION_ERROR", gettext("No queue %(id)r.") % {"id": payload.queue})
    return ticket_payload(ticket_transfer(ticket=ticket, queue=queue, by=request.user))


@router.get(
    "/contacts",
    summary="Contacts; search by name, WhatsApp name or number, as the Contacts page does",
    response={200: ContactPage, **TOKEN, **QUERY},
)
def contacts_list(request, search: str = "", cursor: QueryId = None):
    # what the Contacts page's search finds
    return page_of(
        contact_search(user=request.user, query=search.strip()).order_by("-id"), cursor, contact_payload
    )


@router.get("/contacts/{int:id}", summary="One contact", response={200: ContactOut, **TOKEN, **BY_ID})
def contacts_read(request, id: Id):
    return contact_payload(found_or_404(contacts_visible_to(user=request.user), id))


# The status of each refusal of a send to a number (tickets.services._number_check); the others are 409:
# the connection is not ready, the contact is blocked, or the number has a conversation the caller cannot
# see (CONVERSATION_NOT_VISIBLE, which says nothing of it, as GET /tickets/{id} answers 404 for it).
SEND_REFUSED = {"NOT_ON_WHATSAPP": 422, "BUS_UNAVAILABLE": 503}


@router.post(
    "/connections/{int:id}/messages",
    summary="Write to a phone number from this connection; refused (409) when the contact is blocked or "
    "the number has a conversation the caller cannot see",
    response={201: MessageOut, **TOKEN, **BY_ID, **BODY, 409: Error, 422: ValidationErrorOut, 503: Error},
)
def connections_send(request, id: Id, payload: SendIn):
    connection = connection_or_404(id)
    body = _text(payload.body)
    try:
        phone = phone_digits(payload.to)
    except ValidationError:
        message = gettext("to must be a phone number with country code, e.g. 5511988887777.")
        raise ApiError(400, "VALIDATION_ERROR", message) from None
    try:
        sent = number_message_send(
            connection=connection,
            phone=phone,
            by=request.user,
            body=body,
            queue_if_offline=payload.queue_if_offline,
        )
    except ActionRefused as refused:
        raise ApiError(SEND_REFUSED.get(refused.code, 409), refused.code, str(refused)) from None
    return Status(201, message_payload(sent, new=True))


def _text(body: str) -> str:
    if not body.strip():
        raise ApiError(400, "VALIDATION_ERROR", gettext("body must be a non-empty text."))
    return body
