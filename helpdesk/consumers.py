import asyncio
import logging

from channels.consumer import AsyncConsumer
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import User

from helpdesk.realtime import DASHBOARD_GROUP
from helpdesk.selectors import session_user

logger = logging.getLogger(__name__)

# How long the overview's socket gathers changes before telling its page (DashboardConsumer).
DASHBOARD_DEBOUNCE_SECONDS = 1.0
# Close codes in the 4000 range are ours; 4401 and 4403 mirror HTTP 401 and 403.
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


def signed_in_user(consumer: AsyncConsumer) -> User | None:
    """The user signed in on the socket, None for a visitor (AnonymousUser). AuthMiddlewareStack
    puts a lazy proxy in the scope; isinstance looks through it to the user it stands for."""
    user = consumer.scope.get("user")
    return user if isinstance(user, User) else None


async def refuse(consumer, code: int) -> None:
    """Accept, then close with ``code``: a socket closed before accepting reaches the
    browser as a bare 1006, and the page could not tell "sign in again" from a network fault."""
    await consumer.accept()
    await consumer.close(code=code)


class RightsFollowingConsumer(AsyncJsonWebsocketConsumer):
    """A websocket that keeps following its user's rights for as long as it is open.

    A subclass says, in ``groups_for``, which groups a user's socket belongs in (None: this user
    may not have it). The socket joins them when it opens, and every SOCKET_RECHECK_SECONDS reads
    its user again from the login session, as a page request would: signed out, session expired,
    password changed or deactivated closes it with 4401; a right lost closes it with 4403 (live.js
    reloads the page, which then asks to sign in or refuses). Groups that changed are left and
    joined, and the subclass is told (``regrouped``). ``self.user`` is replaced by the fresh user
    each time, so what a subclass computes for them follows their permissions too.

    A recheck that fails (a database or bus error) is logged and tried again at the next tick:
    giving up would leave the socket with the rights it had, for as long as it stays open.
    """

    user: User
    joined: list[str]

    def groups_for(self, user: User) -> list[str] | None:
        """The groups ``user``'s socket belongs in now; None when they may not have it. Runs in a
        database thread."""
        raise NotImplementedError

    async def regrouped(self) -> None:
        """Called after the groups changed on a recheck."""

    async def opened(self) -> None:
        """Called for a user who may have the socket, before it joins its groups and is accepted (what
        it announces reaches the user's other sockets, not this one)."""

    async def ticked(self) -> None:
        """Called after each recheck that kept the socket open (every SOCKET_RECHECK_SECONDS)."""

    async def closed(self) -> None:
        """Called when a socket that was accepted closes, whoever closed it."""

    async def connect(self) -> None:
        user = signed_in_user(self)
        if user is None:
            await refuse(self, CLOSE_UNAUTHENTICATED)
            return
        groups = await database_sync_to_async(self.groups_for)(user)
        if groups is None:
            await refuse(self, CLOSE_FORBIDDEN)
            return
        self.user, self.joined = user, []
        await self.opened()
        await self._join(groups)
        await self.accept()
        self.recheck = asyncio.get_running_loop().create_task(self._recheck())

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "recheck"):
            self.recheck.cancel()
        if hasattr(self, "joined"):
            await self._join([])
            await self.closed()

    async def _join(self, groups: list[str]) -> None:
        for group in set(self.joined) - set(groups):
            await self.channel_layer.group_discard(group, self.channel_name)
        for group in set(groups) - set(self.joined):
            await self.channel_layer.group_add(group, self.channel_name)
        self.joined = groups

    async def _recheck(self) -> None:
        while True:
            await asyncio.sleep(settings.SOCKET_RECHECK_SECONDS)
            try:
                if not await self._follow_rights():
                    return
                await self.ticked()
            except Exception:
                logger.exception(
                    "rechecking a websocket's rights failed; trying again at the next tick",
                    extra={"user_id": self.user.pk, "path": self.scope["path"]},
                )

    async def _follow_rights(self) -> bool:
        """Apply the user's rights as they are now; False once the socket is closed for lack of them."""
        user, groups = await database_sync_to_async(self._rights_now)()
        if user is None or groups is None:
            await self._join([])  # nothing more reaches the socket, whatever the browser does next
            await self.close(code=CLOSE_UNAUTHENTICATED if user is None else CLOSE_FORBIDDEN)
            return False
        self.user = user
        if set(groups) != set(self.joined):
            await self._join(groups)
            await self.regrouped()
        return True

    def _rights_now(self) -> tuple[User | None, list[str] | None]:
        user = session_user(session_key=self.scope["session"].session_key)
        if user is None or user.pk != self.user.pk:
            return None, None
        return user, self.groups_for(user)


class DashboardConsumer(RightsFollowingConsumer):
    """Tells the home page that its figures may have changed, at most once every
    DASHBOARD_DEBOUNCE_SECONDS: the first change starts the wait, the ones during it ride along, so a
    burst (a campaign's replies, tickets closed together) costs each open page one read.

    The message carries no figures: the page reads them again (``helpdesk.views.overview``) with its
    own user's rights, so an agent never learns the size of a queue that is not theirs.
    """

    notice: asyncio.Task | None = None

    def groups_for(self, user: User) -> list[str]:
        return [DASHBOARD_GROUP]

    async def dashboard_changed(self, event: dict) -> None:
        if self.notice is None or self.notice.done():
            self.notice = asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        await asyncio.sleep(DASHBOARD_DEBOUNCE_SECONDS)
        await self.send_json({"type": "dashboard.changed"})

    async def disconnect(self, code: int) -> None:
        if self.notice is not None:
            self.notice.cancel()
        await super().disconnect(code)
