"""The demo organization: a sales team with a year of companies, deals and activities.

Everything is drawn from one seeded random generator and placed relative to an anchor date, so
the same options always give the same data. Rows are written in chunks, with COPY on PostgreSQL
and executemany elsewhere, never one ORM save per row: a million deals and ten million
activities load in minutes with bounded memory.
"""

import bisect
import contextlib
import datetime
import math
import os
import random
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from pathlib import Path

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max

from salesdesk.accounts.models import OrganizationSettings, Role, Team, User
from salesdesk.activities.models import Activity
from salesdesk.analytics import rollups
from salesdesk.core.models import CurrencyRate
from salesdesk.crm.models import Company, Contact, ContactEmail, ContactPhone, Tag
from salesdesk.goals.demo import demo_goals
from salesdesk.pipeline.models import (
    CloseDateChange,
    Deal,
    LeadSource,
    LostReason,
    Pipeline,
    Stage,
    StageChange,
)

DEMO_DOMAIN = "demo.salesdesk.test"
LOGIN_FILE_NAME = "demo-login.txt"
CHUNK = 10_000  # deals (or companies) generated and written together: bounded memory
SNAPSHOT_DEALS_LIMIT = 50_000  # larger demos leave the forecast snapshot backfill out
DAY = 86_400
UTC = datetime.UTC
CENT = Decimal("0.01")

# --- Reference data -------------------------------------------------------------------------

CURRENCY_RATES = {"USD": Decimal("0.92"), "GBP": Decimal("1.17"), "CHF": Decimal("1.04")}
LEAD_SOURCES = {
    "Website": 24,
    "Outbound": 24,
    "Referral": 14,
    "Event": 10,
    "Partner": 10,
    "Inbound call": 10,
    "Webinar": 8,
}
LOST_REASONS = {
    "Price": 22,
    "Competitor": 22,
    "No budget": 16,
    "Timing": 14,
    "No decision": 18,
    "Bad fit": 8,
}
COMPANY_TAGS = ("Customer", "Prospect", "Partner", "Key account", "Churn risk")
DEAL_TAGS = ("Strategic", "Upsell", "Multi-year", "Quarter-end push")
CONTACT_TAGS = ("Champion", "Decision maker", "Newsletter")
TAG_COLORS = ("#0d6efd", "#198754", "#6f42c1", "#d63384", "#fd7e14", "#20c997", "#6c757d")


@dataclass(frozen=True)
class StageSpec:
    name: str
    probability: int
    stale_after_days: int
    mean_days: float  # average time a deal spends in the stage
    advance: float  # chance to move on (the last stage: chance to be won), else lost


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    share: float  # of all deals
    stages: tuple[StageSpec, ...]


# Reps expect a deal to close after this share of the typical time it still needs (a range).
OPTIMISM = (0.4, 1.0)

# Advance chances multiply to about a 23% win rate in Sales and 70% in Renewals; with nine
# deals in ten in Sales, about a quarter of closed deals are won.
PIPELINES = (
    PipelineSpec(
        "Sales",
        0.9,
        (
            StageSpec("Lead", 10, 14, 9, 0.62),
            StageSpec("Qualified", 20, 21, 13, 0.72),
            StageSpec("Demo", 35, 21, 14, 0.80),
            StageSpec("Proposal", 50, 14, 16, 0.85),
            StageSpec("Negotiation", 70, 14, 14, 0.90),
            StageSpec("Contract sent", 90, 7, 9, 0.85),
        ),
    ),
    PipelineSpec(
        "Renewals",
        0.1,
        (
            StageSpec("Upcoming", 60, 30, 25, 0.90),
            StageSpec("Negotiation", 75, 21, 18, 0.90),
            StageSpec("Signed off", 95, 7, 9, 0.90),
        ),
    ),
)


@dataclass(frozen=True)
class Country:
    code: str
    currency: str
    dialling_code: str
    legal_form: str
    cities: tuple[str, ...]


@dataclass(frozen=True)
class Region:
    """A sales territory: one or more teams sell to its countries."""

    name: str
    timezone: str
    locale: str  # how the region's reps read dates and numbers
    countries: tuple[Country, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]


def _names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(","))


# Ordered so that the first three teams already sell in every currency.
REGIONS = (
    Region(
        "DACH",
        "Europe/Berlin",
        "de",
        (
            Country("DE", "EUR", "49", "GmbH", ("Berlin", "Hamburg", "München", "Köln")),
            Country("DE", "EUR", "49", "AG", ("Frankfurt", "Stuttgart", "Leipzig")),
            Country("AT", "EUR", "43", "GmbH", ("Wien", "Graz", "Linz")),
            Country("CH", "CHF", "41", "AG", ("Zürich", "Basel", "Bern")),
        ),
        _names(
            "Anna, Lukas, Sophie, Jonas, Marie, Felix, Lena, Paul, Hannah, Jan, Katrin, Stefan, "
            "Julia, Tobias, Sabine, Michael, Laura, Florian"
        ),
        _names(
            "Müller, Schmidt, Schneider, Fischer, Weber, Wagner, Becker, Hoffmann, Schäfer, "
            "Koch, Richter, Klein, Wolf, Neumann, Brunner, Huber, Gruber"
        ),
    ),
    Region(
        "North America",
        "America/New_York",
        "en-us",
        (
            Country("US", "USD", "1", "Inc.", ("New York", "Boston", "Chicago", "Austin")),
            Country("US", "USD", "1", "LLC", ("Seattle", "Denver", "Atlanta", "San Diego")),
            Country("CA", "USD", "1", "Inc.", ("Toronto", "Vancouver", "Montreal")),
        ),
        _names(
            "James, Emily, Michael, Olivia, David, Ashley, Daniel, Jessica, Ryan, Megan, Kevin, "
            "Rachel, Brian, Nicole, Tyler, Amanda, Jason, Lauren"
        ),
        _names(
            "Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Anderson, Taylor, Thomas, "
            "Moore, Martin, Thompson, Garcia, Clark, Lewis, Walker"
        ),
    ),
    Region(
        "UK & Ireland",
        "Europe/London",
        "en-gb",
        (
            Country("GB", "GBP", "44", "Ltd", ("London", "Manchester", "Leeds", "Bristol")),
            Country("GB", "GBP", "44", "plc", ("Edinburgh", "Glasgow", "Birmingham")),
            Country("IE", "EUR", "353", "Ltd", ("Dublin", "Cork", "Galway")),
        ),
        _names(
            "Oliver, Amelia, George, Isla, Harry, Ava, Jack, Grace, Charlie, Freya, Thomas, "
            "Chloe, Conor, Aoife, Callum, Niamh, William, Emma"
        ),
        _names(
            "Smith, Jones, Taylor, Evans, Davies, Roberts, Walsh, Murphy, Kelly, O'Brien, "
            "Hughes, Wright, Edwards, Green, Hall, Byrne, Campbell"
        ),
    ),
    Region(
        "France & Benelux",
        "Europe/Paris",
        "fr",
        (
            Country("FR", "EUR", "33", "SAS", ("Paris", "Lyon", "Toulouse", "Lille", "Nantes")),
            Country("BE", "EUR", "32", "SA", ("Bruxelles", "Antwerpen", "Gent")),
            Country("NL", "EUR", "31", "B.V.", ("Amsterdam", "Rotterdam", "Utrecht")),
            Country("LU", "EUR", "352", "S.A.", ("Luxembourg",)),
        ),
        _names(
            "Camille, Louis, Léa, Hugo, Chloé, Lucas, Manon, Thomas, Inès, Julien, Sanne, Daan, "
            "Emma, Bram, Elise, Nicolas, Pauline, Maxime"
        ),
        _names(
            "Martin, Bernard, Dubois, Lefèvre, Moreau, Laurent, Girard, Roux, Fontaine, de Jong, "
            "Jansen, de Vries, Peeters, Maes, Janssens, Mercier"
        ),
    ),
    Region(
        "Nordics",
        "Europe/Stockholm",
        "en-gb",
        (
            Country("SE", "EUR", "46", "AB", ("Stockholm", "Göteborg", "Malmö")),
            Country("DK", "EUR", "45", "A/S", ("København", "Aarhus")),
            Country("NO", "EUR", "47", "AS", ("Oslo", "Bergen")),
            Country("FI", "EUR", "358", "Oy", ("Helsinki", "Espoo", "Tampere")),
        ),
        _names(
            "Erik, Astrid, Lars, Ingrid, Mikael, Sara, Henrik, Maja, Johan, Elin, Mads, Freja, "
            "Ola, Nora, Mikko, Aino, Anders, Karin"
        ),
        _names(
            "Andersson, Johansson, Karlsson, Nilsson, Hansen, Jensen, Nielsen, Larsen, Olsen, "
            "Berg, Lindqvist, Virtanen, Korhonen, Lund, Holm"
        ),
    ),
    Region(
        "Southern Europe",
        "Europe/Madrid",
        "es",
        (
            Country("ES", "EUR", "34", "S.L.", ("Madrid", "Barcelona", "Valencia", "Sevilla")),
            Country("IT", "EUR", "39", "S.p.A.", ("Milano", "Roma", "Torino", "Bologna")),
            Country("PT", "EUR", "351", "Lda.", ("Lisboa", "Porto")),
        ),
        _names(
            "Lucía, Javier, Carmen, Pablo, Elena, Sergio, Giulia, Marco, Chiara, Luca, "
            "Francesca, Andrea, Inês, João, Beatriz, Diego, Sofia, Alberto"
        ),
        _names(
            "García, Fernández, López, Martínez, Sánchez, Romero, Rossi, Russo, Ferrari, "
            "Esposito, Bianchi, Colombo, Silva, Santos, Ferreira, Costa"
        ),
    ),
)

