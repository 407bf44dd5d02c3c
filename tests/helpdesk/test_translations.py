"""Every text a person reads is marked for translation, and the Portuguese catalogue translates all of it."""

import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils import translation
from django.utils.translation.template import templatize

from tests.helpdesk.translation_checks import (
    project_files,
    untranslated_python_strings,
    untranslated_template_text,
)

BASE = Path(settings.BASE_DIR)
APPS = ["helpdesk", "contacts", "tickets", "whatsapp"]
CATALOGUE = BASE / "locale" / "pt_BR" / "LC_MESSAGES" / "django.po"
# Django's marking functions, as Babel's keyword specs (argument positions, "c" the context).
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdrfgi%]")


# -- (a) nothing a person reads is left unmarked -------------------------------------------------------
@pytest.mark.parametrize(
    "path", project_files(BASE, "*.html", ["templates"]), ids=lambda path: str(path.relative_to(BASE))
)
def test_templates_translate_every_text_a_person_reads(path):
    assert untranslated_template_text(path.read_text()) == []


@pytest.mark.parametrize(
    "path", project_files(BASE, "*.py", APPS), ids=lambda path: str(path.relative_to(BASE))
)
def test_python_marks_every_label_and_message_a_person_reads(path):
    assert untranslated_python_strings(path.read_text()) == []


@pytest.mark.parametrize(
    "source",
    [
        "<p>Hello</p>",
        '<input placeholder="Name">',
        '<img alt="{{ x }} photo">',
        '<div data-gone-text="The ticket left">',
        '{{ value|default:"No name" }}',
        "{% if a %}<b>Closed</b>{% endif %}",
        '<button title="Send">{% translate "Send" %}</button>',
    ],
)
def test_the_template_check_finds_unmarked_text(source):
    assert untranslated_template_text(source) != []


@pytest.mark.parametrize(
    "source",
    [
        '{% load i18n %}<p>{% translate "Hello" %}</p>',
        "<p>{% blocktranslate with n=x %}Hello {{ n }}{% endblocktranslate %}</p>",
        '<input type="hidden" name="tab" value="mine"><th>#</th> · 📄 {{ name }}',
        '<img alt="{{ name|default:_("image") }}"><code>manage.py audit</code>',
        "{# a comment #}{% comment %}Notes{% endcomment %}<script>const a = 'text';</script>",
        '<main class="{% block main_class %}wide{% endblock %}">',
    ],
)
def test_the_template_check_lets_marked_text_and_code_pass(source):
    assert untranslated_template_text(source) == []


@pytest.mark.parametrize(
    "source",
    [
        'name = models.CharField(verbose_name="name")',
        'name = models.CharField("x", help_text="Shown under the field")',
        "class Meta:\n    verbose_name = 'ticket'",
        'raise ApiError(404, "NOT_FOUND", "No such ticket.")',
        'raise ApiError(404, "NOT_FOUND", f"No ticket {pk}.")',
        'messages.error(request, "Could not save.")',
        'raise ValidationError("Enter a number.")',
        'message = "No browser runs."',
        "class Status(models.TextChoices):\n    OPEN = 'open', 'Open'",
        '@admin.display(description="Status")\ndef f(): pass',
        'await db(self.database.log)(f"Imported {n} messages that arrived while disconnected")',
        'await db(self.database.transition)(Status.STARTING, "Starting the browser")',
        'connection_transition(connection=c, to=Status.QR, message="Waiting for the QR code to be scanned")',
        'raise BlockedAddress(f"Refused: {host} is {address}, a private or reserved address")',
        'raise BrowserLaunchError("Chromium could not start")',
    ],
)
def test_the_python_check_finds_unmarked_strings(source):
    assert untranslated_python_strings(source) != []


@pytest.mark.parametrize(
    "source",
    [
        'name = models.CharField(_("name"), help_text=_("Shown under the field"))',
        'raise ApiError(404, "NOT_FOUND", gettext("No ticket %(id)s.") % {"id": pk})',
        'messages.error(request, _("Could not save."))',
        "class Status(models.TextChoices):\n    OPEN = 'open', _('Open')",
        'logger.error("The browser stopped")',  # a log line is for operators, in English
        'raise ValidationError("invalid", code="invalid")',  # a code, not prose
        'await db(self.database.log)(in_helpdesk_language(gettext_noop("Restart requested")))',
        'connection_transition(connection=c, to=Status.STOPPED, message="")',
        'logger.log(logging.INFO, "The browser stopped")',
    ],
)
def test_the_python_check_lets_marked_strings_and_codes_pass(source):
    assert untranslated_python_strings(source) == []


# -- (b) the catalogue has every marked string, each translated ----------------------------------------
def _marked_in(code: str) -> set[tuple[str | None, str | tuple]]:
    found = set()
    for _line, message, _comments, context in extract(
        "python", io.BytesIO(code.encode()), keywords=KEYWORDS, comment_tags=(), strip_comment_tags=True
    ):
        found.add((context, tuple(m for m in message if m) if isinstance(message, tuple) else message))
    return found


def marked_strings() -> set[tuple[str | None, str | tuple]]:
    """(context, msgid) of every string the code and templates mark, found as makemessages finds them:
    templates through Django's own templatize, then Babel's Python extractor."""
    found = set()
    for path in project_files(BASE, "*.py", APPS):
        found |= _marked_in(path.read_text())
    for path in project_files(BASE, "*.html", ["templates"]):
        # templatize keeps the template's indentation, which is no Python's; its strings are repr()s on one line.
        code = "\n".join(
            line.lstrip() for line in templatize(path.read_text(), origin=str(path)).splitlines()
        )
        found |= _marked_in(code)
    return found


def catalogue():
    with CATALOGUE.open("rb") as file:
        return read_po(file, locale="pt_BR")


def test_the_catalogue_has_every_marked_string():
    known = {(message.context, message.id) for message in catalogue() if message.id}
    missing = {(context, msgid) for context, msgid in marked_strings() if (context, msgid) not in known}

    assert missing == set(), "run `make messages` and translate the new entries (docs/operations.md)"


def test_every_entry_of_the_catalogue_is_translated_and_settled():
    untranslated = [
        message.id
        for message in catalogue()
        if message.id
        and (
            message.fuzzy
            or not all(message.string if isinstance(message.string, tuple) else [message.string])
        )
    ]

    assert untranslated == []


def test_translations_keep_the_placeholders_of_their_original():
    """A translation that drops or renames %(agent)s raises KeyError where the line is written."""
    differing = []
    for message in catalogue():
        if not message.id:
            continue
        originals = message.id if isinstance(message.id, tuple) else (message.id,)
        translations = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = sorted(PLACEHOLDER.findall(originals[-1]))
        differing += [
            (message.id, text) for text in translations if sorted(PLACEHOLDER.findall(text)) != wanted
        ]

    assert differing == []


def test_the_compiled_catalogue_is_the_one_django_reads():
    """`make` compiles the .po (locale/…/django.mo): without it every page would stay in English."""
    with translation.override("pt-br"):
        assert translation.gettext("Inbox") == "Caixa de entrada"
        assert translation.pgettext("when a ticket was closed", "Closed") == "Encerrado em"
