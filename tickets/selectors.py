"""Reads of tickets, always through what the user may see."""

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.models import User
from django.db import connection as db_connection
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    F,
    Func,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    prefetch_related_objects,
)
from django.utils import timezone

from contacts.models import Contact
from helpdesk.keyset import KeysetPage, keyset_cursor, keyset_page
from helpdesk.permissions import sees_every_ticket
from tickets.models import Message, Queue, Reaction, Ticket
from tickets.sla_clock import breached_q

INBOX_PAGE = 50
SLA_BREACHED = "breached"  # the inbox's SLA filter
# What an inbox row shows (templates/tickets/_row.html) and its keyset needs: 50 rows of
# whole tickets, contacts, connections and users cost more to read and build than to render.
ROW_FIELDS = [
    "status",
    "unread_count",
    "last_message_at",
    "last_message_preview",
    "last_inbound_at",
    "last_outbound_at",
    "waiting_since",
    "closed_at",
    # The SLA's badge (tickets/sla_clock.py), read with the row.
    "first_inbound_at",
    "first_response_at",
    "first_response_due",
    "resolution_due",
    "sla_breached_at",
    "sla_window_start",
    "contact__name",
    "contact__push_name",
    "contact__phone",
    "contact__wa_id",
    "contact__avatar_url",
    "connection__name",
    "queue__name",
    "queue__color",
    # The badge turns amber in the last fifth of the queue's business time (tickets/sla_clock.py).
    "queue__business_hours",
    "queue__holidays",
    "assignee__username",
    "assignee__first_name",
    "assignee__last_name",
]
# A search first looks its words up in the indexes (messages' full text, contacts' trigrams),
# up to this many hits each; when there are no more, the tab is read by those ids only.
SEARCH_CANDIDATES = 2000
CONVERSATION_PAGE = 40
UNSENT_KINDS = [Message.Kind.NOTE, Message.Kind.SYSTEM]  # shown in the conversation, never sent


def tickets_visible_to(*, user: User) -> QuerySet[Ticket]:
    """Admins and supervisors see every ticket; an agent sees the tickets of their queues, the
    ones assigned to them, and the ones no queue has taken yet (docs/decisions.md).

    Written without a join (the queues as a subquery), so no DISTINCT and the
    inbox's indexes can serve its order.
    """
    tickets = Ticket.objects.all()
    if sees_every_ticket(user):
        return tickets
    my_queues = Queue.members.through.objects.filter(user_id=user.pk).values("queue_id")
    return tickets.filter(Q(queue_id__in=my_queues) | Q(assignee_id=user.pk) | Q(queue__isnull=True))


def works_in_queues(*, user: User) -> bool:
    """Whether ``user`` is an agent: a member of a queue, who takes tickets in the inbox. A user of
    no queue (an integration's API token, a supervisor who only reads) is not."""
    return Queue.members.through.objects.filter(user_id=user.pk).exists()


def ticket_counts(*, user: User) -> dict[str, int]:
    """How many pending and open tickets the user can see, in one query."""
    return tickets_visible_to(user=user).aggregate(
        pending=Count("pk", filter=Q(status=Ticket.Status.PENDING)),
        open=Count("pk", filter=Q(status=Ticket.Status.OPEN)),
    )


class Tab(StrEnum):
    MINE = "mine"  # open, assigned to me
    WAITING = "waiting"  # pending in my queues (or in none yet), oldest first
    ALL = "all"  # who sees every ticket: all of them not closed
    CLOSED = "closed"


def inbox_tabs(*, user: User) -> list[Tab]:
    return [tab for tab in Tab if tab != Tab.ALL or sees_every_ticket(user)]


@dataclass(frozen=True)
class InboxFilters:
    """What the inbox shows: a tab and its narrowing (ids already checked by the form)."""

    tab: Tab = Tab.WAITING
    queue: int | None = None
    connection: int | None = None
    assignee: int | None = None
    search: str = ""
    sla: str = ""  # "breached": only the tickets whose SLA is breached


def _tab_tickets(user: User, tab: Tab) -> QuerySet[Ticket]:
    visible = tickets_visible_to(user=user)
    if tab == Tab.MINE:
        return visible.filter(status=Ticket.Status.OPEN, assignee_id=user.pk)
    if tab == Tab.WAITING:
        return visible.filter(status=Ticket.Status.PENDING)
    if tab == Tab.ALL:
        return visible.exclude(status=Ticket.Status.CLOSED)
    return visible.filter(status=Ticket.Status.CLOSED)


def _tab_order(tab: Tab) -> tuple[str, bool]:
    """(keyset column, descending): the oldest wait first, otherwise the latest activity first."""
    return ("waiting_since", False) if tab == Tab.WAITING else ("last_message_at", True)


