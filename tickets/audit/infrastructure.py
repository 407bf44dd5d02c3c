"""Infrastructure: the database, memory, disks, the bus, the workers and the browser itself."""

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection as db
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from contacts.models import Contact
from tickets.audit.checks import Level, Section, duration, mib
from tickets.models import Message, Ticket
from whatsapp.browser import BrowserLaunchError, browser_close, browser_launch, browser_memory_bytes
from whatsapp.models import Connection
from whatsapp.profiles import profile_path

SESSION_MEMORY_GUESS = (
    200 * 2**20
)  # before any session has measured its browser (docs/benchmarks.md: 183 MiB)
QUEUE_LATE = 60  # seconds a task may wait for a worker before the audit worries
QUEUE_DEAD = 300


def infrastructure_section(*, browser: bool = True) -> Section:
    section = Section("infrastructure", _("Infrastructure"))
    _database(section)
    _memory(section)
    _disks(section)
    _bus(section)
    _workers(section)
    if browser:
        _browser(section)
    return section


def _database(section: Section) -> None:
    try:
        db.ensure_connection()
        version = ".".join(str(part) for part in db.get_database_version())
        by_status = dict(Ticket.objects.order_by().values_list("status").annotate(n=Count("pk")))
        counts = {"contacts": Contact.objects.count(), "messages": Message.objects.count()}
        by_ticket_status = {status: by_status.get(status, 0) for status in Ticket.Status.values}
    except Exception as error:  # the database itself is what is being checked
        section.flag(Level.CRITICAL, _("The database does not answer: %(error)s") % {"error": error})
        return
    section.data["database"] = {
        "engine": db.vendor,
        "version": version,
        **counts,
        "tickets": by_ticket_status,
    }
    tickets = ", ".join(f"{status} {n}" for status, n in by_ticket_status.items())
    section.evidence.append(
        _(
            "Database: %(engine)s %(version)s, reachable; %(contacts)d contacts, tickets: %(tickets)s, "
            "%(messages)d messages"
        )
        % {
            "engine": db.vendor,
            "version": version,
            "contacts": counts["contacts"],
            "tickets": tickets,
            "messages": counts["messages"],
        }
    )


def _memory(section: Section) -> None:
    available = _meminfo().get("MemAvailable")
    found = [
        (name, browser_memory_bytes(profile=profile_path(connection_id=pk)) or stored)
        for pk, name, stored in Connection.objects.exclude(lease_owner="").values_list(
            "pk", "name", "browser_memory"
        )
    ]  # measured here when the browser runs on this machine, else as its session last measured it
    sessions = [(name, size) for name, size in found if size]
    per_session = max((size for _name, size in sessions), default=SESSION_MEMORY_GUESS)
    fit = available // per_session if available else None
    section.data["memory"] = {"available": available, "sessions": dict(sessions), "more_sessions_fit": fit}
    section.evidence.append(
        _("Memory available: %(free)s; browsers: %(browsers)s; %(fit)s more sessions fit")
        % {
            "free": mib(available),
            "fit": "?" if fit is None else fit,
            "browsers": ", ".join(f"{name} {mib(size)}" for name, size in sessions) or _("none running"),
        }
    )
    if fit is not None and fit < 1:
        section.flag(Level.WARNING, _("Not enough free memory for one more session."))


def _meminfo() -> dict[str, int]:
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
    except OSError:
        return {}
    return {line.split(":")[0]: int(line.split()[1]) * 1024 for line in lines if line.split()[1:]}


