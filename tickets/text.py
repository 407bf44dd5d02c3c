"""The light markup of a message's text, as WhatsApp writes it, and the agent's signature line.

``*bold*``, ``_italic_``, ``~strike~``, ```` ```monospace``` ```` and ```code```: a bubble shows
them formatted (``text_html``), a one-line preview without the marks (``text_plain``), as the
phone does. The text is the customer's, so hostile: the HTML is made from the *escaped* text,
and the only tags added are the five below, with no attributes. No mark is ever inside an
entity of the escaped text (``&lt;`` and its kind are letters, digits, ``&#;``), so a tag can
not split one.
"""

import re

from django.contrib.auth.models import User
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# A span between two marks: not starting or ending with a space, not across lines, the marks
# not glued to a word (``snake_case_name`` stays as it is).
STYLES = [
    (re.compile(rf"(?<![\w{mark}]){mark}(\S(?:[^{mark}\n]*\S)?){mark}(?![\w{mark}])"), tag)
    for mark, tag in ((r"\*", "strong"), ("_", "em"), ("~", "del"))
]
# Monospace (three backticks, across lines) and inline code (one): nothing is styled inside.
CODE = re.compile(r"```(.+?)```|`([^`\n]+)`", re.DOTALL)


def text_html(text: str) -> SafeString:
    """The text as a bubble's HTML: escaped, then formatted, lines kept."""
    parts, start = [], 0
    escaped = escape(text)
    for code in CODE.finditer(escaped):
        parts.append(_styled(escaped[start : code.start()]))
        parts.append(f"<code>{code.group(1) or code.group(2)}</code>")
        start = code.end()
    parts.append(_styled(escaped[start:]))
    return mark_safe("".join(parts).replace("\n", "<br>"))


def text_plain(text: str) -> str:
    """The text without its marks, for a preview (the template escapes it)."""
    text = CODE.sub(lambda code: code.group(1) or code.group(2), text)
    for pattern, _tag in STYLES:
        text = pattern.sub(r"\1", text)
    return text


def _styled(html: str) -> str:
    for pattern, tag in STYLES:
        html = pattern.sub(rf"<{tag}>\1</{tag}>", html)
    return html


def with_signature(*, body: str, by: User) -> str:
    """The body under the agent's name in bold, as Whaticket's users know it from the phone."""
    return f"{_signature(by)}{body}"


def without_signature(*, body: str, by: User) -> str:
    """The body without ``by``'s signature line: the bubble's header already names the agent.
    (Signed under a name the agent has changed since, the line stays: it is what the customer read.)"""
    return body.removeprefix(_signature(by))


def _signature(by: User) -> str:
    return f"*{by.get_full_name() or by.get_username()}:*\n"
