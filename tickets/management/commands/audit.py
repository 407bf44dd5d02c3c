"""``manage.py audit``: the audit as a report on the terminal; exit 0 all OK, 1 warnings, 2 critical."""

import os
import sys
from argparse import BooleanOptionalAction
from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from tickets.audit.report import RENDERERS
from tickets.audit.service import audit_policy, audit_run, audit_save
from tickets.models import AuditReport

USAGE_ERROR = 2  # a wrong option or date: the same status as critical, so cron notices


class AuditError(CommandError):
    """A wrong option or value: one line on stderr, exit status 2."""

    def __init__(self, message: str) -> None:
        super().__init__(message, returncode=USAGE_ERROR)


def _refuse(message: str):
    """argparse would print the usage and exit; the audit says one line and exits 2 (see ``run_from_argv``)."""
    raise AuditError(message)


# --keep-since within these: no message is older than 1970, and far from datetime's own ends, which
# a time zone's offset crosses when the date is stored or shown (OverflowError, after the closing).
KEEP_SINCE_RANGE = (datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))


def parse_when(value: str) -> datetime:
    """An ISO date or date-time; a naive one is in TIME_ZONE."""
    parsed = parse_datetime(value)
    if parsed is None and (day := parse_date(value)) is not None:
        parsed = datetime(day.year, day.month, day.day)
    if parsed is None:
        raise ValueError(value)
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def keep_since_checked(value: str) -> datetime:
    """The date, or the error that names what is wrong with it."""
    try:
        when = parse_when(value)
    except ValueError:
        raise AuditError(_("--keep-since: not a date or date-time: %(value)s") % {"value": value}) from None
    earliest, latest = KEEP_SINCE_RANGE
    if not earliest <= when < latest:
        raise AuditError(
            _("--keep-since: %(value)s is out of range: give a date from %(earliest)s to before %(latest)s")
            % {"value": value, "earliest": earliest.date(), "latest": latest.date()}
        )
    return when


def output_checked(value: str) -> Path:
    """The report's file, known writable before the audit closes anything."""
    path = Path(value)
    folder = path.parent
    if path.is_dir():
        raise AuditError(_("--output: %(path)s is a folder; name a file") % {"path": value})
    if not folder.is_dir():
        raise AuditError(_("--output: the folder %(folder)s does not exist") % {"folder": folder})
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise AuditError(_("--output: %(path)s cannot be written") % {"path": value})
    return path


class Command(BaseCommand):
    help = "Check the WhatsApp connections, workers and browser, and report (or close) stale tickets."
    exit_status = 0  # the report's worst level, once handled

    def create_parser(self, prog_name: str, subcommand: str, **kwargs) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # argparse's only hook for its errors is this method, and Django builds the parser: replaced
        # on the instance, which mypy refuses for any method.
        parser.error = _refuse  # type: ignore[method-assign]
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--format", choices=sorted(RENDERERS), default="text", help="text, markdown or json"
        )
        parser.add_argument(
            "--output", metavar="FILE", help="write the report to FILE instead of the terminal"
        )
        parser.add_argument("--fix", action="store_true", help="restart the flagged connections")
        parser.add_argument(
            "--prune-profiles",
            action="store_true",
            help="remove browser profiles no connection owns and no browser uses",
        )
        parser.add_argument("--close-stale", action="store_true", help="close the stale tickets")
        parser.add_argument(
            "--keep-since",
            metavar="DATETIME",
            help="stale: every ticket whose last message is older (ISO date or time)",
        )
        parser.add_argument(
            "--ignore-waiting",
            action=BooleanOptionalAction,
            default=None,
            help="keep tickets whose last message is the customer's",
        )
        parser.add_argument(
            "--farewell", action="store_true", help="send the farewell to closed tickets' customers"
        )
        parser.add_argument("--save", action="store_true", help="keep the report as an AuditReport")
        parser.add_argument("--no-browser", action="store_true", help="skip the browser launch check")
        parser.add_argument("--batch-size", type=int, default=2000, help="tickets closed per transaction")

    def run_from_argv(self, argv: list[str]) -> None:
        """Exit with the report's status; a wrong option is one line on stderr and status 2, not a usage dump."""
        try:
            super().run_from_argv(argv)
        except AuditError as error:  # raised while parsing, before Django's own handling of CommandError
            self.stderr.write(f"AuditError: {error}")
            sys.exit(error.returncode)
        sys.exit(self.exit_status)

    def handle(self, *args, **options) -> None:
        """Every option is checked before anything is done: a wrong one closes nothing."""
        keep_since = keep_since_checked(options["keep_since"]) if options["keep_since"] else None
        output = output_checked(options["output"]) if options["output"] else None
        if options["batch_size"] < 1:
            raise AuditError(_("--batch-size must be at least 1"))
        policy = audit_policy(
            keep_since=keep_since,
            ignore_waiting=options["ignore_waiting"],
            close=options["close_stale"],
            farewell=options["farewell"],
        )
        report = audit_run(
            policy=policy,
            trigger=AuditReport.Trigger.COMMAND,
            fix=options["fix"],
            prune_profiles=options["prune_profiles"],
            browser=not options["no_browser"],
            batch_size=options["batch_size"],
        )
        if options["save"]:
            audit_save(report=report)
        rendered = RENDERERS[options["format"]](report)
        if output:
            output.write_text(rendered, encoding="utf-8")
        else:
            self.stdout.write(rendered, ending="")
        self.exit_status = int(report.level)
