"""A PostgreSQL server of a test's own, to restart in the middle of a burst (issue 9).

The server on 127.0.0.1:5432 is shared with other test runs and is never restarted. A
private cluster is made instead: ``initdb`` into a temporary directory, ``pg_ctl`` on a
free loopback port, trust authentication, its database migrated. While the test runs,
the test process and the helpdesk processes it starts (they take ``DATABASE_URL`` from
the test's connection, tests/processes.py) use that database, so a ``pg_ctl restart``
reaches every connection of the helpdesk and nothing of anyone else.

``initdb`` refuses to run as root: as root (CI) the server's commands run as the
``postgres`` OS user, on a directory that user owns.
"""

import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from django.db import connection, connections

from tests.processes import BASE_DIR, free_port

DATABASE = "helpdesk"
SERVER_USER = "postgres"  # the OS user that runs the server when the tests run as root


def postgres_bin() -> Path | None:
    """The newest PostgreSQL's binaries (Debian keeps them under /usr/lib/postgresql/<version>/bin)."""
    found = [path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    found.sort(key=lambda path: [int(part) for part in re.findall(r"\d+", path.parent.name)])
    if found:
        return found[-1]
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def unavailable_reason() -> str | None:
    """Why a private cluster cannot be made here, or None."""
    if connection.vendor != "postgresql":
        return "PostgreSQL only (it restarts a server of its own): run with DATABASE_URL=postgres://…"
    if postgres_bin() is None:
        return "no PostgreSQL server binaries (initdb, pg_ctl) on this machine"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and no {SERVER_USER!r} OS user to run initdb as"
    return None


class PrivateCluster:
    """initdb, pg_ctl start, restart and stop of a cluster in ``root``, listening on 127.0.0.1 only."""

    def __init__(self, root: Path) -> None:
        bin_dir = postgres_bin()
        assert bin_dir is not None, "checked by unavailable_reason"
        self.bin, self.root = bin_dir, root
        self.data, self.log = root / "data", root / "server.log"
        self.port = 0

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *command: str) -> None:
        """One of the server's commands, as the server's OS user when we are root."""
        as_user = ["runuser", "-u", SERVER_USER, "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*as_user, *command], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}{self.output()}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def _pg_ctl(self, action: str, *options: str) -> None:
        server_options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root}"
        )
        self._run(
            str(self.bin / "pg_ctl"), action, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
            "-o", server_options, *options,
        )  # fmt: skip

    def create(self) -> None:
        """initdb, start on a port free a moment ago (another one if it was taken meanwhile), the database."""
        if os.geteuid() == 0:
            shutil.chown(self.root, user=SERVER_USER)
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--no-locale",
        )
        for _ in range(5):
            self.port = free_port()
            try:
                self._pg_ctl("start")
                break
            except AssertionError:
                if "could not bind" not in self.output():
                    raise
        self._run(
            str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", DATABASE
        )

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every session ended, the server down and up again. This
        process's connections died with it and are closed, so its next query opens a new one."""
        self._pg_ctl("restart", "-m", "fast")
        connections.close_all()

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "fast")


def migrated(url: str) -> None:
    """The helpdesk's tables in the database at ``url``, as ``manage.py migrate`` makes them."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        timeout=300,
    )


@pytest.fixture
def private_postgres(transactional_db):
    """A migrated database on a PostgreSQL cluster of this test's own; this process and the
    helpdesk processes started after it (``engine``: request it first) use it until the end."""
    if reason := unavailable_reason():
        pytest.skip(reason)
    cluster = PrivateCluster(Path(tempfile.mkdtemp(prefix="hd-pg-")))
    shared = dict(connection.settings_dict)
    try:
        cluster.create()
        migrated(cluster.url)
        connection.close()
        connection.settings_dict.update(
            HOST="127.0.0.1", PORT=str(cluster.port), NAME=DATABASE, USER="postgres"
        )
        connection.settings_dict["PASSWORD"] = ""
        yield cluster
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(shared)  # pytest-django empties the shared test database after
        if (cluster.data / "postmaster.pid").exists():
            cluster.stop()
        shutil.rmtree(cluster.root, ignore_errors=True)
