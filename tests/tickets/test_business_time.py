"""tickets/business_time.py: its properties for any schedule (hypothesis) in zones with and without
a change of UTC offset, and examples a manager would check by hand."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets.business_time import (
    DAYS,
    SEARCH_DAYS,
    Hours,
    HoursInvalid,
    business_deadline,
    business_seconds,
    hours_dump,
    hours_parse,
    is_open,
)

NEW_YORK, LISBON, SAO_PAULO = (
    ZoneInfo("America/New_York"),
    ZoneInfo("Europe/Lisbon"),
    ZoneInfo("America/Sao_Paulo"),
)
# Changes of UTC offset in 2024: New York's (clocks forward on 10 March, back on 3 November) and
# Lisbon's (31 March, 27 October); the instants drawn cluster around them.
CHANGES = [datetime(2024, 3, 10, 7, tzinfo=UTC), datetime(2024, 11, 3, 6, tzinfo=UTC)]
CHANGES += [datetime(2024, 3, 31, 1, tzinfo=UTC), datetime(2024, 10, 27, 1, tzinfo=UTC)]
BOUNDED = settings(max_examples=100, deadline=None)
WEEKDAYS_9_TO_6 = {day: [["09:00", "18:00"]] for day in DAYS[:5]}


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def schedules(draw) -> Hours:
    """Any schedule hours_parse accepts: None (always open) or, per day, ranges on the half hour
    (where offsets change) that neither overlap nor touch; a few holidays near the instants drawn."""
    zone = draw(st.sampled_from([NEW_YORK, LISBON, SAO_PAULO, ZoneInfo("UTC")]))
    holidays = draw(st.lists(st.dates(date(2024, 3, 1), date(2024, 11, 10)).map(date.isoformat), max_size=30))
    if draw(st.integers(0, 9)) == 0:
        return hours_parse(business_hours=None, holidays=holidays, zone=zone)
    week = {}
    for day in DAYS:
        points = sorted(draw(st.lists(st.integers(0, 48), unique=True, max_size=6)))
        pairs = list(zip(points[::2], points[1::2], strict=False))
        week[day] = [[hhmm(start * 30), hhmm(end * 30)] for start, end in pairs]
    return hours_parse(business_hours=week, holidays=holidays, zone=zone)


# Instants on the minute (as the ranges are) within three days of a change of offset, or anywhere in 2024.
instants = st.one_of(
    st.tuples(st.sampled_from(CHANGES), st.integers(-3 * 1440, 3 * 1440)).map(
        lambda base: base[0] + timedelta(minutes=base[1])
    ),
    st.integers(0, 365 * 1440).map(
        lambda minutes: datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    ),
)


@BOUNDED
@given(schedules(), instants, st.integers(0, 4 * 1440))
def test_never_more_than_wall_time(hours, start, minutes):
    end = start + timedelta(minutes=minutes)

    assert 0 <= business_seconds(hours, start, end) <= (end - start).total_seconds()


@BOUNDED
@given(schedules(), instants, st.integers(0, 4 * 1440), st.integers(0, 4 * 1440))
def test_additive_over_any_split(hours, start, first, second):
    middle, end = start + timedelta(minutes=first), start + timedelta(minutes=first + second)

    whole = business_seconds(hours, start, end)

    assert whole == pytest.approx(
        business_seconds(hours, start, middle) + business_seconds(hours, middle, end)
    )


@BOUNDED
@given(schedules(), instants)
def test_open_at_an_instant_exactly_when_the_next_second_counts(hours, at):
    assert is_open(hours, at) == (business_seconds(hours, at, at + timedelta(seconds=1)) == 1)


@BOUNDED
@given(schedules(), st.data())
def test_a_holiday_counts_nothing_from_midnight_to_midnight(hours, data):
    if not hours.holidays:
        return
    day = data.draw(st.sampled_from(sorted(hours.holidays)))
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=hours.zone)
    next_midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=hours.zone)

    assert business_seconds(hours, midnight, next_midnight) == 0


@BOUNDED
@given(schedules(), instants, st.integers(0, 3000))
def test_the_deadline_is_the_first_instant_the_minutes_are_up(hours, start, minutes):
    deadline = business_deadline(hours, start, minutes)

    if deadline is None:  # not enough open time (for 0 minutes: none at all) within the search
        counted = business_seconds(hours, start, start + timedelta(days=SEARCH_DAYS - 2))
        assert counted < minutes * 60 or counted == 0
        return
    assert deadline >= start
    assert business_seconds(hours, start, deadline) == pytest.approx(minutes * 60)
    if minutes:
        assert business_seconds(hours, start, deadline - timedelta(seconds=1)) < minutes * 60
        assert is_open(hours, deadline - timedelta(seconds=1))


@BOUNDED
@given(instants, st.integers(0, 4 * 1440))
def test_always_open_is_wall_time(start, minutes):
    hours = hours_parse(business_hours=None, holidays=[], zone=NEW_YORK)
    end = start + timedelta(minutes=minutes)

    assert business_seconds(hours, start, end) == (end - start).total_seconds()
    assert business_deadline(hours, start, minutes) == end


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        (NEW_YORK, date(2024, 3, 10), 23),
        (NEW_YORK, date(2024, 11, 3), 25),
        (LISBON, date(2024, 3, 31), 23),
        (LISBON, date(2024, 10, 27), 25),
        (SAO_PAULO, date(2024, 3, 10), 24),
    ],
)
def test_a_whole_day_open_is_as_long_as_that_day_really_is(zone, day, hours):
    always = hours_parse(business_hours={d: [["00:00", "24:00"]] for d in DAYS}, holidays=[], zone=zone)
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=zone)

    assert business_seconds(always, midnight, midnight + timedelta(days=1)) == hours * 3600


def test_a_range_the_clocks_skip_counts_only_what_really_passes():
    """New York, 10 March 2024: from 02:00 the clocks read 03:00. 01:00 to 03:00 is one real hour."""
    hours = hours_parse(business_hours={"sun": [["01:00", "03:00"]]}, holidays=[], zone=NEW_YORK)
    sunday = local(NEW_YORK, 2024, 3, 10)

    assert business_seconds(hours, sunday, sunday + timedelta(days=1)) == 3600
    assert business_deadline(hours, local(NEW_YORK, 2024, 3, 10, 1, 30), 30) == local(
        NEW_YORK, 2024, 3, 10, 3
    )

    # A range ending in the skipped hour ends when the clocks jump (03:00), not an hour later.
    until_2_30 = hours_parse(business_hours={"sun": [["01:00", "02:30"]]}, holidays=[], zone=NEW_YORK)
    assert business_seconds(until_2_30, sunday, sunday + timedelta(days=1)) == 3600
    assert not is_open(until_2_30, local(NEW_YORK, 2024, 3, 10, 3, 15))


def test_across_midnight():
    hours = hours_parse(
        business_hours={"mon": [["22:00", "24:00"]], "tue": [["00:00", "02:00"]]}, holidays=[], zone=SAO_PAULO
    )
    monday_night = local(SAO_PAULO, 2026, 12, 7, 23)

    assert business_seconds(hours, monday_night, monday_night + timedelta(hours=2)) == 2 * 3600
    assert is_open(hours, local(SAO_PAULO, 2026, 12, 8, 0, 0))
    assert business_deadline(hours, monday_night, 90) == local(SAO_PAULO, 2026, 12, 8, 0, 30)


def test_a_weekend_and_a_holiday_are_closed():
    """Friday 17:00 to Tuesday 10:00, Monday a holiday: Friday's hour and Tuesday's hour."""
    hours = hours_parse(business_hours=WEEKDAYS_9_TO_6, holidays=["2026-12-14"], zone=SAO_PAULO)
    friday, tuesday = local(SAO_PAULO, 2026, 12, 11, 17), local(SAO_PAULO, 2026, 12, 15, 10)

    assert business_seconds(hours, friday, tuesday) == 2 * 3600
    assert not is_open(hours, local(SAO_PAULO, 2026, 12, 12, 12))  # Saturday noon
    assert not is_open(hours, local(SAO_PAULO, 2026, 12, 14, 12))  # the holiday
    assert business_deadline(hours, friday, 90) == local(SAO_PAULO, 2026, 12, 15, 9, 30)


def test_a_schedule_that_never_opens_has_no_deadline():
    hours = hours_parse(business_hours={}, holidays=[], zone=SAO_PAULO)

    assert business_deadline(hours, local(SAO_PAULO, 2026, 12, 7), 1) is None
    assert business_seconds(hours, local(SAO_PAULO, 2026, 12, 7), local(SAO_PAULO, 2026, 12, 30)) == 0


def test_the_schedule_is_written_back_with_every_day():
    hours = hours_parse(
        business_hours={"fri": [["13:00", "24:00"], ["08:00", "12:00"]]}, holidays=[], zone=SAO_PAULO
    )

    assert hours_dump(hours) == {day: [] for day in DAYS} | {"fri": [["08:00", "12:00"], ["13:00", "24:00"]]}
    assert hours_dump(hours_parse(business_hours=None, holidays=[], zone=SAO_PAULO)) is None


@pytest.mark.parametrize(
    ("business_hours", "holidays", "field", "words"),
    [
        ({"mon": [["09:00", "25:00"]]}, [], "mon", "25:00 is not a time"),
        ({"mon": [["9:00", "10:00"]]}, [], "mon", "9:00 is not a time"),
        ({"mon": [["09:60", "10:00"]]}, [], "mon", "09:60 is not a time"),
        ({"tue": [["18:00", "09:00"]]}, [], "tue", "ends before it starts"),
        ({"tue": [["09:00", "09:00"]]}, [], "tue", "ends before it starts"),
        ({"wed": [["09:00", "12:00"], ["11:59", "13:00"]]}, [], "wed", "overlap"),
        ({"holiday": []}, [], "holiday", "Unknown day holiday"),
        ({"mon": None}, [], "mon", "a list of [start, end] pairs"),
        ({"mon": [["09:00"]]}, [], "mon", "pair"),
        ([["09:00", "18:00"]], [], "business_hours", "object of days"),
        (None, ["25/12/2026"], "holidays", "25/12/2026 is not a date"),
        (None, ["2026-W52-5"], "holidays", "is not a date"),
        (None, "2026-12-25", "holidays", "list of dates"),
    ],
)
def test_what_cannot_be_read_is_refused_naming_where(business_hours, holidays, field, words):
    with pytest.raises(HoursInvalid) as refused:
        hours_parse(business_hours=business_hours, holidays=holidays, zone=SAO_PAULO)

    assert refused.value.field == field
    assert words in str(refused.value)


def test_touching_ranges_are_one_opening():
    hours = hours_parse(
        business_hours={"mon": [["09:00", "12:00"], ["12:00", "13:00"]]}, holidays=[], zone=SAO_PAULO
    )

    assert is_open(hours, local(SAO_PAULO, 2026, 12, 7, 12))
    assert business_deadline(hours, local(SAO_PAULO, 2026, 12, 7, 11), 90) == local(
        SAO_PAULO, 2026, 12, 7, 12, 30
    )
