"""Reading audit reports."""

from tickets.models import AuditReport


def audit_latest() -> AuditReport | None:
    """The last report's status and time (not its body): the overview's badge."""
    return AuditReport.objects.only("pk", "status", "created_at").first()
