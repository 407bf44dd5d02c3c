"""The queues part of the JSON API: a queue's settings, its business hours, SLAs and assignment mode
(helpdesk/api.py has the common ground; tickets/queues.py the reads and the change)."""

from datetime import date
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from ninja import Router, Schema
from pydantic import ConfigDict, Field, StrictStr, WithJsonSchema

from helpdesk.api import BODY, BY_ID, TOKEN, Id, Positive, StaffToken
from helpdesk.api_common import ApiError, found_or_404
from tickets.business_time import DAYS
from tickets.models import Queue
from tickets.queues import queue_payload, queue_update, queues_readable_by

router = Router(tags=["queues"])

HHMM = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"
DAY = {
    "type": "array",
    "items": {
        "type": "array",
        "items": {"type": "string", "pattern": HHMM},
        "minItems": 2,
        "maxItems": 2,
    },
    "description": 'Ranges ["HH:MM", "HH:MM"] (an end may be "24:00"); empty: closed all day',
}
WEEK = {"type": "object", "properties": dict.fromkeys(DAYS, DAY), "additionalProperties": False}
HOURS_DOC = (
    "The weekly schedule in the helpdesk's TIME_ZONE, or null (always open). A missing or empty day is "
    "closed; each range ends after it starts and the ranges of a day do not overlap."
)
# Checked by tickets/hours.py's schedule_clean (the admin's rules and words), so typed here for the
# document only: a refusal names the field with the day and the reason.
BusinessHoursIn = Annotated[
    Any, WithJsonSchema({"anyOf": [WEEK, {"type": "null"}], "description": HOURS_DOC})
]
BusinessHoursOut = Annotated[
    dict[str, list[list[str]]] | None,
    WithJsonSchema({"anyOf": [{**WEEK, "required": list(DAYS)}, {"type": "null"}], "description": HOURS_DOC}),
]
HOLIDAYS = {"type": "array", "items": {"type": "string", "format": "date"}, "description": "Closed all day"}
HolidaysIn = Annotated[Any, WithJsonSchema(HOLIDAYS)]


def _no_defaults(schema: dict) -> None:
    """A field left out is left as it is: none has a default to document."""
    for field in schema.get("properties", {}).values():
        field.pop("default", None)


class QueueChange(Schema):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_no_defaults)

    name: StrictStr = Field(None, min_length=1, max_length=100)  # type: ignore[assignment]
    color: StrictStr = Field(None, pattern=r"^#[0-9A-Fa-f]{6}$")  # type: ignore[assignment]
    greeting: StrictStr = None  # type: ignore[assignment]
    business_hours: BusinessHoursIn = None
    holidays: HolidaysIn = None
    out_of_hours_message: StrictStr = None  # type: ignore[assignment]
    sla_first_response_minutes: Positive | None = Field(
        None, description="Business minutes; null: no promise"
    )
    sla_resolution_minutes: Positive | None = Field(None, description="Business minutes; null: no promise")
    assignment: Queue.Assignment = None  # type: ignore[assignment]


class QueueOut(Schema):
    id: int
    name: str
    color: str
    greeting: str
    business_hours: BusinessHoursOut
    holidays: list[date]
    out_of_hours_message: str
    sla_first_response_minutes: int | None
    sla_resolution_minutes: int | None
    assignment: Queue.Assignment


class QueueList(Schema):
    queues: list[QueueOut]


@router.get(
    "/queues",
    summary="The queues the caller may read (all with tickets.view_queue; else the ones they are a member of)",
    response={200: QueueList, **TOKEN},
)
def queues_list(request):
    return {"queues": [queue_payload(queue) for queue in queues_readable_by(user=request.user)]}


@router.get("/queues/{int:id}", summary="One queue", response={200: QueueOut, **TOKEN, **BY_ID})
def queues_read(request, id: Id):
    return queue_payload(found_or_404(queues_readable_by(user=request.user), id))


@router.patch(
    "/queues/{int:id}",
    auth=StaffToken("tickets.change_queue"),
    summary="Change a queue's settings: only the fields given; a refused one is named (422) and nothing is saved",
    response={200: QueueOut, **TOKEN, **BY_ID, **BODY},
)
def queues_update(request, id: Id, payload: QueueChange):
    queue = found_or_404(Queue.objects.all(), id)
    try:
        queue_update(queue=queue, changes=payload.dict(exclude_unset=True))
    except ValidationError as invalid:
        raise ApiError(
            422, "VALIDATION_ERROR", gettext("Some fields are not valid."), fields=invalid.message_dict
        ) from None
    return queue_payload(queue)
