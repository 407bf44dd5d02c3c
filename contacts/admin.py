from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import models
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from contacts.models import Contact, ContactField, ContactMerge, Tag
from helpdesk.permissions import has_permission
from helpdesk.phones import phone_display
from tickets.merging import MERGE_PERMISSION, contact_merge
from tickets.models import Ticket
from tickets.writing import ActionRefused

MERGE = _("Merge the two selected contacts (one person)")


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
    actions = ["merge_contacts"]
    fieldsets = [
        (None, {"fields": ["name", "phone", "wa_id", "push_name", "email", "avatar_url"]}),
        (_("Classification"), {"fields": ["tags", "is_group", "blocked", "notes"]}),
        (_("History"), {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.action(description=MERGE, permissions=["merge"])
    def merge_contacts(self, request, queryset):
        """Exactly two contacts: a page to choose which stays, then ``contact_merge``."""
        contacts = list(queryset.order_by("pk")[:3])
        if len(contacts) != 2:
            self.message_user(request, gettext("Select exactly two contacts to merge."), level=messages.ERROR)
            return None
        chosen = request.POST.get("keep") if "apply" in request.POST else None
        if chosen not in {str(contact.pk) for contact in contacts}:
            context = {
                **self.admin_site.each_context(request),
                "title": MERGE,
                "opts": self.model._meta,
                "contacts": contacts,
                "action": request.POST["action"],
                "selected": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/contacts/contact/merge.html", context)
        keep, other = contacts if str(contacts[0].pk) == chosen else contacts[::-1]
        try:
            contact_merge(keep=keep, other=other, by=request.user)
        except ActionRefused as refusal:
            self.message_user(request, str(refusal), level=messages.ERROR)
            return None
        self.message_user(
            request, gettext("%(other)s was merged into %(contact)s.") % {"other": other, "contact": keep}
        )
        return None

    def has_merge_permission(self, request) -> bool:
        return has_permission(request.user, MERGE_PERMISSION)


@admin.register(ContactMerge)
class ContactMergeAdmin(admin.ModelAdmin):
    """The audit lines of the merges: read only, as they happened."""

    list_display = ["at", "merged_wa_id", "merged_name", "kept", "by_name"]
    search_fields = ["merged_wa_id", "merged_phone", "merged_name", "kept_wa_id", "by_name"]
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
