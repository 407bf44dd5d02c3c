"""One log line per event, as JSON, so operators can grep and ship it as is.

Anything passed in ``extra=`` becomes a field of the line; sessions pass
``connection_id`` so every line about a WhatsApp number can be found by it.
"""

import json
import logging
import time
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

# Attributes every LogRecord has; whatever else is on a record came from ``extra``.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class StructuredFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


access_logger = logging.getLogger("helpdesk.access")


class AccessLogMiddleware:
    """One line per request in the same JSON and UTC as every other line (daphne's own access log,
    in Apache's format and the server's local time, is off: ``daphne -v 0``). The path without its
    query string: a search's words are the customers' names and numbers."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        access_logger.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.path,
                "status": response.status_code,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return response
