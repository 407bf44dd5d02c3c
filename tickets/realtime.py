"""Who hears of a ticket's changes: bus groups scoped by what each user may see.

The groups mirror ``tickets_visible_to``: admins and supervisors hear every ticket; an agent
hears the tickets of their queues, the ones assigned to them and the ones no
queue has taken yet. A ticket's event goes to each group it belongs to (and,
when it moves, to the ones it left), so a browser only ever learns of tickets
its user may open. Events carry ids only; pages read the rest through the
same selectors as a reload would.
"""

import uuid
from collections.abc import Sequence

from django.contrib.auth.models import User

from helpdesk.permissions import sees_every_ticket
from helpdesk.realtime import publish_many_on_commit, publish_on_commit
from tickets.models import Ticket

ALL_TICKETS_GROUP = "tickets.all"
UNROUTED_GROUP = "tickets.unrouted"


def queue_group(queue_id: int) -> str:
    return f"tickets.queue.{queue_id}"


def agent_group(user_id: int) -> str:
    return f"tickets.agent.{user_id}"


def ticket_groups(ticket: Ticket) -> list[str]:
    return groups_of(queue_id=ticket.queue_id, assignee_id=ticket.assignee_id)


def groups_of(*, queue_id: int | None, assignee_id: int | None) -> list[str]:
    """The groups of a ticket in ``queue_id`` assigned to ``assignee_id`` (without loading the ticket)."""
    groups = [ALL_TICKETS_GROUP, queue_group(queue_id) if queue_id else UNROUTED_GROUP]
    if assignee_id:
        groups.append(agent_group(assignee_id))
    return groups


def user_ticket_groups(*, user: User) -> list[str]:
    """The groups a user's inbox joins (queue memberships as they are now)."""
    if sees_every_ticket(user):
        return [ALL_TICKETS_GROUP]
    return [
        UNROUTED_GROUP,
        agent_group(user.pk),
        *(queue_group(pk) for pk in user.queues.values_list("pk", flat=True)),
    ]


def ticket_event(*, ticket: Ticket, event_type: str, left: Sequence[str] = (), **payload) -> None:
    """Announce a change of ``ticket`` on commit; ``left``: the groups it belonged to before a move.

    ``event`` names this event: the copies a user's several groups bring of it share it, so the inbox
    socket forwards one; two changes of a ticket do not (carrying ids only, they would look alike,
    and the second, an accept after the read, a close after a transfer, would never reach the page).
    """
    groups = ticket_groups(ticket)
    groups += [group for group in left if group not in groups]
    payload = {"ticket": ticket.pk, "event": uuid.uuid4().hex, **payload}
    publish_on_commit(groups=groups, event_type=event_type, payload=payload)


def tickets_closed_event(*, rows: list[dict]) -> None:
    """Announce, on commit, that the tickets of ``rows`` (pk, queue_id, assignee_id) were closed together.

    One ``tickets.closed`` event per group, listing that group's tickets: a bulk close
    costs the bus a few messages per batch, not one per ticket.
    """
    by_group: dict[str, list[int]] = {}
    for row in rows:
        for group in groups_of(queue_id=row["queue_id"], assignee_id=row["assignee_id"]):
            by_group.setdefault(group, []).append(row["pk"])
    publish_many_on_commit([([group], "tickets.closed", {"tickets": pks}) for group, pks in by_group.items()])