NAME_STEMS = (
    "Bright", "Blue", "North", "Silver", "Green", "Iron", "Clear", "Red", "Swift", "Stone",
    "Oak", "Sun", "River", "Cloud", "Peak", "True", "Nova", "Alpen", "Harbor", "Maple",
    "Copper", "Falcon", "Summit", "Cedar", "Crystal", "Golden", "Lake", "Pine", "Polar",
    "Prime", "Quantum", "Rapid", "Solid", "Star", "Terra", "Urban", "Vertex", "West", "Wild",
    "Zen",
)  # fmt: skip
NAME_ENDINGS = (
    "lake", "field", "stone", "wave", "bridge", "point", "line", "works", "gate", "path",
    "forge", "light", "port", "view", "core", "mark", "ridge", "wood", "hub", "scale", "shift",
    "side", "spring", "tech", "ware", "well", "wind", "bay", "crest", "dale",
)  # fmt: skip
INDUSTRIES = (
    ("Software", ("Software", "Systems", "Labs", "Digital")),
    ("Manufacturing", ("Manufacturing", "Industries", "Machines", "Components")),
    ("Retail", ("Retail", "Stores", "Brands")),
    ("Financial services", ("Capital", "Finance", "Partners")),
    ("Healthcare", ("Health", "Medical", "Care")),
    ("Logistics", ("Logistics", "Freight", "Transport")),
    ("Energy", ("Energy", "Power", "Solar")),
    ("Education", ("Learning", "Academy")),
    ("Media", ("Media", "Studios")),
    ("Telecommunications", ("Telecom", "Networks")),
    ("Professional services", ("Consulting", "Advisory", "Group")),
    ("Construction", ("Construction", "Building")),
)
CONTACT_TITLES = (
    "CEO", "CFO", "CTO", "COO", "Head of Sales", "VP Engineering", "IT Director",
    "Procurement Manager", "Operations Manager", "Marketing Lead", "Data Analyst",
    "Head of Finance", "Product Manager", "Office Manager", "Project Lead",
)  # fmt: skip
PRODUCTS = (
    "Analytics Platform", "Team Licenses", "Enterprise Plan", "Data Integration",
    "Onboarding Package", "Premium Support", "API Add-on", "Training", "Expansion", "Pilot",
)  # fmt: skip
NEXT_STEPS = (
    "Send proposal", "Book demo", "Confirm budget", "Meet procurement", "Send contract",
    "Security review", "Reference call", "Agree on timeline",
)  # fmt: skip

# Activity kinds by cumulative share: outbound e-mail, inbound e-mail, call, meeting, note, task.
ACTIVITY_KINDS = (
    (0.24, Activity.Kind.EMAIL, Activity.Direction.OUTBOUND),
    (0.40, Activity.Kind.EMAIL, Activity.Direction.INBOUND),
    (0.58, Activity.Kind.CALL, Activity.Direction.OUTBOUND),
    (0.62, Activity.Kind.CALL, Activity.Direction.INBOUND),
    (0.74, Activity.Kind.MEETING, Activity.Direction.NONE),
    (0.84, Activity.Kind.NOTE, Activity.Direction.NONE),
    (1.00, Activity.Kind.TASK, Activity.Direction.NONE),
)
ACTIVITY_KIND_CUTS = [cut for cut, _, _ in ACTIVITY_KINDS]
SUBJECTS = {
    ("email", "out"): (
        "Following up on our call", "Proposal for {company}", "Next steps", "Pricing overview",
        "Meeting recap", "Quick question", "Contract draft", "Introduction",
    ),
    ("email", "in"): (
        "Re: Proposal for {company}", "Re: Next steps", "Questions about pricing",
        "Re: Meeting recap", "Security questionnaire", "Re: Contract draft", "Budget approval",
    ),
    ("call", "out"): ("Discovery call", "Follow-up call", "Pricing discussion", "Check-in call"),
    ("call", "in"): ("Inbound call", "Question about the offer", "Callback"),
    ("meeting", ""): (
        "Demo for {company}", "Kick-off meeting", "Technical deep dive", "Executive briefing",
        "Proposal walkthrough", "Quarterly review",
    ),
    ("note", ""): (
        "Budget confirmed", "Champion identified", "Competitor in the deal",
        "Procurement involved", "Decision expected next month", "Legal review started",
    ),
    ("task", ""): (
        "Send proposal", "Follow up", "Prepare demo", "Update contract", "Book next meeting",
        "Check references", "Send case study",
    ),
}  # fmt: skip
BODIES = {
    "email": (
        "Thanks for your time today. As promised, the details are attached.",
        "Could we find 30 minutes next week to go through the open points?",
        "Our legal team has reviewed the draft; two small changes inside.",
        "Following up on my last message: is this still a priority this quarter?",
        "",
    ),
    "call": ("Left a voicemail.", "Good conversation, they want a proposal.", "", ""),
    "meeting": ("Agenda: goals, current process, next steps.", ""),
    "note": (
        "They are comparing us with two other vendors.",
        "The CFO signs anything above the approval limit.",
        "Rollout planned for next quarter if the pilot goes well.",
    ),
    "task": ("", ""),
}
LOST_NOTES = ("", "", "Went with a cheaper tool.", "Project postponed to next year.", "")


