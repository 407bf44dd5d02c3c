"""The manager's figures (docs/reports.md), read from ``tickets.models.Milestone`` rows and Ticket
columns that tickets/milestones.py writes when things happen: never recomputed from the messages,
except the messages each agent sent, counted through the index on Message(author, created_at).

One query per table whatever the period: each table is one grouped SELECT of conditional
aggregates over the period's milestones. Medians and p90s are ``percentile_cont`` in PostgreSQL's
SQL; SQLite (the embedded default, for small teams) has none, so there one more query reads the
period's waits and Python computes them the same way (linear interpolation).
"""

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.postgres.fields import ArrayField
from django.db import connection as db
from django.db.models import Aggregate, Avg, Count, Exists, FloatField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, ExtractHour, ExtractIsoWeekDay, TruncDate

from helpdesk.permissions import has_permission, sees_every_ticket
from reports.models import HourTally, Tally, TallyState
from tickets.models import Message, Milestone, Queue, Ticket

Kind = Milestone.Kind
Rows = TypeVar("Rows", bound=QuerySet)
MAX_DAYS = 731  # a period of at most two years
COMMENTS = 5  # the latest CSAT comments shown


class Percentile(Aggregate):
    """PostgreSQL's ``percentile_cont(ARRAY[fractions]) WITHIN GROUP (ORDER BY expression)``: the
    interpolated values below which each fraction of the values fall (0.5: the median), from one
    sort of the values; NULL without values."""

    function = "percentile_cont"
    name = "Percentile"
    template = "%(function)s(ARRAY[%(fractions)s]) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = ArrayField(FloatField())

    def __init__(self, expression: str, fractions: tuple[float, ...], **extra) -> None:
        super().__init__(expression, fractions=", ".join(f"{float(f)!r}" for f in fractions), **extra)


def percentile(values: list[float], fraction: float) -> float | None:
    """What ``percentile_cont`` answers, in Python: None without values."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def in_sql() -> bool:
    return db.vendor == "postgresql"


# -- who reads, what for ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a reader may see: ``queues`` None is every queue (and tickets without one); ``agent`` set
    is a plain agent, who sees only their own figures."""

    queues: frozenset[int] | None = None
    agent: int | None = None


@dataclass(frozen=True)
class Filters:
    start: date
    end: date  # inclusive
    queue: int | None = None
    agent: int | None = None
    connection: int | None = None


def zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def period_bounds(filters: Filters) -> tuple[datetime, datetime]:
    """The period's first instant and the instant after its last day, in TIME_ZONE."""
    start = datetime.combine(filters.start, time.min, tzinfo=zone())
    end = datetime.combine(filters.end + timedelta(days=1), time.min, tzinfo=zone())
    return start, end


def reportable_queues(*, user: User) -> list[Queue]:
    """Every queue, with ``supervised`` (the user may read its reports), ``member`` and ``waiting``
    (its pending tickets now): one query."""
    return list(
        Queue.objects.annotate(
            supervised=Exists(Queue.supervisors.through.objects.filter(queue=OuterRef("pk"), user=user.pk)),
            member=Exists(Queue.members.through.objects.filter(queue=OuterRef("pk"), user=user.pk)),
            waiting=Coalesce(
                Subquery(
                    Ticket.objects.filter(status=Ticket.Status.PENDING, queue=OuterRef("pk"))
                    .values("queue")
                    .annotate(n=Count("*"))
                    .values("n")
                ),
                0,
            ),
        ).order_by("ordering", "name")
    )


def sees_all(user: User) -> bool:
    return user.is_staff or sees_every_ticket(user)


def scope_of(*, user: User, queues: list[Queue]) -> Scope:
    """Staff and the Supervisors group (``tickets.view_ticket``): everything; a queue's supervisors:
    those queues; anyone else: their own figures."""
    if sees_all(user):
        return Scope()
    supervised = frozenset(queue.pk for queue in queues if getattr(queue, "supervised", False))
    if supervised:
        return Scope(queues=supervised)
    return Scope(agent=user.pk)


