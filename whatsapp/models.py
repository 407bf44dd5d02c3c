from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Connection(models.Model):
    """One company WhatsApp number, driven by one browser session (design, section 3)."""

    class Status(models.TextChoices):
        STOPPED = "STOPPED", _("Stopped")
        STARTING = "STARTING", _("Starting")
        QR = "QR", _("Waiting for QR scan")
        CONNECTED = "CONNECTED", _("Connected")
        DISCONNECTED = "DISCONNECTED", _("Disconnected")
        LOGGED_OUT = "LOGGED_OUT", _("Logged out")
        FAILED = "FAILED", _("Failed")

    class Command(models.TextChoices):
        RESTART = "restart", _("Restart")
        LOGOUT = "logout", _("Log out")

    name = models.CharField(_("name"), max_length=100, unique=True)
    phone = models.CharField(
        _("phone"), max_length=20, blank=True, help_text=_("Set when the phone logs in.")
    )
    status = models.CharField(_("status"), max_length=12, choices=Status, default=Status.STOPPED)
    enabled = models.BooleanField(_("enabled"), default=True, help_text=_("The session should be running."))
    qr_code = models.TextField(_("QR code"), blank=True)
    qr_generated_at = models.DateTimeField(_("QR code generated"), null=True, blank=True)
    qr_attempts = models.PositiveIntegerField(_("QR codes shown"), default=0)
    last_seen_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    lease_owner = models.CharField(_("held by worker"), max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires"), null=True, blank=True)
    reconnect_attempts = models.PositiveIntegerField(_("reconnect attempts"), default=0)
    command = models.CharField(
        _("pending command"),
        max_length=10,
        choices=Command,
        blank=True,
        help_text=_("Asked of the running session; it clears this when done."),
    )
    last_error = models.TextField(_("last error"), blank=True)
    browser_memory = models.PositiveBigIntegerField(
        _("browser memory (bytes)"),
        null=True,
        blank=True,
        help_text=_("PSS of the browser, at the last heartbeat."),
    )
    web_version = models.CharField(
        _("WhatsApp Web version"), max_length=40, blank=True, help_text=_("As the session last read it.")
    )
    is_default = models.BooleanField(_("default"), default=False)
    greeting = models.TextField(_("greeting message"), blank=True)
    farewell = models.TextField(_("farewell message"), blank=True)
    mark_chats_read = models.BooleanField(
        _("mark chats read on the phone"),
        default=True,
        help_text=_("When an agent opens a ticket, its chat is marked read in WhatsApp (blue ticks)."),
    )
    queues = models.ManyToManyField(
        "tickets.Queue", blank=True, related_name="connections", verbose_name=_("queues")
    )
    csat_enabled = models.BooleanField(
        _("ask for satisfaction"),
        default=False,
        help_text=_("When an agent closes a ticket, the customer is asked to rate the service from 1 to 5."),
    )
    csat_question = models.TextField(
        _("satisfaction question"), blank=True, help_text=_("Empty: the helpdesk's own question.")
    )
    webhook_url = models.URLField(_("webhook URL"), max_length=500, blank=True)
    webhook_secret = models.CharField(_("webhook secret"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("connection")
        verbose_name_plural = _("connections")
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="whatsapp_one_default_connection",
                violation_error_message=_("Another connection is already the default."),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ConnectionEvent(models.Model):
    """One line of a connection's log: a state change, an error or a note."""

    class Kind(models.TextChoices):
        STATE = "state", _("State change")
        ERROR = "error", _("Error")
        INFO = "info", _("Information")

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="events", verbose_name=_("connection")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    kind = models.CharField(_("kind"), max_length=5, choices=Kind, default=Kind.INFO)
    from_status = models.CharField(_("from"), max_length=12, choices=Connection.Status, blank=True)
    to_status = models.CharField(_("to"), max_length=12, choices=Connection.Status, blank=True)
    message = models.TextField(_("message"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("connection event")
        verbose_name_plural = _("connection events")
        indexes = [models.Index(fields=["connection", "-at"], name="whatsapp_event_log_idx")]

    def __str__(self) -> str:
        if self.kind == self.Kind.STATE:
            return f"{self.get_from_status_display() or '-'} → {self.get_to_status_display()}"
        return self.message[:80]


class WebhookDelivery(models.Model):
    """One attempt to deliver one event to a connection's webhook: the trail an admin reads."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="webhook_deliveries", verbose_name=_("connection")
    )
    event_id = models.UUIDField(_("event id"), db_index=True)
    event = models.CharField(_("event"), max_length=40)
    envelope = models.JSONField(_("what was sent"))
    url = models.URLField(_("URL"), max_length=500)
    attempt = models.PositiveSmallIntegerField(_("attempt"))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    delivered = models.BooleanField(_("delivered"), default=False)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.event} #{self.attempt} → {self.status_code or self.error[:40]}"


class DeadLetter(models.Model):
    """A message from WhatsApp that could not be stored, kept so that nothing is lost and the session goes on.

    The payload is the page's own (cut to a sane size); an admin reads the error,
    fixes its cause and retries (whatsapp/dead_letters.py).
    """

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="dead_letters", verbose_name=_("connection")
    )
    chat = models.CharField(_("chat"), max_length=64, blank=True)
    wa_id = models.CharField(_("WhatsApp id"), max_length=128, blank=True, db_index=True)
    payload = models.JSONField(_("payload as received"), null=True)
    error_type = models.CharField(_("error type"), max_length=200)
    error = models.TextField(_("error"), help_text=_("The message and where it happened."))
    created_at = models.DateTimeField(_("kept"), default=timezone.now)
    retried_at = models.DateTimeField(_("last retried"), null=True, blank=True)
    resolved = models.BooleanField(_("resolved"), default=False, help_text=_("Stored since, by a retry."))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("dead letter")
        verbose_name_plural = _("dead letters")

    def __str__(self) -> str:
        return f"{self.chat or '?'} {self.wa_id[:40]}: {self.error_type}"


class SavedLogin(models.Model):
    """A connection's WhatsApp login, saved from its browser profile where every worker reaches it,
    so that another machine logs in again without a QR (whatsapp/saved_logins.py). The bytes are an
    encrypted archive (whatsapp/profile_archive.py), in ``data`` or, when WHATSAPP_PROFILE_STORAGE
    names a storage, in the file ``storage_name`` of that storage."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="saved_logins", verbose_name=_("connection")
    )
    version = models.PositiveIntegerField(_("version"))
    created_at = models.DateTimeField(_("saved"), default=timezone.now)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256 of the archive"), max_length=64)
    digest = models.CharField(
        _("digest of the profile"), max_length=64, help_text=_("An unchanged profile is not saved again.")
    )
    data = models.BinaryField(_("archive"), null=True, editable=False)
    storage_name = models.CharField(_("file in the storage"), max_length=300, blank=True)
    refused = models.TextField(
        _("refused because"),
        blank=True,
        help_text=_("Set when a restore found it unusable; kept for the audit."),
    )
    refused_at = models.DateTimeField(_("refused"), null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        verbose_name = _("saved login")
        verbose_name_plural = _("saved logins")
        constraints = [
            models.UniqueConstraint(fields=["connection", "version"], name="whatsapp_saved_login_version"),
        ]

    def __str__(self) -> str:
        return f"{self.connection_id} v{self.version}"
