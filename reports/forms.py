"""The report's period and filters, read the same way by the page, the CSV and the API."""

from datetime import date, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reports.selectors import MAX_DAYS, Filters, Scope
from tickets.models import Queue
from whatsapp.models import Connection

PRESETS = {"today": 1, "7": 7, "30": 30}
EARLIEST, LATEST = date(1900, 1, 1), date(9998, 12, 31)  # a period's bounds stay datetimes in any zone


class ReportForm(forms.Form):
    """``from``/``to`` (dates, inclusive, in TIME_ZONE) or a preset ``period``; filters by queue,
    agent and connection among those the reader may see. Without dates: the last 7 days."""

    period = forms.ChoiceField(
        label=_("Period"),
        required=False,
        choices=[
            ("today", _("Today")),
            ("7", _("Last 7 days")),
            ("30", _("Last 30 days")),
            ("custom", _("Custom")),
        ],
    )
    queue = forms.TypedChoiceField(label=_("Queue"), required=False, coerce=int, empty_value=None)
    agent = forms.TypedChoiceField(label=_("Agent"), required=False, coerce=int, empty_value=None)
    connection = forms.TypedChoiceField(label=_("Connection"), required=False, coerce=int, empty_value=None)

    def __init__(
        self,
        data,
        *,
        scope: Scope,
        queues: list[Queue],
        people: dict[int, str],
        connections: list[Connection] | None = None,
    ) -> None:
        super().__init__(data)
        self.scope = scope
        # "from" is a Python keyword: these two fields are added by name.
        self.fields["from"] = forms.DateField(label=_("From"), required=False)
        self.fields["to"] = forms.DateField(label=_("To"), required=False)
        self.order_fields(["period", "from", "to", "queue", "agent", "connection"])
        everyone = [("", _("All"))]
        self._choices("queue").choices = everyone + [
            (queue.pk, queue.name) for queue in queues if scope.queues is None or queue.pk in scope.queues
        ]
        self._choices("agent").choices = everyone + list(people.items())
        if scope.agent is not None:  # a plain agent reads their own figures only
            del self.fields["agent"]
        if connections is None:
            del self.fields["connection"]
        else:
            self._choices("connection").choices = everyone + [(c.pk, c.name) for c in connections]

    def _choices(self, name: str) -> forms.TypedChoiceField:
        field = self.fields[name]
        assert isinstance(field, forms.TypedChoiceField)
        return field

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        start, end = data.get("from"), data.get("to")
        if "from" in self.errors or "to" in self.errors:
            return data
        if start is None and end is None:
            days = PRESETS.get(data.get("period") or "7", 7)
            start, end = today - timedelta(days=days - 1), today
        start, end = start or end, end or start
        assert isinstance(start, date) and isinstance(end, date)
        for name, day in (("from", start), ("to", end)):
            if not EARLIEST <= day <= LATEST:
                self.add_error(name, _("Pick a date between 1900 and 9998."))
        if self.errors:
            return data
        if start > end:
            self.add_error("from", _("The period starts after it ends."))
        elif (end - start).days + 1 > MAX_DAYS:
            self.add_error("to", _("A period is at most two years long."))
        data["from"], data["to"] = start, end
        return data

    def filters(self) -> Filters:
        """The valid form's period and filters."""
        data = self.cleaned_data
        return Filters(
            start=data["from"],
            end=data["to"],
            queue=data.get("queue"),
            agent=self.scope.agent or data.get("agent"),
            connection=data.get("connection"),
        )
