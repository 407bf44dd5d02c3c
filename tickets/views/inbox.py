"""The inbox: tabs, filters, rows, each piece also served alone for htmx and the live updates."""

from django.contrib.auth import get_user_model
from django.http import HttpResponse
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
    customer_wrote,
    inbox_counts,
    inbox_page,
    inbox_rows,
    inbox_tabs,
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


LIVE_ROWS = 50  # tickets asked for in one request at most (the page asks for the rest next)


def inbox_rows_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The rows of the tickets live events named (``ticket``, repeated), as this tab shows them now.

    A ticket that left the tab, or the user's sight, has no row in the answer: the page
    drops it. ``X-Notify`` names the ticket the browser should notify of: the newest of
    ``message`` (the new messages of those events) that the customer wrote on a ticket
    that is the user's, or waits where they work. The page sends ``message`` only when
    the user has not muted notifications: it holds that preference, so a live event
    does not read it again. One request answers a burst: the page asks once per round trip.
    """
    filters = inbox_filters(request)
    pks = _ids(request.GET.getlist("ticket")[:LIVE_ROWS])
    context = {"tickets": inbox_rows(user=request.user, filters=filters, pks=pks), "filters": filters}
    response = render(request, "tickets/_live_rows.html", {**context, "query": _list_query(request)})
    messages = _ids(request.GET.getlist("message")[:LIVE_ROWS])
    if messages and (notify := customer_wrote(user=request.user, messages=messages)) is not None:
        response["X-Notify"] = str(notify)
    return response


def _ids(values: list[str]) -> list[int]:
    """The row ids among ``values``; anything else (not ASCII digits, beyond 64 bits) is left out.
    The caller cuts the list first: a URL may repeat a parameter thousands of times."""
    numbers = [int(value) for value in values if value.isascii() and value.isdigit() and len(value) < 20]
    return [number for number in numbers if 0 < number < 2**63]


def inbox_counts_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    filters = inbox_filters(request)
    context = {
        "filters": filters,
        "tabs": inbox_tabs(user=request.user),
        "counts": inbox_counts(user=request.user),
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
    """The list's query string (its tab, filters and search), kept in every link of the page: without
    the cursor, and without what the live rows asked for (``ticket``, ``message``)."""
    query = request.GET.copy()
    for name in ("cursor", "ticket", "message"):
        query.pop(name, None)
    return query.urlencode()
