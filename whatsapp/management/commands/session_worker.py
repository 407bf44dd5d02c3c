from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django_q.cluster import Cluster
from django_q.conf import Conf

from whatsapp.lease import leases_queued_release
from whatsapp.tasks import SESSIONS_CLUSTER, sessions_restore


class Command(BaseCommand):
    help = (
        "Run the worker for WhatsApp sessions: restore every enabled connection no live worker holds, "
        "then serve the sessions cluster (django-q2 qcluster). Stop it with SIGINT to its process group."
    )

    def handle(self, **options) -> None:
        if Conf.CLUSTER_NAME != SESSIONS_CLUSTER:  # manage.py names it before Django starts
            raise CommandError(
                f"Start the session worker with manage.py (or Q_CLUSTER_NAME={SESSIONS_CLUSTER}): "
                f"this process serves the {Conf.CLUSTER_NAME!r} cluster."
            )
        leases_queued_release()  # what a stopped worker reserved comes back now, not after the lease expires
        restored = sessions_restore()
        self.stdout.write(f"Restoring {restored} WhatsApp sessions.")
        self.stdout.flush()
        connections.close_all()  # the cluster forks its processes: none may inherit this connection
        Cluster().start()  # as manage.py qcluster; the process then waits for the cluster to stop
