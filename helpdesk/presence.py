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
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from helpdesk.models import AgentSocket, AgentState
from helpdesk.realtime import dashboard_changed, publish_on_commit

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


def away_of(*, user: User) -> bool:
    """Whether the user said they are away (the header's switch)."""
    return AgentState.objects.filter(user=user, away=True).exists()


# -- writes: the inbox's socket (tickets/consumers.py) and the header's switch call these ----------
# Each returns the user's presence after the change, and announces a change (``presence_announce``).


def presence_group(user_id: int) -> str:
    """The bus group of one user's own pages: their header's switch follows their presence."""
    return f"presence.{user_id}"


def presence_announce(*, user_id: int, presence: Presence) -> None:
    """On commit: the home page's figures changed (the team's wall shows who is there), and the user's
    own pages hear their new presence."""
    dashboard_changed()
    publish_on_commit(
        groups=[presence_group(user_id)],
        event_type="presence.changed",
        payload={"user": user_id, "presence": str(presence)},
    )


def _changing(user_id: int, change, known: Presence | None = None) -> tuple[Presence, Presence]:
    """Run ``change`` in a transaction between two readings of the user's presence (the first one is
    ``known`` when the caller knows what it last announced); announce a change."""
    with transaction.atomic():
        before = known or presence_of(user_ids=[user_id])[user_id]
        change()
        after = presence_of(user_ids=[user_id])[user_id]
        if after != before:
            presence_announce(user_id=user_id, presence=after)
    return before, after


def socket_open(*, user: User, channel_name: str) -> tuple[Presence, Presence]:
    """An inbox page opened: its socket counts, and opening a page is activity. The user's rows left by
    a process that died (not seen for SOCKET_FRESH_SECONDS) go."""

    def change() -> None:
        now = timezone.now()
        AgentSocket.objects.filter(
            user=user, seen_at__lt=now - timedelta(seconds=SOCKET_FRESH_SECONDS)
        ).delete()
        AgentState.objects.update_or_create(user=user, defaults={"last_activity_at": now})
        AgentSocket.objects.update_or_create(
            channel_name=channel_name, defaults={"user": user, "seen_at": now}
        )

    return _changing(user.pk, change)


def socket_seen(*, user: User, channel_name: str, known: Presence) -> tuple[Presence, Presence]:
    """The page is still open (every SOCKET_REFRESH_SECONDS): its row stays fresh. ``known``: the
    presence the socket last knew; when time alone changed it (idle for AGENT_AWAY_MINUTES), the
    change is announced here."""

    def change() -> None:
        now = timezone.now()
        if not AgentSocket.objects.filter(channel_name=channel_name).update(seen_at=now):
            AgentSocket.objects.create(user=user, channel_name=channel_name, seen_at=now)  # removed as stale

    return _changing(user.pk, change, known)


def socket_close(*, user: User, channel_name: str) -> tuple[Presence, Presence]:
    """The page closed (or its socket dropped): offline once it was their last one."""
    return _changing(user.pk, lambda: AgentSocket.objects.filter(channel_name=channel_name).delete())


def activity_record(*, user: User) -> tuple[Presence, Presence] | None:
    """The agent did something (the page says so at most once a minute; a reply counts too). The
    common case, active already, is one UPDATE and changes no presence (None); an idle agent with a
    page open comes back online."""
    now = timezone.now()
    idle_since = now - timedelta(minutes=settings.AGENT_AWAY_MINUTES)
    if AgentState.objects.filter(user=user, last_activity_at__gte=idle_since).update(last_activity_at=now):
        return None
    return _changing(
        user.pk, lambda: AgentState.objects.update_or_create(user=user, defaults={"last_activity_at": now})
    )


def away_set(*, user: User, away: bool, activity: bool = True) -> tuple[Presence, Presence]:
    """The header's switch: away by choice, or back (which is activity too). ``activity`` False: set
    for them (the admin's agent state); back then is not activity, so an idle agent stays away."""
    defaults: dict = {"away": away}
    if not away and activity:
        defaults["last_activity_at"] = timezone.now()
    return _changing(user.pk, lambda: AgentState.objects.update_or_create(user=user, defaults=defaults))


def became_online(change: tuple[Presence, Presence] | None) -> bool:
    return change is not None and change[0] != Presence.ONLINE and change[1] == Presence.ONLINE
