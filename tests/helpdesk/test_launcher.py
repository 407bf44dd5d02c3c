"""The launcher that `make run` ends in, run as a user would: own var dir, free port, Ctrl-C."""

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from django.conf import settings

ADMIN_PASSWORD = "smoke-test-password-4821"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
            for pid in pids - died.keys():
                if not alive(pid):
                    died[pid] = time.monotonic()
            time.sleep(0.02)

    threading.Thread(target=watch, daemon=True).start()
    return died


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


CLOSE_TIMEOUT = 12  # WHATSAPP_CLOSE_TIMEOUT for the launcher under test: Ctrl-C must return within it


def test_launcher_serves_the_admin_and_leaves_no_process_after_ctrl_c(tmp_path):
    """`make demo`: the simulator too. Ctrl-C stops everything within the close timeout, Redis last."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env.update(
        HELPDESK_VAR_DIR=str(tmp_path / "var"),
        HELPDESK_ADMIN_PASSWORD=ADMIN_PASSWORD,
        PORT=str(port),
        WHATSAPP_CLOSE_TIMEOUT=str(CLOSE_TIMEOUT),
    )
    launcher = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--simulator-port", str(free_port())],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    ready = threading.Event()

    def read_output() -> None:
        for line in launcher.stdout:
            output.append(line)
            if "Helpdesk running at" in line:
                ready.set()

    threading.Thread(target=read_output, daemon=True).start()
    try:
        assert ready.wait(timeout=90), "".join(output)
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
        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(timeout=60) == 0, "".join(output)
        took = time.monotonic() - started
        watching.set()
        assert took < CLOSE_TIMEOUT, f"Ctrl-C took {took:.1f} s"
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
