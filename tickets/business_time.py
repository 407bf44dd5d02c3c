"""Business time: how much of an interval a queue's opening hours cover, and when N business
minutes after a moment are up. Pure (no database; only the error messages are translated): the reports, the SLA due times and
the out-of-hours reply all ask it, and its properties are tested with hypothesis.

A queue's hours are a weekly schedule in one time zone (several ranges a day, wall-clock "HH:MM",
"24:00" allowed as an end) and a set of holidays (whole local days closed). No schedule means always
open. Each local day's ranges become real instants (so a day with a change of UTC offset is as long as
it really is), the instants of all days are merged where they touch or overlap, and an interval's
business time is the length of its intersection with them: never more than its wall time, additive
over any split of it, zero inside a closed period.
"""

import re
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # the API's keys, in date.weekday() order
MINUTES_A_DAY = 24 * 60
# A deadline further than this is "never" (a schedule with no open day at all, or only holidays).
SEARCH_DAYS = 800

Range = tuple[int, int]  # minutes after local midnight, start < end <= 1440
ALL_DAY: tuple[Range, ...] = ((0, MINUTES_A_DAY),)


@dataclass(frozen=True)
class Hours:
    """When a queue is open. ``weekly``: seven tuples of ranges, Monday first; None: every day all
    day. Holidays are closed either way (a manager who keeps no schedule but marks Christmas expects
    Christmas closed)."""

    zone: ZoneInfo
    weekly: tuple[tuple[Range, ...], ...] | None = None
    holidays: frozenset[date] = field(default_factory=frozenset)

    @property
    def always_open(self) -> bool:
        return self.weekly is None and not self.holidays


