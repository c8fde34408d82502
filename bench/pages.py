"""The web pages as a rep, a manager and an admin: time and queries of each, on the data there is.

    SALESDESK_VAR_DIR=/tmp/pagesbench .venv/bin/python bench/pages.py [--repeat 20]

DATABASE_URL selects the database (default: the SQLite database in the var directory, e.g.
loaded by `salesdesk demo --users 25 --deals 5000`). Each page is requested through the whole
stack (django.test.Client signed in with force_login: middleware, session, visibility,
templates) after two warm-up requests. It prints p50 and p95 in milliseconds and the queries of
one request; pages whose p95 is above the target are marked. Nothing is written but sessions.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesdesk.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402

from salesdesk.accounts import visibility  # noqa: E402
from salesdesk.accounts.models import Role, User  # noqa: E402
from salesdesk.core.startup import freeze_loaded_objects  # noqa: E402
from salesdesk.crm.models import Company, Contact  # noqa: E402
from salesdesk.pipeline.models import Deal  # noqa: E402

TARGET_MS = 300
PLAIN_STATIC = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # No collectstatic needed: page times do not depend on how static URLs are spelled.
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


@dataclass
class Result:
    page: str
    role: str
    status: int
    queries: int
    samples: list[float]


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]


def busiest(user, queryset, related: str) -> int | None:
    """The id of the visible record with the most `related` rows: the heaviest detail page."""
    return (
        visibility.scope(user, queryset)
        .annotate(weight=Count(related))
        .order_by("-weight", "id")
        .values_list("id", flat=True)
        .first()
    )


def pages_for(user) -> list[str]:
    deal = busiest(user, Deal.objects.filter(status=Deal.Status.OPEN), "activities")
    company = busiest(user, Company.objects.all(), "deals")
    contact = busiest(user, Contact.objects.all(), "activities")
    word = (Company.objects.filter(pk=company).values_list("name", flat=True).first() or "a")[:4]
    pages = [
        "/",
        "/board/",
        "/deals/",
        "/deals/?status=open&sort=-amount",
        f"/deals/{deal}/",
        "/companies/",
        f"/companies/{company}/",
        "/contacts/",
        f"/contacts/{contact}/",
        "/activities/",
        "/activities/?kind=task",
        f"/search/?q={word}",
        "/import/",
        "/account/",
        "/account/tokens/",
    ]
    if visibility.can_administer(user):
        pages += ["/settings/", "/settings/users/", "/settings/pipelines/", "/settings/teams/"]
    return pages


def measure(client: Client, page: str, role: str, repeat: int) -> Result:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(page)
    queries = len(captured)  # now: the next request clears the log this counts from
    client.get(page)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(page)
        samples.append((time.perf_counter() - started) * 1000)
    return Result(page, role, response.status_code, queries, samples)


def pick_user(role: str, email: str | None) -> User:
    users = User.objects.filter(is_active=True)
    if email:
        return users.get(email=email)
    preferred = users.filter(role=role, email__startswith=f"{role}@").first()
    user = preferred or users.filter(role=role).order_by("id").first()
    if user is None:
        sys.exit(f"No active {role}: load data first, e.g. `salesdesk demo --deals 5000`.")
    return user


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per page")
    parser.add_argument("--rep", help="e-mail of the rep (default: rep@…, else the first rep)")
    parser.add_argument("--manager", help="e-mail of the manager")
    parser.add_argument("--admin", help="e-mail of the admin")
    arguments = parser.parse_args()
    freeze_loaded_objects()  # as every web worker does (salesdesk/wsgi.py)

    users = {
        "rep": pick_user(Role.REP, arguments.rep),
        "manager": pick_user(Role.MANAGER, arguments.manager),
        "admin": pick_user(Role.ADMIN, arguments.admin),
    }
    results = []
    with override_settings(STORAGES=PLAIN_STATIC):
        for role, user in users.items():
            client = Client(HTTP_HOST="localhost")
            client.force_login(user)
            results += [measure(client, page, role, arguments.repeat) for page in pages_for(user)]

    deals = Deal.objects.count()
    print(
        f"{connection.vendor} {connection.settings_dict['NAME']}: {deals:,} deals; "
        f"{arguments.repeat} requests per page; Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs"
    )
    print("as " + ", ".join(f"{role} {user.email}" for role, user in users.items()))
    header = f"{'page':<40} {'role':<8} {'status':>6} {'p50 ms':>8} {'p95 ms':>8} {'queries':>7}"
    print(header)
    print("-" * len(header))
    slow = 0
    for r in results:
        p95 = percentile(r.samples, 0.95)
        mark = ""
        if p95 > TARGET_MS:
            mark, slow = f"  over {TARGET_MS} ms", slow + 1
        if r.status != 200:
            mark += f"  HTTP {r.status}"
        print(
            f"{r.page:<40} {r.role:<8} {r.status:>6} {statistics.median(r.samples):8.1f} "
            f"{p95:8.1f} {r.queries:7d}{mark}"
        )
    print(f"target: p95 at most {TARGET_MS} ms; {slow} page(s) over it")


if __name__ == "__main__":
    main()
