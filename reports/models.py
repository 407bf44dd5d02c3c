"""The reports' own tables: the milestones folded into counts per local day (docs/reports.md, "Cost").

A year's report would otherwise count 490,000 milestones at every reading (100,000 tickets). The
fold (reports/tally.py) adds the milestones written since its last run to these rows, by id; a
report reads the rows of its days plus the few milestones not folded yet, in one statement, so it
counts every milestone exactly once whatever their ``at`` (a breach is written at its due time,
a first message at WhatsApp's time: both can be days old when written).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

NONE = 0  # no agent, no queue, no rating: 0 rather than NULL, so that a row's key is unique


class Tally(models.Model):
    """Milestones of one kind on one local day (``TIME_ZONE``), per agent, queue, connection and
    rating (``NONE``: none): how many, how many had ``seconds`` and their sum. A ``month`` row
    holds the whole month of ``day`` (its first): a year's report reads twelve of those and the
    days at its ends, not 365 days of rows."""

    day = models.DateField(_("day"))
    month = models.BooleanField(_("whole month"), default=False)
    kind = models.CharField(_("kind"), max_length=16)
    agent = models.PositiveBigIntegerField(_("agent"), default=NONE)
    queue = models.PositiveBigIntegerField(_("queue"), default=NONE)
    connection = models.PositiveBigIntegerField(_("connection"))
    rating = models.PositiveSmallIntegerField(_("rating"), default=NONE)
    n = models.PositiveIntegerField(_("milestones"), default=0)
    timed = models.PositiveIntegerField(_("with seconds"), default=0)
    seconds = models.FloatField(_("seconds"), default=0.0)

    class Meta:
        verbose_name = _("milestones of a day")
        verbose_name_plural = _("milestones of the days")
        constraints = [
            models.UniqueConstraint(
                fields=["month", "day", "kind", "agent", "queue", "connection", "rating"],
                name="reports_tally_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind}: {self.n}"


class HourTally(models.Model):
    """Conversations arriving (OPENED, REOPENED) per local hour of a day, every queue and connection
    together: the busiest hours of the whole team without reading a year of milestones."""

    day = models.DateField(_("day"))
    hour = models.PositiveSmallIntegerField(_("hour"))
    kind = models.CharField(_("kind"), max_length=16)
    # The day's ISO weekday (Monday 1), kept so that a year's heat map is grouped by the database
    # into 168 cells, not read as 8,760 rows.
    weekday = models.PositiveSmallIntegerField(_("weekday"))
    n = models.PositiveIntegerField(_("milestones"), default=0)

    class Meta:
        verbose_name = _("arrivals of an hour")
        verbose_name_plural = _("arrivals of the hours")
        constraints = [models.UniqueConstraint(fields=["day", "hour", "kind"], name="reports_hourtally_key")]

    def __str__(self) -> str:
        return f"{self.day} {self.hour:02d}h {self.kind}: {self.n}"


class TallyState(models.Model):
    """One row: the milestones up to id ``through`` are in the tallies, counted in ``zone``'s days;
    ``folded`` how many that was (fewer now: some were deleted with their ticket, fold again)."""

    through = models.BigIntegerField(_("folded through id"), default=0)
    folded = models.BigIntegerField(_("milestones folded"), default=0)
    zone = models.CharField(_("time zone"), max_length=64, default="")

    class Meta:
        verbose_name = _("state of the tallies")
        verbose_name_plural = _("state of the tallies")

    def __str__(self) -> str:
        return f"through #{self.through}"
