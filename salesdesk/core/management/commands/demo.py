"""`salesdesk demo`: fill the database with a demo sales organization.

`make run` calls `salesdesk demo --first-start` on every start: the first time (no users yet) it
loads the demo and prints the logins, afterwards it only prints them again.
"""

import datetime
import secrets
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from salesdesk.core.demo import (
    DemoOptions,
    database_counts,
    database_has_data,
    demo_load,
    demo_reset,
    login_file,
    login_file_write,
)


def iso_date(value: str) -> datetime.date:
    return datetime.date.fromisoformat(value)


class Command(BaseCommand):
    help = (
        "Load a demo sales organization (teams, accounts, deals, a year of activities) into an "
        "empty database. The same seed and anchor always give the same data; -v 2 prints "
        "progress."
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=25, help="Users, admin included.")
        parser.add_argument("--deals", type=int, default=5000)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--months", type=int, default=12, help="Months of history.")
        parser.add_argument("--activities-per-deal", type=int, default=6, help="On average.")
        parser.add_argument(
            "--anchor",
            type=iso_date,
            default=None,
            help="The demo's today, YYYY-MM-DD (default: today). History ends on this day.",
        )
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument(
            "--first-start",
            action="store_true",
            help="Load the demo only when the database is empty; otherwise print the demo "
            "logins saved at the first start.",
        )
        mode.add_argument(
            "--reset",
            action="store_true",
            help="Delete EVERY row in EVERY table (users, tokens, all sales data) first.",
        )

    def handle(self, *args, **options) -> None:
        demo = DemoOptions(
            users=options["users"],
            deals=options["deals"],
            seed=options["seed"],
            months=options["months"],
            activities_per_deal=options["activities_per_deal"],
            anchor=options["anchor"] or timezone.localdate(),
        )
        verbosity = options["verbosity"]
        if database_has_data():
            if options["first_start"]:
                self._print_saved_logins()
                return
            if not options["reset"]:
                counts = ", ".join(f"{n:,} {name}" for name, n in database_counts().items() if n)
                raise CommandError(
                    f"The database is not empty ({counts}); nothing was changed. "
                    "`salesdesk demo --reset` deletes every row in every table and then loads "
                    "the demo."
                )
            self.stdout.write("Deleting every row in every table (--reset)…")
            demo_reset()

        started = time.monotonic()

        def progress(message: str) -> None:
            if verbosity >= 2:
                self.stdout.write(f"  {time.monotonic() - started:7.1f} s  {message}")

        try:
            summary, login = demo_load(
                options=demo, password=secrets.token_urlsafe(12), progress=progress
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        path = login_file_write(login)
        if verbosity >= 1:
            self.stdout.write(
                f"Demo loaded (seed {demo.seed}, anchor {demo.anchor}): {summary.text()}"
            )
        self.stdout.write(login.text() + f"Saved in {path} (readable by you only).")

    def _print_saved_logins(self) -> None:
        path = login_file()
        if path.exists():
            self.stdout.write(path.read_text() + f"(demo loaded earlier; saved in {path})")
        else:
            self.stdout.write(
                "The database already holds data, so no demo was loaded. "
                "Create an admin with `salesdesk createsuperuser` if you have none."
            )
