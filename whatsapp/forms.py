from django import forms
from django.core.validators import URLValidator
from django.utils.translation import gettext_lazy as _

from contacts.models import phone_validator
from whatsapp.models import Connection


class ConnectionForm(forms.ModelForm):
    webhook_url = forms.URLField(
        label=_("webhook URL"), required=False, max_length=500, assume_scheme="https",
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("Events are POSTed here, signed with the secret (docs/webhooks.md)."),
    )  # fmt: skip

    class Meta:
        model = Connection
        fields = ["name", "is_default", "queues", "greeting", "farewell", "webhook_url", "webhook_secret"]
        widgets = {"webhook_secret": forms.PasswordInput(render_value=True)}


class PairingCodeForm(forms.Form):
    phone = forms.CharField(
        label=_("Phone number"), validators=[phone_validator],
        help_text=_("The number of the phone that will be linked, with country code: 5511999990001."),
    )  # fmt: skip


class WebhookForm(ConnectionForm):
    class Meta(ConnectionForm.Meta):
        fields = ["webhook_url", "webhook_secret"]
