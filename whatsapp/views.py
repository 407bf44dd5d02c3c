from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from helpdesk.permissions import staff_required
from whatsapp.selectors import connection_list as connections


@staff_required
def connection_list(request: HttpRequest) -> HttpResponse:
    return render(request, "whatsapp/connection_list.html", {"connections": connections()})
