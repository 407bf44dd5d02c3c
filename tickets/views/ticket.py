"""A ticket: its page (beside the inbox list), its conversation, the composer and the actions."""

import contextlib
import json

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget

from helpdesk.http import AuthenticatedHttpRequest
from helpdesk.keyset import BadCursor
from helpdesk.selectors import preferences_of
from tickets.forms import CloseForm, ReplyForm, ScheduledEditForm, TransferForm
from tickets.media import MediaRefused, media_check
from tickets.message_actions import message_delete, message_edit, message_react
from tickets.models import Message, QuickReply, Ticket
from tickets.scheduling import scheduled_cancel, scheduled_edit, scheduled_messages
from tickets.selectors import (
    Tab,
    contact_other_tickets,
    conversation_message,
    conversation_newer,
    conversation_older,
    conversation_page,
    ticket_for_page,
)
from tickets.services import (
    ActionRefused,
    message_retry,
    ticket_accept,
    ticket_close,
    ticket_contact_block,
    ticket_read,
    ticket_reopen,
    ticket_reply,
    ticket_return,
    ticket_transfer,
)
from tickets.views.inbox import inbox_context, inbox_filters


def ticket_or_404(user: User, pk: int) -> Ticket:
    """The ticket if the user may see it; otherwise a 404, as if it did not exist."""
    ticket = ticket_for_page(user=user, pk=pk)
    if ticket is None:
        raise Http404
    return ticket


def ticket_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The ticket's page. A GET changes nothing (a link on another site must not read the chat):
    the page, once shown, says it was read (``ticket_read_view``)."""
    ticket = ticket_or_404(request.user, pk)
    context = {
        "ticket": ticket,
        "conversation": conversation_page(ticket=ticket),
        "other_tickets": contact_other_tickets(user=request.user, ticket=ticket),
        "max_media_mb": settings.WHATSAPP_MAX_MEDIA_MB,
        "max_media_bytes": int(settings.WHATSAPP_MAX_MEDIA_MB * 2**20),
        "scheduled": scheduled_messages(ticket=ticket),
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "tickets/_pane.html", context)
    return render(
        request, "tickets/inbox.html", {**inbox_context(request, inbox_filters(request)), **context}
    )


@require_POST
def ticket_read_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The page showed the ticket: its unread count goes to 0, the phone shows the chat read."""
    ticket_read(ticket=ticket_or_404(request.user, pk), by=request.user)
    return HttpResponse(status=204)


