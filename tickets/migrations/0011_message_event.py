"""System lines keep what happened (an event and its names), read in each reader's language.

The lines written before are parsed back into their event from the text the server wrote, in
English or in Portuguese (the two languages it could write them in); a line that matches
neither keeps its text. The sentences are copied here as they were, so that this migration
reads the old lines the same way whatever the catalogue says later.
"""

import re

from django.db import migrations, models

HELPDESK = {"The helpdesk", "O helpdesk"}  # the agent of a line no person wrote
SENTENCES = {
    "accepted": ["%(agent)s accepted the ticket", "%(agent)s atendeu o ticket"],
    "assigned": ["%(agent)s gave the ticket to %(assignee)s", "%(agent)s passou o ticket para %(assignee)s"],
    "unassigned": ["%(agent)s unassigned the ticket", "%(agent)s tirou o responsável do ticket"],
    "transferred": ["%(agent)s transferred to %(target)s", "%(agent)s transferiu para %(target)s"],
    "returned": [
        "%(agent)s returned the ticket to waiting",
        "%(agent)s devolveu o ticket para aguardando",
    ],
    "closed": ["%(agent)s closed the ticket", "%(agent)s encerrou o ticket"],
    "reopened": ["%(agent)s reopened the ticket", "%(agent)s reabriu o ticket"],
    "blocked": ["%(agent)s blocked the contact", "%(agent)s bloqueou o contato"],
    "unblocked": ["%(agent)s unblocked the contact", "%(agent)s desbloqueou o contato"],
    "audit_closed": [
        "Closed by the audit: no message for %(hours)d h",
        "Encerrado pela auditoria: sem mensagens há %(hours)d h",
    ],
}
PLACEHOLDER = re.compile(r"%\((\w+)\)([sd])")
BATCH = 1000


def _pattern(sentence: str) -> re.Pattern:
    parts, end = [], 0
    for match in PLACEHOLDER.finditer(sentence):
        parts.append(re.escape(sentence[end : match.start()]))
        parts.append(rf"(?P<{match[1]}>\d+)" if match[2] == "d" else rf"(?P<{match[1]}>.+)")
        end = match.end()
    parts.append(re.escape(sentence[end:]))
    return re.compile("".join(parts), re.DOTALL)


PATTERNS = [(event, _pattern(sentence)) for event, sentences in SENTENCES.items() for sentence in sentences]


def event_of(body: str) -> dict | None:
    """The event an old line's text says, or None when it is no sentence the server wrote."""
    for event, pattern in PATTERNS:
        match = pattern.fullmatch(body)
        if match is None:
            continue
        values = match.groupdict()
        if "agent" in values:
            values["agent"] = None if values["agent"] in HELPDESK else values["agent"]
        if "hours" in values:
            values["hours"] = int(values["hours"])
        if "target" in values:
            values["target"] = [values["target"]]
        return {"event": event, **values}
    return None


def parse_old_lines(apps, schema_editor):
    """Batches by keyset on the id: a large table is read a thousand lines at a time."""
    Message = apps.get_model("tickets", "Message")
    lines = Message.objects.filter(kind="system", event__isnull=True).only("pk", "body").order_by("pk")
    last = 0
    while batch := list(lines.filter(pk__gt=last)[:BATCH]):
        last = batch[-1].pk
        for line in batch:
            line.event = event_of(line.body)
        Message.objects.bulk_update([line for line in batch if line.event is not None], ["event"])


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0010_inbox_speed"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="event",
            field=models.JSONField(blank=True, null=True, verbose_name="what happened"),
        ),
        migrations.RunPython(parse_old_lines, migrations.RunPython.noop, elidable=True),
    ]