def may_read_api(user: User) -> bool:
    return has_permission(user, "tickets.view_ticket")


# -- the figures --------------------------------------------------------------------------------------


@dataclass
class Times:
    """Waits of one kind (first response or resolution): wall-clock and business seconds."""

    count: int = 0
    average: float | None = None
    median: float | None = None
    p90: float | None = None
    business_median: float | None = None
    business_p90: float | None = None


@dataclass
class Figures:
    """One line of a report: the period's totals, an agent's or a queue's."""

    id: int | None = None
    name: str = ""
    opened: int = 0
    closed: int = 0
    reopened: int = 0
    sla_breaches: int = 0
    first_response: Times = field(default_factory=Times)
    resolution: Times = field(default_factory=Times)
    csat_average: float | None = None
    csat_responses: int = 0
    messages: int = 0
    waiting: int | None = None


@dataclass
class Summary:
    filters: Filters
    scope: Scope
    totals: Figures
    agents: list[Figures]
    queues: list[Figures]
    csat: dict[int, int]  # rating: answers


TIMED = {"first_response": Kind.FIRST_RESPONSE, "resolution": Kind.CLOSED}
PERCENTILES = {"median": ("seconds", 0.5), "p90": ("seconds", 0.9)} | {
    "business_median": ("business_seconds", 0.5),
    "business_p90": ("business_seconds", 0.9),
}
TAKEN: tuple[str, ...] = (Kind.ASSIGNED, Kind.FIRST_RESPONSE)


def milestones(*, filters: Filters, scope: Scope, kinds: Iterable[str] = ()) -> QuerySet[Milestone]:
    """The period's milestones the reader may see, narrowed by the filters."""
    start, end = period_bounds(filters)
    # Naming the kinds lets PostgreSQL read the period through the (kind, at) index.
    found = Milestone.objects.filter(kind__in=kinds or Kind.values, at__gte=start, at__lt=end)
    return narrowed(found, filters=filters, scope=scope)


def narrowed(
    found: Rows,
    *,
    filters: Filters,
    scope: Scope,
    queue: str = "queue",
    agent: str | None = "agent",
    connection: str = "connection",
) -> Rows:
    """``found`` narrowed to what the reader may see and the filters ask, through its fields named
    ``queue``, ``agent`` (None: the caller narrows to the agent) and ``connection``."""
    if scope.queues is not None:
        found = found.filter(**{f"{queue}__in": scope.queues})
    reader = scope.agent or filters.agent
    if agent is not None and reader is not None:
        found = found.filter(**{agent: reader})
    if filters.queue is not None:
        found = found.filter(**{queue: filters.queue})
    if filters.connection is not None:
        found = found.filter(**{connection: filters.connection})
    return found


def opened_counter(*, filters: Filters, scope: Scope, by: str | None = None) -> Count:
    """What "opened" counts: the conversations that began (OPENED); narrowed to queues, those that
    entered them (QUEUED: a transfer counts in both); narrowed to an agent (or by agent), the
    conversations they took (assigned to them or first answered by them, each ticket once)."""
    kinds = opened_kinds(filters=filters, scope=scope, by=by)
    if kinds == TAKEN:
        return Count("ticket", distinct=True, filter=Q(kind__in=TAKEN))
    return Count("kind", filter=Q(kind__in=kinds))


def opened_kinds(*, filters: Filters, scope: Scope, by: str | None = None) -> tuple[str, ...]:
    if by == "agent" or scope.agent or filters.agent:
        return TAKEN
    if by == "queue" or scope.queues is not None or filters.queue:
        return (Kind.QUEUED,)
    return (Kind.OPENED,)