def ticket_head(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The ticket's header and actions as they are now (after a live ticket.changed), with its SLA
    details for the side (out of band: ``hx-swap-oob``)."""
    return render(request, "tickets/_head_live.html", {"ticket": ticket_or_404(request.user, pk)})


def conversation_messages(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Older messages (``?cursor=``, scrolling up; ``?before=<id>``, the ones a live page let go above the
    oldest it kept) or the ones stored after a message (``?after=<id>``, the live page catching up with a
    burst: ``X-More`` says another page follows)."""
    ticket = ticket_or_404(request.user, pk)
    if "after" in request.GET:
        try:
            after = min(max(int(request.GET["after"]), 0), 2**63 - 1)  # an id, within the column's range
        except ValueError:
            return HttpResponse(status=400)
        newer, more = conversation_newer(ticket=ticket, after=after)
        response = render(request, "tickets/_newer.html", {"ticket": ticket, "messages": newer})
        if more:
            response["X-More"] = "1"
        return response
    try:
        if "before" in request.GET:
            conversation = conversation_older(ticket=ticket, than=_message_id(request.GET["before"]))
        else:
            conversation = conversation_page(ticket=ticket, cursor=request.GET.get("cursor"))
    except (BadCursor, ValueError):  # a cursor, or an id, that does not parse
        return HttpResponse(status=400)
    return render(request, "tickets/_messages.html", {"ticket": ticket, "conversation": conversation})


def _message_id(text: str) -> int:
    """A message id from the query string (``ValueError`` when it is none: a 400)."""
    pk = int(text)
    if not 0 < pk < 2**63:
        raise ValueError(text)
    return pk


def conversation_message_view(request: AuthenticatedHttpRequest, pk: int, message_pk: int) -> HttpResponse:
    ticket = ticket_or_404(request.user, pk)
    message = conversation_message(ticket=ticket, pk=message_pk)
    if message is None:
        raise Http404
    return render(request, "tickets/_message.html", {"ticket": ticket, "message": message})


@require_POST
def ticket_reply_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The composer. A refusal (a file too big or not what it claims, a blocked contact)
    answers with the reason beside the composer; the typed text stays where it is."""
    ticket = ticket_or_404(request.user, pk)
    form = ReplyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _composer_error(
            request, " ".join(str(error) for errors in form.errors.values() for error in errors)
        )
    data, upload = form.cleaned_data, form.cleaned_data.get("media")
    accepting = ticket.status == Ticket.Status.PENDING and not data.get("internal")
    try:
        media = None
        if upload is not None:
            media = media_check(
                data=upload.read(), filename=upload.name, declared_type=upload.content_type or ""
            )
        quoted = None
        if data.get("quoted"):
            quoted = ticket.messages.filter(pk=data["quoted"]).exclude(wa_id=None).first()
        message = ticket_reply(
            ticket=ticket,
            by=request.user,
            body=data.get("body") or "",
            media=media,
            quoted=quoted,
            internal=data.get("internal", False),
            signed=preferences_of(user=request.user).signature,
            voice=data.get("voice", False),
            send_at=data.get("send_at"),
        )
    except MediaRefused as refused:
        return _composer_error(request, str(refused), status=413 if refused.too_large else 400)
    except ActionRefused as refused:
        return _composer_error(request, str(refused))
    except ValidationError as invalid:  # send_at: its time passed while the form was on its way
        return _composer_error(request, " ".join(invalid.messages))
    if not request.htmx:
        return redirect("ticket", pk=pk)
    if message.status == Message.Status.SCHEDULED:  # shown below the conversation until its time
        response = reswap(retarget(_scheduled_block(request, ticket), "#scheduled"), "outerHTML")
    else:
        response = render(request, "tickets/_message.html", {"ticket": ticket, "message": message})
    if accepting:  # answering a waiting ticket accepted it: the list moves as after Accept
        return _acted(response, ticket_pk=pk, accepted=True, **{"composer-sent": True})
    response["HX-Trigger"] = "composer-sent"
    return response


@require_POST
def ticket_action(request: AuthenticatedHttpRequest, pk: int, action: str) -> HttpResponse:
    """Accept, return to waiting, close (with or without the farewell), reopen, block or unblock the contact."""
    ticket = ticket_or_404(request.user, pk)
    error = ""
    accepted = False
    try:
        if action == "accept":
            ticket_accept(ticket=ticket, by=request.user)
            accepted = True
        elif action == "return":
            ticket_return(ticket=ticket, by=request.user)
        elif action == "close":
            farewell = CloseForm(request.POST)
            farewell.is_valid()
            ticket_close(
                ticket=ticket,
                by=request.user,
                reason=Ticket.CloseReason.AGENT,
                send_farewell=farewell.cleaned_data.get("farewell", False),
            )
        elif action == "reopen":
            ticket_reopen(ticket=ticket, by=request.user)
        elif action in ("block", "unblock"):
            ticket_contact_block(ticket=ticket, by=request.user, blocked=action == "block")
        else:
            raise Http404
    except (ActionRefused, ValidationError) as refused:
        error = refused.messages[0] if isinstance(refused, ValidationError) else str(refused)
    return _after_action(request, pk, error, accepted=accepted)


def ticket_transfer_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    ticket = ticket_or_404(request.user, pk)
    # A GET with ``queue``: the form again, with that queue's agents (the queue's select changed).
    form = TransferForm(
        request.POST or None, ticket=ticket, initial={"queue": request.GET.get("queue", ticket.queue_id)}
    )
    if request.method == "POST" and form.is_valid():
        ticket_transfer(
            ticket=ticket,
            queue=form.cleaned_data["queue"],
            assignee=form.cleaned_data["assignee"],
            note=form.cleaned_data["note"],
            by=request.user,
        )
        return _after_action(request, pk, "")
    return render(request, "tickets/_transfer.html", {"ticket": ticket, "form": form})


@require_POST
def message_retry_view(request: AuthenticatedHttpRequest, pk: int, message_pk: int) -> HttpResponse:
    ticket = ticket_or_404(request.user, pk)
    message = conversation_message(ticket=ticket, pk=message_pk)
    if message is None:
        raise Http404
    # Already queued again (a double click), or the contact blocked since: the message shows its status as it is.
    with contextlib.suppress(ActionRefused):
        message_retry(message=message, by=request.user)
    return render(request, "tickets/_message.html", {"ticket": ticket, "message": message})


@require_POST
def message_reaction_view(request: AuthenticatedHttpRequest, pk: int, message_pk: int) -> HttpResponse:
    """The bubble's react control: ``emoji`` (one of the quick set, or "" to remove ours)."""
    return _message_changed(request, pk, message_pk, message_react, emoji=request.POST.get("emoji", ""))


def message_edit_view(request: AuthenticatedHttpRequest, pk: int, message_pk: int) -> HttpResponse:
    """GET: the bubble with its text in an inline form; POST ``body``: the edit."""
    if request.method != "POST":
        ticket = ticket_or_404(request.user, pk)
        message = conversation_message(ticket=ticket, pk=message_pk)
        if message is None:
            raise Http404
        return render(
            request, "tickets/_message.html", {"ticket": ticket, "message": message, "editing": True}
        )
    return _message_changed(request, pk, message_pk, message_edit, body=request.POST.get("body", ""))


@require_POST
def message_delete_view(request: AuthenticatedHttpRequest, pk: int, message_pk: int) -> HttpResponse:
    """The bubble's Delete for everyone (the page asked to confirm)."""
    return _message_changed(request, pk, message_pk, message_delete)


def _message_changed(
    request: AuthenticatedHttpRequest, pk: int, message_pk: int, change, **values
) -> HttpResponse:
    """Make one of tickets/message_actions.py's changes and answer the bubble as it is now; a refusal
    is said in the bubble (the control was shown before the 15 minutes ran out, the contact was blocked
    meanwhile...)."""
    ticket = ticket_or_404(request.user, pk)
    message = conversation_message(ticket=ticket, pk=message_pk)
    if message is None:
        raise Http404
    message.ticket = ticket  # with its contact, already read
    error = ""
    try:
        message = change(message=message, by=request.user, **values)
    except ActionRefused as refused:
        error = str(refused)
    if not request.htmx:
        return redirect("ticket", pk=pk)
    return render(
        request, "tickets/_message.html", {"ticket": ticket, "message": message, "action_error": error}
    )


def ticket_scheduled(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The ticket's scheduled replies as they are now (after a live event about one of them)."""
    return _scheduled_block(request, ticket_or_404(request.user, pk))


@require_POST
def scheduled_edit_view(request: AuthenticatedHttpRequest, pk: int, message_pk: int) -> HttpResponse:
    """A scheduled reply's new text and time; a refusal shows in its own form, what was typed kept."""
    ticket = ticket_or_404(request.user, pk)
    message = ticket.messages.filter(pk=message_pk, status=Message.Status.SCHEDULED).first()
    if message is None:  # gone out, or cancelled, meanwhile: the list as it is now says so
        return _scheduled_block(request, ticket)
    form = ScheduledEditForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            scheduled_edit(
                message=message,
                by=request.user,
                body=form.cleaned_data["body"],
                send_at=form.cleaned_data["send_at"],
            )
            return _scheduled_block(request, ticket)
        except ActionRefused as refused:
            error = str(refused)
        except ValidationError as invalid:
            error = " ".join(invalid.messages)
    else:
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    context = {
        "ticket": ticket,
        "message": message,
        "edit_error": error,
        "edit_body": request.POST.get("body", ""),
    }
    response = render(request, "tickets/_scheduled_message.html", context)
    return reswap(retarget(response, f"#scheduled-{message.pk}"), "outerHTML")


@require_POST
def scheduled_cancel_view(request: AuthenticatedHttpRequest, pk: int, message_pk: int) -> HttpResponse:
    ticket = ticket_or_404(request.user, pk)
    message = ticket.messages.filter(pk=message_pk, status=Message.Status.SCHEDULED).first()
    if message is not None:
        with contextlib.suppress(ActionRefused):  # gone out meanwhile: the list as it is now shows it gone
            scheduled_cancel(message=message, by=request.user)
    return _scheduled_block(request, ticket)


def _scheduled_block(request: AuthenticatedHttpRequest, ticket: Ticket) -> HttpResponse:
    return render(
        request, "tickets/_scheduled.html", {"ticket": ticket, "scheduled": scheduled_messages(ticket=ticket)}
    )


def quick_replies(request: AuthenticatedHttpRequest) -> JsonResponse:
    """The canned answers the composer offers after "/" (filtered in the browser)."""
    replies = QuickReply.objects.values("shortcut", "body")
    return JsonResponse({"results": list(replies)})


def _after_action(
    request: AuthenticatedHttpRequest, pk: int, error: str, *, accepted: bool = False
) -> HttpResponse:
    """The header as it is now (and the side's SLA details); the inbox when the ticket left what the
    user may see."""
    ticket = ticket_for_page(user=request.user, pk=pk)
    if ticket is None:
        if not request.htmx:
            return redirect("inbox")
        response = retarget(render(request, "tickets/_gone.html"), "#ticket-pane")
        response["HX-Push-Url"] = reverse("inbox")
        return _acted(response, ticket_pk=pk)
    if not request.htmx:
        return redirect("ticket", pk=pk)
    response = render(request, "tickets/_head_live.html", {"ticket": ticket, "error": error})
    return _acted(response, ticket_pk=pk, accepted=accepted)


def _acted(response: HttpResponse, *, ticket_pk: int, accepted: bool = False, **events) -> HttpResponse:
    """Tell the acting page (``ticket-acted``, static/js/inbox.js) to read the ticket's row and the
    tabs' counts now, without waiting for the bus; ``tab``: the list to show, where an accepted
    ticket went (it left Waiting while its conversation stays open)."""
    acted = {"ticket": ticket_pk, "tab": Tab.MINE.value if accepted else None}
    response["HX-Trigger"] = json.dumps({**events, "ticket-acted": acted})
    return response


def _composer_error(request: AuthenticatedHttpRequest, text: str, *, status: int = 400) -> HttpResponse:
    response = render(request, "tickets/_composer_error.html", {"error": text}, status=status)
    return retarget(response, "#composer-error")
