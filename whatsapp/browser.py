"""Chromium for one session: launched with a persistent profile, diagnosed when it
cannot start, and killed to the last process when it will not close."""

import asyncio
import contextlib
import os
import re
import signal
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext_noop

from helpdesk.languages import in_helpdesk_language

# Chromium's background services call Google; on a closed network they fail
# many times a second (design, section 7). A session needs none of them.
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


class BrowserLaunchError(Exception):
    """Chromium did not start; ``str()`` says why in words an admin can act on, in the helpdesk's
    language: it becomes the connection's last error and a line of its log (records)."""


def browser_args() -> list[str]:
    # The sandbox cannot work for root; anyone else keeps it.
    return [*CHROMIUM_ARGS, "--no-sandbox"] if os.geteuid() == 0 else list(CHROMIUM_ARGS)


def browser_executable() -> str | None:
    """Debian's Chromium (or WHATSAPP_BROWSER_PATH); None lets Playwright use its own browser."""
    path = settings.WHATSAPP_BROWSER_PATH
    return path if path else None


async def browser_launch(playwright, *, profile: Path):
    executable = browser_executable()
    if executable and not os.access(executable, os.X_OK):
        raise BrowserLaunchError(in_helpdesk_language(NOT_FOUND, path=executable))
    try:
        # The signal handlers are off: Playwright's driver would otherwise kill the browser on the
        # worker's stop signal, before the session closes its context and Chromium writes its
        # profile (a login scanned seconds earlier was lost). The session closes it (browser_close).
        return await playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=executable,
            headless=True,
            args=browser_args(),
            timeout=settings.WHATSAPP_LAUNCH_TIMEOUT * 1000,
            viewport={"width": 1280, "height": 800},
            handle_sigint=False,
            handle_sigterm=False,
            handle_sighup=False,
        )
    except Exception as error:  # Playwright raises its own Error with the browser's output inside
        raise BrowserLaunchError(browser_diagnosis(str(error), executable=executable)) from error


NOT_FOUND = gettext_noop(
    "No browser at %(path)s: install Chromium (apt-get install chromium) or set WHATSAPP_BROWSER_PATH."
)
# (what the browser's output says, the advice): a pattern's first group is the advice's %(detail)s.
DIAGNOSES = [
    (
        re.compile(r"error while loading shared libraries: (\S+?):"),
        gettext_noop(
            "Chromium cannot start: the system library %(detail)s is missing. Install Debian's chromium "
            "package (apt-get install chromium), which brings its libraries."
        ),
    ),
    (
        re.compile(r"No usable sandbox|without --no-sandbox|setuid sandbox|namespace sandbox", re.I),
        gettext_noop(
            "Chromium's sandbox cannot start on this machine. Run the worker as a normal user with user "
            "namespaces enabled (sysctl kernel.unprivileged_userns_clone=1)."
        ),
    ),
    (
        re.compile(r"Cannot allocate memory|ENOMEM|out of memory|Killed", re.I),
        gettext_noop(
            "Chromium ran out of memory while starting. Free memory or lower MAX_WHATSAPP_CONNECTIONS."
        ),
    ),
    (
        re.compile(r"profile.*(in use|locked)|SingletonLock|ProcessSingleton", re.I),
        gettext_noop("The connection's browser profile is in use by another Chromium."),
    ),
    (re.compile(r"ENOENT|no such file", re.I), NOT_FOUND),
    (
        re.compile(r"Timeout .*exceeded", re.I),
        gettext_noop("Chromium did not start within WHATSAPP_LAUNCH_TIMEOUT; the machine may be overloaded."),
    ),
]


def browser_diagnosis(output: str, *, executable: str | None) -> str:
    """Turn Playwright's launch error (with the browser's own output) into an actionable sentence,
    in the helpdesk's language (BrowserLaunchError)."""
    for pattern, advice in DIAGNOSES:
        match = pattern.search(output)
        if match:
            # Only the advice that names them uses the detail or the path (% ignores unused names).
            return in_helpdesk_language(
                advice,
                detail=match.group(1) if match.groups() else "",
                path=executable or in_helpdesk_language(gettext_noop("Playwright's default path")),
            )
    lines = [line.strip() for line in output.splitlines() if line.strip() and not line.startswith(("=", "-"))]
    first = lines[0] if lines else in_helpdesk_language(gettext_noop("no output"))
    return in_helpdesk_language(gettext_noop("Chromium could not start: %(output)s"), output=first)


def browser_pids(*, profile: Path) -> list[int]:
    """Every live process of the browser on this profile: those started with it as
    their user data dir, and everything below them (a whole browser tree)."""
    needle = f"--user-data-dir={profile}\0".encode()  # the NUL ends the argument: 1 is not 10
    children: dict[int, list[int]] = {}
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            parent, state = _parent_and_state(proc)
            if state == "Z":
                continue
            children.setdefault(parent, []).append(int(proc.name))
            if needle in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except (OSError, IndexError, ValueError):
            continue
    tree, todo = set(found), list(found)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in tree:
                tree.add(child)
                todo.append(child)
    return sorted(tree)


def _parent_and_state(proc: Path) -> tuple[int, str]:
    fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), fields[0]


def browser_kill(*, profile: Path) -> int:
    """SIGKILL every process of the browser on this profile; returns how many there were."""
    pids = browser_pids(profile=profile)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


async def browser_close(context, *, profile: Path) -> None:
    """Close through Playwright within WHATSAPP_CLOSE_TIMEOUT, then kill what is left."""
    if context is not None:
        # A hung or crashed browser: the kill below settles it.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(context.close(), timeout=settings.WHATSAPP_CLOSE_TIMEOUT)
    for _ in range(30):
        if not browser_pids(profile=profile):
            return
        browser_kill(profile=profile)
        await asyncio.sleep(0.1)


def browser_memory_bytes(*, profile: Path) -> int:
    """Proportional set size (PSS) of the browser tree: its fair share of shared memory."""
    total = 0
    for pid in browser_pids(profile=profile):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total
