"""How the reports page writes a duration, a heat map's cell and the days' rows."""

from collections.abc import Iterable

from django import template
from django.utils.formats import date_format
from django.utils.html import format_html_join
from django.utils.translation import gettext as _

from reports.selectors import Day

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """``2h 05m``, ``4m 10s``, ``12s``; an em dash without data."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours >= 24:
        return _("%(days)dd %(hours)dh") % {"days": hours // 24, "hours": hours % 24}
    if hours:
        return _("%(hours)dh %(minutes)02dm") % {"hours": hours, "minutes": minutes}
    if minutes:
        return _("%(minutes)dm %(seconds)02ds") % {"minutes": minutes, "seconds": secs}
    return _("%(seconds)ds") % {"seconds": secs}


@register.filter
def heat(count: int, grid: list[list[int]]) -> str:
    """The cell's shade, 0 to 1, against the grid's busiest hour (two decimals)."""
    top = max((max(row) for row in grid), default=0)
    return f"{count / top:.2f}" if top else "0"


@register.filter
def seconds_attr(seconds: float | None) -> str:
    """A ``data-seconds`` value: a plain decimal, empty without data."""
    return "" if seconds is None else f"{seconds:.3f}"


@register.simple_tag
def day_rows(days: Iterable[Day]) -> str:
    """The rows of the days' table, built here in one pass: a year is 366 rows, which the template's
    loop took 20 ms to render (a third of the page's Python)."""
    return format_html_join(
        "",
        '<tr data-day="{}"><th scope="row">{}</th><td>{}</td><td>{}</td><td>{}</td></tr>',
        (
            (
                day.day.isoformat(),
                date_format(day.day, "SHORT_DATE_FORMAT"),
                day.opened,
                day.closed,
                day.reopened,
            )
            for day in days
        ),
    )
