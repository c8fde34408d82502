"""The demo organization: reproducible from its seed and consistent with the domain's rules."""

import datetime
import io
import itertools
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count

from salesdesk.accounts.models import Role, User
from salesdesk.activities.models import Activity
from salesdesk.core.demo import DemoOptions, demo_load, demo_reset
from salesdesk.core.models import CurrencyRate
from salesdesk.crm.models import Company, ContactEmail
from salesdesk.goals.models import ForecastSnapshot
from salesdesk.pipeline.models import CloseDateChange, Deal, StageChange

ANCHOR = datetime.date(2025, 6, 30)
NOW = datetime.datetime(2025, 6, 30, 17, tzinfo=datetime.UTC)


def load(**options):
    options = {"users": 8, "deals": 300, "anchor": ANCHOR, **options}
    summary, _ = demo_load(options=DemoOptions(**options), password="a demo password")
    return summary


def snapshot() -> dict:
    """What two loads must agree on, without the row ids."""
    return {
        "deals": list(
            Deal.objects.order_by("created_at", "id").values_list(
                "title", "amount", "currency", "amount_base", "status", "stage__name",
                "owner__email", "company__domain", "lost_reason__name", "expected_close",
                "created_at", "closed_at", "stage_entered_at",
            )
        ),
        "activities": list(
            Activity.objects.values_list("kind", "direction")
            .annotate(count=Count("id"))
            .order_by("kind", "direction")
        ),
        "activity_times": list(
            Activity.objects.order_by("occurred_at", "id").values_list(
                "occurred_at", "subject", "owner__email"
            )
        ),
        "emails": sorted(ContactEmail.objects.values_list("email", flat=True)),
        "close_dates": list(
            CloseDateChange.objects.order_by("at", "id").values_list(
                "deal__title", "from_date", "to_date", "at"
            )
        ),
        "snapshots": list(
            ForecastSnapshot.objects.order_by(
                "week", "period_start", "period_kind", "scope", "scope_id", "method"
            ).values_list("week", "period_start", "method", "scope", "value", "actual")
        ),
        "users": sorted(User.objects.values_list("email", "full_name", "role", "team__name")),
    }  # fmt: skip


@pytest.fixture
def demo(db):
    return load()


def test_same_seed_and_anchor_give_the_same_data(db):
    load(seed=3)
    first = snapshot()
    demo_reset()
    load(seed=3)

    assert snapshot() == first
    assert len(first["deals"]) == 300


def test_another_seed_gives_other_data(db):
    load(seed=3)
    first = snapshot()
    demo_reset()
    load(seed=4)
    second = snapshot()

    assert second["deals"] != first["deals"]
    assert {d[0] for d in second["deals"]} != {d[0] for d in first["deals"]}
    assert len(second["deals"]) == 300


def test_summary_counts_what_was_written(db):
    summary = load()

    assert summary.users == User.objects.count() == 8
    assert summary.deals == Deal.objects.count() == 300
    assert summary.won == Deal.objects.filter(status=Deal.Status.WON).count()
    assert summary.lost == Deal.objects.filter(status=Deal.Status.LOST).count()
    assert summary.open == Deal.objects.filter(status=Deal.Status.OPEN).count()
    assert summary.activities == Activity.objects.count()
    assert summary.stage_changes == StageChange.objects.count()


def test_win_rate_is_plausible(demo):
    won = Deal.objects.filter(status=Deal.Status.WON).count()
    lost = Deal.objects.filter(status=Deal.Status.LOST).count()

    assert 0.15 <= won / (won + lost) <= 0.40
    assert Deal.objects.filter(status=Deal.Status.OPEN).count() >= 15


def test_organization_has_teams_with_managers_reps_and_sdrs(demo):
    roles = list(User.objects.order_by("role").values_list("role", flat=True).distinct())

    assert roles == sorted([Role.ADMIN, Role.MANAGER, Role.REP, Role.SDR])
    for manager in User.objects.filter(role=Role.MANAGER):
        assert manager.managed_teams.get() == manager.team
    assert not Company.objects.filter(owner__role__in=[Role.ADMIN, Role.MANAGER]).exists()
    dach = User.objects.filter(team__name="DACH")
    assert set(dach.values_list("timezone", "locale").distinct()) == {("Europe/Berlin", "de")}


