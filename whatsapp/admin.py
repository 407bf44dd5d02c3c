from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from contacts.admin import phone_column
from whatsapp.dead_letters import dead_letter_retry
from whatsapp.forms import WebhookSecretFields, connection_defaults
from whatsapp.models import Connection, ConnectionEvent, DeadLetter, SavedLogin, WebhookDelivery
from whatsapp.saved_logins import saved_logins_remove
from whatsapp.services import (
    ConnectionLimitReached,
    connection_create,
    connection_delete,
    connection_request,
    connection_update,
)
from whatsapp.views import webhook_secret_page
from whatsapp.webhooks import webhook_redeliver

EVENTS_SHOWN = 50


class NewestEventsFormSet(BaseInlineFormSet):
    def get_queryset(self):
        return super().get_queryset().order_by("-at", "-id")[:EVENTS_SHOWN]


class ConnectionEventInline(admin.TabularInline):
    """The connection's latest log lines; the whole log is the connection events page."""

    model = ConnectionEvent
    formset = NewestEventsFormSet
    fields = ("at", "kind", "from_status", "to_status", "message")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("log (newest first)")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ConnectionAdminForm(WebhookSecretFields):
    def clean(self):
        """Say so on the form when the limit is already reached (saving re-checks it atomically)."""
        cleaned = super().clean()
        maximum = settings.MAX_WHATSAPP_CONNECTIONS
        if self.instance.pk is None and Connection.objects.count() >= maximum:
            raise forms.ValidationError(
                str(ConnectionLimitReached(current=Connection.objects.count(), maximum=maximum))
            )
        return cleaned


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    form = ConnectionAdminForm
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = [
        "name",
        phone_column,
        "status_badge",
        "enabled",
        "is_default",
        "last_seen_at",
        "updated_at",
    ]
    list_filter = ["status", "enabled", "is_default", "queues"]
    search_fields = ["name", "phone"]
    autocomplete_fields = ["queues"]
    inlines = [ConnectionEventInline]
    actions = ["start_sessions", "stop_sessions", "restart_sessions"]

    class Media:
        css = {"all": ["css/badges.css"]}
        js = ["js/live.js", "js/admin_connection.js"]

    def get_changeform_initial_data(self, request) -> dict:
        return {**connection_defaults(), **super().get_changeform_initial_data(request)}

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ConnectionLimitReached as error:  # the limit is checked atomically, at save time
            self.message_user(request, str(error), level=messages.ERROR)
            return redirect("admin:whatsapp_connection_changelist")

    def save_model(self, request, obj, form, change) -> None:
        """Through the services: a new connection starts (when enabled), a change is logged."""
        if change:
            connection_update(connection=obj, changes=form.cleaned_data, by=request.user)
            return
        created = connection_create(by=request.user, **form.cleaned_data)
        obj.pk, obj._state = created.pk, created._state

    def save_form(self, request, form, change):
        connection = super().save_form(request, form, change)
        request.webhook_secret_generated = form.new_secret  # shown once by response_add / response_change
        return connection

    def response_add(self, request, obj, post_url_continue=None):
        return self._secret_page(request, obj) or super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        return self._secret_page(request, obj) or super().response_change(request, obj)

    def _secret_page(self, request, connection: Connection):
        secret = getattr(request, "webhook_secret_generated", "")
        if not secret:
            return None
        back = reverse("admin:whatsapp_connection_change", args=[connection.pk])
        return webhook_secret_page(request, connection=connection, secret=secret, back=back)

    def save_related(self, request, form, formsets, change) -> None:
        """The services set the queues; only the (read-only) log inline is left to save."""
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request, obj) -> None:
        connection_delete(connection=obj)

    def delete_queryset(self, request, queryset) -> None:
        for connection in queryset:
            connection_delete(connection=connection)

    @admin.action(description=_("Start the selected sessions"))
    def start_sessions(self, request, queryset) -> None:
        self._request(request, queryset, enabled=True)

    @admin.action(description=_("Stop the selected sessions"))
    def stop_sessions(self, request, queryset) -> None:
        self._request(request, queryset, enabled=False)

    @admin.action(description=_("Restart the selected sessions"))
    def restart_sessions(self, request, queryset) -> None:
        self._request(request, queryset, enabled=True, command=Connection.Command.RESTART)

    def _request(self, request, queryset, **wish) -> None:
        for connection in queryset:
            connection_request(connection=connection, **wish)
        self.message_user(request, _("Done: the sessions follow within seconds."))

    @admin.display(description=_("live page"))
    def live_page(self, connection: Connection) -> str:
        if not connection.pk:
            return "—"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}" target="_blank">{}</a>',
            reverse("connection-detail", args=[connection.pk]),
            _("QR code, log and buttons"),
            reverse("connection-snapshot", args=[connection.pk]),
            _("snapshot"),
        )

    readonly_fields = [
        "status_badge",
        "live_page",
        "phone",
        "web_version",
        "qr_generated_at",
        "qr_attempts",
        "last_seen_at",
        "lease_owner",
        "lease_expires_at",
        "reconnect_attempts",
        "last_error",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "enabled", "is_default", "queues"]}),
        (_("Session"), {"fields": tuple(readonly_fields[:-2])}),
        (_("Messages"), {"fields": ["greeting", "farewell"]}),
        (_("Customer satisfaction"), {"fields": ["csat_enabled", "csat_question"]}),
        (_("Webhook"), {"fields": ["webhook_url", "webhook_secret", "rotate_webhook_secret"]}),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, connection: Connection) -> str:
        return format_html(
            '<span data-field="status" class="badge status-{}">{}</span>',
            connection.status.lower(),
            connection.get_status_display(),
        )


