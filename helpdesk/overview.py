"""The overview's wall: per queue, who is there and who waits; per agent, presence and open tickets;
today's opened, closed and satisfaction. Reads only (the home page and its live refresh), in a fixed
number of queries whatever the number of queues and agents (docs/overview.md).

Who sees what: whoever sees every ticket (``tickets.view_ticket``: the Supervisors group, superusers)
sees every queue; anyone else the queues they are a member or a supervisor of, and the agents of
those queues. Ticket figures of a person's own scope also count the tickets no queue has taken yet,
as the inbox shows them to every agent; so does the wall's "No queue" line, shown to every reader
while such a ticket is under way.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import (
    Avg,
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from helpdesk.permissions import sees_every_ticket
from helpdesk.presence import Presence, presence_of
from tickets.models import Milestone, Queue, Ticket

# A due time is at risk in the last fifth of the time it gave (and once it passed): as the inbox's
# SLA badge turns amber.
RISK_SHARE = 5  # 1 / 20 %


@dataclass(frozen=True)
class QueueFigures:
    id: int
    name: str
    color: str
    online: int  # members online now
    waiting: int  # pending tickets now
    oldest_waiting_since: datetime | None
    at_risk: int  # tickets whose SLA is at risk or broken and still unmet (sla_at_risk_q)


@dataclass(frozen=True)
class NoQueueFigures:
    """The tickets no queue has taken yet (a menu not answered, a conversation started on a number
    with several queues): they have no members online and no SLA (a queue promises it)."""

    waiting: int
    oldest_waiting_since: datetime | None
    at_risk: int


@dataclass(frozen=True)
class AgentFigures:
    id: int
    name: str
    presence: Presence
    open_tickets: int


@dataclass(frozen=True)
class TodayFigures:
    opened: int
    closed: int
    csat_average: float | None
    csat_responses: int


@dataclass(frozen=True)
class Wall:
    queues: list[QueueFigures]
    no_queue: NoQueueFigures | None  # None: no ticket without a queue is under way
    agents: list[AgentFigures]
    today: TodayFigures


def queues_visible_to(*, user: User) -> QuerySet[Queue]:
    """The queues whose figures ``user`` may read on the wall."""
    queues = Queue.objects.order_by("ordering", "name")
    if sees_every_ticket(user):
        return queues
    member = Queue.members.through.objects.filter(user_id=user.pk).values("queue_id")
    supervised = Queue.supervisors.through.objects.filter(user_id=user.pk).values("queue_id")
    return queues.filter(Q(pk__in=member) | Q(pk__in=supervised))


def sla_at_risk_q(*, now: datetime) -> Q:
    """Tickets not closed with a due time not met yet that is in its last 20 % or passed.

    A due time's span runs from the start of the running windows (``sla_window_start``: the
    customer's first message, or the last reopening; else the ticket's creation) to it, in
    wall-clock time (one comparison of columns: the inbox's badge counts the queue's business time,
    the same for a queue open all along). The first response's counts until an agent answered
    (``first_response_at``); the resolution's until the close. Written as ``RISK_SHARE * time left
    <= span`` so it stays one comparison of columns in SQL, on SQLite and PostgreSQL alike. A ticket
    already marked breached (``sla_breached_at``) whose late answer met the first response, and whose
    resolution is not near, is not at risk any more: the breach is counted by the reports.
    """
    start = Coalesce("sla_window_start", "first_inbound_at", "created_at")
    moment = Value(now, output_field=DateTimeField())

    def at_risk(due: str) -> Q:
        left = ExpressionWrapper(F(due) - moment, output_field=DurationField())
        span = ExpressionWrapper(F(due) - start, output_field=DurationField())
        soon = LessThanOrEqual(ExpressionWrapper(left * RISK_SHARE, output_field=DurationField()), span)
        return Q(**{f"{due}__isnull": False}) & Q(soon)

    first_response = Q(first_response_at__isnull=True) & at_risk("first_response_due")
    return ~Q(status=Ticket.Status.CLOSED) & (first_response | at_risk("resolution_due"))


def local_midnight(now: datetime) -> datetime:
    """The start of ``now``'s day in TIME_ZONE: "today" on the wall."""
    local = now.astimezone(ZoneInfo(settings.TIME_ZONE))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _tickets_in_scope(*, user: User, queue_ids: list[int]) -> QuerySet[Ticket]:
    if sees_every_ticket(user):
        return Ticket.objects.all()
    return Ticket.objects.filter(Q(queue_id__in=queue_ids) | Q(queue__isnull=True) | Q(assignee_id=user.pk))


