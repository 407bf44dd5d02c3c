"""How a session's browser run ended, and so what the session does next (whatsapp/session.py).

A module of its own, without Playwright: the service that leaves the connection in the
state an outcome tells (``whatsapp.services.connection_session_ended``) is imported by
web processes too.
"""

from enum import StrEnum


class Outcome(StrEnum):
    STOP = "stop"
    RESTART = "restart"
    RETRY = "retry"
    LOGGED_OUT = "logged_out"
    QR_TIMEOUT = "qr_timeout"
    FAILED = "failed"
    LEASE_LOST = "lease_lost"
    DELETED = "deleted"
    WORKER_STOPPING = "worker_stopping"
    CRASHED = (
        "crashed"  # an error outside any browser run: the restore schedule starts it again, never at once
    )
    HELD_ELSEWHERE = "held elsewhere"  # another worker holds the lease: this task ends at once
