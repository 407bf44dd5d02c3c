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
# Elements whose text is code or a command to type, the same in every language.
VERBATIM = {"script", "style", "code", "pre", "kbd"}


def _template_as_html(source: str) -> str:
    """The template with every tag and variable replaced: what is left is the literal text it writes."""
    html, skipping = [], None
    for token in Lexer(source).tokenize():
        content = token.contents.split(" ", 1)[0] if token.token_type == TokenType.BLOCK else ""
        if skipping:
            if content == skipping:
                skipping = None
            continue
        if token.token_type == TokenType.TEXT:
            html.append(token.contents)
        elif token.token_type == TokenType.VAR or content in {"translate", "trans"}:
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
    parser = _VisibleText()
    parser.feed(_template_as_html(source))
    parser.close()
    return parser.found


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
LABEL_ATTRIBUTES = {
    "verbose_name",
    "verbose_name_plural",
    "short_description",
    "empty_value_display",
    "message",
    "error",
    "label",
    "line",
}
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
# A machine-read code ("NOT_FOUND", "invalid") is not prose: upper-case words, or one lower-case word.
CODE = re.compile(r"^([A-Z][A-Z0-9_]*|[a-z_]+)$")
MESSAGE_RECEIVERS = {"messages", "self", "modeladmin", "admin"}


def _is_prose(node: ast.AST) -> bool:
    if isinstance(node, ast.JoinedStr):
        return True  # an f-string can never be looked up in a catalogue
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and bool(WORDS.search(node.value))
        and not CODE.match(node.value)
    )


def _call_name(call: ast.Call) -> tuple[str, str]:
    """(receiver, name) of a call: ``messages.error(...)`` is ("messages", "error")."""
    if isinstance(call.func, ast.Attribute):
        receiver = call.func.value.id if isinstance(call.func.value, ast.Name) else ""
        return receiver, call.func.attr
    if isinstance(call.func, ast.Name):
        return "", call.func.id
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
        candidates: list[ast.AST] = []
        if isinstance(node, ast.Call):
            receiver, name = _call_name(node)
            candidates += [kw.value for kw in node.keywords if kw.arg in LABEL_KEYWORDS]
            bare_helper = name in {"success", "info", "warning", "error", "add_message"}
            if name in MESSAGE_CALLS and (not bare_helper or receiver in MESSAGE_RECEIVERS):
                candidates += node.args
                candidates += [kw.value for kw in node.keywords if kw.arg in {"message", "detail"}]
        elif isinstance(node, ast.Assign):
            if any(isinstance(t, (ast.Name, ast.Attribute)) for t in node.targets) and any(
                getattr(t, "id", getattr(t, "attr", None)) in LABEL_ATTRIBUTES for t in node.targets
            ):
                candidates.append(node.value)
        elif isinstance(node, ast.ClassDef):
            candidates += _choices_labels(node)
        found += [(c.lineno, ast.unparse(c)) for c in candidates if _is_prose(c)]
    return found


def project_files(base: Path, pattern: str, folders: list[str]) -> list[Path]:
    return sorted(
        path
        for folder in folders
        for path in (base / folder).rglob(pattern)
        if "migrations" not in path.parts and "simulator" not in path.parts
    )
