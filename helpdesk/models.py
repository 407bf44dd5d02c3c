import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiToken(models.Model):
    """A key for the JSON API (``Authorization: Bearer <key>``), acting as its user.

    Only a hash of the key is stored: it is shown once, when made.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("starts with"), max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @classmethod
    def issue(cls, *, user, name: str = "") -> tuple["ApiToken", str]:
        """Make a token for ``user``; returns it and the key, which is never shown again."""
        key = secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, prefix=key[:8], key_hash=cls.hash(key))
        return token, key


class UserPreferences(models.Model):
    """What each user chooses for themselves: language, sounds, their signature.

    Read through ``helpdesk.selectors.preferences_of``, which gives the defaults
    to a user who never saved any (no row until they change something).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences"
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Empty: the browser's language."),
    )
    notifications_muted = models.BooleanField(_("notifications muted"), default=False)
    signature = models.BooleanField(
        _("sign my messages"),
        default=True,
        help_text=_("Customers receive your name in bold on the first line of each message."),
    )

    class Meta:
        verbose_name = _("user preferences")
        verbose_name_plural = _("user preferences")

    def __str__(self) -> str:
        return str(self.user)


class AgentState(models.Model):
    """An agent's presence and place in the assignment, one row per agent (helpdesk/presence.py).

    Online: an inbox page open (an ``AgentSocket`` seen lately), not ``away`` and active within
    AGENT_AWAY_MINUTES; away: a page open but away by choice or idle; offline: no page open."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="agent_state"
    )
    away = models.BooleanField(_("away"), default=False, help_text=_("Said so with the header's switch."))
    last_activity_at = models.DateTimeField(_("last activity"), null=True, blank=True)
    # Round robin gives a ticket to the online member assigned least recently.
    last_assigned_at = models.DateTimeField(_("last assigned"), null=True, blank=True)
    capacity = models.PositiveIntegerField(
        _("capacity"), null=True, blank=True, help_text=_("Open tickets at most. Empty: AGENT_CAPACITY.")
    )

    class Meta:
        verbose_name = _("agent state")
        verbose_name_plural = _("agent states")

    def __str__(self) -> str:
        return str(self.user)


class AgentSocket(models.Model):
    """One open inbox page of an agent (its websocket), in whichever web process holds it: kept in
    the database so every process sees the same presence. A page refreshes ``seen_at`` while open;
    one not seen for a while belongs to a process that died."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_sockets")
    channel_name = models.CharField(max_length=200, unique=True)
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    seen_at = models.DateTimeField(_("seen"))

    class Meta:
        verbose_name = _("open page")
        verbose_name_plural = _("open pages")
        indexes = [models.Index(fields=["user", "seen_at"], name="helpdesk_socket_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} {self.channel_name}"
