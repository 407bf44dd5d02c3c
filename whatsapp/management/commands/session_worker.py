import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from whatsapp.lease import leases_queued_release
from whatsapp.tasks import SESSIONS_CLUSTER, sessions_restore


class Command(BaseCommand):
    help = (
        "Run the worker for WhatsApp sessions: restore every enabled connection no live worker holds, "
        "then serve the sessions cluster (django-q2 qcluster). Stop it with SIGINT to its process group."
    )

    def handle(self, **options) -> None:
        leases_queued_release()  # what a stopped worker reserved comes back now, not after the lease expires
        restored = sessions_restore()
        self.stdout.write(f"Restoring {restored} WhatsApp sessions.")
        self.stdout.flush()
        # django-q2 reads the cluster name when it is imported, so the cluster runs in a fresh interpreter.
        os.environ["Q_CLUSTER_NAME"] = SESSIONS_CLUSTER
        manage = str(settings.BASE_DIR / "manage.py")
        os.execv(sys.executable, [sys.executable, manage, "qcluster"])
