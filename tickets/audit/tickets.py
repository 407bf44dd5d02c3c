"""Tickets: the open and pending ones, which of them are stale under the policy and why; closing them."""

from dataclasses import asdict, dataclass
from datetime import datetime

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.audit.checks import Level, Section, duration
from tickets.audit.stale import ACTIVE, stale_q, tickets_close_stale, waiting_q
from tickets.models import Ticket

LISTED = 50  # tickets listed in the report (the least recently active first); the figures count them all


@dataclass
class Policy:
    before: datetime
    why: str  # in words, for the report
    ignore_waiting: bool
    close: bool = False
    farewell: bool = False


def tickets_section(*, policy: Policy, batch_size: int = 2000) -> Section:
    section = Section("tickets", _("Tickets"))
    active = Ticket.objects.filter(status__in=ACTIVE)
    by_status = dict(active.order_by().values_list("status").annotate(n=Count("pk")))
    stale = Ticket.objects.filter(stale_q(before=policy.before, ignore_waiting=policy.ignore_waiting))
    stale_count = stale.count()
    kept_waiting = (
        Ticket.objects.filter(stale_q(before=policy.before, ignore_waiting=False), waiting_q()).count()
        if policy.ignore_waiting
        else 0
    )
    section.evidence.append(
        _(
            "Open %(open)d, pending %(pending)d; stale (%(why)s): %(stale)d; "
            "kept because they wait for an answer: %(kept)d"
        )
        % {
            "open": by_status.get("open", 0),
            "pending": by_status.get("pending", 0),
            "why": policy.why,
            "stale": stale_count,
            "kept": kept_waiting,
        }
    )
    section.data.update(
        open=by_status.get("open", 0),
        pending=by_status.get("pending", 0),
        stale=stale_count,
        kept_waiting=kept_waiting,
        policy={"before": policy.before, "why": policy.why, "ignore_waiting": policy.ignore_waiting},
    )
    stale_ids = set(stale.order_by("last_message_at", "pk").values_list("pk", flat=True)[:LISTED])
    section.data["listed"] = _listing(active, stale_ids, policy, section)
    if policy.close and stale_count:
        result = tickets_close_stale(
            before=policy.before,
            ignore_waiting=policy.ignore_waiting,
            batch_size=batch_size,
            farewell=policy.farewell,
        )
        section.data["closed"] = asdict(result)
        section.evidence.append(
            _("Closed %(n)d stale tickets in %(batches)d batches.")
            % {"n": result.closed, "batches": result.batches}
        )
        if policy.farewell:
            section.evidence.append(
                _("Farewells queued: %(queued)d; not sent (connection not connected): %(unsent)d")
                % {"queued": result.farewells_queued, "unsent": result.farewells_unsent}
            )
        if result.farewells_unsent:
            section.flag(
                Level.WARNING,
                _("%(n)d farewells could not be sent: their connection is not connected.")
                % {"n": result.farewells_unsent},
            )
    elif stale_count:
        section.flag(
            Level.WARNING,
            _("%(n)d tickets are stale (%(why)s); --close-stale closes them.")
            % {"n": stale_count, "why": policy.why},
        )
    return section


def _listing(active, stale_ids: set[int], policy: Policy, section: Section) -> list[dict]:
    """The least recently active open tickets, each with its contact, connection, queue, assignee and age."""
    now = timezone.now()
    rows = []
    tickets = active.select_related("contact", "connection", "queue", "assignee").order_by(
        "last_message_at", "pk"
    )
    for ticket in tickets[:LISTED]:
        last = ticket.last_message_at or ticket.created_at
        row = {
            "id": ticket.pk,
            "status": ticket.status,
            "contact": ticket.contact.display_name,
            "connection": ticket.connection.name,
            "queue": ticket.queue.name if ticket.queue else "",
            "assignee": ticket.assignee.get_username() if ticket.assignee else "",
            "age": duration((now - ticket.created_at).total_seconds()),
            "last_activity": duration((now - last).total_seconds()),
            "stale": _("yes: %(why)s") % {"why": policy.why} if ticket.pk in stale_ids else "",
        }
        rows.append(row)
        section.evidence.append(
            _(
                "#%(id)d %(status)s — %(contact)s via %(connection)s, queue %(queue)s, assignee %(assignee)s; "
                "age %(age)s, last activity %(last_activity)s ago%(stale_text)s"
            )
            % {
                **row,
                "queue": row["queue"] or "-",
                "assignee": row["assignee"] or "-",
                "stale_text": f"; stale ({policy.why})" if row["stale"] else "",
            }
        )
    return rows
