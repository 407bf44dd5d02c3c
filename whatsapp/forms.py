from django import forms
from django.core.validators import URLValidator
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from contacts.models import phone_validator
from helpdesk.languages import in_helpdesk_language
from whatsapp.models import Connection
from whatsapp.webhooks import BlockedAddress, check_address, webhook_secret_new


def connection_defaults() -> dict:
    """What a new connection's form starts with: a greeting and a farewell in the helpdesk's language
    (LANGUAGE_CODE, the one its customers are written to), whoever adds it, for them to edit or empty."""
    return {
        "greeting": in_helpdesk_language(
            gettext_noop("Hello, {{name}}! Thank you for your message. An agent will answer you shortly.")
        ),
        "farewell": in_helpdesk_language(
            gettext_noop("Thank you for talking to us, {{name}}! Your ticket number is {{protocol}}.")
        ),
    }


class WebhookSecretFields(forms.ModelForm):
    """The webhook secret, write-only: never rendered back, kept when left blank, generated when a
    webhook has none (an empty key signs with nothing) or when a new one is asked for. A generated
    secret is ``new_secret`` after validation: the page shows it once, nothing stores it elsewhere."""

    webhook_secret = forms.CharField(
        label=_("webhook secret"),
        required=False,
        max_length=200,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Left blank: the current secret is kept (one is generated for a new webhook). "
            "A generated secret is shown once."
        ),
    )
    rotate_webhook_secret = forms.BooleanField(
        label=_("Generate a new webhook secret"),
        required=False,
        help_text=_("The old one stops working at once: give the new one to the receiver."),
    )
    new_secret = ""

    def clean(self):
        data = super().clean()
        rotate = data.pop("rotate_webhook_secret", False)  # an order, not a field of the connection
        if data.get("webhook_secret"):
            return data
        if rotate or (data.get("webhook_url") and not self.instance.webhook_secret):
            self.new_secret = data["webhook_secret"] = webhook_secret_new()
        else:
            data["webhook_secret"] = self.instance.webhook_secret
        return data


class ConnectionForm(WebhookSecretFields):
    webhook_url = forms.URLField(
        label=_("webhook URL"),
        required=False,
        max_length=500,
        assume_scheme="https",
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("Events are POSTed here, signed with the secret (docs/webhooks.md)."),
    )

    class Meta:
        model = Connection
        fields = [
            "name",
            "is_default",
            "queues",
            "greeting",
            "farewell",
            "csat_enabled",
            "csat_question",
            "webhook_url",
            "webhook_secret",
        ]
        widgets = {"queues": forms.CheckboxSelectMultiple}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is None:
            self.initial = {**connection_defaults(), **self.initial}
        queues = self.fields.get("queues")
        if queues is not None and not queues.queryset.exists():  # type: ignore[attr-defined]
            queues.help_text = format_html(
                gettext(
                    'There is no queue yet: <a href="{url}">add one in the admin</a>, then tick it here or '
                    "later in this connection's settings. Until then its tickets wait for any agent."
                ),
                url=reverse("admin:tickets_queue_add"),
            )

    def clean_webhook_url(self) -> str:
        """Refuse private, loopback, link-local and reserved targets when saved, not only at delivery.
        A name that does not resolve now is accepted: delivery checks it again before connecting."""
        url = self.cleaned_data["webhook_url"]
        if url:
            try:
                check_address(url)
            except BlockedAddress as refused:
                raise forms.ValidationError(str(refused)) from None
            except OSError:
                pass
        return url


class PairingCodeForm(forms.Form):
    phone = forms.CharField(
        label=_("Phone number"),
        validators=[phone_validator],
        help_text=_("The number of the phone that will be linked, with country code: 5511999990001."),
    )


class WebhookForm(ConnectionForm):
    class Meta(ConnectionForm.Meta):
        fields = ["webhook_url", "webhook_secret"]
