import json
import logging
import urllib.request

import pytest

from helpdesk.logging import StructuredFormatter
from tests.processes import wait_until


def test_each_event_is_one_json_line_carrying_the_connection_id():
    record = logging.LogRecord(
        "whatsapp.session", logging.WARNING, __file__, 1, "QR expired\nagain", (), None
    )
    record.connection_id = 7

    line = StructuredFormatter().format(record)

    assert "\n" not in line
    assert json.loads(line) | {"ts": None} == {
        "ts": None,
        "level": "WARNING",
        "logger": "whatsapp.session",
        "msg": "QR expired\nagain",
        "connection_id": 7,
    }


def test_an_exception_stays_on_the_same_line():
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())

    line = StructuredFormatter().format(record)

    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exc"]


@pytest.mark.django_db(transaction=True)
def test_the_web_server_logs_each_request_as_a_json_line_in_utc_without_its_query(web, tmp_path):
    """daphne's own access log (Apache's format, the server's local time) is off; the helpdesk writes one
    line per request in the same JSON and UTC as every other line, the searched words left out."""
    with urllib.request.urlopen(f"{web}/login/?next=/inbox/%3Fq%3DMaria") as response:
        assert response.status == 200

    def access_lines() -> list[dict]:
        lines = [
            json.loads(line)
            for line in (tmp_path / "web.log").read_text().splitlines()
            if line.startswith("{")
        ]
        return [line for line in lines if line["logger"] == "helpdesk.access"]

    access = wait_until(access_lines, message="the request's line in the web server's log")
    assert [(line["method"], line["path"], line["status"]) for line in access] == [("GET", "/login/", 200)]
    assert access[0]["ts"].endswith("+00:00")
    written = (tmp_path / "web.log").read_text()
    assert "Maria" not in written
    assert (
        '] "GET /login/' not in written
    )  # no line of daphne's own ('… [28/Nov/2026:17:04:15] "GET /login/ …')
