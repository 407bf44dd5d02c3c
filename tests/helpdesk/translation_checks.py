"""Finds user-visible text that is not marked for translation, in templates and in Python.

Used by test_translations.py; kept apart so its own tests can feed it bad samples.
"""

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

from django.template.base import Lexer, TokenType

# Text a person reads: at least one letter. Numbers, punctuation, arrows and emoji need no translation.
WORDS = re.compile(r"[^\W\d_]", re.UNICODE)
# Attributes whose value is read or heard by a person.
VISIBLE_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "hx-confirm", "value"}
# Inputs whose value attribute is data, not a label.
DATA_INPUTS = {"hidden", "checkbox", "radio", "text", "search", "email", "number", "tel", "url", "password"}
# Stand-in for what the template engine writes (a variable, a translated string): it has no letters.
FILLED = "\x00"
# Words in a data attribute or a template literal: a sentence for scripts to show (data-gone-text="...").
PHRASE = re.compile(r"[^\W\d_]+\s+[^\W\d_]+")
# A quoted literal in a variable tag that is not inside _(): {{ value|default:"No name" }}.
VAR_LITERAL = re.compile(r"""(?<!_\()(["'])(.*?)\1""")
# Elements whose text is code or a command to type, the same in every language.
VERBATIM = {"script", "style", "code", "pre", "kbd"}


def _template_as_html(source: str, literals: list[str]) -> str:
    """The template with every tag and variable replaced: what is left is the literal text it writes.
    Prose in a variable tag's literals goes to ``literals``."""
    html, skipping = [], None
    for token in Lexer(source).tokenize():
        content = token.contents.split(" ", 1)[0] if token.token_type == TokenType.BLOCK else ""
        if skipping:
            if content == skipping:
                skipping = None
            continue
        if token.token_type == TokenType.TEXT:
            html.append(token.contents)
        elif token.token_type == TokenType.VAR:
            html.append(FILLED)
            literals += [text for _quote, text in VAR_LITERAL.findall(token.contents) if PHRASE.search(text)]
        elif content in {"translate", "trans"}:
            html.append(FILLED)
        elif content in {"blocktranslate", "blocktrans"}:
            html.append(FILLED)
            skipping = "end" + content
        elif content == "comment":
            skipping = "endcomment"
        elif content == "block" and token.contents.endswith("_class"):
            skipping = "endblock"  # a block filling a class attribute: CSS names, not words
    return "".join(html)


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in VERBATIM:
            self.hidden_depth += 1
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("data-") and value and PHRASE.search(value):
                self.found.append(f'{tag} {name}="{value}"')
            if name not in VISIBLE_ATTRIBUTES or not value:
                continue
            if name == "value" and (tag != "input" or values.get("type", "text") in DATA_INPUTS):
                continue
            if WORDS.search(value):
                self.found.append(f'{tag} {name}="{value}"')

    def handle_endtag(self, tag: str) -> None:
        if tag in VERBATIM:
            self.hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden_depth and WORDS.search(data):
            self.found.append(data.strip())


def untranslated_template_text(source: str) -> list[str]:
    """The pieces of literal text a template shows (text and visible attributes) outside translation tags."""
    literals: list[str] = []
    parser = _VisibleText()
    parser.feed(_template_as_html(source, literals))
    parser.close()
    return parser.found + literals


# -- Python ------------------------------------------------------------------------------------------
# Keyword arguments that reach a person: model, form and admin labels.
LABEL_KEYWORDS = {
    "verbose_name",
    "verbose_name_plural",
    "help_text",
    "label",
    "empty_label",
    "description",
    "empty_value_display",
}
# Class attributes that do the same.
LABEL_ATTRIBUTES = {"verbose_name", "verbose_name_plural", "short_description", "empty_value_display"}
# Variables that hold a message before it is raised or shown: ``message = "..."; raise ApiError(..., message)``.
MESSAGE_VARIABLES = {"message", "error", "label", "line", "reason"}
# Calls whose string arguments are shown: errors, flash messages, responses.
MESSAGE_CALLS = {
    "ApiError",
    "ValidationError",
    "PermissionDenied",
    "Http404",
    "HttpError",
    "HttpResponseBadRequest",
    "HttpResponseForbidden",
    "HttpResponseNotFound",
    "message_user",
    "success",
    "info",
    "warning",
    "error",
    "add_message",
    "_error",
}
# Calls that write a record every admin reads (a line of a connection's log, its last error, a refused
# webhook target, why a file was not downloaded): their text is marked, and written in LANGUAGE_CODE.
RECORD_CALLS = {
    "connection_log",
    "connection_transition",
    "_fenced_transition",
    "log",
    "transition",
    "BlockedAddress",
    "BrowserLaunchError",
    "download_failed",
}
RECORD_KEYWORDS = {"message", "last_error"}
LOGGERS = {"logger", "logging"}
# A machine-read code ("NOT_FOUND", "invalid") is not prose: upper-case words, or one lower-case word.
CODE = re.compile(r"^([A-Z][A-Z0-9_]*|[a-z_]+)$")
# Fields whose first argument is the related model, not a label.
RELATION_FIELDS = {"ForeignKey", "OneToOneField", "ManyToManyField"}
MESSAGE_RECEIVERS = {"messages", "self", "modeladmin", "admin"}


