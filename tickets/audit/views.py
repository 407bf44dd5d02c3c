"""The Audits page (for those who may view audit reports): the latest status at a glance, the history, each report readable."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from helpdesk.permissions import permission_required
from tickets.audit.report import report_markdown_html
from tickets.audit.selectors import audit_latest
from tickets.models import AuditReport

SHOWN = 100  # the latest reports; older ones are in the admin until AUDIT_KEEP_DAYS prunes them


@permission_required("tickets.view_auditreport")
def audit_list(request: HttpRequest) -> HttpResponse:
    reports = AuditReport.objects.defer("data", "markdown")
    return render(request, "tickets/audit_list.html", {"latest": audit_latest(), "reports": reports[:SHOWN]})


@permission_required("tickets.view_auditreport")
def audit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The report's Markdown rendered (raw HTML in it escaped, never markup)."""
    report = get_object_or_404(AuditReport, pk=pk)
    return render(
        request,
        "tickets/audit_detail.html",
        {"report": report, "report_html": report_markdown_html(report.markdown)},
    )
