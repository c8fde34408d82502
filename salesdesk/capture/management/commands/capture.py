import datetime

from django.core.management.base import BaseCommand, CommandError

from salesdesk.accounts.models import User
from salesdesk.capture.files import FileError, capture_file
from salesdesk.capture.meetings import capture_ics_file, default_window

KINDS = ("mbox", "eml", "ics")


def _date(text: str) -> datetime.datetime:
    try:
        day = datetime.date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD).") from None
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


class Command(BaseCommand):
    help = (
        "Capture e-mail and meetings from files into the CRM, as the user's mailbox and "
        "calendar would: `salesdesk capture mbox FILE --user EMAIL`, `salesdesk capture eml "
        "FILE... --user EMAIL` or `salesdesk capture ics FILE... --user EMAIL [--from DATE --to "
        "DATE]`. Capturing the same messages or events again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "kind", choices=KINDS, help="mbox archive, .eml message files or .ics calendars"
        )
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--user", metavar="EMAIL", required=True, help="whose mail it is")
        parser.add_argument(
            "--from",
            dest="window_from",
            metavar="DATE",
            help="ics: first day of the meetings to capture (default: a year ago)",
        )
        parser.add_argument(
            "--to",
            dest="window_to",
            metavar="DATE",
            help="ics: the day after the last one (default: 90 days ahead)",
        )

    def handle(self, *args, kind: str, files: list[str], user: str, **options):
        person = User.objects.filter(email__iexact=user.strip(), is_active=True).first()
        if person is None:
            raise CommandError(f"No active user with the e-mail address {user}.")
        if kind == "ics":
            self._calendars(files, person, options.get("window_from"), options.get("window_to"))
            return
        verbosity = options.get("verbosity", 1)

        def progress(outcome):
            if verbosity >= 2:
                self.stdout.write(f"  {outcome.seen:,} messages read")

        for name in files:
            try:
                outcome = capture_file(name, user=person, kind=kind, progress=progress)
            except FileError as error:
                raise CommandError(str(error)) from None
            except OSError as error:
                raise CommandError(f"{name}: {error.strerror or error}") from None
            self.stdout.write(
                f"{name}: {outcome.seen:,} messages: {outcome.logged:,} logged, "
                f"{outcome.duplicates:,} already captured, {outcome.automated:,} automated, "
                f"{outcome.internal:,} internal, {outcome.skipped:,} skipped; "
                f"{outcome.contacts_created:,} contacts and {outcome.companies_created:,} "
                f"companies created, {outcome.suggested:,} suggested, "
                f"{outcome.fields_filled:,} fields filled from signatures"
            )
            for reason, count in sorted(outcome.skip_reasons.items()):
                self.stdout.write(f"  skipped {count:,}: {reason}")

    def _calendars(self, files: list[str], person: User, first: str | None, last: str | None):
        window_start, window_end = default_window()
        if first:
            window_start = _date(first)
        if last:
            window_end = _date(last)
        if window_start >= window_end:
            raise CommandError("--from must be before --to.")
        for name in files:
            try:
                outcome, problems = capture_ics_file(
                    name, user=person, window_start=window_start, window_end=window_end
                )
            except FileError as error:
                raise CommandError(str(error)) from None
            except OSError as error:
                raise CommandError(f"{name}: {error.strerror or error}") from None
            self.stdout.write(
                f"{name}: {outcome.seen:,} events from {window_start:%Y-%m-%d} to "
                f"{window_end:%Y-%m-%d}: {outcome.logged:,} meetings logged, "
                f"{outcome.updated:,} updated, {outcome.cancelled:,} cancellations "
                f"({outcome.removed:,} meetings removed), {outcome.unchanged:,} already "
                f"captured, {outcome.stale:,} older copies ignored, {outcome.internal:,} "
                f"internal; {outcome.contacts_created:,} contacts and "
                f"{outcome.companies_created:,} companies created, {outcome.suggested:,} suggested"
            )
            for problem in problems:
                self.stdout.write(f"  problem: {problem}")
