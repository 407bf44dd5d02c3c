"""One audit's result and its three renderings: text for a terminal, Markdown to keep, JSON for machines."""

import json
from dataclasses import dataclass, field
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from markdown_it import MarkdownIt

from tickets.audit.checks import Level, Section


@dataclass
class Report:
    generated_at: datetime
    trigger: str
    sections: list[Section] = field(default_factory=list)

    @property
    def level(self) -> Level:
        return max((section.level for section in self.sections), default=Level.OK)

    def summary(self) -> dict:
        """The figures an AuditReport row keeps in columns of its own."""
        tickets = next((s.data for s in self.sections if s.key == "tickets"), {})
        return {
            "findings": {
                level.name: sum(1 for s in self.sections for f in s.findings if f.level == level)
                for level in (Level.WARNING, Level.CRITICAL)
            },
            "open": tickets.get("open", 0),
            "pending": tickets.get("pending", 0),
            "stale": tickets.get("stale", 0),
            "closed": tickets.get("closed", {}).get("closed", 0),
        }


def report_json(report: Report) -> str:
    document = {
        "status": report.level.name,
        "generated_at": report.generated_at,
        "trigger": report.trigger,
        "summary": report.summary(),
        "sections": [
            {
                "key": s.key,
                "title": s.title,
                "status": s.level.name,
                "evidence": s.evidence,
                "findings": [{"status": f.level.name, "text": f.text} for f in s.findings],
                "data": s.data,
            }
            for s in report.sections
        ],
    }
    return json.dumps(document, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)


def report_text(report: Report) -> str:
    lines = [
        _("Audit of %(when)s: %(status)s")
        % {"when": report.generated_at.isoformat(timespec="seconds"), "status": report.level.name}
    ]
    for section in report.sections:
        lines += ["", f"== {section.title}: {section.level.name} =="]
        lines += [f"  {line}" for line in section.evidence]
        lines += [f"  [{finding.level.name}] {finding.text}" for finding in section.findings]
    return "\n".join(lines) + "\n"


def report_markdown(report: Report) -> str:
    lines = [
        f"# {_('Audit')} — {report.level.name}",
        "",
        _("Generated %(when)s (%(trigger)s).")
        % {"when": report.generated_at.isoformat(timespec="seconds"), "trigger": report.trigger},
    ]
    for section in report.sections:
        lines += ["", f"## {section.title} — {section.level.name}", ""]
        lines += [f"- **{finding.level.name}**: {finding.text}" for finding in section.findings]
        lines += [f"- {line}" for line in section.evidence]
    return "\n".join(lines) + "\n"


# CommonMark with raw HTML off: a connection's name or an error text that looks like a tag (findings
# quote them) is shown as text, and links to javascript: and the like are not made (markdown-it's
# validateLink).
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def report_markdown_html(markdown: str) -> SafeString:
    """A stored report's Markdown as HTML for the Audits page: headings, lists, bold, not the raw text."""
    return mark_safe(_MARKDOWN.render(markdown))  # markdown-it escaped the text itself


RENDERERS = {"text": report_text, "markdown": report_markdown, "json": report_json}
