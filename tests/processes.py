"""Real processes for end-to-end tests: the simulator, session workers, the web server.

They run against the test database (tests using them commit: transaction=True)
and the test Redis, each in a process group of its own so a test can stop or
kill one exactly like an operator would.
"""

import atexit
import contextlib
import functools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection

from helpdesk.embedded_redis import embedded_redis_start

BASE_DIR = Path(settings.BASE_DIR)


def free_port() -> int:
    """A port free now; another process may take it before the child binds it: see ``on_a_free_port``."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listens_on(pid: int, port: int) -> bool:
    """Whether process ``pid`` itself holds the socket listening on 127.0.0.1:``port``.

    Only a connection would also reach another process that took the port first.
    """
    listening = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":  # 0A: LISTEN
            listening.add(f"socket:[{fields[9]}]")
    try:
        return any(os.readlink(fd) in listening for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False


def on_a_free_port(start, *, timeout: float = 30, tries: int = 5):
    """``start(port)`` a child on a port free a moment ago, until one answers there.

    The port is free when picked, not when the child binds it: another process
    (a helper's test, a browser) may take it in between, and the child then
    exits. That child is replaced by one on another port, instead of the test
    waiting for it to answer until the timeout. Ready means the child itself
    listens there.
    """
    for _ in range(tries):
        port = free_port()
        child = start(port)
        deadline = time.monotonic() + timeout
        while child.process.poll() is None:  # an exit: most likely the port was taken meanwhile
            if listens_on(child.pid, port):
                return child, port
            if time.monotonic() > deadline:
                child.kill()
                raise AssertionError(f"{child.log.name} did not answer on port {port}:\n{child.output()}")
            time.sleep(0.1)
    raise AssertionError(f"{child.log.name} exited {tries} times before answering:\n{child.output()}")


def wait_until(predicate, *, timeout: float = 30, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")


def test_database_url() -> str:
    """The database this test run uses, as a DATABASE_URL for child processes."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"
    user = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    return f"postgres://{user}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


class Child:
    """A child process in its own group, with its output kept in a file for failures."""

    def __init__(self, command: list[str], *, env: dict[str, str], log: Path) -> None:
        self.log = log
        self.interrupted = False
        self.process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def interrupt(self) -> None:
        """SIGINT to the group, as a Ctrl-C, once; ``stop()`` then waits for the end."""
        if self.process.poll() is None and not self.interrupted:
            os.killpg(self.pid, signal.SIGINT)
            self.interrupted = True

    def stop(self, timeout: float = 60) -> int:
        """SIGINT to the group, as a Ctrl-C: the graceful way."""
        self.interrupt()
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL to the whole group: the worker dies without a chance to clean up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class Simulator:
    """The WhatsApp Web simulator in a child process, and its control API."""

    def __init__(self, *, tmp: Path, qr_interval: float) -> None:
        env = {**os.environ, "SIMULATOR_QR_INTERVAL": str(qr_interval)}

        def start(port: int) -> Child:
            command = [sys.executable, "manage.py", "wa_simulator", "--port", str(port)]
            return Child(command, env=env, log=tmp / "simulator.log")

        self.child, self.port = on_a_free_port(start)
        self.url = f"http://127.0.0.1:{self.port}/"

    def stop(self) -> int:
        return self.child.stop()

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(self.url.rstrip("/") + path, timeout=10) as response:
            return json.loads(response.read())

    def post(self, path: str, body: dict) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.url.rstrip("/") + path, data=json.dumps(body).encode(), method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


def helpdesk_env(
    *, var_dir: Path, redis_url: str, simulator: Simulator | None, **extra: str
) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": redis_url,
        "HELPDESK_VAR_DIR": str(var_dir),
        "SECRET_KEY": settings.SECRET_KEY,
        "WHATSAPP_HEARTBEAT": "1",
        "WHATSAPP_LEASE": "5",
        "WHATSAPP_BACKOFF_BASE": "0.5",
        "WHATSAPP_BACKOFF_MAX": "2",
        "WHATSAPP_CLOSE_TIMEOUT": "10",
        # An idle worker looks for new tasks every 0.1 s, not every second: a session starts (and a
        # stopped worker's task pusher ends) without waiting up to a second each time.
        "Q_POLL": "0.1",
    }
    if simulator:
        env["WHATSAPP_WEB_URL"] = simulator.url
    env.update(extra)
    return env


def session_worker(env: dict[str, str], *, log: Path) -> Child:
    return Child([sys.executable, "manage.py", "session_worker"], env=env, log=log)


@functools.cache
def collected_static() -> Path:
    """The static files collected as in production, once a test run: ``collectstatic`` hashes and
    compresses every file each time (2.5 s), and they do not change while the tests run. Every web
    server of the run serves this folder (``STATIC_ROOT``); it is removed when the run ends."""
    var_dir = Path(tempfile.mkdtemp(prefix="hd-static-"))
    atexit.register(shutil.rmtree, var_dir, ignore_errors=True)
    root = var_dir / "static"
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env={**os.environ, "HELPDESK_VAR_DIR": str(var_dir), "STATIC_ROOT": str(root)},
        check=True,
    )
    return root


def web_server(env: dict[str, str], *, log: Path) -> tuple[Child, str]:
    """daphne serving the helpdesk, with its static files collected, as in production."""
    env = {**env, "STATIC_ROOT": str(collected_static())}

    def start(port: int) -> Child:
        command = [sys.executable, "-m", "daphne", "-v", "0", "--bind", "127.0.0.1", "--port", str(port)]
        return Child([*command, "helpdesk.asgi:application"], env=env, log=log)

    child, port = on_a_free_port(start)
    return child, f"http://127.0.0.1:{port}"


def chromium_pids(var_dir: Path) -> list[int]:
    """Chromium processes using a profile under this var dir, zombies excluded."""
    needle = f"--user-data-dir={var_dir}".encode()
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if needle in cmdline.read_bytes():
                state = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


class RestartableRedis:
    """A redis-server of the test's own on a unix socket, to stop and start again at the same address
    (the shared Redis of the run is never stopped)."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        self.url = f"unix://{socket_path}"
        self.process = None

    def start(self) -> None:
        self.process = embedded_redis_start(socket_path=self.socket_path)

    def wait_for_groups(self, timeout: float = 30) -> None:
        """Until a consumer has joined a group (channels_redis keeps each group as a key)."""
        client = redis.Redis(unix_socket_path=str(self.socket_path))
        wait_until(lambda: client.keys("*group*"), timeout=timeout, message="a websocket joined its groups")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
