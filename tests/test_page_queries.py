"""Every web page answers with few queries, as an admin, a manager and a rep, on real-sized data.

The pages are found by walking the URL configuration, so a page added later is crawled without
anyone remembering to list it: a route whose sample URL this file cannot build fails the test
until a sample is added to `sample_value`. Routes that refuse GET (405) are actions, not pages.
REQUIRED lists the pages that must exist; `FILTERED` adds query strings and htmx requests.
"""

import datetime
import re
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from salesdesk.accounts.services import api_token_create
from salesdesk.activities.models import Activity
from salesdesk.capture import secrets
from salesdesk.capture.models import CalendarConnection, EmailTemplate, Mailbox
from salesdesk.core import views as core_views
from salesdesk.crm.models import ContactPhone, SavedView
from salesdesk.goals.periods import period_containing
from salesdesk.pipeline.models import StageChange
from tests.factories import (
    ActivityFactory,
    CompanyFactory,
    ContactEmailFactory,
    ContactFactory,
    DealFactory,
    GoalFactory,
    LeadSourceFactory,
    LostReasonFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db

MAX_QUERIES = 25
# Django's admin, the API (tests/test_api_*.py), and visitors' pages (sign-in, password reset,
# invitations, the app files, e-mail tracking), which have tests of their own.
SKIPPED_PREFIXES = (
    "admin/",
    "api/",
    "static/",
    "media/",
    "password-reset/",
    "reset/",
    "welcome/",
    "e/",
)
PUBLIC = {"login/", "logout/", "healthz", "manifest.webmanifest", "sw.js", "offline/"}
REQUIRED = [
    "",
    "board/",
    "deals/",
    "deals/<int:pk>/",
    "companies/",
    "companies/<int:pk>/",
    "contacts/",
    "contacts/<int:pk>/",
    "activities/",
    "search/",
    "import/",
    "account/",
    "account/tokens/",
    "settings/",
]
FILTERED = [
    ("/search/", {"q": "a"}, False),
    ("/search/", {"q": "Alpha"}, False),
    ("/search/", {"q": "Alpha"}, True),
    ("/deals/", {"status": "open", "sort": "-amount"}, False),
    ("/deals/", {}, True),
    ("/companies/", {"q": "Alpha"}, False),
    ("/companies/", {}, True),
    ("/contacts/", {"q": "a"}, False),
    ("/contacts/", {}, True),
    ("/activities/", {"kind": "task"}, False),
    ("/activities/", {}, True),
    ("/board/", {}, True),
    ("/activities/timeline/", {"timeline_for": "company", "offset": 0}, True),
    ("/activities/timeline/", {"timeline_for": "contact", "offset": 0}, True),
]
# Pages that need a query string to show anything.
ROUTE_QUERIES = {
    "activities/timeline/": lambda data: {
        "timeline_for": "deal",
        "timeline_id": data.deal,
        "offset": 20,
    },
    "dashboards/deals/": lambda data: {"set": "won"},
}
# Pages that answer a signed-in visitor with a redirect (and why).
REDIRECTS = {
    "account/tokens/created/": "shows a new token once; without one, back to the tokens",
}
# Pages of something kept in the visitor's session: another id answers 404 (and why).
SESSION_ROUTES = {
    "capture/import/<str:task_id>/": "the status of an upload made in this session",
}
ROLES = ("admin", "manager", "rep")


@dataclass
class Data:
    users: dict
    company: int
    contact: int
    deal: int
    activity: int
    pipeline: int
    stage: int
    team: int
    named: dict
    tokens: dict
    saved_views: dict
    goal: int
    team_goal: int
    mailboxes: dict
    email_templates: dict
    calendars: dict


def build(cast, pipeline) -> Data:
    """20 companies, 45 contacts, 30 deals with history, 90 activities, over five owners."""
    owners = [cast.alice, cast.bob, cast.carol, cast.manager, None]
    stages = list(pipeline.stages.order_by("position"))
    tags = [TagFactory(name=f"tag {n}") for n in range(4)]
    sources = [LeadSourceFactory(name=f"Source {n}") for n in range(3)]
    reasons = [LostReasonFactory(name=f"Reason {n}") for n in range(3)]
    now = timezone.now()
    companies, contacts, deals = [], [], []
    for n in range(20):
        company = CompanyFactory(owner=owners[n % 5], name=f"Company {n} Alpha")
        company.tags.set(tags[: n % 3])
        companies.append(company)
    for n in range(45):
        contact = ContactFactory(
            owner=owners[n % 5], company=companies[n % 20], first_name=f"Anna{n}", title="Buyer"
        )
        ContactEmailFactory(contact=contact, email=f"anna{n}@company{n % 20}.example")
        ContactPhone.objects.create(contact=contact, number=f"+49 30 {n:06d}")
        contact.tags.set(tags[: n % 2])
        contacts.append(contact)
    for n in range(30):
        status = ["open", "open", "open", "won", "lost"][n % 5]
        deal = DealFactory(
            owner=owners[n % 5],
            company=companies[n % 20],
            stage=stages[n % 4],
            title=f"Deal {n} Alpha",
            status=status,
            closed_at=now if status != "open" else None,
            lost_reason=reasons[n % 3] if status == "lost" else None,
            lead_source=sources[n % 3],
            next_step="Call back" if n % 2 else "",
            next_step_due=timezone.localdate() - datetime.timedelta(days=n % 5 - 2),
            stage_entered_at=now - datetime.timedelta(days=n),
        )
        deal.contacts.set(contacts[n % 45 : n % 45 + 2])
        deal.tags.set(tags[: n % 3])
        StageChange.objects.create(
            deal=deal, to_stage=stages[0], at=now - datetime.timedelta(days=40)
        )
        if n % 4:
            StageChange.objects.create(
                deal=deal, from_stage=stages[0], to_stage=stages[n % 4], at=deal.stage_entered_at
            )
        deals.append(deal)
    kinds = [Activity.Kind.CALL, Activity.Kind.EMAIL, Activity.Kind.NOTE, Activity.Kind.TASK]
    for n in range(90):
        kind = kinds[n % 4]
        activity = ActivityFactory(
            kind=kind,
            owner=owners[n % 5],
            subject=f"{kind} {n} about Alpha",
            deal=deals[n % 30],
            company=deals[n % 30].company,
            occurred_at=now - datetime.timedelta(hours=n * 7),
            due_at=now + datetime.timedelta(days=n % 9 - 4) if kind == Activity.Kind.TASK else None,
            done_at=now if kind == Activity.Kind.TASK and n % 3 == 0 else None,
        )
        activity.contacts.set(contacts[n % 45 : n % 45 + 2])
    alices_company = companies[0]  # owner alice: every role sees it
    users = {"admin": cast.admin, "manager": cast.manager, "rep": cast.alice}
    return Data(
        users=users,
        company=alices_company.pk,
        contact=contacts[0].pk,
        deal=deals[0].pk,
        activity=Activity.objects.filter(owner=cast.alice).first().pk,
        pipeline=pipeline.pk,
        stage=stages[1].pk,
        team=cast.alice.team_id,
        named={"lead-sources": sources[0].pk, "lost-reasons": reasons[0].pk, "tags": tags[0].pk},
        tokens={
            role: api_token_create(user=user, name="laptop")[0].pk for role, user in users.items()
        },
        goal=GoalFactory(
            user=cast.alice,
            period_kind="quarter",
            period_start=period_containing(timezone.localdate(), "quarter").start,
        ).pk,
        team_goal=GoalFactory(
            team=cast.alice.team,
            target=None,
            period_kind="quarter",
            period_start=period_containing(timezone.localdate(), "quarter").start,
        ).pk,
        mailboxes={
            role: Mailbox.objects.create(
                user=user,
                host="imap.example.com",
                username=user.email,
                secret=secrets.encrypt("secret"),
                last_error="imap.example.com:993 refused the login",
                state=Mailbox.State.ERROR,
                smtp_host="smtp.example.com",
            ).pk
            for role, user in users.items()
        },
        calendars={
            role: CalendarConnection.objects.create(
                user=user,
                kind=CalendarConnection.Kind.CALDAV,
                host="caldav.example.com",
                url="https://caldav.example.com/",
                username=user.email,
                secret=secrets.encrypt("secret"),
                available_calendars=[
                    {"url": "https://caldav.example.com/u/work/", "name": "Work"},
                    {"url": "https://caldav.example.com/u/home/", "name": "Home"},
                ],
                last_error="caldav.example.com refused the user name or password",
                state=CalendarConnection.State.ERROR,
            ).pk
            for role, user in users.items()
        },
        email_templates={
            role: EmailTemplate.objects.create(
                owner=user,
                name="Follow-up",
                subject="{{ deal.title }}",
                body="Hi {{ contact.first_name }}",
                is_shared=role == "manager",
            ).pk
            for role, user in users.items()
        },
        saved_views={
            role: SavedView.objects.create(
                user=user, entity="contacts", name="Mine", query="q=a"
            ).pk
            for role, user in users.items()
        },
    )


def routes(resolver=None, prefix: str = ""):
    """(route, default kwargs) of every URL pattern, resolvers flattened."""
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from routes(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.default_args


def app_routes() -> list[tuple[str, dict]]:
    return [
        (route, defaults)
        for route, defaults in routes()
        if not route.startswith(SKIPPED_PREFIXES) and route not in PUBLIC
    ]


PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")


def sample_value(route: str, defaults: dict, name: str, data: Data, role: str):
    """A value for the URL parameter `name` that the role may see."""
    if route.startswith("import/"):
        return {"entity": "contacts", "token": data.tokens_import[role]}[name]
    by_prefix = {
        "deals/": data.deal,
        "companies/": data.company,
        "contacts/": data.contact,
        "activities/": data.activity,
        "settings/users/": data.users["rep"].pk,
        "settings/teams/": data.team,
        "settings/pipelines/": data.pipeline,
        "settings/stages/": data.stage,
        "account/tokens/": data.tokens[role],
        "account/mailboxes/": data.mailboxes[role],
        "account/calendars/": data.calendars[role],
        "capture/filled/": data.contact,  # an action: refuses GET before looking
        "account/email-templates/": data.email_templates[role],
        "saved-views/": data.saved_views[role],
        "my-day/tasks/": data.activity,
        "goals/<int:pk>/members/": data.team_goal,  # only a team's goal has members
        "goals/": data.goal,
    }
    if name == "pk":
        if "kind" in defaults:
            return data.named[defaults["kind"]]
        for prefix, value in by_prefix.items():
            if route.startswith(prefix):
                return value
    if name == "pipeline_id":
        return data.pipeline
    if name == "stage_id":
        return data.stage
    if name == "user_id":
        return data.users["rep"].pk
    if name == "deal_id":
        return data.deal
    if name == "task_id":
        return "not-uploaded-in-this-session"
    raise AssertionError(
        f"No sample value for <{name}> in {route!r}: add one to sample_value() in {__file__}"
    )


def sample_path(route: str, defaults: dict, data: Data, role: str) -> str:
    route = route.lstrip("^").rstrip("$")
    return "/" + PARAMETER.sub(
        lambda m: str(sample_value(route, defaults, m.group(2), data, role)), route
    )


@dataclass
class Visit:
    role: str
    route: str
    path: str
    status: int
    queries: int


def visit(client: Client, role: str, route: str, path: str, params=None, htmx=False) -> Visit:
    headers = {"HX-Request": "true"} if htmx else {}
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, params or {}, headers=headers)
    if hasattr(response, "streaming_content"):
        with CaptureQueriesContext(connection) as streamed:
            b"".join(response.streaming_content)
        extra = len(streamed)
    else:
        extra = 0
    shown = f"{path}?{urlencode(params)}" if params else path
    if htmx:
        shown += " (htmx)"
    return Visit(role, route, shown, response.status_code, len(captured) + extra)


@pytest.fixture
def data(cast, pipeline, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    built = build(cast, pipeline)
    built.tokens_import = {
        role: core_views._upload_store(user, b"Name,Email\nAda Lovelace,ada@example.com\n")
        for role, user in built.users.items()
    }
    return built


@pytest.fixture
def clients(data) -> dict[str, Client]:
    result = {}
    for role, user in data.users.items():
        client = Client()
        client.force_login(user)
        result[role] = client
    return result


def expected(route: str, role: str, status: int) -> bool:
    if status == 200:
        return True
    if status == 302:
        return route in REDIRECTS
    if status == 404 and route in SESSION_ROUTES:
        return True
    # Settings belong to admins; others are refused (403) or shown nothing (404).
    return route.startswith("settings/") and role != "admin" and status in (403, 404)


def test_every_required_page_exists():
    known = {route for route, _ in routes()}
    missing = [f"/{route}" for route in REQUIRED if route not in known]
    assert not missing, f"Pages not built (or moved): {', '.join(missing)}"


def test_every_page_answers_with_at_most_25_queries_for_every_role(data, clients):
    visits, actions = [], set()
    for route, defaults in app_routes():
        for role in ROLES:
            path = sample_path(route, defaults, data, role)
            params = ROUTE_QUERIES[route](data) if route in ROUTE_QUERIES else None
            result = visit(clients[role], role, route, path, params)
            if result.status == 405:
                actions.add(route)
                break  # refuses GET: an action, not a page
            visits.append(result)
    for path, params, htmx in FILTERED:
        if params.get("timeline_for"):
            params = {**params, "timeline_id": getattr(data, params["timeline_for"])}
        route = path.strip("/") + "/"
        visits += [visit(clients[role], role, route, path, params, htmx) for role in ROLES]

    pages = {v.route for v in visits}
    for v in visits:  # shown with `pytest -s`
        print(f"{v.path:<45} {v.role:<8} {v.status} {v.queries:3d} queries")
    print("actions (refuse GET):", ", ".join(sorted(actions)))
    wrong = [
        f"{v.path} as {v.role}: HTTP {v.status}"
        for v in visits
        if not expected(v.route, v.role, v.status)
    ]
    heavy = [
        f"{v.path} as {v.role}: {v.queries} queries" for v in visits if v.queries > MAX_QUERIES
    ]
    assert not wrong, "Pages that did not answer 200:\n" + "\n".join(wrong)
    assert not heavy, f"Pages over {MAX_QUERIES} queries:\n" + "\n".join(heavy)
    assert {route for route in REQUIRED if route in {r for r, _ in routes()}} <= pages
    assert len(pages) >= 14, sorted(pages)
