"""The contacts pages: the list (search, "load more") and a contact's page (details, tickets,
edit, block). Only the contacts the user may see exist here (contacts_visible_to): any other is a 404."""

from django.contrib import messages
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from contacts.forms import ContactForm, ConversationForm
from contacts.models import Contact
from contacts.selectors import contact_search, contacts_visible_to
from contacts.services import contact_block, contact_update
from helpdesk.http import AuthenticatedHttpRequest
from helpdesk.keyset import BadCursor, keyset_page
from helpdesk.permissions import has_permission, permission_required
from tickets.merging import MERGE_PERMISSION, contact_merge
from tickets.selectors import tickets_visible_to
from tickets.services import ActionRefused, conversation_start

PAGE_SIZE = 50
MERGE_CHOICES = 20  # contacts a merge's search lists


def contact_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Newest first; htmx's "load more" asks for the rows after ``cursor``. A bad cursor: the first page."""
    query = request.GET.get("q", "").strip()
    contacts = contact_search(user=request.user, query=query)
    try:
        page = keyset_page(contacts, key="created_at", cursor=request.GET.get("cursor"), size=PAGE_SIZE)
    except BadCursor:
        page = keyset_page(contacts, key="created_at", size=PAGE_SIZE)
    template = "contacts/_rows.html" if request.htmx else "contacts/contact_list.html"
    return render(request, template, {"page": page, "query": query})


def contact_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    contact = _contact_or_404(request, pk)
    return _detail(request, contact, ContactForm(instance=contact))


def contact_edit(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A bad email is shown on the contact's page as a form error, with what was typed kept."""
    contact = _contact_or_404(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = ContactForm(request.POST, instance=Contact.objects.get(pk=contact.pk))
    if not form.is_valid():
        return _detail(request, contact, form, status=400)
    contact_update(contact=contact, name=form.cleaned_data["name"], email=form.cleaned_data["email"])
    back = request.POST.get("next", "")  # the ticket page's side panel edits here too
    if url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(back)
    return redirect("contact", contact.pk)


def contact_block_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """POST ``blocked=1`` blocks, ``blocked=0`` unblocks."""
    contact = _contact_or_404(request, pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    contact_block(contact=contact, blocked=request.POST.get("blocked") == "1")
    return redirect("contact", contact.pk)


def conversation_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Start a conversation: the ticket is the agent's, and they land on it."""
    form = ConversationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = conversation_start(by=request.user, **form.cleaned_data)
        except ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            return redirect("ticket", ticket.pk)
    status = 400 if form.errors else 200
    return render(request, "contacts/conversation_form.html", {"form": form}, status=status)


@permission_required(MERGE_PERMISSION)
def contact_merge_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Merge another contact of the same person into this one (or this one into it), in three steps:
    find the other by name, number or number on the list (``q``), see both side by side and choose
    which stays (``other``), confirm (POST ``other`` and ``keep``)."""
    contact = _contact_or_404(request, pk)
    visible = contacts_visible_to(user=request.user).exclude(pk=contact.pk)
    if request.method == "POST":
        other = get_object_or_404(visible, pk=_int(request.POST.get("other")))
        keep, merged = (other, contact) if _int(request.POST.get("keep")) == other.pk else (contact, other)
        try:
            kept = contact_merge(keep=keep, other=merged, by=request.user)
        except ActionRefused as refusal:
            messages.error(request, str(refusal))
            return redirect("contact-merge", contact.pk)
        messages.success(
            request, _("%(other)s was merged into %(contact)s.") % {"other": merged, "contact": kept}
        )
        return redirect("contact", kept.pk)
    chosen = visible.filter(pk=_int(request.GET.get("other"))).first()
    query = request.GET.get("q", "").strip()
    found: list[Contact] = []
    if chosen is None and query:
        by_id = visible.filter(pk=_int(query.lstrip("#")))
        found = list(by_id) + list(
            contact_search(user=request.user, query=query).exclude(pk=contact.pk)[:MERGE_CHOICES]
        )
        found = list({c.pk: c for c in found}.values())[:MERGE_CHOICES]
    return render(
        request,
        "contacts/contact_merge.html",
        {
            "contact": contact,
            "other": chosen,
            "query": query,
            "found": found,
            "sides": [_side(request, c) for c in (contact, chosen)] if chosen else [],
        },
    )


def _side(request: AuthenticatedHttpRequest, contact: Contact) -> dict:
    tickets = tickets_visible_to(user=request.user).filter(contact=contact)
    return {"contact": contact, "tickets": tickets.count(), "open": tickets.exclude(status="closed").count()}


def _int(value: str | None) -> int:
    """A contact's id from a form: 0 (no contact's) when it is none."""
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 12 else 0


def _contact_or_404(request: AuthenticatedHttpRequest, pk: int) -> Contact:
    return get_object_or_404(contacts_visible_to(user=request.user), pk=pk)


def _detail(
    request: AuthenticatedHttpRequest, contact: Contact, form: ContactForm, status: int = 200
) -> HttpResponse:
    tickets = (
        tickets_visible_to(user=request.user)
        .filter(contact=contact)
        .select_related("connection", "queue")
        .order_by("-created_at")
    )
    return render(
        request,
        "contacts/contact_detail.html",
        {
            "contact": contact,
            "form": form,
            "tickets": tickets,
            "may_merge": has_permission(request.user, MERGE_PERMISSION),
        },
        status=status,
    )
