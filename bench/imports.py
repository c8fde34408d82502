"""The CSV import: seconds and rows per second for a contacts file, then a deals file.

    .venv/bin/python bench/imports.py [--rows 10000]

DATABASE_URL selects the database (default: the SQLite database in the var directory; a
freshly migrated one is enough). The two files are the ones the import tests use: contacts
with company, phone, tag and owner; then deals with company, contact, stage, amount and date,
each row naming a contact of the first file. Both go through `import_run` (the real run, not
the dry run), as an admin, one after the other, inside one transaction that is rolled back at
the end: the admin, the owner and the pipeline the files need are created in it too, so the
database is left as it was.
"""

import argparse
import os
import platform
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesdesk.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402

from salesdesk.accounts.models import Role, User  # noqa: E402
from salesdesk.crm.models import Contact  # noqa: E402
from salesdesk.crm.transfer import import_run  # noqa: E402
from salesdesk.pipeline.models import Deal, Pipeline, Stage  # noqa: E402

ADMIN = "imports-admin@bench.example"
OWNER = "imports-owner@bench.example"
PIPELINE = "Imports bench"
STAGES = ["Lead", "Qualified", "Proposal", "Negotiation"]  # the tests' pipeline


def contacts_file(rows: int, owner: str) -> bytes:
    """As in tests/crm/test_import.py: 700 e-mail domains, 500 companies, one tag, one owner."""
    return (
        "First Name,Last Name,Email,Phone,Company,Owner,Tags\n"
        + "".join(
            f"First{i},Last{i},person{i}@example{i % 700}.com,+49 30 {i:07d},Company {i % 500},"
            f"{owner},vip\n"
            for i in range(rows)
        )
    ).encode()


def deals_file(rows: int, owner: str) -> bytes:
    """As in the tests: five stages (two of them closing ones), each deal linked to a contact."""
    stages = ["Lead", "Qualified", "Proposal", "Closed Won", "Closed Lost"]
    return (
        "Deal Name,Amount,Stage,Company,Owner,Close Date,Contacts\n"
        + "".join(
            f'Deal {i},"{i:,}.50",{stages[i % 5]},Company {i % 500},{owner},'
            f"2024-05-{i % 28 + 1:02d},First{i} Last{i}\n"
            for i in range(rows)
        )
    ).encode()


def prepare() -> User:
    """The admin who imports, the owner the files name and a default pipeline with the stages
    the deals file names; only ever called inside the rolled-back transaction."""
    admin = User.objects.create(email=ADMIN, full_name="Imports Bench Admin", role=Role.ADMIN)
    User.objects.create(email=OWNER, full_name="Imports Bench Owner", role=Role.REP)
    Pipeline.objects.filter(is_default=True).update(is_default=False)
    pipeline = Pipeline.objects.create(name=PIPELINE, is_default=True)
    Stage.objects.bulk_create(
        Stage(pipeline=pipeline, name=name, position=position)
        for position, name in enumerate(STAGES)
    )
    return admin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000, help="rows in each file")
    arguments = parser.parse_args()
    if arguments.rows < 1:
        parser.error("--rows must be at least 1")

    files = {
        "contacts": contacts_file(arguments.rows, OWNER),
        "deals": deals_file(arguments.rows, OWNER),
    }
    before = (Contact.objects.count(), Deal.objects.count())
    results = []
    with transaction.atomic():
        admin = prepare()
        for entity, data in files.items():
            started = time.perf_counter()
            result = import_run(actor=admin, entity=entity, data=data, dry_run=False)
            seconds = time.perf_counter() - started
            results.append((entity, len(data), result.as_dict(), seconds))
        transaction.set_rollback(True)

    print(
        f"{connection.vendor} {connection.settings_dict['NAME']}: {before[0]:,} contacts and"
        f" {before[1]:,} deals before; {arguments.rows:,} rows per file, rolled back at the end"
    )
    print(
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs,"
        f" {platform.machine()} {platform.system()} {platform.release()}"
    )
    header = (
        f"{'file':<9} {'rows':>7} {'KB':>6} {'created':>7} {'updated':>7} {'failed':>6}"
        f" {'seconds':>8} {'rows/s':>7}"
    )
    print(header)
    print("-" * len(header))
    for entity, size, counts, seconds in results:
        rows = len(counts["rows"])
        print(
            f"{entity:<9} {rows:7,} {size / 1024:6.0f} {counts['created']:7,}"
            f" {counts['updated']:7,} {counts['failed']:6,} {seconds:8.2f} {rows / seconds:7,.0f}"
        )


if __name__ == "__main__":
    main()
