from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from helpdesk.selectors import dashboard_figures
from tickets.audit.selectors import audit_latest


def home(request: HttpRequest) -> HttpResponse:
    context = dashboard_figures(user=request.user)
    if request.user.is_staff:
        context["last_audit"] = audit_latest()
    return render(request, "home.html", context)
