"""The reports in the JSON API: ``GET /api/reports/summary``, the page's figures for a period."""

import re
from datetime import date
from typing import Annotated

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from helpdesk.api import QUERY, TOKEN, QueryId, StaffToken
from helpdesk.api_common import ApiError
from reports.forms import ReportForm
from reports.selectors import Figures, people, report_summary, reportable_queues, scope_of

router = Router(tags=["reports"])
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> object:
    """Only "YYYY-MM-DD": pydantic would read "0" as 1970-01-01 (a Unix time)."""
    if value is not None and not (isinstance(value, str) and ISO_DATE.fullmatch(value)):
        raise PydanticCustomError("date_format", "Input should be a date as YYYY-MM-DD")
    return value


class FiguresOut(Schema):
    """The figures of the totals and of each agent's and queue's line."""

    opened: int
    closed: int
    first_response_median_seconds: float | None
    first_response_avg_seconds: float | None
    resolution_median_seconds: float | None
    resolution_avg_seconds: float | None
    csat_average: float | None
    csat_responses: int
    sla_breaches: int


class LineOut(FiguresOut):
    id: int | None = Field(description="The agent's or queue's id; null: tickets without a queue")
    name: str
    opened: int = Field(description="Agents: conversations taken; queues: tickets that entered it")


class AgentOut(LineOut):
    messages_sent: int


class QueueOut(LineOut):
    waiting_now: int | None = Field(description="Its pending tickets now")


class SummaryOut(FiguresOut):
    from_: date = Field(alias="from")
    to: date
    agents: list[AgentOut]
    queues: list[QueueOut]


def _line(figures: Figures) -> dict:
    return {
        "id": figures.id,
        "name": figures.name,
        "opened": figures.opened,
        "closed": figures.closed,
        "first_response_median_seconds": figures.first_response.median,
        "first_response_avg_seconds": figures.first_response.average,
        "resolution_median_seconds": figures.resolution.median,
        "resolution_avg_seconds": figures.resolution.average,
        "csat_average": figures.csat_average,
        "csat_responses": figures.csat_responses,
        "sla_breaches": figures.sla_breaches,
    }


@router.get(
    "/reports/summary",
    summary="The reports' figures for a period (dates inclusive, in TIME_ZONE; default the last 7 days): "
    "totals, one line per agent and per queue; times in wall-clock seconds, null without data",
    response={200: SummaryOut, **TOKEN, **QUERY},
    auth=StaffToken("tickets.view_ticket"),
    by_alias=True,
)
def reports_summary(
    request,
    start: Annotated[date | None, BeforeValidator(_iso_date), Query(None, alias="from")] = None,
    end: Annotated[date | None, BeforeValidator(_iso_date), Query(None, alias="to")] = None,
    queue: QueryId = None,
    agent: QueryId = None,
):
    queues = reportable_queues(user=request.user)
    scope = scope_of(user=request.user, queues=queues)
    names = people(user=request.user, scope=scope)
    given = {"from": start, "to": end, "queue": queue, "agent": agent}
    form = ReportForm(
        {key: value for key, value in given.items() if value is not None},
        scope=scope,
        queues=queues,
        people=names,
    )
    if not form.is_valid():
        raise ApiError(422, "VALIDATION_ERROR", _("Some fields are not valid."), fields=form.errors)
    summary = report_summary(filters=form.filters(), scope=scope, queues=queues, users=names)
    totals = summary.totals
    return {
        "from": summary.filters.start,
        "to": summary.filters.end,
        **{key: value for key, value in _line(totals).items() if key not in ("id", "name")},
        "agents": [_line(line) | {"messages_sent": line.messages} for line in summary.agents],
        "queues": [_line(line) | {"waiting_now": line.waiting} for line in summary.queues],
    }