def _is_text(node: ast.AST) -> bool:
    if isinstance(node, ast.JoinedStr):
        return True  # an f-string can never be looked up in a catalogue
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(WORDS.search(node.value))


def _is_message(node: ast.AST) -> bool:
    return _is_text(node) and not (isinstance(node, ast.Constant) and CODE.match(node.value))


def _call_name(call: ast.Call) -> tuple[str, str]:
    """(receiver, name) of a call: ``messages.error(...)`` is ("messages", "error"). A wrapped
    function's call is named by the function: ``db(self.database.log)(...)`` is ("", "log")."""
    function = call.func
    if isinstance(function, ast.Call) and function.args:
        function = function.args[0]
    if isinstance(function, ast.Attribute):
        receiver = function.value.id if isinstance(function.value, ast.Name) else ""
        return receiver, function.attr
    if isinstance(function, ast.Name):
        return "", function.id
    return "", ""


def _choices_labels(node: ast.ClassDef) -> list[ast.AST]:
    """Labels of a ``TextChoices`` / ``IntegerChoices`` class: ``OPEN = "open", "Open"``."""
    bases = {base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "") for base in node.bases}
    if not bases & {"TextChoices", "IntegerChoices", "Choices"}:
        return []
    return [
        statement.value.elts[-1]
        for statement in node.body
        if isinstance(statement, ast.Assign)
        and isinstance(statement.value, ast.Tuple)
        and len(statement.value.elts) > 1
    ]


def untranslated_python_strings(source: str) -> list[tuple[int, str]]:
    """(line, text) of bare string literals passed where a person reads them."""
    found = []
    for node in ast.walk(ast.parse(source)):
        labels: list[ast.AST] = []  # any text is prose here, "name" too
        messages: list[ast.AST] = []  # here an error code ("NOT_FOUND", "invalid") is not
        if isinstance(node, ast.Call):
            receiver, name = _call_name(node)
            # A Pydantic Field's description is the OpenAPI schema's, which stays English (docs/decisions.md).
            labels += [
                kw.value
                for kw in node.keywords
                if kw.arg in LABEL_KEYWORDS and not (name == "Field" and kw.arg == "description")
            ]
            if name.endswith("Field") and name not in RELATION_FIELDS and node.args:
                labels.append(node.args[0])  # a model field's verbose name, given first
            bare_helper = name in {"success", "info", "warning", "error", "add_message"}
            if name in MESSAGE_CALLS and (not bare_helper or receiver in MESSAGE_RECEIVERS):
                messages += node.args
                messages += [kw.value for kw in node.keywords if kw.arg in {"message", "detail"}]
            if name in RECORD_CALLS and receiver not in LOGGERS:
                messages += node.args
                messages += [kw.value for kw in node.keywords if kw.arg in RECORD_KEYWORDS]
        elif isinstance(node, ast.Assign):
            names = {getattr(target, "id", getattr(target, "attr", None)) for target in node.targets}
            if names & LABEL_ATTRIBUTES:
                labels.append(node.value)
            if names & MESSAGE_VARIABLES:
                messages.append(node.value)
        elif isinstance(node, ast.ClassDef):
            labels += _choices_labels(node)
        found += [(c.lineno, ast.unparse(c)) for c in labels if _is_text(c)]
        found += [(c.lineno, ast.unparse(c)) for c in messages if _is_message(c)]
    return found


def project_files(base: Path, pattern: str, folders: list[str]) -> list[Path]:
    return sorted(
        path
        for folder in folders
        for path in (base / folder).rglob(pattern)
        if "migrations" not in path.parts and "simulator" not in path.parts
    )
