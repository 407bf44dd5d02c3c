"""Who may write to whom: the one door every message to a contact passes before it is queued.

An agent (a page, the composer, the API) writes only into a conversation they could
see in the inbox (``tickets_visible_to``), and nobody writes to a blocked contact; the
helpdesk's own messages (greeting, menu, farewell) only ask whether the contact receives
anything. The refusal for a conversation the user may not see tells nothing about it: not
its queue, its agent nor its number (docs/decisions.md, "Who may write to whom").
"""

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from contacts.models import Contact
from contacts.selectors import contacts_visible_to
from tickets.models import Ticket
from tickets.selectors import tickets_visible_to


class ActionRefused(Exception):
    """The action cannot be done now; the message says why, for the user, and ``code`` for a program
    (the API's ``error_code``)."""

    code = "ACTION_REFUSED"

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code or self.code


def write_check(*, user: User, contact: Contact, ticket: Ticket | None) -> None:
    """Raise ActionRefused unless ``user`` may write to ``contact`` in ``ticket``, the conversation the
    message goes to (None: a new one, which the user makes). Neither refusal tells anything the user
    may not see: not the hidden conversation, nor the name of a blocked contact of other queues."""
    if ticket is not None and not tickets_visible_to(user=user).filter(pk=ticket.pk).exists():
        raise ActionRefused(
            _("This number already has a conversation you cannot see; ask a supervisor."),
            code="CONVERSATION_NOT_VISIBLE",
        )
    if not contact_receives(contact=contact):
        if contacts_visible_to(user=user).filter(pk=contact.pk).exists():
            refusal = _("%(contact)s is blocked: unblock them to write to them.") % {"contact": contact}
        else:  # a contact of other queues (or of none yet): not even their name
            refusal = _("This number is blocked; ask a supervisor.")
        raise ActionRefused(refusal, code="CONTACT_BLOCKED")


def contact_receives(*, contact: Contact) -> bool:
    """Whether the helpdesk sends the contact anything at all: a blocked contact gets nothing."""
    return not contact.blocked


def tickets_receiving(tickets: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """``tickets`` whose contact receives messages: ``contact_receives`` for a batch (the audit's farewells)."""
    return tickets.filter(contact__blocked=False)