# --- Options and results --------------------------------------------------------------------


@dataclass(frozen=True)
class DemoOptions:
    users: int = 25
    deals: int = 5000
    seed: int = 42
    months: int = 12
    activities_per_deal: int = 6
    anchor: datetime.date = field(default_factory=lambda: datetime.datetime.now(UTC).date())


@dataclass
class DemoLogin:
    password: str
    emails: dict[str, str]  # role label -> e-mail address

    def text(self) -> str:
        lines = ["Salesdesk demo logins (one shared password):"]
        lines += [f"  {label:<8} {email}" for label, email in self.emails.items()]
        lines.append(f"  password {self.password}")
        return "\n".join(lines) + "\n"


@dataclass
class DemoSummary:
    users: int = 0
    teams: int = 0
    companies: int = 0
    contacts: int = 0
    deals: int = 0
    open: int = 0
    won: int = 0
    lost: int = 0
    stage_changes: int = 0
    close_date_changes: int = 0
    activities: int = 0
    forecast_snapshots: int = 0
    goals: int = 0
    seconds: float = 0.0

    @property
    def win_rate(self) -> float:
        closed = self.won + self.lost
        return self.won / closed if closed else 0.0

    def text(self) -> str:
        return (
            f"{self.users:,} users in {self.teams} teams, {self.companies:,} companies, "
            f"{self.contacts:,} contacts, {self.deals:,} deals ({self.open:,} open, "
            f"{self.won:,} won, {self.lost:,} lost: {self.win_rate:.1%} of closed deals won), "
            f"{self.stage_changes:,} stage changes, {self.close_date_changes:,} close date "
            f"changes, {self.activities:,} activities, {self.goals:,} goals, "
            f"{self.forecast_snapshots:,} forecast snapshot rows in {self.seconds:.1f} s."
        )


# --- Database helpers -----------------------------------------------------------------------

DATA_MODELS = (User, Company, Contact, Deal, Activity, Pipeline)


def database_has_data() -> bool:
    return any(model.objects.exists() for model in DATA_MODELS)


def database_counts() -> dict[str, int]:
    return {model._meta.verbose_name_plural: model.objects.count() for model in DATA_MODELS}


def demo_reset() -> None:
    """Delete every row of every table, as `salesdesk flush` does."""
    if connection.vendor != "postgresql":
        call_command("flush", interactive=False, verbosity=0)
        return
    # Inside a transaction that has just written rows (tests load twice in one), PostgreSQL
    # refuses to TRUNCATE tables with foreign-key checks still queued: run them first, and
    # defer them again afterwards, as the load writes teams before their managers.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        call_command("flush", interactive=False, verbosity=0)
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


