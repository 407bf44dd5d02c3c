from django import forms

from contacts.models import Contact


class ContactForm(forms.ModelForm):
    """What an agent may change of a contact: the name they go by and their email."""

    class Meta:
        model = Contact
        fields = ["name", "email"]
