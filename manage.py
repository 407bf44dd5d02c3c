#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    if sys.argv[1:2] == ["session_worker"]:
        # django-q2 reads its cluster's name once, when Django starts: the session worker serves the
        # "sessions" cluster (whatsapp/tasks.py SESSIONS_CLUSTER) in this very process, not in a second
        # interpreter started after it (a worker's restart took one Django start longer).
        os.environ["Q_CLUSTER_NAME"] = "sessions"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
