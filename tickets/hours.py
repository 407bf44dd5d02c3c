"""A queue's opening hours as tickets/business_time.py reads them, in the helpdesk's TIME_ZONE."""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from tickets.business_time import Hours, HoursInvalid, hours_parse, is_open
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