def _aggregates(opened: Count, *, totals: bool = False) -> dict:
    """The conditional aggregates of one report line. The totals carry every percentile and the CSAT
    distribution; an agent's or a queue's line the medians (each percentile is a sort: the lines'
    p90s and business medians would cost the year's page a second)."""
    found = {
        "opened": opened,
        "closed": Count("kind", filter=Q(kind=Kind.CLOSED)),
        "reopened": Count("kind", filter=Q(kind=Kind.REOPENED)),
        "sla_breaches": Count("kind", filter=Q(kind=Kind.SLA_BREACHED)),
        "csat_average": Avg("rating", filter=Q(kind=Kind.RATED)),
        "csat_responses": Count("rating", filter=Q(kind=Kind.RATED)),
    }
    for name, kind in TIMED.items():
        timed = Q(kind=kind, seconds__isnull=False)
        found[f"{name}__count"] = Count("kind", filter=timed)
        found[f"{name}__average"] = Avg("seconds", filter=timed)
        if in_sql():  # wall-clock median and p90 from one sort; the lines need only the median
            found[f"{name}__seconds"] = Percentile("seconds", (0.5, 0.9) if totals else (0.5,), filter=timed)
            if totals:
                found[f"{name}__business_seconds"] = Percentile("business_seconds", (0.5, 0.9), filter=timed)
    if totals:
        for rating in range(1, 6):
            found[f"rating_{rating}"] = Count("kind", filter=Q(kind=Kind.RATED, rating=rating))
    return found


def _figures(row: Mapping[str, Any]) -> Figures:
    figures = Figures()
    for key in ("opened", "closed", "reopened", "sla_breaches", "csat_responses"):
        setattr(figures, key, row.get(key) or 0)
    figures.csat_average = row.get("csat_average")
    for name in TIMED:
        times = getattr(figures, name)
        times.count, times.average = row.get(f"{name}__count") or 0, row.get(f"{name}__average")
        for figure, (column, fraction) in PERCENTILES.items():
            values = row.get(f"{name}__{column}") or []
            index = 0 if fraction == 0.5 else 1
            setattr(times, figure, values[index] if index < len(values) else None)
    return figures


def _percentiles_in_python(
    found: QuerySet[Milestone], groups: Iterable[tuple[str, Mapping[Any, Figures]]]
) -> None:
    """SQLite: the period's waits in one query, their medians and p90s set on each line of
    ``groups`` ((grouping column or "", {key: Figures}))."""
    values: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    waits = found.filter(kind__in=TIMED.values(), seconds__isnull=False)
    for kind, agent, queue, seconds, business in waits.values_list(
        "kind", "agent_id", "queue_id", "seconds", "business_seconds"
    ):
        name = "first_response" if kind == Kind.FIRST_RESPONSE else "resolution"
        for key in (("", None), ("agent", agent), ("queue", queue)):
            values[key][f"{name}.seconds"].append(seconds or 0.0)  # never null: filtered
            if business is not None:
                values[key][f"{name}.business_seconds"].append(business)
    for column, lines in groups:
        for key, figures in lines.items():
            for name in TIMED:
                times = getattr(figures, name)
                for figure, (source, fraction) in PERCENTILES.items():
                    if column and figure != "median":
                        continue
                    setattr(times, figure, percentile(values[(column, key)][f"{name}.{source}"], fraction))


Lines = tuple[Figures, dict[int, Figures], dict[int | None, Figures], dict[int, int]]
COUNTED = (Kind.CLOSED, Kind.REOPENED, Kind.SLA_BREACHED, Kind.RATED, Kind.FIRST_RESPONSE)


