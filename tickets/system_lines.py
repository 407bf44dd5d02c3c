"""System lines: what happened in a conversation, kept as an event and the names it involves.

A line ("Ana accepted the ticket") is stored as ``{"event": "accepted", "agent": "Ana"}`` in
``Message.event`` and written out when it is read, in the reader's language: a Portuguese agent
and an English one read the same line each in their own. ``Message.body`` keeps the line in the
helpdesk's language (LANGUAGE_CODE) for the API, the webhooks and the search. Lines stored
before events were kept have no event and are shown as they were written (docs/decisions.md,
"Languages").
"""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, gettext_noop

# Each event and its sentence. The values are names as they were when it happened (an agent
# renamed later keeps their old name in old lines, like a signature); ``agent`` None is the
# helpdesk itself (an automation); ``target`` is a list of names (the queue, the agent).
LINES = {
    "accepted": gettext_noop("%(agent)s accepted the ticket"),
    "assigned": gettext_noop("%(agent)s gave the ticket to %(assignee)s"),
    "unassigned": gettext_noop("%(agent)s unassigned the ticket"),
    "transferred": gettext_noop("%(agent)s transferred to %(target)s"),
    "returned": gettext_noop("%(agent)s returned the ticket to waiting"),
    "closed": gettext_noop("%(agent)s closed the ticket"),
    "reopened": gettext_noop("%(agent)s reopened the ticket"),
    "blocked": gettext_noop("%(agent)s blocked the contact"),
    "unblocked": gettext_noop("%(agent)s unblocked the contact"),
    "audit_closed": gettext_noop("Closed by the audit: no message for %(hours)d h"),
    "merged": gettext_noop("%(agent)s merged this ticket into #%(ticket)s"),
}


def system_line_text(event: dict) -> str | None:
    """``event`` written out in the active language; None for an event this code does not know."""
    sentence = LINES.get(event.get("event", ""))
    if sentence is None:
        return None
    values = {name: value for name, value in event.items() if name != "event"}
    values["agent"] = values.get("agent") or gettext("The helpdesk")
    if isinstance(values.get("target"), list):
        values["target"] = ", ".join(values["target"])
    return gettext(sentence) % values


def system_line_record(event: dict) -> str:
    """``event`` in the helpdesk's language (LANGUAGE_CODE): the text the API and the search read."""
    with translation.override(settings.LANGUAGE_CODE):
        return system_line_text(event) or ""
