from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from tickets.hours import schedule_clean
from tickets.models import AuditReport, Message, Queue, QuickReply, Ticket
from tickets.queues import queue_update
from tickets.services import ticket_assign, ticket_close, ticket_reopen, ticket_transfer

# Changed only through the actions (the services): a change here would skip the system line, the
# realtime event and the webhook that closing, transferring or assigning make. The wait and the menu's
# time are kept by the conversation itself.
THROUGH_ACTIONS = ["status", "contact", "connection", "queue", "assignee", "waiting_since", "menu_sent_at"]
TRANSFER = _("Transfer the selected tickets to a queue")
ASSIGN = _("Give the selected tickets to an agent")


class QueueForm(forms.ModelForm):
    """A queue's settings; its schedule checked and normalised by tickets/hours.py's
    ``schedule_clean``, the queues API's own check, so both refuse the same things in the same words."""

    # A whole number of 1 or more (the model's field would offer 0): the model refuses 0 as well.
    sla_first_response_minutes = forms.IntegerField(
        min_value=1,
        required=False,
        label=capfirst(Queue._meta.get_field("sla_first_response_minutes").verbose_name),
        help_text=_("Minutes within the business hours for an agent's first answer; empty: no promise."),
    )
    sla_resolution_minutes = forms.IntegerField(
        min_value=1,
        required=False,
        label=capfirst(Queue._meta.get_field("sla_resolution_minutes").verbose_name),
        help_text=_("Minutes within the business hours to close the ticket; empty: no promise."),
    )

    class Meta:
        model = Queue
        fields = [
            "name",
            "color",
            "ordering",
            "greeting",
            "members",
            "assignment",
            "supervisors",
            "business_hours",
            "holidays",
            "out_of_hours_message",
            "sla_first_response_minutes",
            "sla_resolution_minutes",
        ]
        help_texts = {
            "holidays": _('Closed all day, as a JSON list of dates: ["2026-12-25", "2027-01-01"].'),
            "supervisors": _("They read this queue's reports without being its agents."),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["business_hours"].help_text = gettext(
            'As JSON, in the helpdesk\'s time zone (%(zone)s): {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], '
            '"sat": [["09:00", "13:00"]]}. A day left out or empty is closed; empty: always open.'
        ) % {"zone": settings.TIME_ZONE}

    def clean(self) -> dict:
        cleaned = self.cleaned_data  # ModelForm.clean() returns it, typed as maybe None
        super().clean()
        cleaned["holidays"] = cleaned.get("holidays") or []  # an empty box is no holiday
        try:
            cleaned["business_hours"], cleaned["holidays"] = schedule_clean(
                business_hours=cleaned.get("business_hours"), holidays=cleaned["holidays"]
            )
        except ValidationError as invalid:
            for field, errors in invalid.message_dict.items():
                if field not in self.errors:  # text that is not JSON is said once
                    self.add_error(field, errors)
        return cleaned


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    form = QueueForm
    list_display = ["name", "color", "assignment", "ordering"]
    list_editable = ["ordering"]
    search_fields = ["name"]
    autocomplete_fields = ["members", "supervisors"]
    fieldsets = [
        (None, {"fields": ["name", "color", "ordering", "greeting"]}),
        (_("Agents"), {"fields": ["members", "assignment", "supervisors"]}),
        (
            _("Business hours"),
            {
                "fields": ["business_hours", "holidays", "out_of_hours_message"],
                "description": _(
                    "A ticket that enters the queue while it is closed gets the out-of-hours message once, "
                    "instead of the greeting, and waits for an agent."
                ),
            },
        ),
        (_("Service level (SLA)"), {"fields": ["sla_first_response_minutes", "sla_resolution_minutes"]}),
    ]

    def save_model(self, request, obj, form, change) -> None:
        """A change goes through ``queue_update``, as the API's does: a queue turned automatic, or
        given a member, assigns its waiting tickets at once. A new queue has nothing waiting yet."""
        if change:
            queue_update(queue=obj, changes={name: form.cleaned_data[name] for name in form.changed_data})
        else:
            super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change) -> None:
        """A change's members and supervisors were set by ``queue_update``."""
        if not change:
            form.save_m2m()
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


class MessageInline(admin.TabularInline):
    """The conversation, read-only: messages are written by the sessions and agents."""

    model = Message
    fields = ("created_at", "from_me", "author", "kind", "body", "caption", "media", "status", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")


class TransferChoice(forms.Form):
    queue = forms.ModelChoiceField(queryset=Queue.objects.order_by("name"), label=_("Queue"))


class AssignChoice(forms.Form):
    assignee = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("first_name", "username"),
        label=_("Agent"),
    )


