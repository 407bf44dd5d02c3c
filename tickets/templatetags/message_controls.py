"""The controls of a message bubble: what the user may do to it now (tickets/message_actions.py)."""

from django import template

from tickets.message_actions import QUICK_REACTIONS, message_actions

register = template.Library()


@register.simple_tag(takes_context=True)
def message_controls(context, message, ticket) -> dict:
    """``{"react", "edit", "delete"}`` as far as the user may, and the quick set of reactions."""
    allowed = message_actions(message=message, ticket=ticket, user=context["request"].user)
    return {"allowed": allowed, "reactions": QUICK_REACTIONS}