def test_every_activity_kind_and_task_state_is_present(demo):
    kinds = set(Activity.objects.values_list("kind", "direction").distinct())
    tasks = Activity.objects.filter(kind=Activity.Kind.TASK)

    assert kinds == {
        ("email", "in"), ("email", "out"), ("call", "in"), ("call", "out"),
        ("meeting", ""), ("note", ""), ("task", ""),
    }  # fmt: skip
    assert tasks.filter(done_at__isnull=False).exists()
    assert tasks.filter(done_at__isnull=True, due_at__lt=NOW).exists()  # overdue
    assert tasks.filter(done_at__isnull=True, due_at__gt=NOW).exists()  # upcoming
    assert not tasks.filter(due_at__isnull=True).exists()


def test_activities_belong_to_their_deals_account_and_people(demo):
    deal_contacts = defaultdict(set)
    for deal_id, contact_id in Deal.contacts.through.objects.values_list("deal", "contact"):
        deal_contacts[deal_id].add(contact_id)
    activities = Activity.objects.select_related("deal").prefetch_related("contacts")

    assert Activity.objects.filter(deal__isnull=True).count() == 0
    for activity in activities:
        assert activity.company_id == activity.deal.company_id
        assert {c.id for c in activity.contacts.all()} <= deal_contacts[activity.deal_id]
        assert activity.occurred_at >= activity.deal.created_at
        if activity.deal.closed_at:
            assert activity.occurred_at <= activity.deal.closed_at
        if activity.occurred_at > NOW:
            assert activity.kind in (Activity.Kind.MEETING, Activity.Kind.TASK)
            assert activity.deal.status == Deal.Status.OPEN


def test_closed_deals_have_closed_at_and_lost_deals_a_reason(demo):
    assert not Deal.objects.exclude(status=Deal.Status.OPEN).filter(closed_at__isnull=True).exists()
    assert not Deal.objects.filter(status=Deal.Status.OPEN, closed_at__isnull=False).exists()
    assert not Deal.objects.filter(status=Deal.Status.LOST, lost_reason__isnull=True).exists()
    assert not Deal.objects.exclude(status=Deal.Status.LOST).filter(lost_reason__isnull=False)
    assert not Deal.objects.filter(closed_at__gt=NOW).exists()
    assert set(Deal.objects.values_list("lost_reason__name", flat=True).distinct()) >= {
        "Price", "Competitor", "No budget", "Timing", "No decision",
    }  # fmt: skip


def test_stage_history_is_ordered_and_ends_at_the_current_stage(demo):
    history = defaultdict(list)
    for change in StageChange.objects.order_by("at", "id"):
        history[change.deal_id].append(change)

    for deal in Deal.objects.all():
        changes = history[deal.id]
        assert changes[0].from_stage_id is None
        assert changes[0].at == deal.created_at
        for before, after in itertools.pairwise(changes):
            assert after.from_stage_id == before.to_stage_id
            assert after.at > before.at
        assert changes[-1].to_stage_id == deal.stage_id
        assert changes[-1].at == deal.stage_entered_at
        assert {change.by_id for change in changes} == {deal.owner_id}
        assert deal.stage.pipeline_id == deal.pipeline_id
        assert deal.stage_entered_at <= (deal.closed_at or NOW)


