"""Single-deal and single-activity writes: p50/max and queries, with and without the rollups.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/salesdesk_scale \
        .venv/bin/python bench/writes.py [--deals 15]

Each service runs through its public function as an admin, once per deal on open deals spread
over the table (the same deals for every service), each call inside a transaction that is
rolled back: the database is left as it was. The script times the call and counts its queries
(savepoints aside), then does the same again with the rollups' +/- deltas switched off
(`DealChange.apply` and `ActivityChange.apply` do nothing): the difference is what keeping the
dashboards' rollups current costs a write.
"""

import argparse
import os
import platform
import statistics
import time
from decimal import Decimal
from unittest import mock

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesdesk.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Max  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from pages import pick_user  # noqa: E402

from salesdesk.accounts.models import Role, User  # noqa: E402
from salesdesk.activities import services as activity_services  # noqa: E402
from salesdesk.analytics import rollups  # noqa: E402
from salesdesk.pipeline import services as deal_services  # noqa: E402
from salesdesk.pipeline.models import Deal, LostReason  # noqa: E402


def other_stage(deal: Deal):
    """The next stage of the deal's pipeline (the previous one from the last)."""
    stages = list(deal.pipeline.stages.order_by("position", "id"))
    index = [stage.pk for stage in stages].index(deal.stage_id)
    return stages[index + 1] if index + 1 < len(stages) else stages[index - 1]


def other_owner(deal: Deal, reps: list[User]) -> User:
    return next(rep for rep in reps if rep.pk != deal.owner_id)


def cases(admin: User, reps: list[User], reason: LostReason) -> dict:
    return {
        "deal_move": lambda d: deal_services.deal_move(actor=admin, deal=d, stage=other_stage(d)),
        "deal_win": lambda d: deal_services.deal_win(actor=admin, deal=d),
        "deal_lose": lambda d: deal_services.deal_lose(actor=admin, deal=d, reason=reason),
        "deal_update (amount)": lambda d: deal_services.deal_update(
            actor=admin, deal=d, amount=d.amount + Decimal("100")
        ),
        "deal_update (owner)": lambda d: deal_services.deal_update(
            actor=admin, deal=d, owner=other_owner(d, reps)
        ),
        "activity_create (call)": lambda d: activity_services.activity_create(
            actor=admin,
            kind="call",
            owner=d.owner,
            deal=d,
            subject="Bench",
            occurred_at=timezone.now(),
        ),
    }


def pick_deals(count: int) -> list[int]:
    """Open deals spread evenly over the ids."""
    last = Deal.objects.aggregate(last=Max("pk"))["last"] or 0
    ids = [0]
    for index in range(count):
        start = max(last * index // count, ids[-1] + 1)
        found = (
            Deal.objects.filter(status=Deal.Status.OPEN, pk__gte=start)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        if found is not None:
            ids.append(found)
    return ids[1:]


def run_once(call, deal_id: int) -> tuple[float, int]:
    """Milliseconds and queries of one call, rolled back."""
    with transaction.atomic():
        deal = Deal.objects.get(pk=deal_id)  # as a view would have loaded it
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            call(deal)
            elapsed = (time.perf_counter() - started) * 1000
        transaction.set_rollback(True)
    queries = [
        q
        for q in captured.captured_queries
        if not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE"))
    ]
    return elapsed, len(queries)


def measure(call, deal_ids: list[int]) -> tuple[list[float], int]:
    run_once(call, deal_ids[0])  # warm-up
    timings, counts = [], []
    for deal_id in deal_ids:
        elapsed, queries = run_once(call, deal_id)
        timings.append(elapsed)
        counts.append(queries)
    return timings, round(statistics.median(counts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=15, help="open deals to write to")
    arguments = parser.parse_args()

    admin = pick_user(Role.ADMIN, None)
    reps = list(User.objects.filter(is_active=True, role=Role.REP).order_by("id")[:2])
    reason = LostReason.objects.filter(is_active=True).order_by("id").first()
    deal_ids = pick_deals(arguments.deals)
    results = {}
    for name, call in cases(admin, reps, reason).items():
        with_rollups = measure(call, deal_ids)
        with (
            mock.patch.object(rollups.DealChange, "apply", return_value=None),
            mock.patch.object(rollups.ActivityChange, "apply", return_value=None),
        ):
            without = measure(call, deal_ids)
        results[name] = (with_rollups, without)

    print(
        f"{connection.vendor} {connection.settings_dict['NAME']}: {Deal.objects.count():,} deals;"
        f" {len(deal_ids)} open deals, each call rolled back; Python {platform.python_version()},"
        f" {os.cpu_count()} CPUs"
    )
    header = (
        f"{'service':<24} {'p50 ms':>8} {'max ms':>8} {'queries':>7} "
        f"{'without p50':>11} {'queries':>7}"
    )
    print(header)
    print("-" * len(header))
    for name, ((timings, queries), (bare, bare_queries)) in results.items():
        print(
            f"{name:<24} {statistics.median(timings):8.1f} {max(timings):8.1f} {queries:7d} "
            f"{statistics.median(bare):11.1f} {bare_queries:7d}"
        )


if __name__ == "__main__":
    main()