def report_summary(*, filters: Filters, scope: Scope, queues: list[Queue], users: dict[int, str]) -> Summary:
    """The period's totals, one line per agent and one per queue (with its waiting tickets now), and
    the CSAT distribution. ``queues``: from ``reportable_queues``; ``users``: names by id.

    The counts and sums come from the tallies (``lines_of_tallies``); narrowed to one agent, whose
    "opened" counts distinct tickets, from that agent's milestones (``lines_of_milestones``)."""
    if scope.agent or filters.agent:
        totals, agents, by_queue, csat = lines_of_milestones(filters=filters, scope=scope)
    else:
        totals, agents, by_queue, csat = lines_of_tallies(
            filters=filters, scope=scope, queues=queues, users=users
        )
    for agent, sent in messages_sent(filters=filters, scope=scope).items():
        agents.setdefault(agent, Figures()).messages = sent
        totals.messages += sent
    agent_lines = sorted(
        (_named(figures, key, users.get(key, f"#{key}")) for key, figures in agents.items()),
        key=lambda line: line.name.lower(),
    )
    queue_lines = [
        _named(
            by_queue.pop(queue.pk, Figures()), queue.pk, queue.name, waiting=getattr(queue, "waiting", None)
        )
        for queue in queues
        if _queue_shown(queue, filters=filters, scope=scope)
    ]
    if None in by_queue and filters.queue is None:
        queue_lines.append(_named(by_queue[None], None, ""))
    return Summary(
        filters=filters, scope=scope, totals=totals, agents=agent_lines, queues=queue_lines, csat=csat
    )


def lines_of_milestones(*, filters: Filters, scope: Scope) -> Lines:
    """The totals, agents' and queues' lines and CSAT distribution from the period's milestones: three
    grouped queries (and on SQLite one for the medians)."""
    totals_kinds = (*COUNTED, *opened_kinds(filters=filters, scope=scope))
    row = milestones(filters=filters, scope=scope, kinds=totals_kinds).aggregate(
        **_aggregates(opened_counter(filters=filters, scope=scope), totals=True)
    )
    totals = _figures(row)
    csat = {rating: row[f"rating_{rating}"] for rating in range(1, 6)}  # on the totals' query
    agents: dict[int, Figures] = {
        row["agent"]: _figures(row)
        for row in milestones(filters=filters, scope=scope, kinds=(*COUNTED, *TAKEN))
        .filter(agent__isnull=False)
        .values("agent")
        .annotate(**_aggregates(opened_counter(filters=filters, scope=scope, by="agent")))
        .order_by()
    }
    by_queue: dict[int | None, Figures] = {
        row["queue"]: _figures(row)
        for row in milestones(filters=filters, scope=scope, kinds=(*COUNTED, Kind.QUEUED))
        .values("queue")
        .annotate(**_aggregates(opened_counter(filters=filters, scope=scope, by="queue")))
        .order_by()
    }
    if not in_sql():
        found = milestones(filters=filters, scope=scope)
        _percentiles_in_python(found, [("", {None: totals}), ("agent", agents), ("queue", by_queue)])
    return totals, agents, by_queue, csat


def lines_of_tallies(*, filters: Filters, scope: Scope, queues: list[Queue], users: dict[int, str]) -> Lines:
    """``lines_of_milestones`` with the counts, sums and CSAT from the tallies (one query), the
    conversations each agent took (distinct tickets: one query) and the exact percentiles from the
    period's waits (PostgreSQL: three queries over indexes that hold them sorted; SQLite: one).

    A tally keeps the agent's and queue's ids of when it was folded; one deleted since is, as in
    the milestones (SET NULL), no agent (no line) and no queue (the "No queue" line)."""
    opened = opened_kinds(filters=filters, scope=scope)[0]
    totals = Figures()
    agents: dict[int, Figures] = defaultdict(Figures)
    by_queue: dict[int | None, Figures] = defaultdict(Figures)
    csat = dict.fromkeys(range(1, 6), 0)
    sums: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    known = {queue.pk for queue in queues}
    for row in counted_rows(filters=filters, scope=scope, kinds=(*COUNTED, *TAKEN, Kind.OPENED, Kind.QUEUED)):
        kind, n = row["kind"], row["n"]
        agent = row["agent"] if row["agent"] in users else None
        queue = row["queue"] if row["queue"] in known else None
        lines: list[tuple[Figures, str | None]] = [(totals, opened)]
        if agent is not None and kind in (*COUNTED, *TAKEN):
            lines.append((agents[agent], None))  # their "opened": the conversations they took, below
        if kind in (*COUNTED, Kind.QUEUED):
            lines.append((by_queue[queue], Kind.QUEUED))
        for figures, opening in lines:
            _count(figures, sums[id(figures)], kind=kind, n=n, row=row, opening=opening)
        if kind == Kind.RATED and row["rating"]:
            csat[row["rating"]] += n
    for figures in (totals, *agents.values(), *by_queue.values()):
        _averages(figures, sums[id(figures)])
    for agent, taken in conversations_taken(filters=filters, scope=scope).items():
        agents[agent].opened = taken
    _percentiles(filters=filters, scope=scope, totals=totals, agents=agents, by_queue=by_queue)
    return totals, dict(agents), dict(by_queue), csat


