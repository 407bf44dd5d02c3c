"""Reads of connections."""

from django.db.models import Count, QuerySet

from whatsapp.models import Connection


def connection_status_counts() -> list[tuple[str, str, int]]:
    """(status, label, count) for every status that has at least one connection.

    Labels are plain strings in the active language, ready for a template or JSON.
    """
    counts = dict(Connection.objects.values_list("status").annotate(n=Count("pk")).order_by())
    return [
        (status, str(label), counts[status])
        for status, label in Connection.Status.choices
        if status in counts
    ]


def connection_list() -> QuerySet[Connection]:
    return Connection.objects.order_by("name")
