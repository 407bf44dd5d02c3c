"""The launcher that `make run` ends in, run as a user would: own var dir, free port, Ctrl-C."""

import contextlib
import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.processes import free_port

ADMIN_PASSWORD = "smoke-test-password-4821"


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``, read from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def admin_login(base: str) -> str:
    """Sign in through the login form, as a browser does; return the admin index page."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form_page = opener.open(f"{base}/admin/login/?next=/admin/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form_page).group(1)
    data = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "username": "admin", "password": ADMIN_PASSWORD, "next": "/admin/"}
    ).encode()
    request = urllib.request.Request(
        f"{base}/admin/login/?next=/admin/", data=data, headers={"Referer": base}
    )
    return opener.open(request, timeout=10).read().decode()


def deaths(pids: set[int], stop: threading.Event) -> dict[int, float]:
    """Watch ``pids`` from another thread; each one's time of death (monotonic) lands in the dict returned."""
    died: dict[int, float] = {}

    def watch() -> None:
        while not stop.is_set() and len(died) < len(pids):
            now = time.monotonic()  # one time per look: deaths seen in the same look are not ordered
            for pid in pids - died.keys():
                if not alive(pid):
                    died[pid] = now
            time.sleep(0.02)

    threading.Thread(target=watch, daemon=True).start()
    return died


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


CLOSE_TIMEOUT = 12  # WHATSAPP_CLOSE_TIMEOUT for the launcher under test: Ctrl-C must return within it


class Launch:
    """``manage.py serve --simulator-port``, as `make demo` runs it, with its output collected."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
        env.update(
            HELPDESK_VAR_DIR=str(tmp_path / "var"),
            HELPDESK_ADMIN_PASSWORD=ADMIN_PASSWORD,
            PORT=str(self.port),
            WHATSAPP_CLOSE_TIMEOUT=str(CLOSE_TIMEOUT),
        )
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--simulator-port", str(free_port())],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        self.ready, self.ended = threading.Event(), threading.Event()
        threading.Thread(target=self._read_output, daemon=True).start()

    def _read_output(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            if "Helpdesk running at" in line:
                self.ready.set()
        self.ended.set()

    @classmethod
    def until_ready(cls, tmp_path: Path, tries: int = 3) -> "Launch":
        """A port is free when picked, not always when the child binds it: a web server or a
        simulator that lost its port exits, and the launcher with it; then it starts again."""
        for _ in range(tries):
            launch = cls(tmp_path)
            deadline = time.monotonic() + 90
            while not launch.ready.is_set() and not launch.ended.is_set() and time.monotonic() < deadline:
                time.sleep(0.1)
            if launch.ready.is_set():
                return launch
            timed_out = not launch.ended.is_set()
            launch.process.kill()
            launch.process.wait(timeout=30)
            if timed_out:
                raise AssertionError("the launcher did not serve within 90 s:\n" + "".join(launch.output))
        raise AssertionError(f"the launcher exited {tries} times before serving:\n" + "".join(launch.output))


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_launcher_serves_the_admin_and_leaves_no_process_after_a_stop(tmp_path, stop):
    """`make demo`: the simulator too. Ctrl-C, or SIGTERM from a service manager, stops everything
    within the close timeout, Redis last."""
    launch = Launch.until_ready(tmp_path)
    launcher, output, port = launch.process, launch.output, launch.port
    try:
        children = descendants(launcher.pid)
        assert len(children) >= 5, "expected Redis, the web server, the two workers and the simulator"
        direct = {
            pid
            for pid in children
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1] == str(launcher.pid)
        }
        redis = {pid for pid in direct if "redis-server" in command_line(pid)}
        assert len(redis) == 1 and any("wa_simulator" in command_line(pid) for pid in direct)

        page = admin_login(f"http://127.0.0.1:{port}")
        assert "Site administration" in page

        watching = threading.Event()
        died = deaths(direct, watching)
        started = time.monotonic()
        launcher.send_signal(stop)
        assert launcher.wait(timeout=60) == 0, "".join(output)
        took = time.monotonic() - started
        watching.set()
        assert took < CLOSE_TIMEOUT, f"{stop.name} took {took:.1f} s"
        (redis_pid,) = redis
        assert died[redis_pid] >= max(at for pid, at in died.items() if pid != redis_pid), (
            "Redis stopped first"
        )
    finally:
        if launcher.poll() is None:
            launcher.kill()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [pid for pid in children if alive(pid)] == []
    assert (tmp_path / "var" / "db.sqlite3").exists()


def test_a_launcher_killed_without_cleanup_takes_its_children_with_it():
    """SIGKILL leaves the launcher no chance to stop its children: the kernel sends each one
    SIGTERM when it dies (the parent-death signal set before exec), so nothing is left serving."""
    code = (
        "import subprocess, sys, time\n"
        "from helpdesk.launcher import CHILD_OPTIONS\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'], **CHILD_OPTIONS)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", code], cwd=settings.BASE_DIR, stdout=subprocess.PIPE, text=True
    )
    child = int(parent.stdout.readline())
    try:
        assert alive(child)
        assert os.getpgid(child) == child  # a group of its own: a Ctrl-C reaches the launcher only

        parent.kill()
        parent.wait(timeout=10)

        deadline = time.monotonic() + 10
        while alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(child), "the child outlived its launcher"
    finally:
        parent.kill()
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