class RatingFilter(admin.SimpleListFilter):
    """The customer's satisfaction rating (tickets/csat.py): 5 to 1, or none (not asked, or no answer)."""

    title = _("satisfaction")
    parameter_name = "csat_rating"
    NOT_RATED = "none"
    RATINGS = [str(rating) for rating in range(5, 0, -1)]

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return [(rating, rating) for rating in self.RATINGS] + [(self.NOT_RATED, gettext("Not rated"))]

    def queryset(self, request, queryset):
        if self.value() == self.NOT_RATED:
            return queryset.filter(csat_rating__isnull=True)
        if self.value() in self.RATINGS:
            return queryset.filter(csat_rating=int(self.value()))
        return queryset


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "status",
        "connection",
        "queue",
        "assignee",
        "unread_count",
        "last_message_at",
        "csat_rating",
    ]
    list_filter = ["status", "queue", "connection", "close_reason", RatingFilter, "last_message_at"]
    search_fields = ["contact__name", "contact__push_name", "contact__phone", "last_message_preview"]
    list_select_related = ["contact", "connection", "queue", "assignee"]
    autocomplete_fields = ["contact", "connection", "queue", "assignee"]
    fields = [
        "contact",
        "connection",
        "status",
        "queue",
        "assignee",
        "waiting_since",
        "menu_sent_at",
        "unread_count",
        "last_message_at",
        "last_message_preview",
        "last_inbound_at",
        "last_outbound_at",
        "closed_at",
        "closed_by",
        "close_reason",
        "csat_rating",
        "csat_comment",
        "csat_rated_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [
        "unread_count",
        "last_message_at",
        "last_message_preview",
        "last_inbound_at",
        "last_outbound_at",
        "closed_at",
        "closed_by",
        "close_reason",
        # The customer's answer to the satisfaction question: theirs, not the admin's to change.
        "csat_rating",
        "csat_comment",
        "csat_rated_at",
        "created_at",
        "updated_at",
    ]
    inlines = [MessageInline]
    actions = ["close_tickets", "reopen_tickets", "transfer_tickets", "assign_tickets"]

    def get_readonly_fields(self, request, obj=None):
        """A new ticket is written whole; an existing one changes hands and state through the actions."""
        readonly = super().get_readonly_fields(request, obj)
        return [*readonly, *THROUGH_ACTIONS] if obj is not None else readonly

    @admin.action(description=_("Close the selected tickets"))
    def close_tickets(self, request, queryset) -> None:
        count = 0
        for ticket in queryset.exclude(status=Ticket.Status.CLOSED):
            ticket_close(ticket=ticket, by=request.user, reason=Ticket.CloseReason.ADMIN)
            count += 1
        self.message_user(request, ngettext("%d ticket closed.", "%d tickets closed.", count) % count)

    @admin.action(description=_("Reopen the selected tickets"))
    def reopen_tickets(self, request, queryset) -> None:
        reopened, refused = 0, []
        for ticket in queryset.filter(status=Ticket.Status.CLOSED).select_related("contact"):
            try:
                ticket_reopen(ticket=ticket, by=request.user)
                reopened += 1
            except ValidationError as error:
                refused.append(f"{ticket}: {error.messages[0]}")
        self.message_user(
            request, ngettext("%d ticket reopened.", "%d tickets reopened.", reopened) % reopened
        )
        for reason in refused:
            self.message_user(request, reason, level=messages.ERROR)

    @admin.action(description=TRANSFER)
    def transfer_tickets(self, request, queryset):
        def transfer(ticket: Ticket, choice: dict) -> None:
            ticket_transfer(ticket=ticket, queue=choice["queue"], by=request.user)

        return self._with_choice(request, queryset, TransferChoice, transfer, title=TRANSFER)

    @admin.action(description=ASSIGN)
    def assign_tickets(self, request, queryset):
        def assign(ticket: Ticket, choice: dict) -> None:
            ticket_assign(ticket=ticket, assignee=choice["assignee"], by=request.user)

        return self._with_choice(request, queryset, AssignChoice, assign, title=ASSIGN)

    def _with_choice(
        self,
        request,
        queryset,
        form_class: type[forms.Form],
        apply: Callable[[Ticket, dict], None],
        *,
        title: str,
    ) -> TemplateResponse | None:
        """An action that needs a choice: first a page with the form and the tickets, then ``apply``
        to each of them that is not closed (a closed ticket is reopened first, by its own action)."""
        form = form_class(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": title,
                "opts": self.model._meta,
                "form": form,
                "tickets": queryset.select_related("contact"),
                "action": request.POST["action"],
                "selected": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/tickets/ticket/action_choice.html", context)
        tickets = queryset.exclude(status=Ticket.Status.CLOSED).select_related("contact", "queue")
        for ticket in tickets:
            apply(ticket, form.cleaned_data)
        count = len(tickets)
        self.message_user(request, ngettext("%d ticket changed.", "%d tickets changed.", count) % count)
        return None


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["__str__", "ticket", "kind", "from_me", "status", "created_at"]
    list_filter = ["kind", "status", "from_me", "created_at"]
    search_fields = ["body", "caption", "filename", "wa_id"]
    list_select_related = ["ticket__contact"]
    autocomplete_fields = ["ticket", "author", "quoted"]
    readonly_fields = ["connection", "wa_id", "event", "size", "wa_timestamp", "created_at"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(QuickReply)
class QuickReplyAdmin(admin.ModelAdmin):
    list_display = ["shortcut", "body"]
    search_fields = ["shortcut", "body"]


@admin.register(AuditReport)
class AuditReportAdmin(admin.ModelAdmin):
    """Audit reports are written by the audit only: readable, deletable, never edited."""

    list_display = [
        "created_at",
        "trigger",
        "status",
        "criticals",
        "warnings",
        "stale_tickets",
        "closed_tickets",
    ]
    list_filter = ["status", "trigger"]
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in AuditReport._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
