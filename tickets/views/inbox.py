"""The inbox: tabs, filters, rows, each piece also served alone for htmx and the live updates."""

from django.contrib.auth import get_user_model
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from helpdesk.http import AuthenticatedHttpRequest
from helpdesk.keyset import BadCursor
from helpdesk.permissions import sees_every_ticket
from helpdesk.selectors import preferences_of
from helpdesk.services import preferences_update
from tickets.forms import InboxFilterForm
from tickets.models import Queue
from tickets.selectors import (
    InboxFilters,
    customer_wrote_to,
    inbox_counts,
    inbox_page,
    inbox_row,
    inbox_tabs,
    tickets_visible_to,
)
from whatsapp.models import Connection


def inbox_filters(request: AuthenticatedHttpRequest) -> InboxFilters:
    return InboxFilterForm(request.GET).filters(tabs=inbox_tabs(user=request.user))


def inbox_context(request: AuthenticatedHttpRequest, filters: InboxFilters) -> dict:
    """What the list pane shows; the ticket page renders it too, so a reload keeps both."""
    try:
        page = inbox_page(user=request.user, filters=filters, cursor=request.GET.get("cursor"))
    except BadCursor:
        page = inbox_page(user=request.user, filters=filters)
    return {
        "filters": filters,
        "page": page,
        "tabs": inbox_tabs(user=request.user),
        "counts": inbox_counts(user=request.user),
        "query": _list_query(request),
        "muted": preferences_of(user=request.user).notifications_muted,
    }


def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(request, "tickets/inbox.html", inbox_context(request, inbox_filters(request)))


def inbox_more(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The next rows of the list ("load more")."""
    filters = inbox_filters(request)
    try:
        page = inbox_page(user=request.user, filters=filters, cursor=request.GET.get("cursor"))
    except BadCursor:
        return HttpResponse(status=400)
    return render(
        request, "tickets/_rows.html", {"filters": filters, "page": page, "query": _list_query(request)}
    )


def inbox_row_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """One row as the tab shows it now, for a live event; empty when it left the tab.

    ``X-Notify`` says the browser should notify: a new message of the customer's
    on a ticket that is the user's, or waiting where they work. The page asks
    (``message``) only when the user has not muted notifications: it holds that
    preference already, so a live event does not read it again.
    """
    filters = inbox_filters(request)
    ticket = inbox_row(user=request.user, filters=filters, pk=pk)
    if ticket is None and not tickets_visible_to(user=request.user).filter(pk=pk).exists():
        raise Http404  # not theirs to see at all (it moved away: the page drops the row)
    response = (
        HttpResponse("")
        if ticket is None
        else render(
            request,
            "tickets/_row.html",
            {"ticket": ticket, "filters": filters, "query": _list_query(request)},
        )
    )
    message = request.GET.get("message", "")
    if (
        message.isascii()
        and message.isdigit()
        and customer_wrote_to(user=request.user, ticket=pk, message=int(message))
    ):
        response["X-Notify"] = "1"
    return response


def inbox_counts_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    filters = inbox_filters(request)
    context = {
        "filters": filters,
        "tabs": inbox_tabs(user=request.user),
        "counts": inbox_counts(user=request.user),
        "query": _list_query(request),
    }
    return render(request, "tickets/_tabs.html", context)


def inbox_filter_options(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The filters' choices, loaded when the filter box opens (the list itself needs none)."""
    context = {
        "filters": inbox_filters(request),
        "queues": Queue.objects.all(),
        "connections": Connection.objects.only("pk", "name"),
    }
    if sees_every_ticket(request.user):
        context["agents"] = get_user_model().objects.filter(is_active=True).order_by("username")
    return render(request, "tickets/_filter_options.html", context)


@require_POST
def inbox_mute(request: AuthenticatedHttpRequest) -> HttpResponse:
    muted = preferences_update(user=request.user, notifications_muted=request.POST.get("muted") == "1")
    return render(request, "tickets/_mute.html", {"muted": muted.notifications_muted})


def _list_query(request: AuthenticatedHttpRequest) -> str:
    """The list's query string without the cursor, kept in every link of the page."""
    query = request.GET.copy()
    query.pop("cursor", None)
    query.pop("message", None)
    return query.urlencode()
