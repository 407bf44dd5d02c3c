from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from helpdesk.selectors import dashboard_figures


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", dashboard_figures(user=request.user))
