from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tickets.selectors import ticket_counts
from whatsapp.selectors import connection_status_counts


def home(request: HttpRequest) -> HttpResponse:
    context = {"tickets": ticket_counts(user=request.user)}
    if request.user.is_staff:
        context["connections"] = connection_status_counts()
    return render(request, "home.html", context)
