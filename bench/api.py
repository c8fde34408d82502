"""API list endpoints against the SQL they rest on, on whatever data the database holds.

    DATABASE_URL=postgres://…/salesdesk_scale .venv/bin/python bench/api.py [--repeat 50]

Each case is timed through the whole stack (django.test.Client with a real API token:
middleware, authentication, visibility, serialization) and as the one raw SELECT the page
needs (same filter, order and limit, joined to the names the API shows). It prints p50 and p95
in milliseconds, their ratio and how many queries one API request makes. Nothing is written
but the API token, which is revoked at the end.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesdesk.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from salesdesk.accounts.models import Role, User  # noqa: E402
from salesdesk.accounts.services import api_token_create, api_token_revoke  # noqa: E402

LIMIT = 50

DEAL_SQL = """
SELECT d.*, u.email, u.full_name, c.name, p.name, s.name, s.probability, ls.name, lr.name
FROM pipeline_deal d
LEFT JOIN accounts_user u ON u.id = d.owner_id
LEFT JOIN crm_company c ON c.id = d.company_id
JOIN pipeline_pipeline p ON p.id = d.pipeline_id
JOIN pipeline_stage s ON s.id = d.stage_id
LEFT JOIN pipeline_leadsource ls ON ls.id = d.lead_source_id
LEFT JOIN pipeline_lostreason lr ON lr.id = d.lost_reason_id
WHERE {where}
ORDER BY d.id DESC
LIMIT {limit}
"""

ACTIVITY_SQL = """
SELECT a.*, u.email, u.full_name, c.name, d.title
FROM activities_activity a
LEFT JOIN accounts_user u ON u.id = a.owner_id
LEFT JOIN crm_company c ON c.id = a.company_id
LEFT JOIN pipeline_deal d ON d.id = a.deal_id
WHERE {where}
ORDER BY a.occurred_at DESC, a.id DESC
LIMIT {limit}
"""


@dataclass
class Case:
    name: str
    path: str
    params: dict
    sql: str
    sql_params: list


@dataclass
class Result:
    case: Case
    api: list[float]
    sql: list[float]
    queries: int


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def timed(function: Callable[[], object], repeat: int, budget: float) -> list[float]:
    """Milliseconds of `repeat` runs after warming up; a slow case stops after `budget` seconds
    (but runs at least five times)."""
    started = time.perf_counter()
    function()
    if time.perf_counter() - started < 1:
        function()
        function()
    samples: list[float] = []
    started = time.perf_counter()
    while len(samples) < repeat and (len(samples) < 5 or time.perf_counter() - started < budget):
        run_started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - run_started) * 1000)
    return samples


def scalar(sql: str, params: list | None = None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        row = cursor.fetchone()
    return row[0] if row else None


def page_after(client: Client, path: str, params: dict, pages: int) -> tuple[dict, dict | None]:
    """The parameters of page `pages`, reached by following cursors, and the last item before it.

    The item is None when there are fewer pages.
    """
    current, last = dict(params), None
    for _ in range(pages - 1):
        page = client.get(path, {**current, "limit": LIMIT}).json()
        if not page["next_cursor"]:
            return current, None
        last = page["items"][-1]
        current = {**params, "cursor": page["next_cursor"]}
    return current, last


def cases(client: Client) -> list[Case]:
    owner = scalar(
        "SELECT owner_id FROM pipeline_deal WHERE status = 'open' AND owner_id IS NOT NULL "
        "GROUP BY owner_id ORDER BY count(*) DESC, owner_id LIMIT 1"
    )
    stage = scalar(
        "SELECT stage_id FROM pipeline_deal WHERE status = 'open' "
        "GROUP BY stage_id ORDER BY count(*) DESC, stage_id LIMIT 1"
    )
    company = scalar(  # a key account: the longest timeline
        "SELECT company_id FROM pipeline_deal WHERE company_id IS NOT NULL "
        "GROUP BY company_id ORDER BY count(*) DESC, company_id LIMIT 1"
    )
    if owner is None or company is None:
        sys.exit("No deals here: load data first, e.g. `salesdesk demo --deals 1000000`.")
    limit = LIMIT + 1  # the API reads one row more to know whether another page follows

    def deal_case(name, params, where, sql_params):
        return Case(
            name,
            "/api/v1/deals",
            params,
            DEAL_SQL.format(where=where, limit=limit),
            sql_params,
        )

    def activity_case(name, params, where, sql_params):
        return Case(
            name,
            "/api/v1/activities",
            params,
            ACTIVITY_SQL.format(where=where, limit=limit),
            sql_params,
        )

    # A later page: follow the cursor 20 pages into all deals, and into the company's timeline.
    deal_page, last_deal = page_after(client, "/api/v1/deals", {}, 20)
    activity_page, last_activity = page_after(client, "/api/v1/activities", {"company": company}, 5)
    result = [
        deal_case(
            f"deals: owner {owner}, open",
            {"owner": owner, "status": "open"},
            "d.owner_id = %s AND d.status = 'open'",
            [owner],
        ),
        deal_case(
            f"deals: stage {stage}, open",
            {"stage": stage, "status": "open"},
            "d.stage_id = %s AND d.status = 'open'",
            [stage],
        ),
        deal_case("deals: won", {"status": "won"}, "d.status = 'won'", []),
        deal_case("deals: all, first page", {}, "TRUE", []),
    ]
    if last_deal:
        result.append(deal_case("deals: all, page 20", deal_page, "d.id < %s", [last_deal["id"]]))
    result.append(
        activity_case(
            f"activities: company {company}",
            {"company": company},
            "a.company_id = %s",
            [company],
        )
    )
    if last_activity:
        at = last_activity["occurred_at"]
        result.append(
            activity_case(
                f"activities: company {company}, page 5",
                activity_page,
                "a.company_id = %s AND (a.occurred_at < %s OR (a.occurred_at = %s AND a.id < %s))",
                [company, at, at, last_activity["id"]],
            )
        )
    result.append(
        activity_case(
            f"activities: owner {owner}",
            {"owner": owner},
            "a.owner_id = %s",
            [owner],
        )
    )
    result.append(activity_case("activities: all, first page", {}, "TRUE", []))
    return result


def run(case: Case, client: Client, repeat: int, budget: float) -> Result:
    params = {**case.params, "limit": LIMIT}

    def api() -> int:
        response = client.get(case.path, params)
        if response.status_code != 200:
            raise SystemExit(f"{case.name}: HTTP {response.status_code} {response.content[:300]!r}")
        return len(response.json()["items"])

    def sql() -> None:
        with connection.cursor() as cursor:
            cursor.execute(case.sql, case.sql_params)
            cursor.fetchall()

    with CaptureQueriesContext(connection) as captured:
        if api() == 0:
            sys.exit(f"{case.name}: the page is empty, so this would measure nothing.")
    queries = len(captured)  # now: every request clears the log this counts from
    return Result(case, timed(api, repeat, budget), timed(sql, repeat, budget), queries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=50, help="timed runs per case")
    parser.add_argument(
        "--budget", type=float, default=30, help="seconds after which a slow case stops"
    )
    parser.add_argument("--user", help="e-mail of the user whose token is used (an admin)")
    arguments = parser.parse_args()

    users = User.objects.filter(is_active=True)
    user = (
        users.get(email=arguments.user)
        if arguments.user
        else users.filter(role=Role.ADMIN).order_by("id").first()
    )
    if user is None:
        sys.exit("No active admin: load data first, e.g. `salesdesk demo --deals 1000000`.")
    token, key = api_token_create(user=user, name="bench/api.py")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {key}", HTTP_HOST="localhost")
    try:
        results = [run(case, client, arguments.repeat, arguments.budget) for case in cases(client)]
    finally:
        api_token_revoke(user=user, token_id=token.pk)

    deals = scalar("SELECT count(*) FROM pipeline_deal")
    activities = scalar("SELECT count(*) FROM activities_activity")
    print(
        f"{connection.vendor} {connection.settings_dict['NAME']}: {deals:,} deals, "
        f"{activities:,} activities; {arguments.repeat} runs per case as {user.email}; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    header = (
        f"{'case':<38} {'API p50':>8} {'API p95':>8} {'SQL p50':>8} {'SQL p95':>8} "
        f"{'ratio':>6} {'queries':>7} {'runs':>5}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        api50, sql50 = statistics.median(r.api), statistics.median(r.sql)
        print(
            f"{r.case.name:<38} {api50:8.1f} {percentile(r.api, 0.95):8.1f} {sql50:8.2f} "
            f"{percentile(r.sql, 0.95):8.2f} {api50 / sql50:6.1f} {r.queries:7d} {len(r.api):5d}"
        )
    print("times in milliseconds; ratio = API p50 / SQL p50; queries per API request")


if __name__ == "__main__":
    main()
