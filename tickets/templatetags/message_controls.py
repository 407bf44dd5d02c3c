"""The controls of a message bubble: what the user may do to it now (tickets/message_actions.py)."""

from django import template

from tickets.message_actions import QUICK_REACTIONS, message_actions
from tickets.templatetags.inbox import reactions_of

register = template.Library()


@register.simple_tag(takes_context=True)
def message_controls(context, message, ticket) -> dict:
    """``{"react", "edit", "delete"}`` as far as the user may, the quick set of reactions, and ours if
    any (then it can be removed); the reactions are those the page read with the bubbles."""
    allowed = message_actions(message=message, ticket=ticket, user=context["request"].user)
    ours = next((reaction.emoji for reaction in reactions_of(message) if reaction.from_me), "")
    return {"allowed": allowed, "reactions": QUICK_REACTIONS, "ours": ours}
