"""Icons: SVG from the ``lucide-static`` npm package, inlined where a template names one.

An emoji (📄, 📎) needs an emoji font, which many agents' machines lack: it drew an empty box.
An inline SVG draws the same everywhere, in the text's colour and size, and a page carries only
the icons it shows (no sprite, no font of 2,500 icons).
"""

import functools
import re

from django import template
from django.conf import settings
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

NAME = re.compile(r"[a-z0-9-]+")


@register.simple_tag
def icon(name: str) -> SafeString:
    """``{% icon "file-text" %}``: the icon, hidden from screen readers (the text beside it speaks)."""
    return _icon(name)


@functools.cache
def _icon(name: str) -> SafeString:
    if not NAME.fullmatch(name):
        raise ValueError(f"not an icon name: {name!r}")
    svg = (settings.ICONS_DIR / f"{name}.svg").read_text()  # its first line: lucide's license comment
    svg = svg.replace("<svg", '<svg aria-hidden="true" focusable="false"', 1)
    svg = svg.replace('class="lucide ', 'class="icon lucide ', 1)
    svg = re.sub(r'width="24"\s+height="24"', 'width="1em" height="1em"', svg, count=1)
    return mark_safe(" ".join(svg.split()))
