from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from helpdesk.models import AgentState, ApiToken
from tickets.assignment import agent_state_update


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are made with ``manage.py create_api_token``; here they are reviewed and revoked (deleted)."""

    list_display = ["prefix", "name", "user", "created_at", "last_used_at"]
    list_filter = ["created_at"]
    search_fields = ["name", "prefix", "user__username"]
    readonly_fields = ["user", "name", "prefix", "created_at", "last_used_at"]

    def has_add_permission(self, request) -> bool:
        return False


class AgentStateInline(admin.StackedInline):
    """An agent's capacity and away flag, on their user's page (presence itself is not edited: it
    follows their open inbox pages)."""

    model = AgentState
    fields = ["capacity", "away", "last_activity_at", "last_assigned_at"]
    readonly_fields = ["last_activity_at", "last_assigned_at"]
    can_delete = False
    verbose_name_plural = AgentState._meta.verbose_name


admin.site.unregister(User)


@admin.register(User)
class AgentUserAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, AgentStateInline]

    def save_formset(self, request, form, formset, change) -> None:
        """The agent state goes through ``agent_state_update``: a capacity raised, or the away flag
        cleared, gives the agent the waiting tickets of their queues at once."""
        if formset.model is not AgentState:
            super().save_formset(request, form, formset, change)
            return
        for state in formset.save(commit=False):  # what changed (the admin's history reads it too)
            agent_state_update(user=form.instance, capacity=state.capacity, away=state.away)
