"""Prometheus metrics of the connections, read from the database.

Sessions run in worker processes, possibly on several machines; the database
is the one place that sees them all. Counters are the log lines a session
writes with ``data={"metric": name}``, so a count is also a trail to read.
Each event is counted once: a scrape reads only the events written since the
previous one (by primary key), so it does not scan the table, and the counts
survive the pruning of old events (whatsapp/pruning.py). They start again from
the table's contents when the process restarts, which Prometheus reads as a reset.
"""

import threading
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, Max

from whatsapp.models import Connection, ConnectionEvent
from whatsapp.selectors import web_version_tested

COUNTERS = {
    "session_start": ("helpdesk_session_starts_total", "Browser sessions started"),
    "qr_code": ("helpdesk_qr_codes_total", "QR codes shown"),
    "scan": ("helpdesk_qr_scans_total", "QR codes (or pairing codes) scanned successfully"),
    "restore_ok": ("helpdesk_restores_ok_total", "Sessions that came back logged in, without a QR code"),
    "restore_failed": ("helpdesk_restores_failed_total", "Sessions whose saved login no longer worked"),
    "central_restored": (
        "helpdesk_logins_restored_centrally_total",
        "Sessions that restored their login from the central copy (another machine ran them last)",
    ),
    "central_refused": (
        "helpdesk_saved_logins_refused_total",
        "Central copies of a login a restore refused (another key, altered, another connection's)",
    ),
    "reconnect": ("helpdesk_reconnect_attempts_total", "Reconnect and restart attempts"),
    "launch_failure": ("helpdesk_browser_launch_failures_total", "Browsers that could not start"),
    "stalled": (
        "helpdesk_sessions_stalled_total",
        "Sessions restarted because WhatsApp stopped answering while they looked connected",
    ),
}


@dataclass
class _Tally:
    last_pk: int = 0
    counts: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)


_tally = _Tally()


def _counters() -> Counter:
    with _tally.lock:
        top = ConnectionEvent.objects.aggregate(top=Max("pk"))["top"] or 0
        if top > _tally.last_pk:
            new = ConnectionEvent.objects.filter(
                pk__gt=_tally.last_pk, pk__lte=top, data__metric__in=list(COUNTERS)
            )
            _tally.counts.update(dict(new.values_list("data__metric").annotate(n=Count("pk")).order_by()))
            _tally.last_pk = top
        return Counter(_tally.counts)


def _label(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def metrics_text() -> str:
    lines = ["# HELP helpdesk_connections Connections by status", "# TYPE helpdesk_connections gauge"]
    by_status = dict(Connection.objects.values_list("status").annotate(n=Count("pk")).order_by())
    lines += [f'helpdesk_connections{{status="{s}"}} {by_status.get(s, 0)}' for s in Connection.Status.values]

    counted = _counters()
    for key, (name, help_text) in COUNTERS.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {counted.get(key, 0)}"]

    lines += [
        "# HELP helpdesk_browser_memory_bytes PSS of each session's browser at its last heartbeat",
        "# TYPE helpdesk_browser_memory_bytes gauge",
    ]
    running = (
        Connection.objects.exclude(browser_memory=None)
        .exclude(lease_owner="")
        .values_list("pk", "name", "browser_memory")
    )
    lines += [
        f'helpdesk_browser_memory_bytes{{connection="{pk}",name="{_label(name)}"}} {memory}'
        for pk, name, memory in running
    ]
    lines += [
        "# HELP helpdesk_whatsapp_web_info The WhatsApp Web version each connection's session last ran",
        "# TYPE helpdesk_whatsapp_web_info gauge",
    ]
    versions = Connection.objects.exclude(web_version="").values_list("pk", "name", "web_version")
    lines += [
        f'helpdesk_whatsapp_web_info{{connection="{pk}",name="{_label(name)}",version="{_label(version)}",'
        f'tested="{str(web_version_tested(version)).lower()}"}} 1'
        for pk, name, version in versions
    ]
    return "\n".join(lines) + "\n"