def _count(
    figures: Figures, sums: dict[str, float], *, kind: str, n: int, row: Mapping, opening: str | None
) -> None:
    """Add a tally row's counts to a line; the averages' sums to ``sums``."""
    if kind == opening:
        figures.opened += n
    if kind == Kind.CLOSED:
        figures.closed += n
    elif kind == Kind.REOPENED:
        figures.reopened += n
    elif kind == Kind.SLA_BREACHED:
        figures.sla_breaches += n
    elif kind == Kind.RATED and row["rating"]:
        figures.csat_responses += n
        sums["rating"] += row["rating"] * n
    for name, timed in TIMED.items():
        if kind == timed:
            getattr(figures, name).count += row["timed"]
            sums[name] += row["seconds"] or 0.0


def _averages(figures: Figures, sums: Mapping[str, float]) -> None:
    if figures.csat_responses:
        figures.csat_average = sums["rating"] / figures.csat_responses
    for name in TIMED:
        times = getattr(figures, name)
        times.average = sums[name] / times.count if times.count else None


def counted_rows(*, filters: Filters, scope: Scope, kinds: Iterable[str]) -> list[dict[str, Any]]:
    """(kind, agent, queue, rating, n, timed, seconds) of the period: the tallies' sums plus the
    milestones not folded yet, in one statement (one snapshot: a fold committing meanwhile cannot
    make a milestone count twice or not at all). No agent, queue or rating: 0 or None."""
    folded = [
        part.values("kind", "agent", "queue", "rating")
        .annotate(n=Sum("n"), timed=Sum("timed"), total=Sum("seconds"))
        .order_by()
        for part in tallies(filters=filters, scope=scope, kinds=kinds)
    ]
    fresh = (
        unfolded(filters=filters, scope=scope, kinds=kinds)
        .values("kind", "agent_id", "queue_id", "rating")
        .annotate(n=Count("kind"), timed=Count("seconds"), total=Sum("seconds"))
        .order_by()
    )
    return [row | {"seconds": row["total"]} for row in folded[0].union(*folded[1:], fresh, all=True)]


def tallies(
    *, filters: Filters, scope: Scope, kinds: Iterable[str], months: bool = True
) -> list[QuerySet[Tally]]:
    """The tally rows of the period the reader may see, a whole month in one row unless ``months``
    is False: one query set per range of the ``(month, day)`` key (the whole months, the days
    before, the days after), each an index range, to be read together (``union``). Never
    narrowed to an agent: those reports count distinct tickets, which days cannot be summed into."""
    after = filters.end + timedelta(days=1)
    ranges = _tallied_ranges(filters.start, after) if months else [(False, filters.start, after)]
    return [
        narrowed(
            Tally.objects.filter(month=month, day__gte=low, day__lt=high, kind__in=kinds),
            filters=filters,
            scope=scope,
        )
        for month, low, high in ranges
    ]


def _tallied_ranges(start: date, after: date) -> list[tuple[bool, date, date]]:
    """The tally rows that hold the days [start, after) once: (month rows?, from, to excluded): the
    whole months inside, the days outside them."""
    first = start if start.day == 1 else (start.replace(day=1) + timedelta(days=32)).replace(day=1)
    last = after.replace(day=1)  # the first month not whole in the period
    if first >= last:
        return [(False, start, after)]
    ranges = [(True, first, last), (False, start, first), (False, last, after)]
    return [(month, low, high) for month, low, high in ranges if low < high]


