"""The tallies filled and kept (docs/reports.md, "Cost"): the milestones written so far folded into
them once, the fold scheduled every minute (django-q2), and on PostgreSQL the indexes that give the
exact percentiles and the agents' conversations their rows already sorted.

The percentiles cannot be summed per day: each is read from the period's waits, but through partial
indexes of just the waits (FIRST_RESPONSE and CLOSED with seconds) ordered as each percentile sorts
them (by kind, by kind and agent, by kind and queue), so PostgreSQL's sort finds them in order;
the distinct tickets an agent took through ``(agent_id, ticket_id)``; the latest comments through
the commented tickets by rating time. Raw SQL: the tables are the tickets app's.
"""

from django.db import migrations

from reports.tally import fold

NAME = "reports: fold the milestones"
WAITS = "WHERE seconds IS NOT NULL AND kind IN ('first_response', 'closed')"
INDEXES = {
    "reports_wait_idx": "tickets_milestone (kind, seconds) "
    f"INCLUDE (at, business_seconds, agent_id, queue_id, connection_id) {WAITS}",
    "reports_wait_agent_idx": f"tickets_milestone (kind, agent_id, seconds) INCLUDE (at, queue_id, connection_id) {WAITS}",
    "reports_wait_queue_idx": f"tickets_milestone (kind, queue_id, seconds) INCLUDE (at, agent_id, connection_id) {WAITS}",
    "reports_taken_idx": "tickets_milestone (agent_id, ticket_id) INCLUDE (at, kind, queue_id, connection_id) "
    "WHERE kind IN ('assigned', 'first_response')",
    # The latest comments: the few commented tickets, newest rating first, instead of every ticket.
    "reports_commented_idx": "tickets_ticket (csat_rated_at DESC, id DESC) WHERE csat_comment <> ''",
}


def create(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for name, definition in INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
        # A report's milestones not folded yet are above an id PostgreSQL cannot know when it plans
        # (a subquery): it guesses a third of the table and starts parallel workers for the last
        # minute's rows, 10 ms each time. Its large reads of milestones are ordered-set aggregates,
        # which no worker helps.
        schema_editor.execute("ALTER TABLE tickets_milestone SET (parallel_workers = 0)")
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={"func": "reports.tally.tally_fold", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )
    while fold(apps):  # the milestones written so far, all of them
        pass


def drop(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
        schema_editor.execute("ALTER TABLE tickets_milestone RESET (parallel_workers)")
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_tally"),
        ("tickets", "0015_backfill_milestones"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
