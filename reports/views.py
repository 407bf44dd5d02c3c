"""The reports page and its CSV exports: parse the period, decide what the reader may see, call the
selectors, render."""

import csv
from collections.abc import Iterable, Iterator

from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _

from helpdesk.http import AuthenticatedHttpRequest
from reports.forms import ReportForm
from reports.selectors import (
    TICKET_COLUMNS,
    Figures,
    Summary,
    days_and_hours,
    latest_comments,
    people,
    report_days,
    report_summary,
    reportable_queues,
    scope_of,
    ticket_rows,
)
from whatsapp.models import Connection

REPORTS = ("", "days", "tickets")
SUMMARY_COLUMNS = [
    "row",
    "id",
    "name",
    "opened",
    "closed",
    "reopened",
    "messages_sent",
    "first_response_median_seconds",
    "first_response_avg_seconds",
    "resolution_median_seconds",
    "resolution_avg_seconds",
    "csat_average",
    "csat_responses",
    "sla_breaches",
    "waiting_now",
]


def _form(request: AuthenticatedHttpRequest, *, connections: bool = True):
    """The bound form and what it was built from: the queues, the scope, the names."""
    user = request.user
    queues = reportable_queues(user=user)
    scope = scope_of(user=user, queues=queues)
    names = people(user=user, scope=scope)
    form = ReportForm(
        request.GET,
        scope=scope,
        queues=queues,
        people=names,
        connections=list(Connection.objects.order_by("name").only("id", "name")) if connections else None,
    )
    return form, scope, queues, names


def reports_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    form, scope, queues, names = _form(request)
    if not form.is_valid():
        return render(request, "reports/page.html", {"form": form}, status=200)
    filters = form.filters()
    summary = report_summary(filters=filters, scope=scope, queues=queues, users=names)
    days, hours = days_and_hours(filters=filters, scope=scope)
    context = {
        "form": form,
        "summary": summary,
        "days": days,
        "hours": hours,
        "hours_rows": list(zip(WEEKDAYS_ABBR.values(), hours, strict=True)),
        "hour_labels": [f"{hour:02d}" for hour in range(24)],
        "comments": latest_comments(filters=filters, scope=scope),
        "query": request.GET.urlencode(),
    }
    return render(request, "reports/page.html", context)


class _Echo:
    """csv.writer's file: each row comes back as its text, for a streamed answer."""

    def write(self, value: str) -> str:
        return value


def _csv(rows: Iterable[list], header: list[str], filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _summary_rows(summary: Summary) -> Iterator[list]:
    for kind, lines in (("agent", summary.agents), ("queue", summary.queues)):
        for line in lines:
            yield _summary_row(kind, line)


def _summary_row(kind: str, line: Figures) -> list:
    first, resolution = line.first_response, line.resolution
    values = [
        kind,
        line.id if line.id is not None else "",
        line.name,
        line.opened,
        line.closed,
        line.reopened,
        line.messages,
        first.median,
        first.average,
        resolution.median,
        resolution.average,
        line.csat_average,
        line.csat_responses,
        line.sla_breaches,
        line.waiting,
    ]
    return ["" if value is None else value for value in values]


def reports_export(request: AuthenticatedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    """``report``: absent, one row per agent and per queue; ``days``, one per day; ``tickets``, one
    per ticket opened in the period (streamed). Bad input: 422 with the form's errors as text."""
    form, scope, queues, names = _form(request, connections=False)
    report = request.GET.get("report", "")
    if report not in REPORTS:
        form.add_error(None, _("report: one of days, tickets, or none."))
    if not form.is_valid():
        problems = "\n".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())
        return HttpResponse(problems, status=422, content_type="text/plain; charset=utf-8")
    filters = form.filters()
    period = f"{filters.start}_{filters.end}"
    if report == "days":
        days = report_days(filters=filters, scope=scope)
        return _csv(
            ([day.day.isoformat(), day.opened, day.closed, day.reopened] for day in days),
            ["day", "opened", "closed", "reopened"],
            f"report-days-{period}.csv",
        )
    if report == "tickets":
        queue_names = {queue.pk: queue.name for queue in queues}
        rows = ticket_rows(filters=filters, scope=scope, names=names, queues=queue_names)
        return _csv(rows, TICKET_COLUMNS, f"report-tickets-{period}.csv")
    summary = report_summary(filters=filters, scope=scope, queues=queues, users=names)
    return _csv(_summary_rows(summary), SUMMARY_COLUMNS, f"report-{period}.csv")
