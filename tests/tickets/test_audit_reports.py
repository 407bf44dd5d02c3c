"""Audit reports: written by the schedule and by --save, told to webhooks when critical, read by staff only."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from tests.factories import TicketFactory
from tests.tickets.audit_helpers import audit, healthy_connection, healthy_machine  # noqa: F401 (fixture)
from tickets.audit.service import audit_reports_prune, audit_scheduled
from tickets.models import AuditReport, Ticket

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("healthy_machine")]


def report(**fields) -> AuditReport:
    defaults = {
        "created_at": timezone.now(),
        "trigger": "command",
        "status": "OK",
        "data": {},
        "markdown": "# Audit",
    }
    return AuditReport.objects.create(**{**defaults, **fields})


def test_the_migration_schedules_the_audit_hourly():
    schedule = Schedule.objects.get(name="tickets: audit")

    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "tickets.audit.service.audit_scheduled",
        "I",
        60,
    )


@pytest.mark.parametrize("auto_close, status", [(False, Ticket.Status.PENDING), (True, Ticket.Status.CLOSED)])
def test_the_scheduled_run_writes_a_report_and_closes_only_with_auto_close(settings, auto_close, status):
    settings.AUDIT_AUTO_CLOSE = auto_close
    settings.WHATSAPP_BROWSER_PATH = "/nonexistent/chromium"  # the scheduled run checks the browser too
    ticket = TicketFactory(
        connection=healthy_connection(), last_message_at=timezone.now() - timedelta(hours=30)
    )

    outcome = audit_scheduled()

    row = AuditReport.objects.get()
    assert outcome == f"audit report {row.pk}: CRITICAL"
    assert (row.trigger, row.status, row.criticals, row.stale_tickets) == ("schedule", "CRITICAL", 1, 1)
    assert row.closed_tickets == (1 if auto_close else 0)
    assert row.data["sections"][0]["data"]["browser"]["diagnosis"].startswith(
        "No browser at /nonexistent/chromium"
    )
    assert "## Infrastructure — CRITICAL" in row.markdown
    assert Ticket.objects.get(pk=ticket.pk).status == status


def test_a_critical_report_goes_to_the_webhooks_as_audit_critical(django_capture_on_commit_callbacks):
    healthy_connection(
        status="FAILED", last_error="Chromium crashed", webhook_url="https://hooks.example.com/x"
    )
    healthy_connection(name="No hook")

    with django_capture_on_commit_callbacks(execute=True):
        status, _report = audit("--save")

    assert status == 2
    row = AuditReport.objects.get()
    envelope = OrmQ.objects.get().task["args"][1]
    assert envelope["event"] == "audit.critical"
    assert envelope["payload"]["report"] == row.pk
    assert any("Chromium crashed" in finding for finding in envelope["payload"]["findings"])


def test_reports_older_than_audit_keep_days_are_pruned(settings):
    settings.AUDIT_KEEP_DAYS = 90
    old, recent = report(created_at=timezone.now() - timedelta(days=91)), report()

    assert audit_reports_prune() == 1
    assert list(AuditReport.objects.all()) == [recent]
    assert not AuditReport.objects.filter(pk=old.pk).exists()


def test_the_audits_pages_are_for_staff_only(agent_client):
    row = report()

    for url in [reverse("audit-list"), reverse("audit-detail", args=[row.pk])]:
        assert Client().get(url).status_code == 302  # to sign in
        assert agent_client.get(url).status_code == 403


def test_staff_see_the_latest_status_and_read_a_report_rendered_and_escaped(staff_client):
    report(status="OK", created_at=timezone.now() - timedelta(hours=1))
    latest = report(
        status="CRITICAL",
        criticals=2,
        markdown="# Audit\n\n## Connections\n\n- **CRITICAL**: <script>alert(1)</script> [x](javascript:alert(2))",
    )

    listing = staff_client.get(reverse("audit-list")).content.decode()
    detail = staff_client.get(reverse("audit-detail", args=[latest.pk])).content.decode()

    assert '<span class="badge status-critical">Critical</span>' in listing
    assert "2 critical, 0 warnings" in listing
    assert "<h2>Connections</h2>" in detail and "<strong>CRITICAL</strong>" in detail  # not "## ", "**"
    assert "## Connections" not in detail
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail
    assert "<script>alert(1)" not in detail
    assert 'href="javascript:' not in detail


def test_the_overview_shows_a_red_badge_to_staff_when_the_last_audit_is_critical(staff_client):
    report(status="CRITICAL")
    assert "last audit critical" in staff_client.get(reverse("home")).content.decode()
    report(status="OK")
    page = staff_client.get(reverse("home")).content.decode()
    assert "last audit critical" not in page
    assert reverse("audit-list") in page


def test_the_overview_shows_agents_no_audits(agent_client):
    report(status="CRITICAL")

    page = agent_client.get(reverse("home")).content.decode()

    assert reverse("audit-list") not in page
