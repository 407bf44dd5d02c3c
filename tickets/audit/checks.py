"""What every section of the audit is made of: evidence lines and findings, each finding with a level."""

from dataclasses import dataclass, field
from enum import IntEnum


class Level(IntEnum):
    """A finding's weight; the report's worst level is the command's exit status (0, 1, 2)."""

    OK = 0
    WARNING = 1
    CRITICAL = 2


@dataclass
class Finding:
    level: Level
    text: str


@dataclass
class Section:
    key: str
    title: str
    evidence: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    data: dict = field(default_factory=dict)

    @property
    def level(self) -> Level:
        return max((finding.level for finding in self.findings), default=Level.OK)

    def flag(self, level: Level, text: str) -> None:
        self.findings.append(Finding(level, text))


def mib(size: int | None) -> str:
    return "?" if size is None else f"{size / 2**20:.0f} MiB"


def duration(seconds: float) -> str:
    """A human length of time: 45 s, 12 min, 26 h, 3 d."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"