def test_close_dates_slip_and_their_history_leads_to_the_deals_date(demo):
    history = defaultdict(list)
    for change in CloseDateChange.objects.order_by("at", "id"):
        history[change.deal_id].append(change)
    deals = Deal.objects.in_bulk()
    slips = 0

    for deal_id, changes in history.items():
        deal = deals[deal_id]
        for before, after in itertools.pairwise(changes):
            assert after.from_date == before.to_date
            assert after.at > before.at
        assert changes[-1].to_date == deal.expected_close
        assert deal.created_at < changes[0].at
        assert changes[-1].at < (deal.closed_at or NOW)
        assert {change.by_id for change in changes} == {deal.owner_id}
        slips += sum(change.is_slip for change in changes)
        assert deal.close_date_slips == sum(change.is_slip for change in changes)
    assert slips > len(history) / 2  # reps push dates out more than they pull them in
    for deal in Deal.objects.filter(status=Deal.Status.WON):
        assert deal.expected_close == deal.closed_at.date()  # set on the day of the win
    assert not Deal.objects.exclude(pk__in=history).filter(close_date_slips__gt=0).exists()


def test_forecast_snapshots_are_rebuilt_for_the_accuracy_record(db):
    load(deals=1500)

    weeks = sorted(set(ForecastSnapshot.objects.values_list("week", flat=True)))

    assert weeks  # the last Monday before each month with enough history
    assert all((week + datetime.timedelta(days=7)).month != week.month for week in weeks)
    assert all(week.weekday() == 0 for week in weeks)
    assert not ForecastSnapshot.objects.filter(is_backfilled=False).exists()
    ended = ForecastSnapshot.objects.filter(
        period_kind="month", period_start__lt=datetime.date(2025, 6, 1)
    )
    assert ended.exists()
    assert not ended.filter(actual__isnull=True).exists()


def test_contact_emails_are_unique_and_lower_case(demo):
    emails = list(ContactEmail.objects.values_list("email", flat=True))

    assert len(emails) == len(set(emails))
    assert all(email == email.lower() and "@" in email for email in emails)
    domains = list(Company.objects.values_list("domain", flat=True))
    assert len(domains) == len(set(domains))


def test_amount_base_is_amount_times_rate(demo):
    rates = dict(CurrencyRate.objects.values_list("currency", "rate"))
    rates["EUR"] = Decimal(1)
    currencies = set()

    for deal in Deal.objects.all():
        expected = (deal.amount * rates[deal.currency]).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
        assert deal.amount_base == expected
        currencies.add(deal.currency)
    assert currencies == {"EUR", "USD", "GBP", "CHF"}


def run_demo(*args) -> str:
    out = io.StringIO()
    call_command("demo", *args, "--anchor", ANCHOR.isoformat(), stdout=out)
    return out.getvalue()


def test_first_start_loads_once_and_saves_the_logins(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path

    output = run_demo("--first-start", "--users", "5", "--deals", "40")

    path = tmp_path / "demo-login.txt"
    assert path.stat().st_mode & 0o777 == 0o600
    saved = path.read_text()
    password = saved.split("password ")[1].strip()
    assert saved in output
    for email in ("admin@", "manager@", "rep@"):
        user = User.objects.get(email=f"{email}demo.salesdesk.test")
        assert user.check_password(password)
    assert User.objects.get(email="admin@demo.salesdesk.test").role == Role.ADMIN
    assert User.objects.get(email="manager@demo.salesdesk.test").role == Role.MANAGER
    assert User.objects.get(email="rep@demo.salesdesk.test").role == Role.REP
    assert Deal.objects.count() == 40

    again = run_demo("--first-start", "--users", "5", "--deals", "40")

    assert saved in again
    assert Deal.objects.count() == 40
    assert User.objects.count() == 5
    assert path.read_text() == saved


def test_demo_refuses_a_database_with_data(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    run_demo("--users", "5", "--deals", "20")

    with pytest.raises(CommandError, match="--reset"):
        run_demo("--users", "5", "--deals", "30")

    assert Deal.objects.count() == 20


def test_reset_replaces_all_data(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    run_demo("--users", "5", "--deals", "20")

    output = run_demo("--reset", "--users", "6", "--deals", "30", "--seed", "9")

    assert "Deleting every row" in output
    assert Deal.objects.count() == 30
    assert User.objects.count() == 6