def _disks(section: Section) -> None:
    places = {"media": Path(settings.MEDIA_ROOT), "profiles": Path(settings.WHATSAPP_SESSIONS_DIR)}
    if db.vendor == "sqlite":
        places["database"] = Path(db.settings_dict["NAME"]).parent
    section.data["disk_free"] = {}
    for name, path in places.items():
        while not path.exists() and path != path.parent:  # a folder not made yet: its disk is its parent's
            path = path.parent
        usage = shutil.disk_usage(path)
        section.data["disk_free"][name] = usage.free
        section.evidence.append(
            _("Disk free for %(what)s (%(path)s): %(free)s of %(total)s")
            % {"what": name, "path": path, "free": mib(usage.free), "total": mib(usage.total)}
        )
        if usage.free < usage.total * 0.05:
            level = Level.CRITICAL if usage.free < usage.total * 0.01 else Level.WARNING
            section.flag(
                level,
                _("The disk of %(what)s is almost full (%(free)s left).")
                % {"what": name, "free": mib(usage.free)},
            )


def _bus(section: Section) -> None:
    started = time.monotonic()
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=3, socket_connect_timeout=3).ping()
    except Exception as error:
        section.flag(
            Level.CRITICAL,
            _("The bus (Redis) does not answer: %(error)s; pages are not updated live.") % {"error": error},
        )
        return
    section.evidence.append(
        _("Bus (Redis): answers in %(ms).0f ms") % {"ms": (time.monotonic() - started) * 1000}
    )


def _workers(section: Section) -> None:
    """django-q2's cluster heartbeats when this process can see them (a shared cache), and in any
    case the queue itself: a task nobody took for minutes means no worker of its cluster runs."""
    from django_q.models import OrmQ
    from django_q.status import Stat

    stats = Stat.get_all()
    for stat in stats:
        section.evidence.append(
            _("Worker cluster %(id)s on %(host)s: %(status)s for %(uptime)s")
            % {
                "id": stat.cluster_id,
                "host": stat.host,
                "status": stat.status,
                "uptime": duration(stat.uptime()),
            }
        )
    now = timezone.now()
    for cluster in [settings.Q_CLUSTER["name"], *settings.Q_CLUSTER.get("ALT_CLUSTERS", {})]:
        oldest = (
            OrmQ.objects.filter(key=cluster, lock__lte=now)
            .order_by("lock")
            .values_list("lock", flat=True)
            .first()
        )
        waited = (now - oldest).total_seconds() if oldest else 0
        section.data.setdefault("queues", {})[cluster] = {"oldest_waiting_seconds": waited}
        section.evidence.append(
            _("Task queue %(cluster)s: oldest waiting task %(age)s")
            % {"cluster": cluster, "age": duration(waited) if oldest else _("none")}
        )
        if waited > QUEUE_LATE:
            section.flag(
                Level.CRITICAL if waited > QUEUE_DEAD else Level.WARNING,
                _("A task has waited %(age)s on the %(cluster)s cluster: is its worker running?")
                % {"age": duration(waited), "cluster": cluster},
            )
    section.data["clusters"] = [
        {"id": str(stat.cluster_id), "host": stat.host, "status": stat.status} for stat in stats
    ]


def _browser(section: Section) -> None:
    """Launch Chromium exactly as a session does (whatsapp/browser.py), open a blank page, close it."""
    started = time.monotonic()
    try:
        asyncio.run(_launch_blank_page())
    except BrowserLaunchError as error:
        section.data["browser"] = {"ok": False, "diagnosis": str(error)}
        section.flag(Level.CRITICAL, _("The browser does not start: %(diagnosis)s") % {"diagnosis": error})
        return
    seconds = time.monotonic() - started
    section.data["browser"] = {"ok": True, "seconds": round(seconds, 2)}
    section.evidence.append(
        _("Browser: started, opened a blank page and closed in %(s).1f s") % {"s": seconds}
    )
    if seconds > settings.WHATSAPP_LAUNCH_TIMEOUT / 2:
        section.flag(
            Level.WARNING,
            _("The browser took %(s).0f s to start: the machine may be overloaded.") % {"s": seconds},
        )


async def _launch_blank_page() -> None:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory(prefix="audit-browser-") as folder:
        async with async_playwright() as playwright:
            profile = Path(folder)
            context = await browser_launch(playwright, profile=profile)
            try:
                page = await context.new_page()
                await page.goto("about:blank")
            finally:
                await browser_close(context, profile=profile)
