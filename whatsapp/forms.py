from django import forms
from django.utils.translation import gettext_lazy as _

from contacts.models import phone_validator
from whatsapp.models import Connection


class ConnectionForm(forms.ModelForm):
    webhook_url = forms.URLField(label=_("webhook URL"), required=False, max_length=500, assume_scheme="https")

    class Meta:
        model = Connection
        fields = ["name", "is_default", "queues", "greeting", "farewell", "webhook_url", "webhook_secret"]
        widgets = {"webhook_secret": forms.PasswordInput(render_value=True)}


class PairingCodeForm(forms.Form):
    phone = forms.CharField(
        label=_("Phone number"), validators=[phone_validator],
        help_text=_("The number of the phone that will be linked, with country code: 5511999990001."),
    )  # fmt: skip