def inbox_tickets(*, user: User, filters: InboxFilters) -> QuerySet[Ticket]:
    """The tickets of a tab after its filters, with what a row shows (unordered)."""
    tickets = _tab_tickets(user, filters.tab)
    if filters.queue:
        tickets = tickets.filter(queue_id=filters.queue)
    if filters.connection:
        tickets = tickets.filter(connection_id=filters.connection)
    if filters.assignee and sees_every_ticket(user):
        tickets = tickets.filter(assignee_id=filters.assignee)
    if filters.search:
        tickets = tickets.filter(ticket_search(filters.search))
    if filters.sla == SLA_BREACHED:
        tickets = tickets.filter(breached_q(timezone.now()))
    last_sent = (
        Message.objects.filter(ticket=OuterRef("pk"), from_me=True)
        .exclude(kind__in=UNSENT_KINDS)
        .exclude(status=Message.Status.SCHEDULED)  # not sent yet: no ticks for it
    )
    return (
        tickets.select_related("contact", "connection", "queue", "assignee")
        .only(*ROW_FIELDS)
        .annotate(my_last_status=Subquery(last_sent.order_by("-id").values("status")[:1]))
    )


def inbox_page(*, user: User, filters: InboxFilters, cursor: str | None = None) -> KeysetPage:
    """One page of a tab (``BadCursor`` for a cursor that does not parse)."""
    key, descending = _tab_order(filters.tab)
    tickets = inbox_tickets(user=user, filters=filters)
    return keyset_page(tickets, key=key, descending=descending, cursor=cursor, size=INBOX_PAGE)


def inbox_rows(*, user: User, filters: InboxFilters, pks: Collection[int]) -> list[Ticket]:
    """These tickets as rows of this tab; one that does not belong there (any more) is left out."""
    return list(inbox_tickets(user=user, filters=filters).filter(pk__in=pks))


def inbox_sort_value(ticket: Ticket, tab: Tab) -> str:
    """A row's place in its tab, comparable as text by the page (ISO time, then the id)."""
    key, _ = _tab_order(tab)
    return f"{getattr(ticket, key).isoformat()}|{ticket.pk:020d}"


def customer_wrote(*, user: User, messages: Collection[int]) -> int | None:
    """The ticket of the newest of ``messages`` that the customer wrote on a ticket that is the user's,
    or waits where they work (what a notification is for); None when none of them is."""
    concerned = Q(status=Ticket.Status.OPEN, assignee_id=user.pk) | Q(status=Ticket.Status.PENDING)
    return (
        Message.objects.filter(
            pk__in=messages, from_me=False, ticket__in=tickets_visible_to(user=user).filter(concerned)
        )
        .order_by("-pk")
        .values_list("ticket_id", flat=True)
        .first()
    )


def inbox_counts(*, user: User) -> dict[str, int]:
    """The tabs' counts that say how much work waits (not Closed), in one query."""
    # COUNT(status), a column of tickets_inbox_counts_idx: the counts read only that index (no table rows).
    counts = {
        Tab.MINE: Count("status", filter=Q(status=Ticket.Status.OPEN, assignee_id=user.pk)),
        Tab.WAITING: Count("status", filter=Q(status=Ticket.Status.PENDING)),
    }
    if sees_every_ticket(user):
        counts[Tab.ALL] = Count("status", filter=~Q(status=Ticket.Status.CLOSED))
    return tickets_visible_to(user=user).exclude(status=Ticket.Status.CLOSED).aggregate(**counts)


class _TextMatches(Func):
    """PostgreSQL full-text match of a message's text, accents ignored (the GIN index of migration 0005)."""

    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra):
        (body, body_params), (query, query_params) = (compiler.compile(e) for e in self.source_expressions)
        sql = (
            f"to_tsvector('simple'::regconfig, helpdesk_unaccent({body})) @@ "
            f"plainto_tsquery('simple'::regconfig, helpdesk_unaccent({query}))"
        )
        return sql, (*body_params, *query_params)