class RowWriter:
    """Writes tuples of Python values into a model's table: COPY on PostgreSQL, else executemany.

    Columns are attribute names (`company_id`); values are what the model field holds.
    """

    def __init__(self):
        self.is_postgres = connection.vendor == "postgresql"
        if self.is_postgres:
            # The driver's own connection, in the transaction Django opened: a writer thread
            # must use it, as Django would give that thread another connection.
            connection.ensure_connection()
            self.driver_connection = connection.connection

    def write(self, model: type[models.Model], columns: Sequence[str], rows: Iterable[tuple]):
        fields_by_name = {f.attname: f for f in model._meta.concrete_fields}
        fields = [fields_by_name[name] for name in columns]
        # A field added to the model later gets what the ORM would give it: the database
        # default, else the model's default. Generated columns are the database's to fill.
        omitted = [
            f
            for f in model._meta.concrete_fields
            if f.attname not in columns
            and not f.primary_key
            and not f.has_db_default()
            and not f.generated
        ]
        if omitted:
            fields += omitted
            defaults = tuple(f.get_default() for f in omitted)
            rows = (row + defaults for row in rows)
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        column_list = ", ".join(quote(f.column) for f in fields)
        if self.is_postgres:
            with (
                self.driver_connection.cursor() as cursor,
                cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
            return
        placeholders = ", ".join(["%s"] * len(fields))
        prepare = [f.get_db_prep_save for f in fields]
        values = [
            tuple(p(v, connection) for p, v in zip(prepare, row, strict=True)) for row in rows
        ]
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} ({column_list}) VALUES ({placeholders})",  # noqa: S608
                values,
            )

    @contextlib.contextmanager
    def overlapped(self) -> Iterator[Callable[[Callable[[], None]], None]]:
        """Yield `submit(job)`. On PostgreSQL a job writes from a thread while the caller builds
        the next chunk, so the database and Python work at the same time; one job at a time
        keeps at most two chunks in memory. Elsewhere a job runs at once."""
        if not self.is_postgres:
            yield lambda job: job()
            return
        pending: Future | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-writer") as pool:

            def submit(job: Callable[[], None]) -> None:
                nonlocal pending
                if pending is not None:
                    pending.result()
                pending = pool.submit(job)

            try:
                yield submit
            finally:
                if pending is not None:
                    pending.result()

    def update(self, model: type[models.Model], columns: Sequence[str], rows: list[tuple]):
        """Set `columns` on the rows whose id is the first value of each tuple."""
        if not rows:
            return
        fields_by_name = {f.attname: f for f in model._meta.concrete_fields}
        quote = connection.ops.quote_name
        table = quote(model._meta.db_table)
        names = [quote(fields_by_name[name].column) for name in columns]
        with connection.cursor() as cursor:
            if self.is_postgres:
                cursor.execute(
                    f"CREATE TEMPORARY TABLE demo_update ON COMMIT DROP AS "  # noqa: S608
                    f"SELECT id, {', '.join(names)} FROM {table} WITH NO DATA"
                )
                with cursor.copy(f"COPY demo_update (id, {', '.join(names)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                assignments = ", ".join(f"{name} = u.{name}" for name in names)
                cursor.execute(
                    f"UPDATE {table} SET {assignments} FROM demo_update u "  # noqa: S608
                    f"WHERE {table}.id = u.id"
                )
                cursor.execute("DROP TABLE demo_update")
            else:
                fields = [fields_by_name[name] for name in columns]
                assignments = ", ".join(f"{name} = %s" for name in names)
                values = [
                    (
                        *(
                            f.get_db_prep_save(v, connection)
                            for f, v in zip(fields, row[1:], strict=True)
                        ),
                        row[0],
                    )
                    for row in rows
                ]
                cursor.executemany(
                    f"UPDATE {table} SET {assignments} WHERE id = %s",  # noqa: S608
                    values,
                )


def _next_id(model: type[models.Model]) -> int:
    return (model.objects.aggregate(top=Max("id"))["top"] or 0) + 1


def _months_before(day: datetime.date, months: int) -> datetime.date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return datetime.date(year, month, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _timestamp(ts: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ts, UTC)


def _cuts(weights: Iterable[float]) -> list[float]:
    """Cumulative shares, for picking an index with bisect on a random number in [0, 1)."""
    weights = list(weights)
    total, running, cuts = sum(weights), 0.0, []
    for weight in weights:
        running += weight
        cuts.append(running / total)
    return cuts


# --- The generator --------------------------------------------------------------------------


@dataclass
class _Person:
    id: int
    email: str
    full_name: str
    role: str
    team: int | None  # index into teams


@dataclass
class _Team:
    id: int
    name: str
    regions: list[int]
    manager: int = 0  # user id
    reps: list[int] = field(default_factory=list)
    sdrs: list[int] = field(default_factory=list)


@dataclass
class _StageRow:
    id: int
    spec: StageSpec


@dataclass
class _PipelineRow:
    id: int
    spec: PipelineSpec
    stages: list[_StageRow]


class _DemoBuilder:
    def __init__(self, options: DemoOptions, password: str, progress: Callable[[str], None]):
        self.options = options
        self.password = password
        self.progress = progress
        self.rng = random.Random(options.seed)
        self.writer = RowWriter()
        self.summary = DemoSummary()
        # Work ends at 17:00 UTC on the anchor day; history reaches back `months` months.
        anchor = datetime.datetime.combine(options.anchor, datetime.time(17), tzinfo=UTC)
        self.now = int(anchor.timestamp())
        start_day = _months_before(options.anchor, options.months)
        self.start = int(datetime.datetime.combine(start_day, datetime.time(8), UTC).timestamp())

    def build(self) -> tuple[DemoSummary, DemoLogin]:
        login = self._organization()
        self._reference_data()
        self._people()
        if self.writer.is_postgres:
            # Check foreign keys per COPY instead of queueing millions of checks until commit
            # (teams and users, which point at each other, are written by now).
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        self._companies()
        self._deals()
        self._touches()
        self._finish()
        self._rollups()
        self.summary.goals = demo_goals(anchor=self.options.anchor)
        self._forecast_snapshots()
        return self.summary, login

    # Organization, reference data --------------------------------------------------------

    def _organization(self) -> DemoLogin:
        OrganizationSettings.get()  # the one row exists from here on
        OrganizationSettings.objects.filter(pk=1).update(
            name="Northwind Analytics",
            base_currency="EUR",
            fiscal_year_start_month=1,
            internal_domains=[DEMO_DOMAIN],
            follow_up_days=7,
            updated_at=_timestamp(self.start),  # update() leaves auto_now alone: no clock time
        )
        return DemoLogin(
            password=self.password,
            emails={
                "admin": f"admin@{DEMO_DOMAIN}",
                "manager": f"manager@{DEMO_DOMAIN}",
                "rep": f"rep@{DEMO_DOMAIN}",
            },
        )

    def _reference_data(self) -> None:
        created = _timestamp(self.start - 400 * DAY)
        write = self.writer.write
        rate_id = _next_id(CurrencyRate)
        write(
            CurrencyRate,
            ["id", "currency", "rate", "updated_at"],
            [
                (rate_id + i, code, rate, created)
                for i, (code, rate) in enumerate(CURRENCY_RATES.items())
            ],
        )
        self.rates = {"EUR": Decimal(1), **CURRENCY_RATES}

        source_id = _next_id(LeadSource)
        self.lead_sources = [source_id + i for i in range(len(LEAD_SOURCES))]
        write(
            LeadSource,
            ["id", "name", "is_active"],
            [(source_id + i, name, True) for i, name in enumerate(LEAD_SOURCES)],
        )
        self.lead_source_cuts = _cuts(LEAD_SOURCES.values())
        self.outbound_source = self.lead_sources[list(LEAD_SOURCES).index("Outbound")]

        reason_id = _next_id(LostReason)
        self.lost_reasons = [reason_id + i for i in range(len(LOST_REASONS))]
        write(
            LostReason,
            ["id", "name", "is_active"],
            [(reason_id + i, name, True) for i, name in enumerate(LOST_REASONS)],
        )
        self.lost_reason_cuts = _cuts(LOST_REASONS.values())

        tag_id = _next_id(Tag)
        names = [*COMPANY_TAGS, *DEAL_TAGS, *CONTACT_TAGS]
        write(
            Tag,
            ["id", "name", "color"],
            [(tag_id + i, name, TAG_COLORS[i % len(TAG_COLORS)]) for i, name in enumerate(names)],
        )
        ids = dict(zip(names, range(tag_id, tag_id + len(names)), strict=True))
        self.company_tags = [ids[name] for name in COMPANY_TAGS]
        self.deal_tags = [ids[name] for name in DEAL_TAGS]
        self.contact_tags = [ids[name] for name in CONTACT_TAGS]

        pipeline_id, stage_id = _next_id(Pipeline), _next_id(Stage)
        self.pipelines: list[_PipelineRow] = []
        pipeline_rows, stage_rows = [], []
        for p, spec in enumerate(PIPELINES):
            stages = []
            for position, stage in enumerate(spec.stages):
                stages.append(_StageRow(stage_id, stage))
                stage_rows.append(
                    (
                        stage_id,
                        pipeline_id + p,
                        stage.name,
                        position,
                        stage.probability,
                        stage.stale_after_days,
                    )
                )
                stage_id += 1
            self.pipelines.append(_PipelineRow(pipeline_id + p, spec, stages))
            pipeline_rows.append((pipeline_id + p, spec.name, p == 0, created))
        write(Pipeline, ["id", "name", "is_default", "created_at"], pipeline_rows)
        write(
            Stage,
            ["id", "pipeline_id", "name", "position", "probability", "stale_after_days"],
            stage_rows,
        )
        self.pipeline_cuts = _cuts(p.spec.share for p in self.pipelines)

    # Teams and users -----------------------------------------------------------------------

    def _people(self) -> None:
        """One admin; teams of a manager, account executives and SDRs, each with territories."""
        rng, options = self.rng, self.options
        staff = options.users - 1
        # Each team gets at least a manager and a rep: two members or more per team.
        team_count = max(1 if staff < 5 else 2, round(staff / 8))
        team_id, user_id = _next_id(Team), _next_id(User)
        self.teams: list[_Team] = []
        for t in range(team_count):
            primary = t % len(REGIONS)
            regions = [primary] if team_count >= len(REGIONS) else []
            if not regions:
                regions = [r for r in range(len(REGIONS)) if r % team_count == t]
            repeat = t // len(REGIONS)
            name = REGIONS[primary].name + (f" {repeat + 1}" if repeat else "")
            self.teams.append(_Team(team_id + t, name, regions))

        people = [_Person(user_id, f"admin@{DEMO_DOMAIN}", "", Role.ADMIN, None)]
        for i in range(staff):
            t = i % team_count
            team = self.teams[t]
            position = i // team_count  # 0: manager, then reps and SDRs alternating 2:1
            if position == 0:
                role = Role.MANAGER
            elif position % 3 == 0:
                role = Role.SDR
            else:
                role = Role.REP
            people.append(_Person(user_id + 1 + i, "", "", role, t))
            if role == Role.MANAGER:
                team.manager = user_id + 1 + i
            elif role == Role.REP:
                team.reps.append(user_id + 1 + i)
            else:
                team.sdrs.append(user_id + 1 + i)

        used = {f"manager@{DEMO_DOMAIN}", f"rep@{DEMO_DOMAIN}", f"admin@{DEMO_DOMAIN}"}
        for person in people:
            region = REGIONS[self.teams[person.team].regions[0] if person.team is not None else 0]
            first, last = rng.choice(region.first_names), rng.choice(region.last_names)
            person.full_name = f"{first} {last}"
            if person.email:
                continue
            local = f"{_ascii(first)}.{_ascii(last)}"
            email, n = f"{local}@{DEMO_DOMAIN}", 1
            while email in used:
                n += 1
                email = f"{local}{n}@{DEMO_DOMAIN}"
            used.add(email)
            person.email = email
        _rename(people, self.teams[0].manager, f"manager@{DEMO_DOMAIN}")
        _rename(people, self.teams[0].reps[0], f"rep@{DEMO_DOMAIN}")

        login_hash = make_password(self.password)
        login_emails = {f"admin@{DEMO_DOMAIN}", f"manager@{DEMO_DOMAIN}", f"rep@{DEMO_DOMAIN}"}
        rows = []
        for person in people:
            team = self.teams[person.team] if person.team is not None else None
            region = REGIONS[team.regions[0] if team else 0]
            joined = _timestamp(self.start - rng.randrange(30, 900) * DAY)
            is_admin = person.role == Role.ADMIN
            rows.append(
                (
                    person.id,
                    login_hash if person.email in login_emails else make_password(None),
                    None,
                    is_admin,
                    person.email,
                    person.full_name,
                    person.role,
                    team.id if team else None,
                    region.timezone,
                    region.locale,
                    True,
                    is_admin,
                    joined,
                )
            )
        created = _timestamp(self.start - 900 * DAY)
        self.writer.write(
            Team,
            ["id", "name", "manager_id", "created_at"],
            [(t.id, t.name, t.manager or None, created) for t in self.teams],
        )
        self.writer.write(
            User,
            [
                "id", "password", "last_login", "is_superuser", "email", "full_name", "role",
                "team_id", "timezone", "locale", "is_active", "is_staff", "date_joined",
            ],
            rows,
        )  # fmt: skip
        # Who owns accounts in which region, and who prospects for whom.
        self.reps = [rep for team in self.teams for rep in team.reps]
        self.team_of_rep = {rep: t for t, team in enumerate(self.teams) for rep in team.reps}
        self.summary.users = len(people)
        self.summary.teams = len(self.teams)

    # Companies and contacts ----------------------------------------------------------------

    def _companies(self) -> None:
        count = max(10, self.options.deals // 4)
        self.key_accounts = max(3, count // 200)
        self.next_company_id, self.next_contact_id = _next_id(Company), _next_id(Contact)
        self.next_email_id, self.next_phone_id = _next_id(ContactEmail), _next_id(ContactPhone)
        self.first_contact_id = self.next_contact_id
        # Four in ten accounts exist before the history starts; the others arrive steadily.
        self.company_first = self.start - int((self.now - self.start) * 0.67)
        self.company_last_created = self.now - 3 * DAY
        self.company_ids: list[int] = []
        self.company_created: list[int] = []
        self.company_owner: list[int] = []
        self.company_name: list[str] = []
        self.company_domain: list[str] = []
        self.company_currency: list[str] = []
        self.company_contacts: list[tuple[int, int]] = []  # first contact id, how many
        self.used_domains: set[str] = set()
        with self.writer.overlapped() as submit:
            for chunk_start in range(0, count, CHUNK):
                chunk = _CompanyChunk()
                for i in range(chunk_start, min(count, chunk_start + CHUNK)):
                    self._company(chunk, i, count)
                submit(partial(self._write_company_chunk, chunk))
                if len(self.company_ids) % 50_000 == 0 or len(self.company_ids) == count:
                    self.progress(f"companies {len(self.company_ids):,}/{count:,}")
        contacts = self.next_contact_id - self.first_contact_id
        self.company_last = [0] * count  # last interaction (epoch seconds), 0 for none
        self.contact_last = [0] * contacts
        self.contact_next_meeting = [0] * contacts
        self.summary.companies = count
        self.summary.contacts = contacts

    def _company(self, chunk: "_CompanyChunk", i: int, count: int) -> None:
        rng = self.rng
        first, last = self.company_first, self.company_last_created
        created = first + int((i + rng.random()) / count * (last - first))
        owner = rng.choice(self.reps)
        region = REGIONS[rng.choice(self.teams[self.team_of_rep[owner]].regions)]
        country = rng.choice(region.countries)
        industry, words = rng.choice(INDUSTRIES)
        stem = rng.choice(NAME_STEMS) + rng.choice(NAME_ENDINGS)
        base = f"{stem} {rng.choice(words)}"
        slug = base.lower().replace(" ", "-")
        name, domain = base, f"{slug}.example"
        if domain in self.used_domains:
            city = rng.choice(country.cities)
            name, domain = f"{base} {city}", f"{slug}-{_ascii(city)}.example"
        n = 1
        while domain in self.used_domains:
            n += 1
            name, domain = f"{base} {n}", f"{slug}-{n}.example"
        self.used_domains.add(domain)
        name = f"{name} {country.legal_form}"
        size = max(2, int(math.exp(rng.gauss(4.5, 1.4))))
        at = _timestamp(created)
        company_id = self.next_company_id
        self.next_company_id += 1
        chunk.companies.append(
            (
                company_id, name, domain, industry, country.code, region.name, size,
                f"https://www.{domain}", _phone(rng, country), owner, at, at,
            )
        )  # fmt: skip
        if rng.random() < 0.35:
            chunk.company_tags.append((company_id, rng.choice(self.company_tags)))
        self.company_ids.append(company_id)
        self.company_created.append(created)
        self.company_owner.append(owner)
        self.company_name.append(name)
        self.company_domain.append(domain)
        self.company_currency.append(country.currency)

        people = rng.choice((1, 2, 2, 3, 3, 3, 4, 5))
        self.company_contacts.append((self.next_contact_id, people))
        local_parts: set[str] = set()
        for _ in range(people):
            contact_id = self.next_contact_id
            self.next_contact_id += 1
            first_name = rng.choice(region.first_names)
            last_name = rng.choice(region.last_names)
            contact_at = _timestamp(created + rng.randrange(DAY))
            chunk.contacts.append(
                (
                    contact_id, first_name, last_name, rng.choice(CONTACT_TITLES), company_id,
                    owner, "", contact_at, contact_at,
                )
            )  # fmt: skip
            if rng.random() < 0.1:
                chunk.contact_tags.append((contact_id, rng.choice(self.contact_tags)))
            addresses = [f"{_ascii(first_name)}.{_ascii(last_name)}"]
            if rng.random() < 0.2:
                addresses.append(f"{_ascii(first_name)[:1]}{_ascii(last_name)}")
            for position, local in enumerate(addresses):
                unique, n = local, 1
                while unique in local_parts:
                    n += 1
                    unique = f"{local}{n}"
                local_parts.add(unique)
                chunk.emails.append(
                    (self.next_email_id, contact_id, f"{unique}@{domain}", position == 0)
                )
                self.next_email_id += 1
            kinds = ("work", "mobile") if rng.random() < 0.3 else ("work",)
            for kind in kinds:
                number = _phone(rng, country, mobile=kind == "mobile")
                chunk.phones.append((self.next_phone_id, contact_id, number, kind))
                self.next_phone_id += 1

    def _write_company_chunk(self, chunk: "_CompanyChunk") -> None:
        write = self.writer.write
        write(
            Company,
            [
                "id", "name", "domain", "industry", "country", "region", "size", "website",
                "phone", "owner_id", "created_at", "updated_at",
            ],
            chunk.companies,
        )  # fmt: skip
        write(Company.tags.through, ["company_id", "tag_id"], chunk.company_tags)
        write(
            Contact,
            [
                "id", "first_name", "last_name", "title", "company_id", "owner_id", "source",
                "created_at", "updated_at",
            ],
            chunk.contacts,
        )  # fmt: skip
        write(Contact.tags.through, ["contact_id", "tag_id"], chunk.contact_tags)
        write(ContactEmail, ["id", "contact_id", "email", "is_primary"], chunk.emails)
        write(ContactPhone, ["id", "contact_id", "number", "kind"], chunk.phones)

    # Deals, their stage history and activities ---------------------------------------------

    def _deals(self) -> None:
        options = self.options
        deal_id, change_id = _next_id(Deal), _next_id(StageChange)
        self.close_change_id = _next_id(CloseDateChange)
        self.activity_id = _next_id(Activity)
        self.activity_number = 0  # counts activities for unique e-mail and calendar ids
        with self.writer.overlapped() as submit:
            for chunk_start in range(0, options.deals, CHUNK):
                chunk = _DealChunk()
                for i in range(chunk_start, min(options.deals, chunk_start + CHUNK)):
                    change_id = self._deal(chunk, i, deal_id + i, change_id)
                submit(partial(self._write_deal_chunk, chunk))
                done = min(options.deals, chunk_start + CHUNK)
                if done % 100_000 == 0 or done == options.deals:
                    self.progress(f"deals {done:,}/{options.deals:,}")

    def _created_at(self, i: int) -> int:
        """Creation times rise with the deal number; twice as many deals a day at the end."""
        n = self.options.deals
        q = (i + self.rng.random()) / n
        growth = 1.0  # the density rises linearly from 1 to 1 + growth
        x = (-1 + math.sqrt(1 + 2 * growth * q * (1 + growth / 2))) / growth
        return self.start + int(x * (self.now - DAY - self.start))

    def _deal(self, chunk: "_DealChunk", i: int, deal_id: int, change_id: int) -> int:
        rng, now, summary = self.rng, self.now, self.summary
        created = self._created_at(i)
        # An account that existed a day before the deal. One deal in ten goes to a key account
        # (the oldest one in two hundred), so a few accounts have long timelines.
        known = max(1, bisect.bisect_right(self.company_created, created - DAY))
        if rng.random() < 0.1:
            known = min(known, self.key_accounts)
        c = rng.randrange(known)
        company_id, owner = self.company_ids[c], self.company_owner[c]
        pipeline = self.pipelines[bisect.bisect_left(self.pipeline_cuts, rng.random())]
        stages = pipeline.stages
        source = self.lead_sources[bisect.bisect_left(self.lead_source_cuts, rng.random())]

        # Walk the stages: each stage is left after a random time, onwards or lost.
        k = 1 if len(stages) > 3 and rng.random() < 0.15 else 0
        entered = created
        changes = [(None, stages[k].id, created)]
        status, closed = Deal.Status.OPEN, 0
        while True:
            leave = entered + 3600 + int(stages[k].spec.mean_days * DAY * rng.expovariate(1))
            if leave > now:
                break
            if rng.random() >= stages[k].spec.advance:
                status, closed = Deal.Status.LOST, leave
                break
            if k == len(stages) - 1:
                status, closed = Deal.Status.WON, leave
                break
            changes.append((stages[k].id, stages[k + 1].id, leave))
            k += 1
            entered = leave
        stage = stages[k]
        for from_stage, to_stage, at in changes:
            chunk.changes.append((change_id, deal_id, from_stage, to_stage, _timestamp(at), owner))
            change_id += 1
        summary.stage_changes += len(changes)

        # Money in the account's currency, converted with today's rate.
        currency = self.company_currency[c]
        rate = self.rates[currency]
        scale = 9.6 if pipeline.spec.name == "Sales" else 9.0
        local = max(500, round(math.exp(rng.gauss(scale, 0.75)) / float(rate), -2))
        amount = Decimal(int(local))
        amount_base = (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)
        product = rng.choice(PRODUCTS)

        contacts_first, contacts_count = self.company_contacts[c]
        deal_contacts = rng.sample(
            range(contacts_first, contacts_first + contacts_count),
            min(contacts_count, rng.choice((1, 1, 2, 2, 3))),
        )
        for contact in deal_contacts:
            chunk.deal_contacts.append((deal_id, contact))
        if rng.random() < 0.15:
            chunk.deal_tags.append((deal_id, rng.choice(self.deal_tags)))

        end = closed or now
        last_touch = self._activities(
            chunk,
            deal_id=deal_id,
            company=c,
            owner=owner,
            contacts=deal_contacts,
            start=created,
            end=end,
            is_open=status == Deal.Status.OPEN,
            first_stage_until=changes[1][2] if len(changes) > 1 else end,
            prospected=source == self.outbound_source,
        )

        expected, last_change, slips = self._close_dates(
            chunk,
            deal_id=deal_id,
            owner=owner,
            stages=stages,
            entries=[(at, k - len(changes) + 1 + i) for i, (_, _, at) in enumerate(changes)],
            closed=closed,
            status=status,
        )
        lost_reason, lost_note, next_step, next_step_due = None, "", "", None
        if status == Deal.Status.OPEN:
            summary.open += 1
            if stage.spec.probability < 30:
                forecast = Deal.ForecastCategory.PIPELINE
            elif stage.spec.probability < 65:
                forecast = Deal.ForecastCategory.BEST_CASE
            else:
                forecast = Deal.ForecastCategory.COMMIT
            next_step = rng.choice(NEXT_STEPS)
            next_step_due = (_timestamp(now) + datetime.timedelta(days=rng.randint(-7, 14))).date()
        else:
            forecast = Deal.ForecastCategory.CLOSED
            if status == Deal.Status.WON:
                summary.won += 1
            else:
                summary.lost += 1
                lost_reason = self.lost_reasons[
                    bisect.bisect_left(self.lost_reason_cuts, rng.random())
                ]
                lost_note = rng.choice(LOST_NOTES)
        title = f"{self.company_name[c]}: {product}"
        if pipeline.spec.name == "Renewals":
            title = f"{self.company_name[c]}: renewal {expected.year}"
        updated = max(entered, closed, last_touch, last_change)
        chunk.deals.append(
            (
                deal_id, title, company_id, owner, pipeline.id, stage.id, amount, currency,
                amount_base, expected, slips, status,
                _timestamp(closed) if closed else None, lost_reason, lost_note, source, forecast,
                next_step, next_step_due, _timestamp(entered),
                _timestamp(last_touch) if last_touch else None, _timestamp(created),
                _timestamp(updated),
            )
        )  # fmt: skip
        summary.deals += 1
        return change_id

    def _close_dates(
        self,
        chunk: "_DealChunk",
        *,
        deal_id: int,
        owner: int,
        stages: list[_StageRow],
        entries: list[tuple[int, int]],
        closed: int,
        status: str,
    ) -> tuple[datetime.date, int, int]:
        """The rep's expected close date and its history (CloseDateChange rows).

        Reps are optimistic: on creating the deal and on most stage moves they expect it to
        close after OPTIMISM times the typical time left; a few days after that date passes
        with the deal still open they push it out a few weeks (a slip); they set it to the day
        of the win when they win it. `entries` are the stage entries (time, stage index) in
        order. Returns the final date, the time of the last change (0 for none) and how many
        of the changes were slips (`Deal.close_date_slips`).
        """
        rng = self.rng
        end = closed or self.now

        def guess(at: int, k: int) -> int:
            left = sum(stage.spec.mean_days for stage in stages[k:])
            return at + int(left * rng.uniform(*OPTIMISM) * DAY)

        expected = guess(*entries[0])
        changes: list[tuple[int, int, int]] = []  # from, to, at (epoch seconds)

        def push_until(limit: int) -> None:
            nonlocal expected
            while True:
                noticed = expected + int(rng.uniform(0.2, 14) * DAY)
                if noticed >= limit:
                    return
                pushed = noticed + int(rng.uniform(10, 45) * DAY)
                changes.append((expected, pushed, noticed))
                expected = pushed

        for at, k in entries[1:]:
            push_until(at)
            if rng.random() < 0.7:
                revised = guess(at, k)
                if _timestamp(revised).date() != _timestamp(expected).date():
                    changes.append((expected, revised, at + 60))
                    expected = revised
        push_until(end - 3600)  # nothing in the hour before the deal closes
        if status == Deal.Status.WON and _timestamp(expected).date() != _timestamp(closed).date():
            at = max(closed - rng.randrange(600, 2 * DAY), (changes[-1][2] if changes else 0) + 60)
            if at < closed:
                changes.append((expected, closed, at))
                expected = closed
        for from_ts, to_ts, at in changes:
            chunk.close_changes.append(
                (
                    self.close_change_id, deal_id, _timestamp(from_ts).date(),
                    _timestamp(to_ts).date(), _timestamp(at), owner,
                )
            )  # fmt: skip
            self.close_change_id += 1
        self.summary.close_date_changes += len(changes)
        slips = sum(
            _timestamp(to_ts).date() > _timestamp(from_ts).date() for from_ts, to_ts, _ in changes
        )
        return _timestamp(expected).date(), changes[-1][2] if changes else 0, slips

    def _activities(
        self,
        chunk: "_DealChunk",
        *,
        deal_id: int,
        company: int,
        owner: int,
        contacts: list[int],
        start: int,
        end: int,
        is_open: bool,
        first_stage_until: int,
        prospected: bool,
    ) -> int:
        """Write the deal's activities; return the time of the last one that happened."""
        rng, now = self.rng, self.now
        per_deal = self.options.activities_per_deal
        if per_deal <= 0:
            return 0
        low = max(1, (per_deal + 1) // 2)
        count = rng.randint(low, 2 * per_deal - low)
        span = max(end - start, 3600)
        times = sorted(start + int(rng.random() * span) for _ in range(count))
        if is_open and rng.random() < 0.5:
            # Something already planned: a meeting or a task in the next two weeks.
            times[-1] = now + int(rng.random() * 14 * DAY)
        company_id = self.company_ids[company]
        name, domain = self.company_name[company], self.company_domain[company]
        team = self.teams[self.team_of_rep[owner]]
        sdr = rng.choice(team.sdrs) if prospected and team.sdrs else 0
        last_touch = 0
        activities, activity_contacts = chunk.activities, chunk.activity_contacts
        contact_last, next_meeting = self.contact_last, self.contact_next_meeting
        first_contact = self.first_contact_id
        for at in times:
            # Working hours, Monday to Friday.
            day = at // DAY
            weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
            if weekday >= 5:
                day -= weekday - 4
            at = day * DAY + 25_200 + rng.randrange(39_600)
            is_future = is_open and at > now
            if not is_future:
                at = min(max(start, at), end, now)
            if is_future:
                kind, direction = (
                    (Activity.Kind.MEETING, "") if rng.random() < 0.5 else (Activity.Kind.TASK, "")
                )
            else:
                _, kind, direction = ACTIVITY_KINDS[
                    bisect.bisect_left(ACTIVITY_KIND_CUTS, rng.random())
                ]
            subject = rng.choice(SUBJECTS[kind, direction]).format(company=name)
            body = rng.choice(BODIES[kind])
            due = done = duration = None
            source, external_id = Activity.Source.MANUAL, ""
            people: Sequence[int] = ()
            number = self.activity_number
            self.activity_number += 1
            if kind == Activity.Kind.EMAIL:
                source = Activity.Source.IMAP
                sender = DEMO_DOMAIN if direction == Activity.Direction.OUTBOUND else domain
                external_id = f"<{number:x}.{self.options.seed}@mail.{sender}>"
                people = (rng.choice(contacts),)
            elif kind == Activity.Kind.CALL:
                duration = datetime.timedelta(seconds=rng.randrange(60, 2400, 30))
                people = (rng.choice(contacts),)
            elif kind == Activity.Kind.MEETING:
                source = Activity.Source.CALENDAR
                external_id = f"{number:x}.{self.options.seed}@calendar.{DEMO_DOMAIN}"
                duration = datetime.timedelta(minutes=rng.choice((30, 30, 45, 60, 60, 90)))
                people = contacts
            elif kind == Activity.Kind.TASK:
                due_at = at + rng.randint(1, 7) * DAY
                due = _timestamp(due_at)
                # Open deals keep upcoming tasks and, some of them, tasks overdue for weeks.
                is_pending = is_open and (
                    due_at > now or (due_at > now - 21 * DAY and rng.random() < 0.5)
                )
                if not is_pending:
                    done = _timestamp(min(now, at + int(rng.random() * (due_at - at))))
            who = sdr if sdr and at < first_stage_until and kind in ("email", "call") else owner
            stamp = _timestamp(at)
            created = stamp if not is_future else _timestamp(now - rng.randrange(1, 7 * DAY))
            activity_id = self.activity_id
            self.activity_id += 1
            activities.append(
                (
                    activity_id, kind, direction, subject, body, stamp, due, done, duration, who,
                    company_id, deal_id, source, external_id, created, done or created,
                )
            )  # fmt: skip
            for contact in people:
                activity_contacts.append((activity_id, contact))
            if is_future:
                if kind == Activity.Kind.MEETING:
                    for contact in people:
                        slot = contact - first_contact
                        if not next_meeting[slot] or at < next_meeting[slot]:
                            next_meeting[slot] = at
                continue
            last_touch = max(last_touch, at)
            for contact in people:
                slot = contact - first_contact
                if at > contact_last[slot]:
                    contact_last[slot] = at
        if last_touch > self.company_last[company]:
            self.company_last[company] = last_touch
        self.summary.activities += count
        return last_touch

    def _write_deal_chunk(self, chunk: "_DealChunk") -> None:
        write = self.writer.write
        write(
            Deal,
            [
                "id", "title", "company_id", "owner_id", "pipeline_id", "stage_id", "amount",
                "currency", "amount_base", "expected_close", "close_date_slips", "status",
                "closed_at",
                "lost_reason_id", "lost_note", "lead_source_id", "forecast_category", "next_step",
                "next_step_due", "stage_entered_at", "last_interaction_at", "created_at",
                "updated_at",
            ],
            chunk.deals,
        )  # fmt: skip
        write(Deal.contacts.through, ["deal_id", "contact_id"], chunk.deal_contacts)
        write(Deal.tags.through, ["deal_id", "tag_id"], chunk.deal_tags)
        write(
            StageChange,
            ["id", "deal_id", "from_stage_id", "to_stage_id", "at", "by_id"],
            chunk.changes,
        )
        write(
            CloseDateChange,
            ["id", "deal_id", "from_date", "to_date", "at", "by_id"],
            chunk.close_changes,
        )
        write(
            Activity,
            [
                "id", "kind", "direction", "subject", "body", "occurred_at", "due_at", "done_at",
                "duration", "owner_id", "company_id", "deal_id", "source", "external_id",
                "created_at", "updated_at",
            ],
            chunk.activities,
        )  # fmt: skip
        write(Activity.contacts.through, ["activity_id", "contact_id"], chunk.activity_contacts)

    def _touches(self) -> None:
        """Last interaction on accounts and people, next meeting on people."""
        self.progress("last interactions")
        self.writer.update(
            Company,
            ["last_interaction_at"],
            [
                (company_id, _timestamp(last))
                for company_id, last in zip(self.company_ids, self.company_last, strict=True)
                if last
            ],
        )
        first = self.first_contact_id
        self.writer.update(
            Contact,
            ["last_interaction_at", "next_meeting_at"],
            [
                (
                    first + slot,
                    _timestamp(last) if last else None,
                    _timestamp(upcoming) if upcoming else None,
                )
                for slot, (last, upcoming) in enumerate(
                    zip(self.contact_last, self.contact_next_meeting, strict=True)
                )
                if last or upcoming
            ],
        )

    def _finish(self) -> None:
        with connection.cursor() as cursor:
            models_with_ids = [
                CurrencyRate, LeadSource, LostReason, Tag, Pipeline, Stage, Team, User, Company,
                Contact, ContactEmail, ContactPhone, Deal, StageChange, CloseDateChange, Activity,
            ]  # fmt: skip
            for statement in connection.ops.sequence_reset_sql(no_style(), models_with_ids):
                cursor.execute(statement)
            if self.writer.is_postgres:
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")
                # Fresh statistics, so the first queries on the new data get sensible plans.
                tables = [m._meta.db_table for m in models_with_ids]
                tables += [
                    Activity.contacts.through._meta.db_table,
                    Deal.contacts.through._meta.db_table,
                ]
                cursor.execute("ANALYZE " + ", ".join(tables))

    def _rollups(self) -> None:
        """The dashboards' monthly buckets, recounted from the rows just copied in."""
        self.progress("rollups")
        rollups.rebuild()
        if self.writer.is_postgres:
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE analytics_dealrollup, analytics_activityrollup")

    def _forecast_snapshots(self) -> None:
        """The win curves the forecast page reads, measured on the history just written, and
        forecast snapshots rebuilt from it (the last week before each month: the ones
        accuracy is measured on), so the page shows how accurate each method has been. A large
        demo skips the snapshots (a second or more per week rebuilt): `salesdesk
        forecast-backtest --store` adds them, every week."""
        from salesdesk.goals.snapshots import curves_store, snapshot_backfill

        self.progress("forecast curves")
        curves_store(now=_timestamp(self.now))
        if self.options.deals > SNAPSHOT_DEALS_LIMIT:
            return
        self.progress("forecast snapshots")
        stored = snapshot_backfill(
            since=_timestamp(self.start).date(), now=_timestamp(self.now), every_week=False
        )
        self.summary.forecast_snapshots = stored.rows


@dataclass
class _CompanyChunk:
    companies: list[tuple] = field(default_factory=list)
    company_tags: list[tuple] = field(default_factory=list)
    contacts: list[tuple] = field(default_factory=list)
    contact_tags: list[tuple] = field(default_factory=list)
    emails: list[tuple] = field(default_factory=list)
    phones: list[tuple] = field(default_factory=list)


@dataclass
class _DealChunk:
    deals: list[tuple] = field(default_factory=list)
    deal_contacts: list[tuple] = field(default_factory=list)
    deal_tags: list[tuple] = field(default_factory=list)
    changes: list[tuple] = field(default_factory=list)
    close_changes: list[tuple] = field(default_factory=list)
    activities: list[tuple] = field(default_factory=list)
    activity_contacts: list[tuple] = field(default_factory=list)


def _phone(rng: random.Random, country: Country, *, mobile: bool = False) -> str:
    area = rng.randint(150, 179) if mobile else rng.randint(20, 899)
    return f"+{country.dialling_code} {area} {rng.randint(1_000_000, 9_999_999)}"


def _rename(people: list[_Person], user_id: int, email: str) -> None:
    for person in people:
        if person.id == user_id:
            person.email = email


# --- Entry points ---------------------------------------------------------------------------


def demo_load(
    *,
    options: DemoOptions,
    password: str,
    progress: Callable[[str], None] | None = None,
) -> tuple[DemoSummary, DemoLogin]:
    """Fill an empty database with the demo organization, in one transaction."""
    started = time.perf_counter()
    if options.users < 3:
        raise ValueError("The demo needs at least 3 users: an admin, a manager and a rep.")
    if options.deals < 0 or options.months < 1 or options.activities_per_deal < 0:
        raise ValueError("Deals and activities per deal cannot be negative; months at least 1.")
    with transaction.atomic():
        summary, login = _DemoBuilder(options, password, progress or (lambda _: None)).build()
    summary.seconds = time.perf_counter() - started
    return summary, login


def login_file() -> Path:
    return Path(settings.VAR_DIR) / LOGIN_FILE_NAME


def login_file_write(login: DemoLogin) -> Path:
    """Store the logins readable by the owner only (mode 0600)."""
    path = login_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(login.text())
    path.chmod(0o600)  # when the file existed with wider permissions
    return path
