"""Runs the whole helpdesk in the foreground: embedded Redis, web server and worker.

This is what ``make run`` ends in. Each child gets a process group of its own,
so a Ctrl-C reaches this process alone and it stops the children in order:
everything but Redis at once, then Redis, so the last events (a session's final
status) still get out; and it kills what is left of their groups, all within
the stop timeout (WHATSAPP_CLOSE_TIMEOUT). Children also receive
SIGTERM from the kernel if this process dies without a chance to clean up.
"""

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

PR_SET_PDEATHSIG = 1
LAST = {"redis"}  # the bus the others publish their last events on
LAST_GRACE = 2.0  # seconds of the stop timeout kept for what stops last


def _die_with_parent() -> None:
    """In the child, before exec: ask the kernel for SIGTERM when the launcher dies."""
    os.setsid()
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class ChildOptions(TypedDict):
    """subprocess.Popen's keyword arguments every child gets."""

    preexec_fn: Callable[[], None]


CHILD_OPTIONS = ChildOptions(preexec_fn=_die_with_parent)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Launcher:
    def __init__(self, *, host: str, port: int, base_dir: Path, stop_timeout: float) -> None:
        self.host, self.port, self.base_dir, self.stop_timeout = host, port, base_dir, stop_timeout
        self.children: list[tuple[str, subprocess.Popen, signal.Signals]] = []
        self.stopping = False

    def add(
        self, name: str, process: subprocess.Popen, *, stop_signal: signal.Signals = signal.SIGINT
    ) -> None:
        """``stop_signal``: what stops the child cleanly (the simulator's server ignores SIGINT, not SIGTERM)."""
        self.children.append((name, process, stop_signal))

    def spawn(self, name: str, command: list[str], *, stop_signal: signal.Signals = signal.SIGINT) -> None:
        self.add(name, subprocess.Popen(command, cwd=self.base_dir, **CHILD_OPTIONS), stop_signal=stop_signal)

    def run(self, *, on_ready) -> int:
        """Start web and worker, supervise them until a signal or a child's exit."""
        signal.signal(signal.SIGINT, self._request_stop)
        signal.signal(signal.SIGTERM, self._request_stop)
        python = sys.executable
        self.spawn(
            "web",
            [
                python,
                "-m",
                "daphne",
                "-v",
                "0",  # no access log of its own: helpdesk.logging.AccessLogMiddleware writes it
                "--bind",
                self.host,
                "--port",
                str(self.port),
                "helpdesk.asgi:application",
            ],
        )
        self.spawn("worker", [python, str(self.base_dir / "manage.py"), "qcluster"])
        self.spawn("sessions", [python, str(self.base_dir / "manage.py"), "session_worker"])
        ready = False
        code = 0
        while not self.stopping:
            for name, process, _ in self.children:
                if process.poll() is not None:
                    print(
                        f"{name} exited with code {process.returncode}; stopping the helpdesk.",
                        file=sys.stderr,
                    )
                    self.stopping, code = True, 1
            if not ready and not self.stopping and self._web_answers():
                ready = True
                on_ready()
            time.sleep(0.2)
        self.stop()
        return code

    def stop(self) -> None:
        """Stop everything but Redis together, then Redis; kill whatever outlives the stop timeout.

        Each group gets its stop signal (SIGINT, as from a Ctrl-C in its own terminal:
        django-q2 clusters shut down in order on it, and WhatsApp sessions close their
        browsers), so the slowest child sets the time, not the sum of them.
        """
        deadline = time.monotonic() + self.stop_timeout
        first = [child for child in self.children if child[0] not in LAST]
        self._stop(first, deadline=deadline - LAST_GRACE)
        self._stop([child for child in self.children if child[0] in LAST], deadline=deadline)

    def _stop(self, children: list, *, deadline: float) -> None:
        for _, process, stop_signal in children:
            if process.poll() is None and _group_alive(process.pid):
                os.killpg(process.pid, stop_signal)
        for name, process, _ in children:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"{name} did not stop within {self.stop_timeout:.0f} s; killing it.", file=sys.stderr)
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
