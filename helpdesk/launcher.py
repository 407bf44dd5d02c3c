"""Runs the whole helpdesk in the foreground: embedded Redis, web server and worker.

This is what ``make run`` ends in. Each child gets a process group of its own,
so a Ctrl-C reaches this process alone and it stops the children in order,
waits for them, and kills what is left of their groups. Children also receive
SIGTERM from the kernel if this process dies without a chance to clean up.
"""

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 40.0  # sessions may take WHATSAPP_CLOSE_TIMEOUT (30 s) to close a browser


def _die_with_parent() -> None:
    """In the child, before exec: ask the kernel for SIGTERM when the launcher dies."""
    os.setsid()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


CHILD_OPTIONS = {"preexec_fn": _die_with_parent}


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Launcher:
    def __init__(self, *, host: str, port: int, base_dir: Path) -> None:
        self.host, self.port, self.base_dir = host, port, base_dir
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.stopping = False

    def add(self, name: str, process: subprocess.Popen) -> None:
        self.children.append((name, process))

    def spawn(self, name: str, command: list[str]) -> None:
        self.add(name, subprocess.Popen(command, cwd=self.base_dir, **CHILD_OPTIONS))

    def run(self, *, on_ready) -> int:
        """Start web and worker, supervise them until a signal or a child's exit."""
        signal.signal(signal.SIGINT, self._request_stop)
        signal.signal(signal.SIGTERM, self._request_stop)
        python = sys.executable
        self.spawn("web", [python, "-m", "daphne", "--bind", self.host, "--port", str(self.port),
                           "helpdesk.asgi:application"])  # fmt: skip
        self.spawn("worker", [python, str(self.base_dir / "manage.py"), "qcluster"])
        self.spawn("sessions", [python, str(self.base_dir / "manage.py"), "session_worker"])
        ready = False
        code = 0
        while not self.stopping:
            for name, process in self.children:
                if process.poll() is not None:
                    print(f"{name} exited with code {process.returncode}; stopping the helpdesk.", file=sys.stderr)
                    self.stopping, code = True, 1
            if not ready and not self.stopping and self._web_answers():
                ready = True
                on_ready()
            time.sleep(0.2)
        self.stop()
        return code

    def stop(self) -> None:
        """Stop the children, newest first; kill whatever of their groups outlives the timeout.

        Each group gets SIGINT, as from a Ctrl-C in its own terminal: django-q2
        clusters shut down in order on it, and WhatsApp sessions close their browsers.
        """
        for _, process in reversed(self.children):
            if process.poll() is None and _group_alive(process.pid):
                os.killpg(process.pid, signal.SIGINT)
        deadline = time.monotonic() + STOP_TIMEOUT
        for name, process in reversed(self.children):
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop within {STOP_TIMEOUT:.0f} s; killing it.", file=sys.stderr)
            # The group id is the child's pid (setsid); its own children share it.
            if _group_alive(process.pid):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def _request_stop(self, signum, frame) -> None:
        self.stopping = True

    def _web_answers(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.2):
                return True
        except OSError:
            return False
