from django import forms
from django.utils.translation import gettext_lazy as _

from contacts.models import Contact
from tickets.services import phone_digits
from whatsapp.models import Connection


class ContactForm(forms.ModelForm):
    """What an agent may change of a contact: the name they go by and their email."""

    class Meta:
        model = Contact
        fields = ["name", "email"]


class ConversationForm(forms.Form):
    """Write first to a number: from which connection, to whom, and what (optional)."""

    connection = forms.ModelChoiceField(queryset=Connection.objects.order_by("name"), label=_("Connection"))
    phone = forms.CharField(
        label=_("Phone number"), max_length=40, help_text=_("With the country code, e.g. +55 11 98888-7777.")
    )
    body = forms.CharField(label=_("First message"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"]
        phone_digits(phone)  # the service parses it again; here it becomes the field's error
        return phone
