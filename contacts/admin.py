from typing import Any

from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from contacts.models import Contact, ContactField, Tag
from helpdesk.phones import phone_display
from tickets.models import Ticket


@admin.display(description=_("phone"), ordering="phone")
def phone_column(owner: Any) -> str:
    """A list's phone column (a contact's, a connection's) in the international format."""
    return phone_display(owner.phone)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "color"]
    search_fields = ["name"]


class ContactFieldInline(admin.TabularInline):
    model = ContactField
    extra = 1


class ContactTicketInline(admin.TabularInline):
    """The contact's history: every ticket, newest first, each a link to its page."""

    model = Ticket
    fields = ("status", "connection", "queue", "assignee", "last_message_preview", "last_message_at")
    readonly_fields = fields
    show_change_link = True
    extra = 0
    can_delete = False
    ordering = ["-created_at"]
    verbose_name_plural = _("tickets")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("connection", "queue", "assignee")


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["__str__", phone_column, "wa_id", "email", "is_group", "blocked", "updated_at"]
    list_filter = ["is_group", "blocked", "tags", "created_at"]
    search_fields = ["name", "push_name", "phone", "wa_id", "email"]
    autocomplete_fields = ["tags"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [ContactFieldInline, ContactTicketInline]
    fieldsets = [
        (None, {"fields": ["name", "phone", "wa_id", "push_name", "email", "avatar_url"]}),
        (_("Classification"), {"fields": ["tags", "is_group", "blocked", "notes"]}),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]