def unfolded(*, filters: Filters, scope: Scope, kinds: Iterable[str]) -> QuerySet[Milestone]:
    """The period's milestones the fold has not reached yet (above its last id)."""
    through = Coalesce(Subquery(TallyState.objects.values("through")[:1]), 0)
    return milestones(filters=filters, scope=scope, kinds=kinds).filter(id__gt=through)


def conversations_taken(*, filters: Filters, scope: Scope) -> dict[int, int]:
    """Distinct tickets each agent was assigned or first answered in the period: one query (on
    PostgreSQL through ``reports_taken_idx``, already in (agent, ticket) order)."""
    taken = milestones(filters=filters, scope=scope, kinds=TAKEN).filter(agent__isnull=False)
    rows = taken.values("agent").annotate(n=Count("ticket", distinct=True)).order_by()
    return {row["agent"]: row["n"] for row in rows}


def _percentiles(
    *,
    filters: Filters,
    scope: Scope,
    totals: Figures,
    agents: Mapping[int, Figures],
    by_queue: Mapping[int | None, Figures],
) -> None:
    """The exact medians and p90s from the period's waits: on SQLite in Python (one query); on
    PostgreSQL ``percentile_cont`` grouped by kind, by kind and agent, by kind and queue, each read
    through a partial index in that order (reports/migrations/0003): the sort finds them sorted."""
    waits = milestones(filters=filters, scope=scope, kinds=TIMED.values()).filter(seconds__isnull=False)
    if not in_sql():
        _percentiles_in_python(waits, [("", {None: totals}), ("agent", agents), ("queue", by_queue)])
        return
    names: dict[str, str] = {kind: name for name, kind in TIMED.items()}
    for row in (
        waits.values("kind")
        .annotate(wall=Percentile("seconds", (0.5, 0.9)), business=Percentile("business_seconds", (0.5, 0.9)))
        .order_by()
    ):
        times = getattr(totals, names[row["kind"]])
        times.median, times.p90 = _pair(row["wall"])
        times.business_median, times.business_p90 = _pair(row["business"])
    for column, lines in (("agent", agents), ("queue", by_queue)):
        grouped = waits.filter(agent__isnull=False) if column == "agent" else waits
        for row in grouped.values("kind", column).annotate(wall=Percentile("seconds", (0.5,))).order_by():
            if row[column] in lines:
                getattr(lines[row[column]], names[row["kind"]]).median = (row["wall"] or [None])[0]


def _pair(values: list[float] | None) -> tuple[float | None, float | None]:
    return (values[0], values[1]) if values else (None, None)


def _queue_shown(queue: Queue, *, filters: Filters, scope: Scope) -> bool:
    if filters.queue is not None:
        return queue.pk == filters.queue
    if scope.queues is not None:
        return queue.pk in scope.queues
    return scope.agent is None or bool(getattr(queue, "member", False))


def _named(figures: Figures, key: int | None, name: str, waiting: int | None = None) -> Figures:
    figures.id, figures.name, figures.waiting = key, name, waiting
    return figures


def messages_sent(*, filters: Filters, scope: Scope) -> dict[int, int]:
    """Messages each agent wrote to customers in the period (not notes, not system lines), through
    the index on Message(author, created_at)."""
    start, end = period_bounds(filters)
    sent = Message.objects.filter(
        author__isnull=False, from_me=True, created_at__gte=start, created_at__lt=end
    )
    sent = sent.exclude(kind__in=[Message.Kind.NOTE, Message.Kind.SYSTEM])
    sent = narrowed(sent, filters=filters, scope=scope, queue="ticket__queue", agent="author")
    return dict(sent.values("author").annotate(n=Count("*")).order_by().values_list("author", "n"))


@dataclass
class Day:
    day: date
    opened: int = 0
    closed: int = 0
    reopened: int = 0