def _queue_figures(
    *, queues: list[Queue], members: dict[int, list[int]], presence: dict[int, Presence], now: datetime
) -> tuple[list[QueueFigures], NoQueueFigures | None]:
    """Each queue's figures, and those of the tickets no queue has taken (in the same query: every
    reader sees those, as the inbox shows them to every agent), when any is under way."""
    pending = Q(status=Ticket.Status.PENDING)
    counts: dict[int | None, dict[str, Any]] = {
        row["queue_id"]: dict(row)
        for row in Ticket.objects.filter(
            Q(queue_id__in=[queue.pk for queue in queues]) | Q(queue__isnull=True)
        )
        .exclude(status=Ticket.Status.CLOSED)
        .values("queue_id")
        .annotate(
            waiting=Count("pk", filter=pending),
            oldest=Min("waiting_since", filter=pending),
            at_risk=Count("pk", filter=sla_at_risk_q(now=now)),
        )
    }
    figures = []
    for queue in queues:
        row = counts.get(queue.pk, {})
        online = sum(presence.get(user_id) == Presence.ONLINE for user_id in members.get(queue.pk, []))
        figures.append(
            QueueFigures(
                id=queue.pk,
                name=queue.name,
                color=queue.color,
                online=online,
                waiting=row.get("waiting", 0),
                oldest_waiting_since=row.get("oldest"),
                at_risk=row.get("at_risk", 0),
            )
        )
    unrouted = counts.get(None)
    if unrouted is None:
        return figures, None
    return figures, NoQueueFigures(
        waiting=unrouted["waiting"], oldest_waiting_since=unrouted["oldest"], at_risk=unrouted["at_risk"]
    )


def _agent_figures(
    *, user_ids: set[int], presence: dict[int, Presence], tickets: QuerySet[Ticket]
) -> list[AgentFigures]:
    open_tickets = (
        tickets.filter(assignee_id=OuterRef("pk"), status=Ticket.Status.OPEN)
        .order_by()
        .values("assignee_id")
        .annotate(count=Count("pk"))
        .values("count")
    )
    users = (
        User.objects.filter(pk__in=user_ids, is_active=True)
        .annotate(open_tickets=Coalesce(Subquery(open_tickets), 0))
        .only("username", "first_name", "last_name")
    )
    agents = [
        AgentFigures(
            id=agent.pk,
            name=agent.get_full_name() or agent.username,
            presence=presence.get(agent.pk, Presence.OFFLINE),
            open_tickets=agent.open_tickets,
        )
        for agent in users
    ]
    order = list(Presence)
    return sorted(agents, key=lambda agent: (order.index(agent.presence), agent.name.casefold()))


def _today(*, user: User, queue_ids: list[int], now: datetime) -> TodayFigures:
    milestones = Milestone.objects.filter(at__gte=local_midnight(now), at__lte=now)
    if not sees_every_ticket(user):
        milestones = milestones.filter(Q(queue_id__in=queue_ids) | Q(queue__isnull=True))
    rated = Q(kind=Milestone.Kind.RATED, rating__isnull=False)
    row = milestones.aggregate(
        opened=Count("pk", filter=Q(kind=Milestone.Kind.OPENED)),
        closed=Count("pk", filter=Q(kind=Milestone.Kind.CLOSED)),
        csat_average=Avg("rating", filter=rated),
        csat_responses=Count("pk", filter=rated),
    )
    return TodayFigures(**row)


def overview_wall(*, user: User, now: datetime | None = None) -> Wall:
    """The wall as ``user`` may see it: seven queries, whatever the number of queues and agents
    (queues, their members, the agents and their open tickets, two for presence, the tickets'
    figures per queue and without one, today's milestones)."""
    now = now or timezone.now()
    queues = list(queues_visible_to(user=user).only("name", "color"))
    queue_ids = [queue.pk for queue in queues]
    members: dict[int, list[int]] = {}
    for queue_id, user_id in Queue.members.through.objects.filter(queue_id__in=queue_ids).values_list(
        "queue_id", "user_id"
    ):
        members.setdefault(queue_id, []).append(user_id)
    user_ids = {user_id for ids in members.values() for user_id in ids}
    presence = presence_of(user_ids=user_ids, now=now)
    queue_lines, no_queue = _queue_figures(queues=queues, members=members, presence=presence, now=now)
    return Wall(
        queues=queue_lines,
        no_queue=no_queue,
        agents=_agent_figures(
            user_ids=user_ids, presence=presence, tickets=_tickets_in_scope(user=user, queue_ids=queue_ids)
        ),
        today=_today(user=user, queue_ids=queue_ids, now=now),
    )
