import os
import signal
import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from helpdesk.bootstrap import prepare
from helpdesk.embedded_redis import embedded_redis_start
from helpdesk.launcher import CHILD_OPTIONS, Launcher


class Command(BaseCommand):
    help = "Prepare the database and run the web server, the worker and (embedded setup) Redis until Ctrl-C."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument(
            "--simulator-port", type=int, help="also run the WhatsApp Web simulator on this port (make demo)"
        )

    def handle(self, *, host: str, port: int, simulator_port: int | None, **options) -> None:
        admin_line = prepare()
        launcher = Launcher(
            host=host, port=port, base_dir=settings.BASE_DIR, stop_timeout=settings.WHATSAPP_CLOSE_TIMEOUT
        )
        if settings.EMBEDDED_REDIS:
            launcher.add(
                "redis",
                embedded_redis_start(socket_path=settings.REDIS_SOCKET, **CHILD_OPTIONS),
                stop_signal=signal.SIGTERM,
            )
        if simulator_port:
            launcher.spawn(
                "simulator",
                [
                    sys.executable,
                    str(settings.BASE_DIR / "manage.py"),
                    "wa_simulator",
                    "--port",
                    str(simulator_port),
                ],
                stop_signal=signal.SIGTERM,
            )
        url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"

        def on_ready() -> None:
            self.stdout.write(self.style.SUCCESS(f"Helpdesk running at {url} (admin at {url}admin/)"))
            self.stdout.write(admin_line)
            if simulator_port:
                self.stdout.write(f"Phones (simulator) at http://127.0.0.1:{simulator_port}/_sim/")
            self.stdout.write("Press Ctrl-C to stop.")
            self.stdout.flush()

        sys.exit(launcher.run(on_ready=on_ready))