def report_days(*, filters: Filters, scope: Scope) -> list[Day]:
    """Opened, closed and reopened per local day of the period, every day listed: one query, of the
    tallies and the milestones not folded yet; narrowed to an agent, whose "opened" counts distinct
    tickets, of their milestones."""
    kinds = (*opened_kinds(filters=filters, scope=scope), Kind.CLOSED, Kind.REOPENED)
    if scope.agent or filters.agent:
        rows = (
            milestones(filters=filters, scope=scope, kinds=kinds)
            .annotate(day=TruncDate("at", tzinfo=zone()))
            .values("day")
            .annotate(
                opened=opened_counter(filters=filters, scope=scope),
                closed=Count("kind", filter=Q(kind=Kind.CLOSED)),
                reopened=Count("kind", filter=Q(kind=Kind.REOPENED)),
            )
            .order_by("day")
        )
        return _every_day(filters, {row["day"]: row for row in rows})
    [days] = tallies(filters=filters, scope=scope, kinds=kinds, months=False)
    folded = days.values("kind", "day").annotate(n=Sum("n")).order_by()
    fresh = (
        unfolded(filters=filters, scope=scope, kinds=kinds)
        .annotate(day=TruncDate("at", tzinfo=zone()))
        .values("kind", "day")
        .annotate(n=Count("kind"))
        .order_by()
    )
    counted: dict[date, dict[str, int]] = defaultdict(lambda: {"opened": 0, "closed": 0, "reopened": 0})
    for row in folded.union(fresh, all=True):
        column = "opened" if row["kind"] == kinds[0] else row["kind"]  # Kind values: "closed", "reopened"
        counted[row["day"]][column] += row["n"]
    return _every_day(filters, counted)


def _every_day(filters: Filters, counted: Mapping[date, Mapping[str, Any]]) -> list[Day]:
    days = []
    for offset in range((filters.end - filters.start).days + 1):
        day = filters.start + timedelta(days=offset)
        found_row = counted.get(day, {})
        days.append(
            Day(day, found_row.get("opened", 0), found_row.get("closed", 0), found_row.get("reopened", 0))
        )
    return days


def days_and_hours(*, filters: Filters, scope: Scope) -> tuple[list[Day], list[list[int]]]:
    """``report_days`` and ``busiest_hours``: the page's chart of days and its heat map."""
    return report_days(filters=filters, scope=scope), busiest_hours(filters=filters, scope=scope)


def busiest_hours(*, filters: Filters, scope: Scope) -> list[list[int]]:
    """Conversations arriving (opened and reopened; narrowed to queues, those entering them; for one
    agent, taken) by local weekday (Monday first) and hour: seven rows of 24 counts, one query. The
    whole team's, unfiltered, from the hours' tallies and the milestones not folded yet."""
    if scope == Scope() and (filters.queue, filters.agent, filters.connection) == (None, None, None):
        return _team_hours(filters)
    grid = [[0] * 24 for _day in range(7)]
    kinds: tuple[str, ...]
    if scope.agent or filters.agent:
        kinds = (Kind.ASSIGNED,)
    else:
        kinds = (*opened_kinds(filters=filters, scope=scope), Kind.REOPENED)
    arrivals = milestones(filters=filters, scope=scope, kinds=kinds)
    rows = (
        arrivals.annotate(
            weekday=ExtractIsoWeekDay("at", tzinfo=zone()), hour=ExtractHour("at", tzinfo=zone())
        )
        .values("weekday", "hour")
        .annotate(n=Count("*"))
        .order_by()
    )
    for row in rows:
        grid[row["weekday"] - 1][row["hour"]] = row["n"]
    return grid