def ticket_search(text: str) -> Q:
    """A contact's name or number, or the text of one of the ticket's messages.

    On PostgreSQL the words are looked up in the indexes first, at most
    ``SEARCH_CANDIDATES`` hits each. When a lookup found them all (a rare word or
    name), the tab reads just those tickets (by id and contact id, a bitmap of two
    indexes): walking the tab in its order for them would read most of it. When there
    are more (a common word), the tab is walked in its order and the page fills
    within its first few hundred tickets.
    """
    digits = "".join(ch for ch in text if "0" <= ch <= "9")
    by_contact = Q(name__icontains=text) | Q(push_name__icontains=text)
    if digits:
        by_contact |= Q(phone__contains=digits)
    if db_connection.vendor != "postgresql":  # SQLite, the embedded default: a plain scan
        messages = Message.objects.filter(ticket=OuterRef("pk"), body__icontains=text, deleted_at=None)
        # Q | Exists is a Q (Q combines with any conditional expression); the stubs know Q | Q only.
        return Q(contact__in=Contact.objects.filter(by_contact)) | Exists(messages)  # type: ignore[return-value]
    matches = Message.objects.filter(_TextMatches(F("body"), Value(text)), deleted_at=None)
    # Unordered: any SEARCH_CANDIDATES + 1 hits tell whether there are more (no sort of every hit).
    tickets = set(matches.order_by().values_list("ticket_id", flat=True)[: SEARCH_CANDIDATES + 1])
    contacts = set(
        Contact.objects.filter(by_contact).order_by().values_list("pk", flat=True)[: SEARCH_CANDIDATES + 1]
    )
    by_message = (
        Q(pk__in=tickets)
        if len(tickets) <= SEARCH_CANDIDATES
        else Exists(matches.filter(ticket=OuterRef("pk")))
    )
    by_contact_id = (
        Q(contact_id__in=contacts)
        if len(contacts) <= SEARCH_CANDIDATES
        else Q(contact__in=Contact.objects.filter(by_contact))
    )
    return by_contact_id | by_message  # type: ignore[return-value]  # Q | Exists: see above


def ticket_for_page(*, user: User, pk: int) -> Ticket | None:
    """The ticket the user may open, with what its page shows (its header, its SLA details)."""
    return (
        tickets_visible_to(user=user)
        .select_related("contact", "connection", "queue", "assignee", "first_response_by")
        .filter(pk=pk)
        .first()
    )


def _bubbles(ticket: Ticket) -> QuerySet[Message]:
    """A ticket's messages with what their bubbles show; whether each has reactions is read with them.
    A scheduled reply is not in the conversation until its time comes (it is shown below it)."""
    reacted = Reaction.objects.filter(message=OuterRef("pk"))
    messages = ticket.messages.select_related("author", "quoted").annotate(has_reactions=Exists(reacted))
    return messages.exclude(status=Message.Status.SCHEDULED)  # not in the conversation until it goes


def conversation_changes(messages: list[Message]) -> list[Message]:
    """The reactions and earlier versions of the bubbles that have some, a query each only when any
    has: a conversation without them costs what it did before they existed."""
    reacted = [message for message in messages if getattr(message, "has_reactions", True)]
    if reacted:
        prefetch_related_objects(reacted, Prefetch("reactions", Reaction.objects.select_related("author")))
    edited = [message for message in messages if message.edited_at and not message.deleted_at]
    if edited:
        prefetch_related_objects(edited, "revisions")
    return messages


def conversation_page(*, ticket: Ticket, cursor: str | None = None) -> KeysetPage:
    """The ticket's messages, newest first from ``cursor`` (the page shows them oldest at the top).
    A scheduled reply is not in the conversation until its time comes (it is shown below it)."""
    messages = _bubbles(ticket)
    page = keyset_page(messages, key="created_at", descending=True, cursor=cursor, size=CONVERSATION_PAGE)
    conversation_changes(page.items)
    return page


def conversation_older(*, ticket: Ticket, than: int) -> KeysetPage:
    """The page of messages before message ``than``: a live page lets the oldest bubbles go while the
    agent reads at the bottom, and asks for them again from the oldest one it kept."""
    kept = ticket.messages.filter(pk=than).values_list("created_at", flat=True).first()
    if kept is None:
        return KeysetPage([], None)
    return conversation_page(ticket=ticket, cursor=keyset_cursor(kept, than))


def conversation_newer(*, ticket: Ticket, after: int) -> tuple[list[Message], bool]:
    """The ticket's messages stored after message ``after`` (by id), oldest first, at most a page; and
    whether more follow. An open ticket page asks for these once per round trip, however many events
    a burst brought meanwhile."""
    messages = _bubbles(ticket).filter(pk__gt=after).order_by("pk")
    newer = list(messages[: CONVERSATION_PAGE + 1])
    return conversation_changes(newer[:CONVERSATION_PAGE]), len(newer) > CONVERSATION_PAGE


def conversation_message(*, ticket: Ticket, pk: int) -> Message | None:
    message = _bubbles(ticket).filter(pk=pk).first()
    return conversation_changes([message])[0] if message else None


def contact_other_tickets(*, user: User, ticket: Ticket) -> list[Ticket]:
    """The contact's other tickets the user may see, newest first (the side panel)."""
    others = tickets_visible_to(user=user).filter(contact_id=ticket.contact_id).exclude(pk=ticket.pk)
    return list(others.select_related("connection").order_by("-created_at")[:20])
