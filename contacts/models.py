from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from helpdesk.phones import phone_display

phone_validator = RegexValidator(
    r"^\d{6,15}$", _("Enter the number in E.164 digits, without + or spaces, e.g. 5511999990001.")
)


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)
    color = models.CharField(_("color"), max_length=7, default="#64748b")

    class Meta:
        ordering = ["name"]
        verbose_name = _("tag")
        verbose_name_plural = _("tags")

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """A person or group that writes to one of the company's WhatsApp numbers."""

    wa_id = models.CharField(
        _("WhatsApp id"), max_length=64, unique=True, help_text=_("For example 5511999990001@c.us.")
    )
    # Another id the channel knows the same person by (WhatsApp's LID, ``<digits>@lid``, when
    # ``wa_id`` is the phone's): a message from either finds this contact. Replies go to ``wa_id``.
    alias = models.CharField(
        _("other id"),
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        help_text=_("For example 123456789012345@lid."),
    )
    phone = models.CharField(_("phone"), max_length=15, blank=True, validators=[phone_validator])
    name = models.CharField(_("name"), max_length=200, blank=True)
    push_name = models.CharField(
        _("WhatsApp name"), max_length=200, blank=True, help_text=_("The name the contact set in WhatsApp.")
    )
    email = models.EmailField(_("email"), blank=True)
    avatar_url = models.URLField(_("profile picture"), max_length=1000, blank=True)
    avatar_fetched_at = models.DateTimeField(
        _("profile picture checked"), null=True, blank=True, editable=False
    )
    is_group = models.BooleanField(_("group"), default=False)
    blocked = models.BooleanField(_("blocked"), default=False)
    notes = models.TextField(_("notes"), blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts", verbose_name=_("tags"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name", "phone"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or self.push_name or phone_display(self.phone) or self.wa_id


class ContactField(models.Model):
    """A custom field of a contact (CPF, company, plan...): free key/value pairs."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="custom_fields")
    key = models.CharField(_("field"), max_length=100)
    value = models.TextField(_("value"), blank=True)

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["contact", "key"], name="contacts_field_unique_key")]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")

    def __str__(self) -> str:
        return f"{self.key}: {self.value}"


class ContactMerge(models.Model):
    """The audit line of a merge (tickets/merging.py): who joined which two contacts of one person,
    with the merged contact as it was, since its row is gone."""

    at = models.DateTimeField(_("when"), auto_now_add=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("merged by"),
    )
    by_name = models.CharField(_("merged by (name)"), max_length=150, blank=True)
    kept = models.ForeignKey(
        Contact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merges",
        verbose_name=_("contact kept"),
    )
    kept_wa_id = models.CharField(_("kept contact's WhatsApp id"), max_length=64)
    merged_id = models.PositiveBigIntegerField(_("merged contact's id"))
    merged_wa_id = models.CharField(_("merged contact's WhatsApp id"), max_length=64)
    merged_alias = models.CharField(_("merged contact's other id"), max_length=64, blank=True)
    merged_phone = models.CharField(_("merged contact's phone"), max_length=15, blank=True)
    merged_name = models.CharField(_("merged contact's name"), max_length=200, blank=True)
    tickets = models.JSONField(_("tickets moved"), default=list)
    closed_tickets = models.JSONField(_("tickets closed"), default=list)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("contact merge")
        verbose_name_plural = _("contact merges")

    def __str__(self) -> str:
        return f"{self.merged_wa_id} → {self.kept_wa_id}"
