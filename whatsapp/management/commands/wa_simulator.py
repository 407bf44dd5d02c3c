import os
import socket

from daphne.server import Server
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Run the WhatsApp Web simulator: the page the sessions open, and the phones' control API at /_sim/."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--qr-interval", type=float, help="seconds between QR codes (default 20)")

    def handle(self, *, host: str, port: int, qr_interval: float | None, **options) -> None:
        if qr_interval is not None:
            os.environ["SIMULATOR_QR_INTERVAL"] = str(qr_interval)
        with socket.socket() as probe:  # daphne would only log a failed bind and exit 0
            # As daphne's own bind (Twisted) does: a port the simulator just left, its sockets in
            # TIME_WAIT (``make demo`` again right after Ctrl-C), is free to listen on.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                raise CommandError(f"Cannot listen on {host}:{port}: {error.strerror}") from None
        from whatsapp.simulator.app import application  # reads the environment when imported

        self.stdout.write(
            f"WhatsApp simulator at http://{host}:{port}/ (phones at http://{host}:{port}/_sim/)"
        )
        self.stdout.flush()
        Server(application=application, endpoints=[f"tcp:port={port}:interface={host}"]).run()
