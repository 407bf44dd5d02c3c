"""Who gets a ticket, in a queue that assigns by itself (``Queue.assignment``).

A ticket that enters such a queue without an agent (new, reopened, answered the menu, transferred
to the queue) goes at once to an online member of the queue (helpdesk/presence.py) under capacity
(open tickets fewer than their ``AgentState.capacity``, or AGENT_CAPACITY): round robin gives it to
the one assigned least recently (never assigned first), least busy to the one with the fewest open
tickets (ties: the one assigned least recently). With nobody available it stays pending and
unassigned; when an agent comes online or frees a slot, ``backlog_assign`` gives the oldest waiting
tickets of their queues, in the same way.

The database decides, not a process's memory, so web and worker processes may assign at once: in
one short transaction the queue's row and the candidates' ``AgentState`` rows are locked (in the
order of their ids: two assigners never wait for each other in a circle), the candidates' open
tickets are counted under those locks, and the ticket is taken by a conditional UPDATE (nobody has
it yet). Two assigners of one ticket: the second finds it taken. Two assigners of one agent: the
second counts the first's ticket. (SQLite has one writer at a time: it serialises them anyway.)

The triggers call these after their own transaction commits (``assign_on_commit``,
``backlog_on_commit``): the locks are then held for the assignment only, and a change that frees a
slot never waits for an assignment, nor fails with it.
"""

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from helpdesk.models import AgentState
from helpdesk.presence import Presence, activity_record, away_set, became_online, online_q
from helpdesk.realtime import dashboard_changed
from tickets.milestones import ticket_assigned
from tickets.models import Message, Queue, Ticket
from tickets.outbound import unsent_line_add
from tickets.realtime import ticket_event, ticket_groups

AUTOMATIC: tuple[str, ...] = (Queue.Assignment.ROUND_ROBIN, Queue.Assignment.LEAST_BUSY)


def ticket_autoassign(*, ticket: Ticket) -> User | None:
    """Give ``ticket`` to the queue's next agent, as its mode says; None when it is not for the
    queue to assign (manual, no queue, an agent already, closed) or nobody is available (it waits).

    Its own transaction (savepoint inside the caller's): call it after the change that put the
    ticket in the queue committed (``assign_on_commit``), so the locks are held briefly.
    """
    if ticket.queue_id is None or not _may_assign(ticket) or ticket.status == Ticket.Status.CLOSED:
        return None
    with transaction.atomic():
        # A manual queue's row is not locked (not matched); an automatic one's is, until the commit.
        queue = Queue.objects.select_for_update().filter(pk=ticket.queue_id, assignment__in=AUTOMATIC).first()
        if queue is None:
            return None
        agent = _agent_pick(queue)
        if agent is None:
            return None
        now = timezone.now()
        claimed = (
            Ticket.objects.filter(pk=ticket.pk, queue=queue, assignee__isnull=True)
            .exclude(status=Ticket.Status.CLOSED)
            .update(assignee=agent, status=Ticket.Status.OPEN, updated_at=now)
        )
        if not claimed:  # taken meanwhile (an agent accepted it, another assigner), or moved
            return None
        AgentState.objects.filter(user=agent).update(last_assigned_at=now)
        before = ticket_groups(ticket)
        ticket.assignee, ticket.status, ticket.updated_at = agent, Ticket.Status.OPEN, now
        ticket_assigned(ticket=ticket, agent=agent)
        unsent_line_add(  # "The helpdesk gave the ticket to Ana", in each reader's language
            ticket=ticket,
            author=None,
            kind=Message.Kind.SYSTEM,
            event={
                "event": "assigned",
                "agent": None,
                "assignee": agent.get_full_name() or agent.get_username(),
            },
        )
        ticket_event(ticket=ticket, event_type="ticket.changed", left=before)
        dashboard_changed()
    return agent


def backlog_assign(*, user: User | None = None, queue: Queue | None = None) -> int:
    """Give the waiting tickets that can go now, the oldest first: of ``queue``, or of ``user``'s
    queues (they came online or freed a slot), or of every queue that assigns by itself. A queue is
    done when nobody of it can take its oldest ticket. Returns how many were assigned."""
    return _backlog(user_id=user.pk if user else None, queue_id=queue.pk if queue else None)


def _backlog(*, user_id: int | None, queue_id: int | None) -> int:
    queues = Queue.objects.filter(assignment__in=AUTOMATIC)
    if queue_id is not None:
        queues = queues.filter(pk=queue_id)
    if user_id is not None:
        queues = queues.filter(members=user_id)
    open_queues = set(queues.values_list("pk", flat=True))
    assigned = 0
    while open_queues:
        oldest = _waiting(open_queues).first()
        if oldest is None:
            break
        if ticket_autoassign(ticket=oldest) is not None:
            assigned += 1
        elif _waiting(open_queues).filter(pk=oldest.pk).exists():  # nobody can take it: that queue waits
            open_queues -= {oldest.queue_id}
    return assigned


