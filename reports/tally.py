"""The fold of the milestones into the reports' tallies (reports/models.py): a django-q2 schedule
every minute (reports/migrations/0002), and the migration that adds the tallies, for the milestones
written before.

Folded by id, not by time: the fold adds every milestone above the last one it folded, whatever its
``at``, and a report reads the tallies plus the milestones above that id (reports/selectors.py), in
one statement, so each milestone counts once. The writers of milestones are not touched: the
ingest costs no statement more, and no two conversations wait on the same tally row.
"""

from collections.abc import Iterable
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import OperationalError, transaction
from django.db import connection as db
from django.db.models import Count, Max, Sum
from django.db.models.functions import Coalesce, ExtractHour, TruncDate

ARRIVALS = ("opened", "reopened")  # Milestone.Kind.OPENED, REOPENED: the busiest hours of the team
BATCH = 5000
STEP = 200_000  # milestone ids a fold takes at most: a year folded again takes a few runs, not one long one
LOCK_WAIT = "100ms"  # writers queue behind the lock while it waits: never long
ADDED = {"n", "timed", "seconds"}  # the sums; a row's other values follow from its key


def tally_fold() -> int:
    """Fold the milestones written since the last fold, ``STEP`` ids at most (the next run goes on);
    start again from none when some folded ones were deleted since (a ticket deleted in the admin)
    or ``TIME_ZONE`` changed. Returns how many milestones were folded."""
    from django.apps import apps

    return fold(apps)


def fold(apps: Any, *, step: int | None = None) -> int:
    """``tally_fold`` with the models of ``apps`` (the migration's, or the project's)."""
    milestone, tally, hours, state_model = (
        apps.get_model("tickets", "Milestone"),
        apps.get_model("reports", "Tally"),
        apps.get_model("reports", "HourTally"),
        apps.get_model("reports", "TallyState"),
    )
    top = _committed_top(milestone)
    if top is None:
        return 0
    with transaction.atomic():
        state, _new = state_model.objects.select_for_update().get_or_create(pk=1)
        stale = state.zone != settings.TIME_ZONE or (
            state.folded and milestone.objects.filter(id__lte=state.through).count() != state.folded
        )
        if stale:
            tally.objects.all().delete()
            hours.objects.all().delete()
            state.through, state.folded, state.zone = 0, 0, settings.TIME_ZONE
        top = min(top, state.through + (step or STEP))
        if top <= state.through:
            state.save()
            return 0
        zone = ZoneInfo(settings.TIME_ZONE)
        new = milestone.objects.filter(id__gt=state.through, id__lte=top).order_by()
        days = new.annotate(day=TruncDate("at", tzinfo=zone)).values(
            "day", "kind", "agent_id", "queue_id", "connection_id", "rating"
        )
        counted = list(days.annotate(n=Count("kind"), timed=Count("seconds"), total=Sum("seconds")))
        _add(
            tally,
            ("day", "month", "kind", "agent", "queue", "connection", "rating"),
            (
                (
                    (
                        first,
                        month,
                        row["kind"],
                        row["agent_id"] or 0,
                        row["queue_id"] or 0,
                        row["connection_id"],
                        row["rating"] or 0,
                    ),
                    {"n": row["n"], "timed": row["timed"], "seconds": row["total"] or 0.0},
                )
                for row in counted
                for first, month in ((row["day"], False), (row["day"].replace(day=1), True))
            ),
        )
        folded = sum(row["n"] for row in counted)
        arrivals = (
            new.filter(kind__in=ARRIVALS)
            .annotate(day=TruncDate("at", tzinfo=zone), hour=ExtractHour("at", tzinfo=zone))
            .values("day", "hour", "kind")
            .annotate(n=Count("kind"))
        )
        _add(
            hours,
            ("day", "hour", "kind"),
            (
                ((row["day"], row["hour"], row["kind"]), {"n": row["n"], "weekday": row["day"].isoweekday()})
                for row in arrivals
            ),
        )
        state.through, state.folded = top, state.folded + folded
        state.save()
    return folded


def _committed_top(milestone: Any) -> int | None:
    """The highest milestone id below which every milestone is committed: on PostgreSQL read under
    ``SHARE`` on the table, which waits for the transactions writing milestones at that moment (a
    lower id cannot commit after the fold passed it) and holds the writers for that instant only;
    None when a writer kept it waiting ``LOCK_WAIT`` (the next run folds). SQLite has one writer
    at a time: what it reads is committed."""
    with transaction.atomic():
        if db.vendor == "postgresql":
            with db.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
                try:
                    with transaction.atomic():
                        cursor.execute("LOCK TABLE tickets_milestone IN SHARE MODE")
                except OperationalError:
                    return None
        return milestone.objects.aggregate(top=Coalesce(Max("id"), 0))["top"]


def _add(model: Any, key: tuple[str, ...], rows: Iterable[tuple[tuple, dict[str, Any]]]) -> None:
    """Add each row's sums to the tally row of its key (made when missing). Only the fold writes
    tallies, under the state row's lock: read, add, write."""
    sums: dict[tuple, dict[str, Any]] = {}
    for row_key, values in rows:
        if row_key in sums:
            for name in ADDED & values.keys():
                sums[row_key][name] += values[name]
        else:
            sums[row_key] = dict(values)
    if not sums:
        return
    days = {row_key[0] for row_key in sums}
    existing = {tuple(getattr(row, name) for name in key): row for row in model.objects.filter(day__in=days)}
    changed, made = [], []
    for row_key, values in sums.items():
        row = existing.get(row_key)
        if row is None:
            made.append(model(**dict(zip(key, row_key, strict=True)), **values))
            continue
        for name in ADDED & values.keys():
            setattr(row, name, getattr(row, name) + values[name])
        changed.append(row)
    model.objects.bulk_create(made, batch_size=BATCH)
    if changed:
        model.objects.bulk_update(changed, sorted(ADDED & next(iter(sums.values())).keys()), batch_size=BATCH)
