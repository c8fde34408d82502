"""`salesdesk export {companies,contacts,deals} --user EMAIL [-o FILE]`: CSV of what they see."""

from django.core.management.base import BaseCommand, CommandError

from salesdesk.crm.management import USAGE, acting_user, check_entity
from salesdesk.crm.transfer import export_csv


class Command(BaseCommand):
    help = "Export the companies, contacts or deals a user can see as CSV (stdout or a file)."
    requires_system_checks = []  # stdout is the CSV: nothing else may be written there

    def add_arguments(self, parser):
        parser.add_argument("entity", help="companies, contacts or deals")
        parser.add_argument("--user", required=True, help="e-mail address; exports what they see")
        parser.add_argument("-o", "--output", help="write to this file instead of stdout")

    def handle(self, *args, **options):
        entity = check_entity(options["entity"])
        actor = acting_user(options["user"])
        chunks = export_csv(actor=actor, entity=entity)
        if not options["output"]:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
            return
        try:
            with open(options["output"], "w", newline="", encoding="utf-8") as file:
                file.writelines(chunks)
        except OSError as exc:
            raise CommandError(
                f"Cannot write {options['output']}: {exc.strerror}.", returncode=USAGE
            ) from None
        self.stdout.write(f"Exported {entity} to {options['output']}.")