@admin.register(ConnectionEvent)
class ConnectionEventAdmin(admin.ModelAdmin):
    list_display = ["at", "connection", "kind", "from_status", "to_status", "message"]
    list_filter = ["kind", "to_status", "connection"]
    search_fields = ["message", "connection__name"]
    list_select_related = ["connection"]
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "at",
        "connection",
        "event",
        "attempt",
        "status_code",
        "duration_ms",
        "delivered",
        "error",
    ]
    list_filter = ["delivered", "event", "connection"]
    search_fields = ["event_id", "url", "error"]
    list_select_related = ["connection"]
    date_hierarchy = "at"
    actions = ["redeliver"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Redeliver the selected events"))
    def redeliver(self, request, queryset) -> None:
        for delivery in queryset:
            webhook_redeliver(delivery=delivery)
        self.message_user(request, _("Queued again: see the new attempts here in a moment."))


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):
    """Messages that could not be stored: read the error, fix its cause, retry."""

    list_display = ["created_at", "connection", "chat", "wa_id", "error_summary", "resolved", "retried_at"]
    list_filter = ["resolved", "connection", "error_type", "created_at"]
    search_fields = ["chat", "wa_id", "error"]
    list_select_related = ["connection"]
    date_hierarchy = "created_at"
    actions = ["retry"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("error"), ordering="error_type")
    def error_summary(self, letter: DeadLetter) -> str:
        """The traceback's last line: the error's type and message."""
        lines = [line for line in letter.error.splitlines() if line.strip()]
        return (lines[-1] if lines else letter.error_type)[:150]

    @admin.action(description=_("Retry storing the selected messages"))
    def retry(self, request, queryset) -> None:
        results = [dead_letter_retry(dead_letter=letter) for letter in queryset.select_related("connection")]
        stored = sum(results)
        self.message_user(
            request,
            _("%(stored)d of %(total)d stored; the others keep their new error.")
            % {"stored": stored, "total": len(results)},
            level=messages.SUCCESS if stored == len(results) else messages.WARNING,
        )


@admin.register(SavedLogin)
class SavedLoginAdmin(admin.ModelAdmin):
    """The logins kept centrally (docs/operations.md): read-only; a refused copy, kept for the audit,
    is deleted here once understood (its file in the storage with it)."""

    list_display = ["connection", "version", "created_at", "size", "refused", "refused_at"]
    list_filter = ["connection", "refused_at"]
    list_select_related = ["connection"]
    exclude = ["data"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("data")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj: SavedLogin) -> None:
        saved_logins_remove(saved_logins=[obj])

    def delete_queryset(self, request, queryset) -> None:
        saved_logins_remove(saved_logins=list(queryset))
