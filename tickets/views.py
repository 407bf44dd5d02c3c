from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from tickets.models import Ticket
from tickets.selectors import inbox_tickets, tickets_visible_to

PAGE_SIZE = 50


def inbox(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status")
    if status not in Ticket.Status.values:
        status = Ticket.Status.PENDING
    page = Paginator(inbox_tickets(user=request.user, status=status), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "tickets/inbox.html", {"page": page, "status": status, "statuses": Ticket.Status.choices})


def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = get_object_or_404(tickets_visible_to(user=request.user).select_related("contact"), pk=pk)
    return render(request, "tickets/ticket.html", {"ticket": ticket})
