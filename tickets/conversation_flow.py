"""What the helpdesk says by itself: the greeting, the queue menu, the farewell.

A new ticket of a connection with several queues gets the connection's
greeting followed by a numbered menu of its queues; the customer's answer
(the number) puts the ticket in that queue, which may greet in turn. An
answer that is not a number of the menu repeats the menu, at most once every
MENU_REPEAT_MINUTES, so a chatty customer is not flooded. With one queue the
ticket goes there at once, and only the greeting is sent.

A ticket that enters a queue while the queue is closed (its business hours,
tickets/hours.py) hears the queue's out-of-hours message instead of the
greeting, once in the ticket's life, and waits there for an agent.
"""

from datetime import timedelta

from django.utils import timezone

from helpdesk.realtime import dashboard_changed
from tickets.assignment import assign_on_commit
from tickets.hours import queue_open_now
from tickets.milestones import queue_entered
from tickets.models import Message, Queue, Ticket
from tickets.outbound import message_send
from tickets.realtime import UNROUTED_GROUP, ticket_event
from tickets.writing import contact_receives

MENU_REPEAT_MINUTES = 5


def render(template: str, *, ticket: Ticket) -> str:
    """Fill ``{{name}}`` (the contact's name) and ``{{protocol}}`` (the ticket number)."""
    return template.replace("{{name}}", ticket.contact.display_name).replace("{{protocol}}", str(ticket.pk))


def greet_new_ticket(*, ticket: Ticket) -> None:
    """Called once, for a ticket a customer's first message made. A blocked contact gets nothing."""
    if not contact_receives(contact=ticket.contact):
        return
    queues = [] if ticket.queue_id else _queues(ticket)  # a ticket with its queue needs no menu
    if len(queues) > 1:
        _send_menu(ticket, queues)
    elif ticket.queue is not None:
        queue_welcome(ticket=ticket, greeting=ticket.connection.greeting)
    elif ticket.connection.greeting:
        message_send(ticket=ticket, author=None, body=render(ticket.connection.greeting, ticket=ticket))


def route_answer(*, ticket: Ticket, message: Message) -> None:
    """A customer's message to a ticket still waiting for its queue: maybe the menu's answer."""
    if ticket.queue_id is not None or ticket.menu_sent_at is None:
        return
    queues = _queues(ticket)
    choice = message.body.strip().rstrip(".")
    # ASCII digits only: "²".isdigit() is true but int("²") fails, and a menu has no thousand queues.
    if choice.isascii() and choice.isdigit() and len(choice) <= 3 and 1 <= int(choice) <= len(queues):
        queue = queues[int(choice) - 1]
        ticket.queue = queue
        ticket.save(update_fields=["queue", "updated_at"])
        queue_entered(ticket=ticket)
        ticket_event(ticket=ticket, event_type="ticket.changed", left=[UNROUTED_GROUP])
        dashboard_changed()  # from the wall's "No queue" line to its queue's
        assign_on_commit(ticket=ticket)
        if contact_receives(contact=ticket.contact):
            queue_welcome(ticket=ticket, greeting=queue.greeting)
    elif contact_receives(contact=ticket.contact) and timezone.now() - ticket.menu_sent_at >= timedelta(
        minutes=MENU_REPEAT_MINUTES
    ):
        _send_menu(ticket, queues)


def queue_welcome(*, ticket: Ticket, greeting: str) -> None:
    """What a ticket that has just entered ``ticket.queue`` hears: the queue's out-of-hours message
    when the queue is closed and has one (once in the ticket's life: a second closed queue, or the
    same one again, says nothing), else ``greeting`` ("" for none), as before business hours existed.
    The caller has checked that the contact receives messages."""
    queue = ticket.queue
    if queue is not None and queue.out_of_hours_message and not queue_open_now(queue):
        now = timezone.now()
        # One conditional UPDATE: two messages of the customer arriving at once claim it once.
        if Ticket.objects.filter(pk=ticket.pk, out_of_hours_sent_at__isnull=True).update(
            out_of_hours_sent_at=now
        ):
            ticket.out_of_hours_sent_at = now
            message_send(ticket=ticket, author=None, body=render(queue.out_of_hours_message, ticket=ticket))
    elif greeting:
        message_send(ticket=ticket, author=None, body=render(greeting, ticket=ticket))


def farewell(*, ticket: Ticket) -> None:
    if ticket.connection.farewell and contact_receives(contact=ticket.contact):
        message_send(ticket=ticket, author=None, body=render(ticket.connection.farewell, ticket=ticket))


def _queues(ticket: Ticket) -> list[Queue]:
    return list(ticket.connection.queues.order_by("ordering", "name"))


def _send_menu(ticket: Ticket, queues: list[Queue]) -> None:
    lines = [render(ticket.connection.greeting, ticket=ticket)] if ticket.connection.greeting else []
    lines += [f"{number} - {queue.name}" for number, queue in enumerate(queues, start=1)]
    message_send(ticket=ticket, author=None, body="\n".join(lines))
    ticket.menu_sent_at = timezone.now()
    ticket.save(update_fields=["menu_sent_at", "updated_at"])
