"""Running the audit, keeping its report, and telling the webhooks when it is critical."""

import json
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.audit.checks import Level
from tickets.audit.connections import connections_section
from tickets.audit.contacts import contacts_section
from tickets.audit.infrastructure import infrastructure_section
from tickets.audit.profiles import profiles_section
from tickets.audit.report import Report, report_json, report_markdown
from tickets.audit.tickets import Policy, tickets_section
from tickets.models import AuditReport
from whatsapp.models import Connection
from whatsapp.webhooks import webhook_emit


def audit_policy(
    *,
    keep_since: datetime | None = None,
    ignore_waiting: bool | None = None,
    close: bool = False,
    farewell: bool = False,
) -> Policy:
    """The closing policy from the options, falling back on AUDIT_CLOSE_AFTER and AUDIT_IGNORE_WAITING."""
    if keep_since is not None:
        before, why = keep_since, _("last message before %(when)s") % {"when": keep_since.isoformat()}
    else:
        hours = settings.AUDIT_CLOSE_AFTER
        before, why = (
            timezone.now() - timedelta(hours=hours),
            _("no message for %(hours)s h") % {"hours": hours},
        )
    waiting = settings.AUDIT_IGNORE_WAITING if ignore_waiting is None else ignore_waiting
    return Policy(before=before, why=why, ignore_waiting=waiting, close=close, farewell=farewell)


def audit_run(
    *,
    policy: Policy,
    trigger: str = AuditReport.Trigger.COMMAND,
    fix: bool = False,
    prune_profiles: bool = False,
    browser: bool = True,
    batch_size: int = 2000,
) -> Report:
    """Every section, in order; fixing, pruning and closing only as asked."""
    report = Report(generated_at=timezone.now(), trigger=trigger)
    report.sections = [
        infrastructure_section(browser=browser),
        connections_section(fix=fix),
        profiles_section(prune=prune_profiles),
        tickets_section(policy=policy, batch_size=batch_size),
        contacts_section(),
    ]
    return report


def audit_save(*, report: Report) -> AuditReport:
    """Keep the report; a critical one also goes to every connection's webhook as ``audit.critical``."""
    summary = report.summary()
    with transaction.atomic():
        row = AuditReport.objects.create(
            created_at=report.generated_at,
            trigger=report.trigger,
            status=report.level.name,
            warnings=summary["findings"]["WARNING"],
            criticals=summary["findings"]["CRITICAL"],
            open_tickets=summary["open"],
            pending_tickets=summary["pending"],
            stale_tickets=summary["stale"],
            closed_tickets=summary["closed"],
            data=json.loads(report_json(report)),
            markdown=report_markdown(report),
        )
        if report.level == Level.CRITICAL:
            findings = [f.text for s in report.sections for f in s.findings if f.level == Level.CRITICAL]
            for connection in Connection.objects.exclude(webhook_url=""):
                webhook_emit(
                    connection=connection,
                    event="audit.critical",
                    payload={"report": row.pk, "summary": summary, "findings": findings},
                )
    return row


def audit_reports_prune() -> int:
    """Delete the reports older than AUDIT_KEEP_DAYS."""
    cutoff = timezone.now() - timedelta(days=settings.AUDIT_KEEP_DAYS)
    return AuditReport.objects.filter(created_at__lt=cutoff).delete()[0]


def audit_scheduled() -> str:
    """The django-q2 task (schedule made by a migration): audit, close only if AUDIT_AUTO_CLOSE, save, prune."""
    report = audit_run(
        policy=audit_policy(close=settings.AUDIT_AUTO_CLOSE), trigger=AuditReport.Trigger.SCHEDULE
    )
    row = audit_save(report=report)
    audit_reports_prune()
    return f"audit report {row.pk}: {row.status}"
