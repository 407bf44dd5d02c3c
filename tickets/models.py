from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.system_lines import system_line_text


class Queue(models.Model):
    """A department (Sales, Support...). Its members are the agents who see its tickets."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    color = models.CharField(_("color"), max_length=7, default="#2563eb")
    greeting = models.TextField(_("greeting"), blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="queues", verbose_name=_("members")
    )
    # Who may read the queue's reports (/reports/) without being a member; the Supervisors group
    # (tickets.view_ticket) reads every queue's.
    supervisors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="supervised_queues", verbose_name=_("supervisors")
    )
    ordering = models.PositiveIntegerField(_("order"), default=0)
    # Opening hours (tickets/business_time.py reads them): None is always open; else
    # {"mon": [["09:00", "18:00"]], ..., "sun": []} in TIME_ZONE, a missing or empty day closed.
    business_hours = models.JSONField(
        _("business hours"), null=True, blank=True, help_text=_("Empty: always open.")
    )
    holidays = models.JSONField(
        _("holidays"),
        default=list,
        blank=True,
        help_text=_("Dates (YYYY-MM-DD) the queue is closed all day."),
    )
    out_of_hours_message = models.TextField(
        _("out-of-hours message"),
        blank=True,
        help_text=_(
            "Sent once, instead of the greeting, to a ticket that enters the queue while it is closed."
        ),
    )
    sla_first_response_minutes = models.PositiveIntegerField(
        _("first response within (business minutes)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
    )
    sla_resolution_minutes = models.PositiveIntegerField(
        _("resolution within (business minutes)"), null=True, blank=True, validators=[MinValueValidator(1)]
    )

    class Assignment(models.TextChoices):
        MANUAL = "manual", _("Manual: agents take tickets")
        ROUND_ROBIN = "round_robin", _("Round robin: the online member assigned least recently")
        LEAST_BUSY = "least_busy", _("Least busy: the online member with the fewest open tickets")

    assignment = models.CharField(
        _("assignment"), max_length=12, choices=Assignment, default=Assignment.MANUAL
    )

    class Meta:
        ordering = ["ordering", "name"]
        verbose_name = _("queue")
        verbose_name_plural = _("queues")

    def __str__(self) -> str:
        return self.name


ONE_OPEN_TICKET_MESSAGE = _("This contact already has a ticket that is not closed on this connection.")


class Ticket(models.Model):
    """One conversation of a contact with one of the company's numbers."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class CloseReason(models.TextChoices):
        AGENT = "agent", _("Closed by an agent")
        ADMIN = "admin", _("Closed in the admin")
        AUDIT = "audit", _("Closed by the audit")
        API = "api", _("Closed through the API")

    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.PROTECT, related_name="tickets", verbose_name=_("contact")
    )
    connection = models.ForeignKey(
        "whatsapp.Connection", on_delete=models.PROTECT, related_name="tickets", verbose_name=_("connection")
    )
    queue = models.ForeignKey(
        Queue,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        verbose_name=_("queue"),
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        verbose_name=_("assignee"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.PENDING)
    unread_count = models.PositiveIntegerField(_("unread"), default=0)
    # When the conversation last moved: the inbox's order (its keyset), so never empty.
    last_message_at = models.DateTimeField(_("last message"), default=timezone.now)
    last_message_preview = models.CharField(_("last message preview"), max_length=255, blank=True)
    last_inbound_at = models.DateTimeField(_("last inbound message"), null=True, blank=True)
    last_outbound_at = models.DateTimeField(_("last outbound message"), null=True, blank=True)
    waiting_since = models.DateTimeField(
        _("waiting since"),
        default=timezone.now,
        help_text=_("When the ticket last started waiting for an agent."),
    )
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("closed by"),
    )
    close_reason = models.CharField(_("close reason"), max_length=10, choices=CloseReason, blank=True)
    menu_sent_at = models.DateTimeField(
        _("queue menu sent"),
        null=True,
        blank=True,
        help_text=_("When the customer was last asked to pick a queue."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # What a manager reads, written when it happens (tickets/milestones.py), never recomputed from
    # the messages: the customer's first message, the first message an agent wrote (greetings,
    # menus, out-of-hours and CSAT messages and notes do not count), the SLA's due times.
    first_inbound_at = models.DateTimeField(_("customer first wrote"), null=True, blank=True)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    first_response_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("first response by"),
    )
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True)
    # When the running SLA windows began: the customer's first message, or the last reopening. The
    # due times count from it, and the badge turns amber in the last fifth of it (tickets/sla_clock.py).
    sla_window_start = models.DateTimeField(_("SLA window start"), null=True, blank=True)
    # Set once, when a due time passed unmet; stays after a late answer.
    sla_breached_at = models.DateTimeField(_("SLA breached"), null=True, blank=True)
    reopen_count = models.PositiveIntegerField(_("times reopened"), default=0)
    out_of_hours_sent_at = models.DateTimeField(_("out-of-hours message sent"), null=True, blank=True)
    # Customer satisfaction (tickets/csat.py): asked when an agent closes, answered 1 to 5.
    csat_asked_at = models.DateTimeField(_("satisfaction asked"), null=True, blank=True)
    csat_rating = models.PositiveSmallIntegerField(
        _("satisfaction"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    csat_comment = models.TextField(_("satisfaction comment"), blank=True)
    csat_rated_at = models.DateTimeField(_("rated"), null=True, blank=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "connection"],
                condition=~Q(status="closed"),
                name="tickets_one_open_per_contact_connection",
                violation_error_message=ONE_OPEN_TICKET_MESSAGE,
            ),
        ]
        indexes = [
            # The inbox's tabs, each walked in its own order (tickets/selectors.py).
            models.Index(fields=["status", "queue", "-last_message_at"], name="tickets_inbox_idx"),
            models.Index(fields=["status", "-last_message_at", "-id"], name="tickets_inbox_all_idx"),
            models.Index(
                fields=["assignee", "status", "-last_message_at", "-id"], name="tickets_inbox_mine_idx"
            ),
            models.Index(fields=["status", "queue", "waiting_since", "id"], name="tickets_inbox_waiting_idx"),
            # Waiting over every queue (who sees every ticket): the index above serves one queue at a time.
            models.Index(fields=["status", "waiting_since", "id"], name="tickets_inbox_waiting_all_idx"),
            # All (every ticket not closed), newest first: one index range instead of two statuses sorted.
            models.Index(
                fields=["-last_message_at", "-id"],
                condition=~Q(status="closed"),
                name="tickets_inbox_not_closed_idx",
            ),
            # The tabs' counts read only this index (an index-only scan of the tickets not closed).
            models.Index(
                fields=["status", "queue", "assignee"],
                condition=~Q(status="closed"),
                name="tickets_inbox_counts_idx",
            ),
            # The SLA watch: tickets not closed and not yet breached whose due time is coming.
            models.Index(
                fields=["first_response_due"],
                condition=Q(first_response_at__isnull=True, sla_breached_at__isnull=True)
                & ~Q(status="closed"),
                name="tickets_sla_first_response_idx",
            ),
            models.Index(
                fields=["resolution_due"],
                condition=Q(sla_breached_at__isnull=True) & ~Q(status="closed"),
                name="tickets_sla_resolution_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.contact}"


def message_media_path(message: "Message", filename: str) -> str:
    return f"messages/{message.connection_id}/{message.ticket_id}/{filename}"


class Message(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        IMAGE = "image", _("Image")
        AUDIO = "audio", _("Audio")
        VIDEO = "video", _("Video")
        DOCUMENT = "document", _("Document")
        STICKER = "sticker", _("Sticker")
        LOCATION = "location", _("Location")
        CONTACT = "contact", _("Contact card")
        NOTE = "note", _("Internal note")
        SYSTEM = "system", _("System")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        READ = "read", _("Read")
        FAILED = "failed", _("Failed")
        RECEIVED = "received", _("Received")
        SCHEDULED = "scheduled", _("Scheduled")

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="messages", verbose_name=_("ticket")
    )
    # The ticket's connection, copied here so the database itself can hold a
    # WhatsApp message id unique per connection (a constraint cannot follow a join).
    # No index of its own: the unique (connection, wa_id) index serves its lookups.
    connection = models.ForeignKey(
        "whatsapp.Connection",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("connection"),
        db_index=False,
    )
    # NULL until WhatsApp names the message: many queued replies, one unique id each once sent.
    wa_id = models.CharField(_("WhatsApp id"), max_length=128, null=True, blank=True)  # noqa: DJ001
    from_me = models.BooleanField(_("from us"), default=False)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind, default=Kind.TEXT)
    body = models.TextField(_("text"), blank=True)
    # A system line's event and names (tickets/system_lines.py), written out in each reader's language.
    event = models.JSONField(_("what happened"), null=True, blank=True)
    caption = models.TextField(_("caption"), blank=True)
    media = models.FileField(_("media"), upload_to=message_media_path, blank=True, max_length=500)
    mimetype = models.CharField(_("type"), max_length=100, blank=True)
    filename = models.CharField(_("file name"), max_length=255, blank=True)
    size = models.PositiveBigIntegerField(_("size in bytes"), null=True, blank=True)
    voice = models.BooleanField(
        _("voice note"), default=False, help_text=_("Recorded audio, sent as a voice message.")
    )
    quoted = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("reply to")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.QUEUED)
    error = models.TextField(_("error"), blank=True)
    wa_timestamp = models.DateTimeField(_("WhatsApp time"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # Changes after it was written: the earlier texts are its revisions; a deleted message keeps its
    # row (and, for DELETED_CONTENT_KEEP_DAYS, its content, served to nobody).
    edited_at = models.DateTimeField(_("edited"), null=True, blank=True)
    deleted_at = models.DateTimeField(_("deleted for everyone"), null=True, blank=True)
    # A reply to send later: status SCHEDULED until this time comes, then QUEUED.
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        constraints = [
            models.UniqueConstraint(fields=["connection", "wa_id"], name="tickets_message_unique_wa_id"),
        ]
        indexes = [
            models.Index(fields=["ticket", "created_at"], name="tickets_message_ticket_idx"),
            # An inbox row's ticks: the ticket's last message we sent, found without reading the others.
            models.Index(
                fields=["ticket", "-id"],
                condition=Q(from_me=True) & ~Q(kind__in=["note", "system"]),
                name="tickets_message_last_sent_idx",
            ),
            # The scheduled replies whose time has come, found without reading the others.
            models.Index(
                fields=["send_at"], condition=Q(status="scheduled"), name="tickets_message_scheduled_idx"
            ),
            # The reports' messages sent per agent in a period.
            models.Index(
                fields=["author", "created_at"],
                condition=Q(from_me=True, author__isnull=False) & ~Q(kind__in=["note", "system"]),
                name="tickets_message_sent_by_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.body[:60] or self.caption[:60] or self.filename or self.get_kind_display()

    def system_text(self) -> str:
        """A system line in the active language; a line stored without its event keeps its text."""
        return (self.event and system_line_text(self.event)) or self.body

    def preview(self) -> str:
        """The line the inbox shows for the ticket's last message."""
        return (self.body or self.caption or self.filename or f"[{self.kind}]")[:255]


class Milestone(models.Model):
    """One thing that happened to a ticket, as a manager counts it: written by the service that makes
    it happen (tickets/milestones.py), read by the reports without reading a message.

    ``queue`` is the ticket's queue at that moment (a transfer is a QUEUED milestone: the time
    between two belongs to the first queue); ``agent`` is who answered, closed, was assigned or
    was rated. ``seconds`` and ``business_seconds``: for FIRST_RESPONSE the wait since the
    customer's first message, for CLOSED the resolution time since it; the second counted in the
    queue's business hours (tickets/business_time.py)."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Ticket opened")
        REOPENED = "reopened", _("Ticket reopened")
        QUEUED = "queued", _("Entered a queue")
        ASSIGNED = "assigned", _("Assigned")
        FIRST_RESPONSE = "first_response", _("First response")
        CLOSED = "closed", _("Closed")
        SLA_BREACHED = "sla_breached", _("SLA breached")
        RATED = "rated", _("Rated")

    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="milestones", verbose_name=_("ticket")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind)
    at = models.DateTimeField(_("at"))
    # Copied from the ticket at that moment, so the reports filter without a join.
    connection = models.ForeignKey(
        "whatsapp.Connection", on_delete=models.CASCADE, related_name="+", verbose_name=_("connection")
    )
    queue = models.ForeignKey(
        Queue, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("queue")
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("agent"),
    )
    seconds = models.FloatField(_("wall-clock seconds"), null=True, blank=True)
    business_seconds = models.FloatField(_("business seconds"), null=True, blank=True)
    rating = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        indexes = [
            models.Index(fields=["kind", "at"], name="tickets_milestone_kind_at_idx"),
            models.Index(fields=["ticket", "kind"], name="tickets_milestone_ticket_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id} {self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class ChangeKind(models.TextChoices):
    """What can happen to a message after it was written, from either side."""

    EDIT = "edit", _("Edit")
    DELETE = "delete", _("Deletion")
    REACTION = "reaction", _("Reaction")


class MessageRevision(models.Model):
    """A text a message had before an edit replaced it: agents can read every earlier version."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="revisions", verbose_name=_("message")
    )
    body = models.TextField(_("text"), blank=True)
    replaced_at = models.DateTimeField(_("replaced"))

    class Meta:
        ordering = ["replaced_at", "id"]
        verbose_name = _("earlier version")
        verbose_name_plural = _("earlier versions")

    def __str__(self) -> str:
        return self.body[:60]


class Reaction(models.Model):
    """One party's reaction (one emoji) to a message; a new one replaces it, an empty one removes it.

    ``sender`` is the address of the customer who reacted (several in a group), empty for ours."""

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="reactions", verbose_name=_("message")
    )
    from_me = models.BooleanField(_("from us"), default=False)
    sender = models.CharField(_("sender"), max_length=64, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    emoji = models.CharField(_("emoji"), max_length=64)
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("reaction")
        verbose_name_plural = _("reactions")
        constraints = [
            models.UniqueConstraint(
                fields=["message", "from_me", "sender"], name="tickets_reaction_one_each"
            ),
        ]

    def __str__(self) -> str:
        return self.emoji


class MessageChange(models.Model):
    """An agent's reaction, edit or deletion of a message, kept until the session has made it on
    WhatsApp: durable like a queued reply (the bus only wakes the session)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="changes", verbose_name=_("message")
    )
    # The message's connection, copied so the session finds its queue through one index.
    connection = models.ForeignKey(
        "whatsapp.Connection", on_delete=models.CASCADE, related_name="+", verbose_name=_("connection")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ChangeKind)
    value = models.TextField(_("new text or emoji"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.QUEUED)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("change sent")
        verbose_name_plural = _("changes sent")
        indexes = [
            models.Index(
                fields=["connection", "id"], condition=Q(status="queued"), name="tickets_change_queued_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value[:40]}"


class EarlyChange(models.Model):
    """A customer's edit, deletion or reaction heard before the message it changes was stored:
    applied when that message arrives (``target`` is its id on the channel)."""

    connection = models.ForeignKey(
        "whatsapp.Connection", on_delete=models.CASCADE, related_name="+", verbose_name=_("connection")
    )
    target = models.CharField(_("message id"), max_length=128)
    kind = models.CharField(_("kind"), max_length=10, choices=ChangeKind)
    value = models.TextField(_("new text or emoji"), blank=True)
    sender = models.CharField(_("sender"), max_length=64, blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("change waiting for its message")
        verbose_name_plural = _("changes waiting for their message")
        indexes = [models.Index(fields=["connection", "target"], name="tickets_early_change_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.target}"


class QuickReply(models.Model):
    """A canned answer an agent inserts by typing ``/shortcut``."""

    shortcut = models.SlugField(_("shortcut"), max_length=50, unique=True)
    body = models.TextField(_("text"))

    class Meta:
        ordering = ["shortcut"]
        verbose_name = _("quick reply")
        verbose_name_plural = _("quick replies")

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class AuditReport(models.Model):
    """One run of the audit (tickets/audit/), scheduled or saved from the command: what admins read later."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Schedule")
        COMMAND = "command", _("Command")

    class Level(models.TextChoices):
        OK = "OK", _("OK")
        WARNING = "WARNING", _("Warning")
        CRITICAL = "CRITICAL", _("Critical")

    created_at = models.DateTimeField(_("when"), db_index=True)
    trigger = models.CharField(_("trigger"), max_length=10, choices=Trigger)
    status = models.CharField(_("status"), max_length=10, choices=Level)
    warnings = models.PositiveIntegerField(_("warnings"), default=0)
    criticals = models.PositiveIntegerField(_("critical findings"), default=0)
    open_tickets = models.PositiveIntegerField(_("open tickets"), default=0)
    pending_tickets = models.PositiveIntegerField(_("pending tickets"), default=0)
    stale_tickets = models.PositiveIntegerField(_("stale tickets"), default=0)
    closed_tickets = models.PositiveIntegerField(_("tickets closed"), default=0)
    data = models.JSONField(_("report (JSON)"))
    markdown = models.TextField(_("report (Markdown)"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("audit report")
        verbose_name_plural = _("audit reports")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.status}"
