from django.contrib import admin
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from whatsapp.models import Connection, ConnectionEvent

EVENTS_SHOWN = 50


class NewestEventsFormSet(BaseInlineFormSet):
    def get_queryset(self):
        return super().get_queryset().order_by("-at", "-id")[:EVENTS_SHOWN]


class ConnectionEventInline(admin.TabularInline):
    """The connection's latest log lines; the whole log is the connection events page."""

    model = ConnectionEvent
    formset = NewestEventsFormSet
    fields = ["at", "kind", "from_status", "to_status", "message"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("log (newest first)")

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["name", "phone", "status_badge", "enabled", "is_default", "last_seen_at", "updated_at"]
    list_filter = ["status", "enabled", "is_default", "queues"]
    search_fields = ["name", "phone"]
    autocomplete_fields = ["queues"]
    inlines = [ConnectionEventInline]

    class Media:
        css = {"all": ["css/badges.css"]}
    readonly_fields = [
        "status_badge", "phone", "qr_generated_at", "qr_attempts", "last_seen_at", "lease_owner",
        "lease_expires_at", "reconnect_attempts", "last_error", "created_at", "updated_at",
    ]  # fmt: skip
    fieldsets = [
        (None, {"fields": ["name", "enabled", "is_default", "queues"]}),
        (_("Session"), {"fields": readonly_fields[:-2]}),
        (_("Messages"), {"fields": ["greeting", "farewell"]}),
        (_("Webhook"), {"fields": ["webhook_url", "webhook_secret"]}),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, connection: Connection) -> str:
        return format_html(
            '<span class="badge status-{}">{}</span>', connection.status.lower(), connection.get_status_display()
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
