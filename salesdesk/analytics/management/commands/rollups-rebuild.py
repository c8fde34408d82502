import time

from django.core.management.base import BaseCommand

from salesdesk.analytics import rollups


class Command(BaseCommand):
    help = (
        "Recount the dashboards' monthly rollups from the deals and activities. --verify only "
        "compares them with a recount (and repairs the buckets that differ)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--verify", action="store_true", help="compare and repair instead of rebuilding"
        )

    def handle(self, *args, verify: bool, **options):
        started = time.perf_counter()
        if verify:
            repaired = rollups.verify_and_repair()
            outcome = (
                f"{repaired['deals']} deal and {repaired['activities']} activity bucket keys "
                "differed and were repaired"
            )
        else:
            written = rollups.rebuild()
            outcome = (
                f"{written['deal_buckets']:,} deal, {written['activity_buckets']:,} activity,"
                f" {written['flow_buckets']:,} stage-flow and {written['company_buckets']:,}"
                " company buckets written"
            )
        self.stdout.write(f"{outcome} in {time.perf_counter() - started:.1f} s")