def _team_hours(filters: Filters) -> list[list[int]]:
    """``busiest_hours`` of the whole team: the hours' tallies and the milestones not folded yet,
    grouped by weekday and hour in one statement (at most 2 x 168 rows)."""
    grid = [[0] * 24 for _day in range(7)]
    kinds = (Kind.OPENED, Kind.REOPENED)
    folded = HourTally.objects.filter(day__gte=filters.start, day__lte=filters.end, kind__in=kinds)
    fresh = unfolded(filters=filters, scope=Scope(), kinds=kinds).annotate(
        weekday=ExtractIsoWeekDay("at", tzinfo=zone()), hour=ExtractHour("at", tzinfo=zone())
    )
    rows = (
        folded.values("weekday", "hour")
        .annotate(n=Sum("n"))
        .order_by()
        .union(fresh.values("weekday", "hour").annotate(n=Count("kind")).order_by(), all=True)
    )
    for row in rows:
        grid[int(row["weekday"]) - 1][int(row["hour"])] += row["n"]  # PostgreSQL: numeric
    return grid


def latest_comments(*, filters: Filters, scope: Scope) -> list[Ticket]:
    """The latest CSAT comments of the period's ratings (Ticket.csat_comment): one query."""
    rated = milestones(filters=filters, scope=scope, kinds=[Kind.RATED]).values("ticket_id")
    return list(
        Ticket.objects.filter(pk__in=rated)
        .exclude(csat_comment="")
        .select_related("contact")
        .order_by("-csat_rated_at", "-pk")[:COMMENTS]
    )


def people(*, user: User, scope: Scope) -> dict[int, str]:
    """Agents' names as the inbox shows them (full name, else username), by id: one query. A plain
    agent reads only their own."""
    found = User.objects.all() if scope.agent is None else User.objects.filter(pk=user.pk)
    return {
        pk: f"{first} {last}".strip() or username
        for pk, username, first, last in found.order_by("first_name", "username").values_list(
            "pk", "username", "first_name", "last_name"
        )
    }


# -- the tickets' table -------------------------------------------------------------------------------

TICKET_COLUMNS = [
    "ticket_id",
    "status",
    "connection_id",
    "queue",
    "assignee",
    "opened_at",
    "first_inbound_at",
    "first_response_at",
    "first_response_by",
    "first_response_seconds",
    "closed_at",
    "resolution_seconds",
    "reopen_count",
    "sla_breached",
    "csat_rating",
]


def ticket_rows(
    *, filters: Filters, scope: Scope, names: dict[int, str], queues: dict[int, str]
) -> Iterator[list]:
    """One row per ticket opened in the period (its Ticket columns), read in chunks so a year's
    tickets stream in flat memory."""
    start, end = period_bounds(filters)
    tickets = narrowed(
        Ticket.objects.filter(created_at__gte=start, created_at__lt=end),
        filters=filters,
        scope=scope,
        agent=None,
    )
    agent = scope.agent or filters.agent
    if agent is not None:
        tickets = tickets.filter(Q(assignee=agent) | Q(first_response_by=agent))
    columns = [
        "pk",
        "status",
        "connection_id",
        "queue_id",
        "assignee_id",
        "created_at",
        "first_inbound_at",
        "first_response_at",
        "first_response_by_id",
        "closed_at",
        "reopen_count",
        "sla_breached_at",
        "csat_rating",
    ]
    row: tuple
    for row in tickets.order_by("pk").values_list(*columns).iterator(chunk_size=2000):
        (
            pk,
            status,
            connection,
            queue,
            assignee,
            created,
            inbound,
            responded,
            by,
            closed,
            reopened,
            breached,
            rating,
        ) = row
        yield [
            pk,
            status,
            connection,
            queues.get(queue, "") if queue else "",
            names.get(assignee, "") if assignee else "",
            _iso(created),
            _iso(inbound),
            _iso(responded),
            names.get(by, "") if by else "",
            _between(inbound, responded),
            _iso(closed),
            _between(inbound, closed),
            reopened,
            breached is not None,
            rating if rating is not None else "",
        ]


def _iso(moment: datetime | None) -> str:
    return moment.astimezone(zone()).isoformat() if moment else ""


def _between(start: datetime | None, end: datetime | None) -> float | str:
    return round((end - start).total_seconds(), 3) if start and end else ""
