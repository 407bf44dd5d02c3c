"""Where the benchmarks' figures go: printed, and appended as table rows to var/bench/<file>.md."""

from pathlib import Path

from django.conf import settings

RESULTS = Path(settings.BASE_DIR) / "var" / "bench"  # a smoke run's own folder instead (conftest.py)


def report(what: str, *figures: object, to: str = "sessions.md") -> None:
    """One row, ``| what | figure | ... |``, printed and appended to ``RESULTS / to``."""
    line = f"| {what} | " + " | ".join(str(figure) for figure in figures) + " |"
    print(line)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with (RESULTS / to).open("a") as out:
        out.write(line + "\n")
