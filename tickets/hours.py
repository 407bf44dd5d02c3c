"""A queue's opening hours as tickets/business_time.py reads them, in the helpdesk's TIME_ZONE."""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from tickets.business_time import Hours, HoursInvalid, hours_dump, hours_parse, is_open
from tickets.models import Queue


def queue_hours(queue: Queue) -> Hours:
    """``queue``'s schedule and holidays. What was saved was checked (the admin's form, the API); a
    schedule that still cannot be read (written around them) counts as always open rather than
    stopping a ticket."""
    zone = ZoneInfo(settings.TIME_ZONE)
    try:
        return hours_parse(business_hours=queue.business_hours, holidays=queue.holidays or [], zone=zone)
    except HoursInvalid:
        return Hours(zone=zone)


def queue_open_now(queue: Queue) -> bool:
    """Whether ``queue`` is within its hours now."""
    return is_open(queue_hours(queue), timezone.now())


def schedule_clean(*, business_hours: object, holidays: object) -> tuple[dict | None, list[str]]:
    """A queue's ``business_hours`` and ``holidays`` as given (the admin's form, the queues API),
    checked and normalised as they are saved: the schedule with all seven days (``hours_dump``), the
    holidays sorted and once each. One door, so the admin and the API refuse the same things in the
    same words. Raises ValidationError naming ``business_hours`` and/or ``holidays``."""
    zone = ZoneInfo(settings.TIME_ZONE)
    errors: dict[str, str] = {}
    schedule = days = None
    try:
        schedule = hours_parse(business_hours=business_hours, holidays=[], zone=zone)  # type: ignore[arg-type]
    except HoursInvalid as invalid:
        errors["business_hours"] = str(invalid)
    try:
        days = hours_parse(business_hours=None, holidays=holidays, zone=zone).holidays  # type: ignore[arg-type]
    except HoursInvalid as invalid:
        errors["holidays"] = str(invalid)
    if errors or schedule is None or days is None:
        raise ValidationError(errors)
    return hours_dump(schedule), sorted(day.isoformat() for day in days)
