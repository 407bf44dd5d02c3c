"""Who is there: an agent's presence, read from the database so every web and worker process agrees
(the assignment asks it inside its transaction; the overview and the inbox show it).

Online: one of their inbox pages is open (an ``AgentSocket`` seen within SOCKET_FRESH_SECONDS: a page
refreshes it while open, so a web process that died stops counting), they did not say they are away,
and they were active within AGENT_AWAY_MINUTES. Away: a page open, but away by choice or idle.
Offline: no page open.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from helpdesk.models import AgentSocket, AgentState

# A page refreshes its row at least this often (helpdesk/consumers.py) ...
SOCKET_REFRESH_SECONDS = 30
# ... and one not seen for this long belongs to a process that died.
SOCKET_FRESH_SECONDS = 90


class Presence(StrEnum):
    ONLINE = "online"
    AWAY = "away"
    OFFLINE = "offline"


def page_open_q(*, now: datetime | None = None, prefix: str = "") -> Q:
    """Users (``prefix`` leads to a user from another model) with an inbox page open."""
    fresh = (now or timezone.now()) - timedelta(seconds=SOCKET_FRESH_SECONDS)
    sockets = AgentSocket.objects.filter(user=OuterRef(f"{prefix}pk"), seen_at__gte=fresh)
    return Q(Exists(sockets))


def online_q(*, now: datetime | None = None, prefix: str = "") -> Q:
    """Users who are online now, as a filter of a ``User`` query (the assignment's candidates)."""
    now = now or timezone.now()
    active_since = now - timedelta(minutes=settings.AGENT_AWAY_MINUTES)
    return page_open_q(now=now, prefix=prefix) & Q(
        **{f"{prefix}agent_state__away": False, f"{prefix}agent_state__last_activity_at__gte": active_since}
    )


def presence_of(*, user_ids: Iterable[int], now: datetime | None = None) -> dict[int, Presence]:
    """Each user's presence (two queries, whatever their number)."""
    now = now or timezone.now()
    ids = list(user_ids)
    fresh = now - timedelta(seconds=SOCKET_FRESH_SECONDS)
    open_pages = set(
        AgentSocket.objects.filter(user_id__in=ids, seen_at__gte=fresh).values_list("user_id", flat=True)
    )
    active_since = now - timedelta(minutes=settings.AGENT_AWAY_MINUTES)
    states = {state.user_id: state for state in AgentState.objects.filter(user_id__in=ids)}
    presence = {}
    for user_id in ids:
        state = states.get(user_id)
        if user_id not in open_pages:
            presence[user_id] = Presence.OFFLINE
        elif state and not state.away and state.last_activity_at and state.last_activity_at >= active_since:
            presence[user_id] = Presence.ONLINE
        else:
            presence[user_id] = Presence.AWAY
    return presence