class HoursInvalid(ValueError):
    """A schedule that cannot be read; ``field`` names the part (a day, ``holidays``)."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


def hours_parse(
    *, business_hours: Mapping[str, Sequence[Sequence[str]]] | None, holidays: Sequence[str], zone: ZoneInfo
) -> Hours:
    """``{"mon": [["09:00", "18:00"]], …}`` (a missing or empty day is closed; None: always open) and
    ISO dates (closed all day, with or without a schedule), as the queues API and the admin take them. Raises HoursInvalid naming the day for an
    unknown day, a time that is not "HH:MM" within 00:00 to 24:00, a range that ends before it starts,
    and ranges of one day that overlap."""
    if not isinstance(holidays, Sequence) or isinstance(holidays, str):
        raise HoursInvalid(_("Holidays are a list of dates (YYYY-MM-DD)."), field="holidays")
    days = tuple(_holiday(value) for value in holidays)
    if business_hours is None:
        return Hours(zone=zone, holidays=frozenset(days))
    if not isinstance(business_hours, Mapping):
        raise HoursInvalid(_("Business hours are an object of days."), field="business_hours")
    unknown = sorted(str(day) for day in business_hours if day not in DAYS)
    if unknown:
        message = _("Unknown day %(day)s: use %(days)s.") % {"day": unknown[0], "days": ", ".join(DAYS)}
        raise HoursInvalid(message, field=unknown[0])
    weekly = tuple(_day_ranges(day, business_hours.get(day, [])) for day in DAYS)
    return Hours(zone=zone, weekly=weekly, holidays=frozenset(days))


def hours_dump(hours: Hours) -> dict[str, list[list[str]]] | None:
    """The schedule as the API writes it (the inverse of ``hours_parse``'s ``business_hours``)."""
    if hours.weekly is None:
        return None
    return {
        day: [[_hhmm(start), _hhmm(end)] for start, end in ranges]
        for day, ranges in zip(DAYS, hours.weekly, strict=True)
    }


def is_open(hours: Hours, at: datetime) -> bool:
    """Whether the queue is open at the instant ``at`` (an aware datetime)."""
    if hours.always_open:
        return True
    return any(start <= at < end for start, end in _open_spans(hours, at, at))


def business_seconds(hours: Hours, start: datetime, end: datetime) -> float:
    """Seconds of [start, end) the queue is open; 0 when ``end`` is not after ``start``."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)  # real time: two local times subtract as walls
    if end <= start:
        return 0.0
    if hours.always_open:
        return (end - start).total_seconds()
    total = 0.0
    for span_start, span_end in _open_spans(hours, start, end):
        overlap = min(end, span_end) - max(start, span_start)
        if overlap > timedelta(0):
            total += overlap.total_seconds()
    return total


def business_deadline(hours: Hours, start: datetime, minutes: float) -> datetime | None:
    """The instant when ``minutes`` of business time after ``start`` are up (for 0: ``start`` when open,
    else the next opening);
    None when the schedule never opens within SEARCH_DAYS. In UTC."""
    start = start.astimezone(UTC)  # a local time plus minutes would be wall-clock arithmetic
    if hours.always_open:
        return start + timedelta(minutes=minutes)
    left = timedelta(minutes=minutes)
    for span_start, span_end in _spans_from(hours, start):
        span_start = max(span_start, start)
        if span_end <= span_start:
            continue
        if span_end - span_start >= left:
            return span_start + left
        left -= span_end - span_start
    return None


def _open_spans(hours: Hours, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The open periods (merged, in real instants) of the local days around [start, end]."""
    first = start.astimezone(hours.zone).date() - timedelta(days=1)
    last = end.astimezone(hours.zone).date() + timedelta(days=1)
    return _merged(_day_spans(hours, first + timedelta(days=n)) for n in range((last - first).days + 1))


def _spans_from(hours: Hours, start: datetime) -> Iterator[tuple[datetime, datetime]]:
    """The open periods from the local day before ``start`` on, merged, for SEARCH_DAYS days."""
    first = start.astimezone(hours.zone).date() - timedelta(days=1)
    pending: tuple[datetime, datetime] | None = None
    for n in range(SEARCH_DAYS):
        for span in _day_spans(hours, first + timedelta(days=n)):
            if pending and span[0] <= pending[1]:
                pending = (pending[0], max(pending[1], span[1]))
                continue
            if pending:
                yield pending
            pending = span
    if pending:
        yield pending


@lru_cache(maxsize=4096)
def _day_spans(hours: Hours, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """A local day's open periods as real instants. Remembered: the inbox's SLA badges ask the same
    few days of the same schedules for every row (an ``Hours`` is a value: equal schedules share)."""
    if day in hours.holidays:
        return ()
    ranges = ALL_DAY if hours.weekly is None else hours.weekly[day.weekday()]
    spans = [(_instant(hours.zone, day, start), _instant(hours.zone, day, end)) for start, end in ranges]
    return tuple((start, end) for start, end in spans if end > start)  # a range the clocks skip is empty


def _instant(zone: ZoneInfo, day: date, minutes: int) -> datetime:
    """Local ``day`` at ``minutes`` after midnight (1440: the next midnight), as a UTC instant.

    A wall time read twice (the clocks go back) is its first occurrence; one the clocks skip (they go
    forward) is the instant they jump past it. So later wall times are never earlier instants: a range
    is never inverted and the days' spans come in order, as ``_spans_from`` needs."""
    wall = datetime.combine(day, time(0)) + timedelta(minutes=minutes)
    instant = wall.replace(tzinfo=zone).astimezone(UTC)  # fold 0: the offset before a change
    if _wall(zone, instant) == wall:
        return instant
    # Skipped: the jump is between the wall time read with the offset after it and with the one before;
    # find the first second of that span whose wall time is not before ``wall``.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    seconds = bisect_left(
        range(int((instant - low).total_seconds()) + 1),
        True,
        key=lambda n: _wall(zone, low + timedelta(seconds=n)) >= wall,
    )
    return low + timedelta(seconds=seconds)


def _wall(zone: ZoneInfo, instant: datetime) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def _merged(days) -> list[tuple[datetime, datetime]]:
    spans = sorted(span for day in days for span in day)
    merged: list[tuple[datetime, datetime]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _day_ranges(day: str, ranges: object) -> tuple[Range, ...]:
    if not isinstance(ranges, Sequence) or isinstance(ranges, str):
        raise HoursInvalid(_("%(day)s: a list of [start, end] pairs.") % {"day": day}, field=day)
    parsed: list[Range] = []
    for pair in ranges:
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            message = _('%(day)s: each range is a pair ["HH:MM", "HH:MM"].')
            raise HoursInvalid(message % {"day": day}, field=day)
        start, end = _minutes(day, pair[0]), _minutes(day, pair[1])
        if start >= end:
            message = _("%(day)s: %(start)s to %(end)s ends before it starts.")
            raise HoursInvalid(message % {"day": day, "start": pair[0], "end": pair[1]}, field=day)
        parsed.append((start, end))
    parsed.sort()
    for (_start, end), (next_start, _end) in pairwise(parsed):
        if next_start < end:
            raise HoursInvalid(_("%(day)s: ranges overlap.") % {"day": day}, field=day)
    return tuple(parsed)


def _minutes(day: str, value: object) -> int:
    hh, colon, mm = (value if isinstance(value, str) else "").partition(":")
    digits = colon and len(hh) == 2 and len(mm) == 2 and (hh + mm).isascii() and (hh + mm).isdigit()
    minutes = int(hh) * 60 + int(mm) if digits and int(mm) < 60 else -1
    if not 0 <= minutes <= MINUTES_A_DAY:
        message = _("%(day)s: %(value)s is not a time (HH:MM, 00:00 to 24:00).")
        raise HoursInvalid(message % {"day": day, "value": value}, field=day)
    return minutes


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _holiday(value: object) -> date:
    try:
        if isinstance(value, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise HoursInvalid(_("%(value)s is not a date (YYYY-MM-DD).") % {"value": value}, field="holidays")
