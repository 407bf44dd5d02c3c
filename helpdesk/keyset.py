"""Keyset ("load more") pagination: a page starts after the last row of the one before.

Never an OFFSET: the database walks an index from the cursor, so the
thousandth page costs what the first does, and rows arriving meanwhile
neither repeat nor vanish from the pages still to come. The cursor is the
sort value and the id of the last row shown, as an opaque string; a cursor
that does not parse is a ``BadCursor`` (the page shows the first page, the
API answers 400).
"""

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet


class BadCursor(ValueError):
    pass


@dataclass
class KeysetPage:
    items: list
    next_cursor: str | None


def keyset_page(
    queryset: QuerySet, *, key: str, descending: bool = True, cursor: str | None = None, size: int = 50
) -> KeysetPage:
    """Up to ``size`` rows ordered by ``key`` then id (both ``descending`` or both not), after ``cursor``.

    ``key`` must be a column that is never null (rows with a null one would never be reached).
    """
    direction = "-" if descending else ""
    queryset = queryset.order_by(f"{direction}{key}", f"{direction}pk")
    if cursor:
        value, pk = _decode(queryset, key, cursor)
        after = "lt" if descending else "gt"
        queryset = queryset.filter(Q(**{f"{key}__{after}": value}) | Q(**{key: value, f"pk__{after}": pk}))
    items = list(queryset[: size + 1])
    if len(items) <= size:
        return KeysetPage(items, None)
    last = items[size - 1]
    return KeysetPage(items[:size], keyset_cursor(getattr(last, key), last.pk))


def keyset_cursor(value, pk: int) -> str:
    """The cursor of the page after the row with this sort value and id."""
    if isinstance(value, datetime):
        value = value.isoformat()  # to the microsecond (DjangoJSONEncoder stops at the millisecond)
    return (
        base64.urlsafe_b64encode(json.dumps([value, pk], cls=DjangoJSONEncoder).encode()).decode().rstrip("=")
    )


def _decode(queryset: QuerySet, key: str, cursor: str):
    try:
        value, pk = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        field = queryset.model._meta.get_field(key)
        if value is None or not isinstance(pk, int) or isinstance(pk, bool) or not 0 < pk < 2**63:
            raise ValueError(pk)
        return field.to_python(value), pk
    except (ValueError, TypeError, ValidationError) as error:
        raise BadCursor(str(error)) from None
