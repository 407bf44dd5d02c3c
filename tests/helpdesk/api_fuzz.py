"""Schemathesis against the live API: daphne serving the helpdesk, schemathesis' own command line
with every check it has (shared by the test and the bench).

A real server process, as a client meets it: the 404 of a path no route parses, the 405 of a method,
a request held too long are answered by the whole stack, not by a view called in-process.
"""

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helpdesk.models import ApiToken
from tests.factories import ConnectionFactory, ContactFactory, MessageFactory, TicketFactory
from tests.processes import helpdesk_env, web_server
from whatsapp.models import Connection

# The slowest answer a client may wait for: a question to a session included (docs/decisions.md).
MAX_RESPONSE_TIME = 2.0


def seed() -> None:
    """Connections in each state a client meets (stopped, starting, showing a QR code, connected)
    and tickets with messages, so the generated ids sometimes hit a row."""
    connection = ConnectionFactory()
    for status in [Connection.Status.STARTING, Connection.Status.QR, Connection.Status.CONNECTED]:
        ConnectionFactory(status=status, enabled=True)
    for _ in range(3):
        ticket = TicketFactory(connection=connection, contact=ContactFactory())
        MessageFactory(ticket=ticket)


@contextmanager
def live_api(*, tmp: Path, redis_url: str) -> Iterator[str]:
    """daphne serving the helpdesk on this test's database and bus: its address."""
    server, url = web_server(
        helpdesk_env(var_dir=tmp / "var", redis_url=redis_url, simulator=None), log=tmp / "web.log"
    )
    try:
        yield url
    finally:
        try:
            server.stop(timeout=20)
        except subprocess.TimeoutExpired:  # a request still held: the run has failed anyway
            server.kill()


def fuzz(*, url: str, user, examples: int, tmp: Path) -> dict:
    """Every operation of ``/api/openapi.json`` at ``url``, ``examples`` generated requests each (per
    phase), as ``user``'s token; all of schemathesis' checks.

    Returns {"operations", "requests", "failures": [text], "errors": [text], "output"}: a failure is any
    check that did not pass (a 5xx, an undocumented status or content type, a body not matching its
    schema, an answer slower than MAX_RESPONSE_TIME...); an error is a request that could not be made.
    """
    _token, key = ApiToken.issue(user=user)
    report = tmp / "schemathesis.json"
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("st")),
            f"--config-file={Path(__file__).with_name('schemathesis.toml')}",
            "run",
            f"{url}/api/openapi.json",
            "--checks=all",
            f"--header=Authorization: Bearer {key}",
            f"--max-examples={examples}",
            "--phases=examples,coverage,fuzzing",  # stateful needs links the schema has not
            "--seed=18",
            "--workers=1",
            f"--max-response-time={MAX_RESPONSE_TIME}",
            f"--request-timeout={MAX_RESPONSE_TIME * 2}",  # a regression fails fast, not after minutes
            "--suppress-health-check=all",
            "--report=json",
            f"--report-json-path={report}",
            "--output-truncate=false",
            "--no-color",
        ],
        cwd=tmp,  # its cache (.schemathesis/) stays out of the project
        capture_output=True,
        text=True,
        timeout=600,
    )
    return {"output": run.stdout + run.stderr, **_figures(json.loads(report.read_text()))}


def _figures(report: dict) -> dict:
    """What the JSON report says: how much was tried, and every failure and error by kind."""
    return {
        "operations": report["operations"]["tested"],
        "requests": report["test_cases"]["generated"],
        "failures": [
            f"{failure['code']} {failure['title']}: {', '.join(failure['operations'])}"
            for failure in report["failures"]
        ],
        "errors": [f"{error['title']} ({error['count']})" for error in report["errors"]],
    }
