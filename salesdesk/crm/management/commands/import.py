"""`salesdesk import {companies,contacts,deals} FILE --user EMAIL [--dry-run] [--map COL=FIELD]`.

Exit status: 0 when every row was imported (or skipped), 1 when any row failed, 2 on bad usage
(unknown kind of record, missing or unreadable file, unknown user, a file that is not CSV).
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from salesdesk.core.errors import ApplicationError
from salesdesk.crm.management import USAGE, acting_user, check_entity
from salesdesk.crm.transfer import FAILED, MAX_BYTES, import_run


def read_file(path: str) -> bytes:
    file = Path(path)
    try:
        if file.stat().st_size > MAX_BYTES:
            raise CommandError(
                f"{path} is larger than {MAX_BYTES // (1024 * 1024)} MB; split it.",
                returncode=USAGE,
            )
        return file.read_bytes()
    except FileNotFoundError:
        raise CommandError(f"No such file: {path}", returncode=USAGE) from None
    except IsADirectoryError:
        raise CommandError(f"{path} is a directory, not a file.", returncode=USAGE) from None
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.", returncode=USAGE) from None


def _rows(count: int) -> str:
    return "1 row" if count == 1 else f"{count} rows"


class Command(BaseCommand):
    help = "Import companies, contacts or deals from a CSV file (see docs/import.md)."
    requires_system_checks = []  # a data command: its output is the report, nothing else

    def add_arguments(self, parser):
        parser.add_argument("entity", help="companies, contacts or deals")
        parser.add_argument("file", help="the CSV file")
        parser.add_argument("--user", required=True, help="e-mail address of the importing user")
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would happen; save nothing"
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help='map a column to a field ("E-Mail=email"); "COLUMN=" ignores it; repeatable',
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args, **options):
        entity = check_entity(options["entity"])
        data = read_file(options["file"])
        mapping = {}
        for item in options["map"]:
            column, separator, field = item.rpartition("=")
            if not separator or not column.strip():
                raise CommandError(
                    f"--map {item!r}: write it as COLUMN=FIELD, e.g. --map 'E-Mail=email'.",
                    returncode=USAGE,
                )
            mapping[column.strip()] = field.strip()
        actor = acting_user(options["user"])
        try:
            result = import_run(
                actor=actor,
                entity=entity,
                data=data,
                mapping=mapping or None,
                dry_run=options["dry_run"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message, returncode=USAGE) from None
        except Exception as exc:
            raise CommandError(
                f"The import stopped on an unexpected error, so nothing was imported: {exc!r}",
                returncode=1,
            ) from exc
        if options["format"] == "json":
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
        else:
            self._print(result, options["file"], options["verbosity"])
        failed = result.count(FAILED)
        if failed:
            raise CommandError(
                f"{_rows(failed)} would fail; nothing was saved (dry run)."
                if result.dry_run
                else f"{_rows(failed)} failed; the other rows were imported.",
                returncode=1,
            )

    def _print(self, result, path: str, verbosity: int) -> None:
        counts = result.as_dict()
        if result.dry_run:
            self.stdout.write("Dry run: nothing was saved.")
        self.stdout.write(
            f"{path}: {_rows(len(result.rows))}: {counts['created']} created, "
            f"{counts['updated']} updated, {counts['skipped']} skipped, {counts['failed']} failed."
        )
        for warning in result.warnings:
            self.stdout.write(f"Warning: {warning}")
        if result.columns_unmapped and verbosity >= 1:
            self.stdout.write(f"Columns not imported: {', '.join(result.columns_unmapped)}.")
        for row in result.rows:
            if row.action == FAILED:
                self.stdout.write(f"Line {row.line}: failed: {' '.join(row.errors)}")
            if verbosity >= 2:
                for warning in row.warnings:
                    self.stdout.write(f"Line {row.line}: warning: {warning}")
