from django.core.management.base import BaseCommand, CommandError

from salesdesk.accounts.models import User
from salesdesk.capture.files import FileError, capture_file

KINDS = ("mbox", "eml")


class Command(BaseCommand):
    help = (
        "Capture e-mail from files into the CRM, as the user's mailbox would: "
        "`salesdesk capture mbox FILE --user EMAIL` or `salesdesk capture eml FILE... --user "
        "EMAIL`. Capturing the same messages again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS, help="mbox archive or .eml message files")
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--user", metavar="EMAIL", required=True, help="whose mail it is")

    def handle(self, *args, kind: str, files: list[str], user: str, **options):
        person = User.objects.filter(email__iexact=user.strip(), is_active=True).first()
        if person is None:
            raise CommandError(f"No active user with the e-mail address {user}.")
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
