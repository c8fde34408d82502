"""Dashboards against the SQL they rest on: p50/p95 of each page and of its raw queries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/salesdesk_scale \
        .venv/bin/python bench/dashboards.py [--repeat 20] [--period fy2026-q4]

Each dashboard is requested through the whole stack (django.test.Client signed in with
force_login) as an admin, a manager and a rep, after two warm-up requests. The queries one
request ran are captured and replayed on a bare cursor, the same number of times: that is the
"raw SQL" time the page cannot beat. The script prints p50/p95 of both and the ratio of the p95s,
and marks pages over the targets (p95 at most 150 ms, at most 1.5 times the raw SQL).
"""

import argparse
import os
import platform
import statistics
import time
from dataclasses import dataclass

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesdesk.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402

# The page benchmark's helpers (bench/ is the script's own directory, first on sys.path).
from pages import PLAIN_STATIC, percentile, pick_user  # noqa: E402

from salesdesk.accounts.models import Role, User  # noqa: E402
from salesdesk.core.startup import freeze_loaded_objects  # noqa: E402
from salesdesk.pipeline.models import Deal  # noqa: E402

TARGET_MS = 150
TARGET_RATIO = 1.5


@dataclass
class Result:
    page: str
    role: str
    status: int
    queries: int
    page_ms: list[float]
    sql_ms: list[float]


def pages_for(user, period: str | None, rep: User) -> list[str]:
    suffix = f"?period={period}" if period else ""
    joiner = "&" if suffix else "?"
    pages = [
        f"/dashboards/revenue/{suffix}",
        f"/dashboards/team/{suffix}",
        f"/goals/{suffix}",
        f"/forecast/{suffix}",
        f"/dashboards/deals/{suffix}{joiner}set=won",
        f"/reviews/{rep.pk}/",
    ]
    if user.role != Role.REP:
        pages.append("/reviews/")
    return pages


def replay(statements: list[str]) -> float:
    """Run the captured statements on a bare cursor; milliseconds for all of them."""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
            if cursor.description is not None:
                cursor.fetchall()
    return (time.perf_counter() - started) * 1000


def measure(client: Client, page: str, role: str, repeat: int) -> Result:
    client.get(page)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(page)
    # Session and authentication lookups are the stack's, not the dashboard's: keep them, a
    # page cannot do without them either. Savepoints and transaction control are skipped.
    statements = [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN"))
    ]
    page_ms, sql_ms = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(page)
        page_ms.append((time.perf_counter() - started) * 1000)
        sql_ms.append(replay(statements))
    return Result(page, role, response.status_code, len(statements), page_ms, sql_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per page")
    parser.add_argument("--period", help="period key such as fy2026-q4 (default: the pages')")
    parser.add_argument(
        "--only", action="append", help="measure only pages whose path contains this (repeatable)"
    )
    arguments = parser.parse_args()
    freeze_loaded_objects()  # as every web worker does (salesdesk/wsgi.py)

    users = {role: pick_user(role, None) for role in (Role.REP, Role.MANAGER, Role.ADMIN)}
    rep = users[Role.REP]
    results = []
    with override_settings(STORAGES=PLAIN_STATIC):
        for role, user in users.items():
            client = Client(HTTP_HOST="localhost")
            client.force_login(user)
            results += [
                measure(client, page, role, arguments.repeat)
                for page in pages_for(user, arguments.period, rep)
                if not arguments.only or any(part in page for part in arguments.only)
            ]

    print(
        f"{connection.vendor} {connection.settings_dict['NAME']}: {Deal.objects.count():,} deals;"
        f" {arguments.repeat} requests per page; Python {platform.python_version()},"
        f" {os.cpu_count()} CPUs"
    )
    header = (
        f"{'page':<44} {'role':<8} {'status':>6} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'sql p50':>8} {'sql p95':>8} {'ratio':>6} {'queries':>7}"
    )
    print(header)
    print("-" * len(header))
    missed = 0
    for r in results:
        p95, sql95 = percentile(r.page_ms, 0.95), percentile(r.sql_ms, 0.95)
        ratio = p95 / sql95 if sql95 else float("inf")
        marks = []
        if p95 > TARGET_MS:
            marks.append(f"over {TARGET_MS} ms")
        if ratio > TARGET_RATIO:
            marks.append(f"over {TARGET_RATIO}x SQL")
        if r.status != 200:
            marks.append(f"HTTP {r.status}")
        missed += bool(marks)
        print(
            f"{r.page:<44} {r.role:<8} {r.status:>6} {statistics.median(r.page_ms):8.1f} "
            f"{p95:8.1f} {statistics.median(r.sql_ms):8.1f} {sql95:8.1f} {ratio:6.2f} "
            f"{r.queries:7d}  {'; '.join(marks)}"
        )
    print(
        f"targets: p95 at most {TARGET_MS} ms and at most {TARGET_RATIO}x the raw SQL; "
        f"{missed} page(s) miss one"
    )


if __name__ == "__main__":
    main()
