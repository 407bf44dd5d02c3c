from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from whatsapp.selectors import connection_list as connections


@staff_member_required
def connection_list(request: HttpRequest) -> HttpResponse:
    return render(request, "whatsapp/connection_list.html", {"connections": connections()})
