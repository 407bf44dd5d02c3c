"""Prometheus metrics of the connections, read from the database.

Sessions run in worker processes, possibly on several machines; the database
is the one place that sees them all. Counters are the log lines a session
writes with ``data={"metric": name}``, so a count is also a trail to read.
"""

from django.db.models import Count

from whatsapp.models import Connection, ConnectionEvent

COUNTERS = {
    "session_start": ("helpdesk_session_starts_total", "Browser sessions started"),
    "qr_code": ("helpdesk_qr_codes_total", "QR codes shown"),
    "scan": ("helpdesk_qr_scans_total", "QR codes (or pairing codes) scanned successfully"),
    "restore_ok": ("helpdesk_restores_ok_total", "Sessions that came back logged in, without a QR code"),
    "restore_failed": ("helpdesk_restores_failed_total", "Sessions whose saved login no longer worked"),
    "reconnect": ("helpdesk_reconnect_attempts_total", "Reconnect and restart attempts"),
    "launch_failure": ("helpdesk_browser_launch_failures_total", "Browsers that could not start"),
}


def _label(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def metrics_text() -> str:
    lines = ["# HELP helpdesk_connections Connections by status", "# TYPE helpdesk_connections gauge"]
    by_status = dict(Connection.objects.values_list("status").annotate(n=Count("pk")).order_by())
    lines += [f'helpdesk_connections{{status="{s}"}} {by_status.get(s, 0)}' for s in Connection.Status.values]

    counted = dict(
        ConnectionEvent.objects.filter(data__metric__in=list(COUNTERS))
        .values_list("data__metric").annotate(n=Count("pk")).order_by()
    )  # fmt: skip
    for key, (name, help_text) in COUNTERS.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {counted.get(key, 0)}"]

    lines += ["# HELP helpdesk_browser_memory_bytes PSS of each session's browser at its last heartbeat",
              "# TYPE helpdesk_browser_memory_bytes gauge"]  # fmt: skip
    running = Connection.objects.exclude(browser_memory=None).exclude(lease_owner="").values_list("pk", "name", "browser_memory")
    lines += [f'helpdesk_browser_memory_bytes{{connection="{pk}",name="{_label(name)}"}} {memory}' for pk, name, memory in running]
    return "\n".join(lines) + "\n"