def assign_on_commit(*, ticket: Ticket) -> None:
    """``ticket_autoassign`` once the current transaction commits, when its queue may assign it.

    Costs no query; nothing at all for a ticket whose queue, loaded with it, is manual (the default)."""
    if not _may_assign(ticket):
        return
    transaction.on_commit(lambda: ticket_autoassign(ticket=ticket), robust=True)


def backlog_on_commit(*, user_id: int | None = None, queue_id: int | None = None) -> None:
    """``backlog_assign`` (by ids: no query to load them) once the current transaction commits: a slot
    was freed, someone came online. Nothing to do without a queue that assigns by itself."""
    if queue_id is None and user_id is None:
        return
    transaction.on_commit(lambda: _backlog(user_id=user_id, queue_id=queue_id), robust=True)


def agent_away_set(*, user: User, away: bool) -> Presence:
    """The header's switch (helpdesk/presence.py ``away_set``); an agent back online gets the waiting
    tickets of their queues at once. Returns their presence now."""
    change = away_set(user=user, away=away)
    if became_online(change):
        backlog_assign(user=user)
    return change[1]


def agent_state_update(*, user: User, capacity: int | None, away: bool) -> None:
    """The admin's "agent state" of ``user``: their capacity (None: AGENT_CAPACITY) and away flag.
    Once this commits, a capacity raised, or the flag cleared for an agent with a page open and
    active, gives them the waiting tickets of their queues at once. (A new AGENT_CAPACITY takes a
    restart and is felt at the next trigger: only an agent's own capacity is a change here.)"""
    with transaction.atomic():
        state, _new = AgentState.objects.select_for_update().get_or_create(user=user)
        raised = _capacity(capacity) > _capacity(state.capacity)
        if capacity != state.capacity:
            AgentState.objects.filter(user=user).update(capacity=capacity)
        back = False
        if away != state.away:
            back = became_online(away_set(user=user, away=away, activity=False))
        if raised or back:
            backlog_on_commit(user_id=user.pk)


def agent_active_on_commit(*, user: User) -> None:
    """Once the current transaction commits, ``user`` was active (they answered): an idle agent with a
    page open is back online and gets the waiting tickets of their queues. After the commit, in its
    own statement: the ticket's row and the agent's are never locked in the opposite order to an
    assignment's."""

    def active() -> None:
        if became_online(activity_record(user=user)):
            backlog_assign(user=user)

    transaction.on_commit(active, robust=True)


def _may_assign(ticket: Ticket) -> bool:
    """Whether the ticket is one for its queue to assign, as far as is known without a query."""
    if ticket.queue_id is None or ticket.assignee_id is not None:
        return False
    queue = ticket.queue if Ticket.queue.is_cached(ticket) else None
    return queue is None or queue.assignment in AUTOMATIC


def _waiting(queue_ids: Iterable[int]):
    """The tickets waiting for an agent in these queues, the longest wait first (the inbox's Waiting)."""
    return Ticket.objects.filter(
        status=Ticket.Status.PENDING, queue_id__in=list(queue_ids), assignee__isnull=True
    ).order_by("waiting_since", "id")


def _agent_pick(queue: Queue) -> User | None:
    """In the caller's transaction, the member who gets the queue's next ticket (their row locked
    until it commits), or None when no online member is under capacity."""
    members = User.objects.filter(online_q(), queues=queue, is_active=True).values("pk")
    states = list(
        AgentState.objects.select_for_update(of=("self",))
        .filter(user_id__in=members)
        .select_related("user")
        .order_by("user_id")
    )
    if not states:
        return None
    busy = dict(
        Ticket.objects.filter(assignee_id__in=[state.user_id for state in states])
        .exclude(status=Ticket.Status.CLOSED)
        .order_by()
        .values_list("assignee_id")
        .annotate(open=Count("pk"))
    )
    free = [state for state in states if busy.get(state.user_id, 0) < _capacity(state.capacity)]
    if not free:
        return None

    def least_recently(state: AgentState) -> tuple:
        assigned = state.last_assigned_at
        return (assigned is not None, assigned and assigned.timestamp(), state.user_id)

    if queue.assignment == Queue.Assignment.LEAST_BUSY:
        chosen = min(free, key=lambda state: (busy.get(state.user_id, 0), *least_recently(state)))
    else:
        chosen = min(free, key=least_recently)
    return chosen.user


def _capacity(own: int | None) -> int:
    """Open tickets at most: the agent's own (0 takes none), or AGENT_CAPACITY."""
    return settings.AGENT_CAPACITY if own is None else own
