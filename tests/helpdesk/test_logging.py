import json
import logging

from helpdesk.logging import StructuredFormatter


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
