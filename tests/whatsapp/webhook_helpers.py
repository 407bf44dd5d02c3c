"""A real HTTP receiver on loopback for the webhook tests, and a worker's part done in the test."""

import ast
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from django_q.models import Schedule

from whatsapp.webhooks import webhook_deliver

SECRET = "s3cret"


class Receiver:
    """An HTTP server answering the given status codes (or (status, headers)) in turn, keeping what it got."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses, self.requests, self.paths = list(statuses), [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                receiver.paths.append(self.path)
                answer = receiver.statuses.pop(0) if receiver.statuses else 200
                status, headers = answer if isinstance(answer, tuple) else (answer, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def run_tasks(queued: list) -> None:
    """Run what was queued (as a worker would), then the retries it scheduled, in order."""
    for connection_id, envelope, attempt in queued:
        webhook_deliver(connection_id, envelope, attempt)
    while Schedule.objects.filter(func="whatsapp.webhooks.webhook_deliver").exists():
        retry = Schedule.objects.filter(func="whatsapp.webhooks.webhook_deliver").order_by("next_run").first()
        retry.delete()
        webhook_deliver(*ast.literal_eval(retry.args))  # django-q stores the arguments as their repr
