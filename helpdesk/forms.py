"""What a user may change about themselves."""

from django import forms
from django.conf import settings
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from helpdesk.models import UserPreferences


class PreferencesForm(forms.ModelForm):
    # Each language is named in itself: someone lost in a language they cannot read finds their own.
    language = forms.ChoiceField(
        label=_("Language"),
        choices=[
            ("", _("The browser's language")),
            *((code, get_language_info(code)["name_local"]) for code, _name in settings.LANGUAGES),
        ],
        required=False,
    )

    class Meta:
        model = UserPreferences
        fields = ["language", "notifications_muted", "signature"]
