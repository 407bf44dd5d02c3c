"""Session profiles: each connection's browser profile (size, age) and the folders no connection owns.

``prune`` runs the existing housekeeping (``profiles_housekeeping``), which
removes only folders that belong to no connection and that no browser uses.
"""

import os
import time
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from tickets.audit.checks import Level, Section, mib
from whatsapp.models import Connection
from whatsapp.profiles import USED_MARKER, profile_path, profiles_orphaned
from whatsapp.tasks import profiles_housekeeping


def profiles_section(*, prune: bool = False) -> Section:
    section = Section("profiles", _("Session profiles"))
    connections = list(Connection.objects.values_list("pk", "name"))
    section.data["profiles"] = []
    for pk, name in connections:
        path = profile_path(connection_id=pk)
        if not path.is_dir():
            section.evidence.append(_("%(name)s: no profile yet") % {"name": name})
            continue
        size, age = folder_size(path), _age_days(path)
        section.data["profiles"].append({"connection": pk, "path": str(path), "bytes": size, "age_days": age})
        section.evidence.append(
            _("%(name)s: %(path)s, %(size)s, last used %(age)s days ago")
            % {"name": name, "path": path, "size": mib(size), "age": "?" if age is None else f"{age:.0f}"}
        )
        if age is not None and age > settings.WHATSAPP_PROFILE_MAX_AGE_DAYS:
            section.flag(
                Level.WARNING,
                _(
                    "%(name)s: the profile was last used %(age).0f days ago; WhatsApp may "
                    "have forgotten it (WHATSAPP_PROFILE_MAX_AGE_DAYS=%(max)d)."
                )
                % {"name": name, "age": age, "max": settings.WHATSAPP_PROFILE_MAX_AGE_DAYS},
            )
    known = {pk for pk, _name in connections}
    if prune and profiles_orphaned(known_ids=known):
        removed = profiles_housekeeping()
        section.data["pruned"] = removed
        section.evidence.append(_("Removed %(n)d orphaned profile folders.") % {"n": removed})
    orphans = profiles_orphaned(known_ids=known)
    section.data["orphans"] = [str(path) for path in orphans]
    for path in orphans:
        section.flag(
            Level.WARNING,
            _("%(path)s (%(size)s) belongs to no connection.")
            % {"path": path, "size": mib(folder_size(path))},
        )
    return section


def folder_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:  # a browser may delete its temporary files while we count
                continue
    return total


def _age_days(path: Path) -> float | None:
    marker = path / USED_MARKER
    return (time.time() - marker.stat().st_mtime) / 86400 if marker.exists() else None
