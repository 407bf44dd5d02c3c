"""What the inbox and ticket pages accept from agents, checked before any service runs."""

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tickets.models import Queue, Ticket
from tickets.scheduling import send_at_check
from tickets.selectors import SLA_BREACHED, InboxFilters, Tab

MAX_ID = 2**63 - 1


class InboxFilterForm(forms.Form):
    """The inbox's query string; a value that does not parse is left out, never an error page."""

    tab = forms.ChoiceField(choices=[(tab.value, tab.value) for tab in Tab], required=False)
    queue = forms.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    connection = forms.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    assignee = forms.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    q = forms.CharField(max_length=200, required=False)
    sla = forms.ChoiceField(choices=[(SLA_BREACHED, SLA_BREACHED)], required=False)

    def filters(self, *, tabs: list[Tab]) -> InboxFilters:
        self.is_valid()
        data = self.cleaned_data
        tab = (
            Tab(data["tab"]) if data.get("tab") in tabs else (Tab.WAITING if Tab.WAITING in tabs else tabs[0])
        )
        return InboxFilters(
            tab=tab,
            queue=data.get("queue"),
            connection=data.get("connection"),
            assignee=data.get("assignee"),
            search=(data.get("q") or "").strip(),
            sla=data.get("sla") or "",
        )


class ReplyForm(forms.Form):
    body = forms.CharField(required=False, strip=False, max_length=65536)
    internal = forms.BooleanField(required=False)
    quoted = forms.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    # The form's metaclass takes declared fields off the class, so Form.media (the assets) stays as it
    # is; the stubs see a class attribute replacing it.
    media = forms.FileField(required=False)  # type: ignore[assignment]
    voice = forms.BooleanField(required=False)  # the file is a voice note recorded in the page
    # Send later: a datetime-local input, read in the helpdesk's time zone (TIME_ZONE), which the page shows.
    send_at = forms.DateTimeField(required=False)

    def clean_send_at(self):
        return _send_at_checked(self.cleaned_data.get("send_at"))

    def clean(self):
        data = super().clean()
        if not (data.get("body") or "").strip() and not data.get("media"):
            raise forms.ValidationError(_("Write a message or attach a file."))
        if data.get("internal") and data.get("media"):
            raise forms.ValidationError(_("An internal note cannot carry a file."))
        if data.get("internal") and data.get("send_at"):
            raise forms.ValidationError(_("An internal note is never sent: it cannot be scheduled."))
        return data


class ScheduledEditForm(forms.Form):
    """A scheduled reply's new text (a file's caption) and time, in the helpdesk's time zone."""

    body = forms.CharField(required=False, strip=False, max_length=65536)
    send_at = forms.DateTimeField()

    def clean_send_at(self):
        return _send_at_checked(self.cleaned_data.get("send_at"))


def _send_at_checked(send_at):
    """The same rules as the API's (tickets/scheduling.py), as this field's error."""
    if send_at is not None:
        try:
            send_at_check(send_at)
        except ValidationError as invalid:
            raise forms.ValidationError(invalid.message_dict["send_at"]) from None
    return send_at


class AgentChoiceField(forms.ModelChoiceField):
    """Agents by the name their colleagues know them by, not their username."""

    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.get_username()


class TransferForm(forms.Form):
    """Where to transfer ``ticket``: a queue, and one of that queue's agents (of the ticket's own
    queue while none is chosen; every agent for a ticket no queue has taken yet)."""

    queue = forms.ModelChoiceField(queryset=Queue.objects.all(), required=False, label=_("Queue"))
    assignee = AgentChoiceField(queryset=get_user_model().objects.none(), required=False, label=_("Agent"))
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label=_("Note (internal)")
    )

    def __init__(self, *args, ticket: Ticket, **kwargs):
        super().__init__(*args, **kwargs)
        queue = self._queue_chosen() or ticket.queue
        agents = (
            get_user_model().objects.filter(is_active=True).order_by("first_name", "last_name", "username")
        )
        assignee = self.fields["assignee"]
        assert isinstance(assignee, AgentChoiceField)
        assignee.queryset = agents.filter(queues=queue) if queue else agents

    def _queue_chosen(self) -> Queue | None:
        """The queue the form says (a value that is no queue: none)."""
        value = self.data.get("queue") if self.is_bound else self.initial.get("queue")
        try:
            return self.fields["queue"].clean(value)
        except forms.ValidationError:
            return None

    def clean(self):
        data = super().clean()
        if not data.get("queue") and not data.get("assignee"):
            raise forms.ValidationError(_("Choose a queue or an agent to transfer to."))
        return data


class CloseForm(forms.Form):
    farewell = forms.BooleanField(required=False)
