from django.http import HttpResponse
from django.shortcuts import render

from helpdesk.http import AuthenticatedHttpRequest
from helpdesk.permissions import has_permission
from helpdesk.selectors import dashboard_figures
from tickets.audit.selectors import audit_latest


def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    context = dashboard_figures(user=request.user)
    if has_permission(request.user, "tickets.view_auditreport"):
        context["audits"] = {"latest": audit_latest()}
    return render(request, "home.html", context)
