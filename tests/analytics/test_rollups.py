"""The dashboards' rollups never drift: after any change through the services they equal a full
recount of the deals and activities, bucket by bucket.

Here the rollups follow the services only: the direct-write hook the other dashboard tests use
(tests/analytics/conftest.py) is off, and the seed history is counted once with `rebuild`.
"""

import datetime
import importlib
import logging
import random
import zoneinfo
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from salesdesk.accounts import services as account_services
from salesdesk.activities import services as activity_services
from salesdesk.activities.models import Activity
from salesdesk.activities.my_day import stale_condition
from salesdesk.analytics import revenue, rollups, tasks
from salesdesk.analytics.metrics import Slice
from salesdesk.analytics.models import (
    ActivityRollup,
    CompanyWonRollup,
    DealRollup,
    DealTotalsRollup,
    NextStepRollup,
    OpenDealAgeRollup,
    OpenTaskRollup,
    StageFlowRollup,
)
from salesdesk.core.models import CurrencyRate
from salesdesk.crm import services as crm_services
from salesdesk.crm.models import Company
from salesdesk.crm.transfer import import_run
from salesdesk.goals.periods import Period, PeriodKind
from salesdesk.pipeline import services as deal_services
from salesdesk.pipeline.models import Deal, StageChange
from tests.factories import (
    ActivityFactory,
    CompanyFactory,
    DealFactory,
    LeadSourceFactory,
    LostReasonFactory,
    PipelineFactory,
    StageFactory,
)

D = Decimal
NEW_YORK = "America/New_York"
IN_STEP = {"deals": set(), "activities": set()}


@pytest.fixture(name="rollups_follow_writes")
def no_direct_write_hook():
    """Overrides the autouse hook of tests/analytics/conftest.py: services only."""
    return


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=datetime.UTC)


@pytest.fixture(name="world")
def world_fixture(cast, pipeline, org, monkeypatch):
    """Two pipelines, sources, reasons, a USD rate, New York months; the clock is settable."""
    org.timezone = NEW_YORK
    org.save()
    CurrencyRate.objects.create(currency="USD", rate=D("0.90"))
    other = PipelineFactory(name="Renewals")
    for position, name in enumerate(["Open", "Signed"]):
        StageFactory(pipeline=other, name=name, position=position, probability=40 + position)

    class World:
        reps = [cast.alice, cast.bob, cast.carol, cast.manager]
        stages = list(pipeline.stages.order_by("position"))
        other_stages = list(other.stages.order_by("position"))
        pipelines = [pipeline, other]
        sources = [None, LeadSourceFactory(name="Web"), LeadSourceFactory(name="Referral")]
        reasons = [LostReasonFactory(name="Price"), LostReasonFactory(name="Timing")]
        companies = [None, *(CompanyFactory(name=name) for name in ("Acme", "Beta", "Gamma"))]
        now = at(2026, 3, 15, 12)

    world = World()
    world.cast = cast
    monkeypatch.setattr(timezone, "now", lambda: world.now)
    return world


def seed(world, rng: random.Random, deals: int = 30, activities: int = 60) -> None:
    """A random history written directly (as the demo loader does), then counted once."""
    for _ in range(deals):
        stage = rng.choice(world.stages + world.other_stages)
        created = at(2025, 10, 1) + datetime.timedelta(hours=rng.randrange(24 * 200))
        status = rng.choice(["open", "open", "won", "lost"])
        closed = created + datetime.timedelta(hours=rng.randrange(1, 24 * 60))
        deal = DealFactory(
            owner=rng.choice([*world.reps, None]),
            stage=stage,
            amount=D(rng.randrange(100, 90_000)) / 10,
            lead_source=rng.choice(world.sources),
            company=rng.choice(world.companies),
            created_at=created,
            status=status,
            closed_at=None if status == "open" else closed,
            lost_reason=rng.choice(world.reasons) if status == "lost" else None,
        )
        for moved in rng.sample(world.stages, 2) if stage in world.stages else []:
            StageChange.objects.create(deal=deal, to_stage=moved, at=created)
    for _ in range(activities):
        kind = rng.choice(Activity.Kind.values)
        occurred = at(2025, 10, 1) + datetime.timedelta(hours=rng.randrange(24 * 200))
        done = (
            occurred + datetime.timedelta(days=3) if kind == "task" and rng.random() < 0.6 else None
        )
        due = occurred + datetime.timedelta(hours=rng.randrange(-48, 24 * 30))
        ActivityFactory(
            owner=rng.choice([*world.reps, None]),
            kind=kind,
            occurred_at=occurred,
            done_at=done,
            due_at=due if kind == "task" and rng.random() < 0.9 else None,
        )
    rollups.rebuild()


def _a_company(world, rng: random.Random):
    """One of the world's companies that still exists, a new one or none."""
    if rng.random() < 0.1:
        return CompanyFactory()
    return rng.choice([None, *Company.objects.filter(pk__in=[c.pk for c in world.companies if c])])


def a_moment(rng: random.Random) -> datetime.datetime:
    """Often right around a New York month boundary (05:00 or 04:00 UTC on the 1st)."""
    if rng.random() < 0.4:
        month = rng.randrange(1, 13)
        boundary = at(2026, month, 1, 5 if month in (1, 2, 3, 11, 12) else 4)
        return boundary + datetime.timedelta(minutes=rng.choice([-2, -1, 0, 1]))
    return at(2025, 11, 1) + datetime.timedelta(minutes=rng.randrange(60 * 24 * 400))


def random_change(world, rng: random.Random) -> str:
    """One change through a service; returns its name (for the failure message)."""
    admin = world.cast.admin
    world.now = a_moment(rng)
    deals = list(Deal.objects.order_by("pk"))
    activities = list(Activity.objects.order_by("pk"))
    deal = rng.choice(deals) if deals else None
    action = rng.choice(
        [
            "create",
            "create",
            "amount",
            "owner",
            "expected_close",
            "next_step",
            "category",
            "source",
            "pipeline",
            "move",
            "move",
            "win",
            "lose",
            "reopen",
            "delete",
            "activity_create",
            "activity_create",
            "activity_update",
            "activity_complete",
            "activity_delete",
            "rate",
            "reassign",
            "company",
            "company",
            "company_delete",
        ]
    )
    if action == "create" or deal is None:
        pipeline = rng.choice(world.pipelines)
        deal_services.deal_create(
            actor=admin,
            title="Random",
            owner=rng.choice([*world.reps, None]),
            pipeline=pipeline,
            stage=rng.choice(list(pipeline.stages.all())),
            amount=D(rng.randrange(0, 50_000)),
            currency=rng.choice(["EUR", "USD"]),
            lead_source=rng.choice(world.sources),
            company=_a_company(world, rng),
        )
        return "create"
    if action == "amount":
        deal_services.deal_update(
            actor=admin, deal=deal, amount=D(rng.randrange(0, 50_000)), currency="USD"
        )
    elif action == "owner":
        deal_services.deal_update(actor=admin, deal=deal, owner=rng.choice([*world.reps, None]))
    elif action == "expected_close":  # moves the deal between the open buckets' months
        close = rng.choice([datetime.date(2026, rng.randrange(1, 13), rng.randrange(1, 28)), None])
        deal_services.deal_update(actor=admin, deal=deal, expected_close=close)
    elif action == "next_step":  # with or without a step, due on another day or none
        step = rng.choice(["", "Call back"])
        due = rng.choice([(world.now + datetime.timedelta(days=rng.randrange(-9, 9))).date(), None])
        deal_services.deal_update(actor=admin, deal=deal, next_step=step, next_step_due=due)
    elif action == "category" and deal.status == Deal.Status.OPEN:  # commit or not
        category = rng.choice(["pipeline", "best_case", "commit"])
        deal_services.deal_update(actor=admin, deal=deal, forecast_category=category)
    elif action == "source":
        deal_services.deal_update(actor=admin, deal=deal, lead_source=rng.choice(world.sources))
    elif action == "pipeline":
        deal_services.deal_update(actor=admin, deal=deal, pipeline=rng.choice(world.pipelines))
    elif action == "move" and deal.status == Deal.Status.OPEN:
        stages = list(deal.pipeline.stages.all())
        deal_services.deal_move(actor=admin, deal=deal, stage=rng.choice(stages))
    elif action == "win" and deal.status == Deal.Status.OPEN:
        deal_services.deal_win(actor=admin, deal=deal)
    elif action == "lose" and deal.status == Deal.Status.OPEN:
        deal_services.deal_lose(actor=admin, deal=deal, reason=rng.choice(world.reasons))
    elif action == "reopen" and deal.status != Deal.Status.OPEN:
        deal_services.deal_reopen(actor=admin, deal=deal)
    elif action == "delete":
        deal_services.deal_delete(actor=admin, deal=deal)
    elif action == "activity_create" or (action.startswith("activity") and not activities):
        kind = rng.choice(Activity.Kind.values)
        activity_services.activity_create(
            actor=admin,
            kind=kind,
            owner=rng.choice([*world.reps, None]),
            deal=rng.choice([deal, None]),
            subject="Random",
            occurred_at=a_moment(rng),
        )
        return "activity_create"
    elif action == "activity_update":
        activity_services.activity_update(
            actor=admin,
            activity=rng.choice(activities),
            owner=rng.choice([*world.reps, None]),
            occurred_at=a_moment(rng),
            kind=rng.choice(Activity.Kind.values),
            due_at=rng.choice([a_moment(rng), None]),
        )
    elif action == "activity_complete":
        activity_services.activity_complete(
            actor=admin, activity=rng.choice(activities), done=rng.random() < 0.7
        )
    elif action == "activity_delete":
        activity_services.activity_delete(actor=admin, activity=rng.choice(activities))
    elif action == "rate":
        deal_services.currency_rate_set(
            actor=admin, currency="USD", rate=D(rng.randrange(50, 150)) / 100
        )
    elif action == "company":
        deal_services.deal_update(actor=admin, deal=deal, company=_a_company(world, rng))
    elif action == "company_delete" and deal.company_id is not None:
        crm_services.company_delete(actor=admin, company=deal.company)
    elif action == "reassign":
        from_user, to_user = rng.sample(world.reps, 2)
        account_services.user_reassign_records(actor=admin, from_user=from_user, to_user=to_user)
    else:
        return f"{action} (skipped: deal is {deal.status})"
    return action


# --- (a) random changes ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("seed_value", [4, 2026])
def test_rollups_equal_a_full_recount_after_random_changes(world, seed_value):
    # Given a random history counted into the rollups
    rng = random.Random(seed_value)
    seed(world, rng)
    assert rollups.differences() == IN_STEP
    assert DealRollup.objects.exists()
    assert ActivityRollup.objects.exists()
    assert CompanyWonRollup.objects.exists()
    assert OpenDealAgeRollup.objects.exists()
    assert OpenTaskRollup.objects.exists()
    assert NextStepRollup.objects.exists()
    # When ~300 random changes go through the services, in batches
    ran = set()
    for batch in range(15):
        done = [random_change(world, rng) for _ in range(20)]
        ran.update(done)
        # Then after each batch every bucket equals the recount, exactly
        assert rollups.differences() == IN_STEP, f"batch {batch}: {done}"
    # and every write that adds its +/- delta ran, between the bulk recounts
    assert ran >= DELTA_PATHS


def _moments_around(instants, rng: random.Random, count: int) -> list[datetime.datetime]:
    """A sample of the instants, each also a second before and after."""
    chosen = rng.sample(sorted(set(instants)), min(count, len(set(instants))))
    second = datetime.timedelta(seconds=1)
    return [moment + shift for moment in chosen for shift in (-second, 0 * second, second)]


@pytest.mark.django_db
def test_figures_of_the_moment_from_the_buckets_equal_the_rows_at_any_moment(world):
    # Given a random history and random changes through the services
    rng = random.Random(12)
    seed(world, rng)
    for _ in range(60):
        random_change(world, rng)
    for deal in Deal.objects.filter(status=Deal.Status.OPEN)[:12]:  # next steps on many days
        due = rng.choice([at(2026, 3, 1).date() + datetime.timedelta(days=rng.randrange(9)), None])
        step = rng.choice(["", "Send the quote"])
        deal_services.deal_update(
            actor=world.cast.admin, deal=deal, next_step=step, next_step_due=due
        )
    zone = zoneinfo.ZoneInfo(NEW_YORK)
    open_deals = Deal.objects.filter(status=Deal.Status.OPEN).select_related("stage")
    tasks = Activity.objects.filter(kind="task", done_at__isnull=True, due_at__isnull=False)
    # When the figures are read at the moments they change: a deal turning stale, a task
    # falling due, a New York midnight (the buckets' days), each a second before and after;
    # and on the days next steps and close dates fall due (the day before, of, and after)
    turning_stale = [
        deal.stage_entered_at + datetime.timedelta(days=deal.stage.stale_after_days + 1)
        for deal in open_deals
        if deal.stage.stale_after_days is not None
    ]
    due_days = {deal.next_step_due for deal in open_deals if deal.next_step_due} | {
        deal.expected_close for deal in open_deals if deal.expected_close
    }
    noon = datetime.time(12)
    midnights = [
        datetime.datetime(2026, month, day, tzinfo=zone) for month in (3, 11) for day in (1, 8)
    ]
    moments = (
        _moments_around(turning_stale, rng, 12)
        + _moments_around([task.due_at for task in tasks], rng, 12)
        + _moments_around(midnights, rng, 4)
        + [
            datetime.datetime.combine(day + datetime.timedelta(days=shift), noon, datetime.UTC)
            for day in rng.sample(sorted(due_days), min(6, len(due_days)))
            for shift in (-1, 0, 1)
        ]
    )
    assert turning_stale
    assert tasks.exists()
    figures = 0
    for now in moments:
        for group in ("owner_id", "owner__team_id"):
            everything = Slice(actor=world.cast.admin, start=now, end=now, tz=NEW_YORK)
            moment = rollups.counted(
                group,
                stale=rollups.stale_parts(everything, Q(), now),
                overdue=rollups.overdue_parts(everything, Q(), now),
                no_next_step=rollups.no_next_step_parts(everything, Q(), now.date()),
                overdue_close=rollups.overdue_close_parts(everything, Q(), now.date()),
            )
            # Then each equals the count of the source rows
            stale_rows = open_deals.filter(stale_condition(now)).order_by().values_list(group)
            assert moment["stale"] == dict(stale_rows.annotate(Count("id"))), (now, group)
            overdue_rows = tasks.filter(due_at__lt=now).order_by().values_list(group)
            assert moment["overdue"] == dict(overdue_rows.annotate(Count("id"))), (now, group)
            no_step = open_deals.filter(Q(next_step="") | Q(next_step_due__lt=now.date()))
            no_step_rows = no_step.order_by().values_list(group).annotate(Count("id"))
            assert moment["no_next_step"] == dict(no_step_rows), (now, group)
            past = open_deals.filter(expected_close__lt=now.date()).order_by().values_list(group)
            assert moment["overdue_close"] == dict(past.annotate(Count("id"))), (now, group)
            figures += sum(sum(counts.values()) for counts in moment.values())
    assert figures > 0


DELTA_PATHS = {
    "create",
    "amount",
    "owner",
    "expected_close",
    "next_step",
    "category",
    "source",
    "pipeline",
    "move",
    "win",
    "lose",
    "reopen",
    "delete",
    "activity_create",
    "activity_update",
    "activity_complete",
    "activity_delete",
    "company",
    "company_delete",
}


# --- (b) each write path -----------------------------------------------------------------------


def _buckets(model=DealRollup) -> dict:
    fields = rollups.DEAL_FIELDS if model is DealRollup else rollups.ACTIVITY_FIELDS
    return {
        tuple(row[name] for name in fields): row["count"]
        for row in model.objects.values(*fields, "count")
    }


@pytest.fixture(name="deal")
def deal_fixture(world):
    """An open 1,000 EUR deal of Alice's, created 31 January 23:30 in New York."""
    world.now = at(2026, 2, 1, 4, 30)
    deal = deal_services.deal_create(
        actor=world.cast.admin,
        title="Acme",
        owner=world.cast.alice,
        stage=world.stages[0],
        amount=D("1000"),
        lead_source=world.sources[1],
    )
    world.now = at(2026, 3, 15, 12)
    return deal


def _created(world, owner, month, *, stage=0, furthest=0, source=1, is_won=False, pipeline=0):
    return (
        month,
        owner.pk if owner else None,
        "created",
        world.pipelines[pipeline].pk,
        world.sources[source].pk if world.sources[source] else None,
        None,
        (world.stages + world.other_stages)[stage].pk,
        furthest,
        is_won,
    )


JAN, FEB, MAR = datetime.date(2026, 1, 1), datetime.date(2026, 2, 1), datetime.date(2026, 3, 1)


@pytest.mark.django_db
def test_deal_create_counts_in_the_reporting_months(world, deal):
    assert _buckets() == {_created(world, world.cast.alice, JAN): 1}
    assert DealRollup.objects.get().amount == D("1000.00")
    assert rollups.differences() == IN_STEP


@pytest.mark.django_db
def test_owner_and_amount_changes_move_and_resum_the_buckets(world, deal):
    deal_services.deal_update(actor=world.cast.admin, deal=deal, owner=world.cast.bob)
    deal_services.deal_update(actor=world.cast.admin, deal=deal, amount=D("250"))
    assert _buckets() == {_created(world, world.cast.bob, JAN): 1}
    assert DealRollup.objects.get().amount == D("250.00")
    assert rollups.differences() == IN_STEP


@pytest.mark.django_db
def test_move_win_lose_reopen_and_delete(world, deal):
    admin = world.cast.admin
    deal_services.deal_move(actor=admin, deal=deal, stage=world.stages[2])
    deal_services.deal_move(actor=admin, deal=deal, stage=world.stages[1])
    # The funnel keeps the furthest stage reached; the weighting follows the current stage.
    assert _buckets() == {_created(world, world.cast.alice, JAN, stage=1, furthest=2): 1}
    deal_services.deal_win(actor=admin, deal=deal)
    won_key = (MAR, world.cast.alice.pk, "won", world.pipelines[0].pk, world.sources[1].pk)
    won_key += (None, None, None, False)
    assert _buckets() == {
        _created(world, world.cast.alice, JAN, stage=1, furthest=2, is_won=True): 1,
        won_key: 1,
    }
    assert DealRollup.objects.get(event="won").cycle == at(2026, 3, 15, 12) - at(2026, 2, 1, 4, 30)
    deal_services.deal_reopen(actor=admin, deal=deal)
    world.now = at(2026, 4, 1, 3, 59)  # still 31 March in New York
    deal_services.deal_lose(actor=admin, deal=deal, reason=world.reasons[0])
    lost_key = (MAR, world.cast.alice.pk, "lost", world.pipelines[0].pk, world.sources[1].pk)
    lost_key += (world.reasons[0].pk, None, None, False)
    assert _buckets() == {
        _created(world, world.cast.alice, JAN, stage=1, furthest=2): 1,
        lost_key: 1,
    }
    assert rollups.differences() == IN_STEP
    deal_services.deal_delete(actor=admin, deal=deal)
    assert _buckets() == {}


@pytest.mark.django_db
def test_closings_add_and_take_back_their_amounts_and_cycles(world, deal):
    # Given two deals of Alice's won in March: 1,000 EUR after 42d 7h30, 900 EUR (1,000 USD)
    admin = world.cast.admin
    world.now = at(2026, 3, 1)
    dollars = deal_services.deal_create(
        actor=admin, title="Dollars", owner=world.cast.alice, amount=D("1000"), currency="USD"
    )
    world.now = at(2026, 3, 15, 12)
    deal_services.deal_win(actor=admin, deal=deal)
    world.now = at(2026, 3, 20, 12)
    deal_services.deal_win(actor=admin, deal=dollars)
    won = DealTotalsRollup.objects.get(event="won")
    first_cycle = at(2026, 3, 15, 12) - at(2026, 2, 1, 4, 30)
    assert (won.count, won.amount) == (2, D("1900.00"))
    assert won.cycle == first_cycle + datetime.timedelta(days=19, hours=12)
    # When the first is reopened and the second's amount changes
    deal_services.deal_reopen(actor=admin, deal=deal)
    deal_services.deal_update(actor=admin, deal=dollars, amount=D("2000.50"))
    # Then the won bucket keeps only the second, with its new amount
    won = DealTotalsRollup.objects.get(event="won")
    assert (won.count, won.amount, won.cycle) == (1, D("1800.45"), datetime.timedelta(19, 43200))
    assert DealRollup.objects.get(event="won").amount == D("1800.45")
    assert rollups.differences() == IN_STEP


@pytest.mark.django_db
def test_a_move_updates_only_the_buckets_of_the_deal(world, deal, django_assert_num_queries):
    # Given Alice's deal created in January (Lead) and another of her deals in that bucket
    DealFactory(
        owner=world.cast.alice,
        stage=world.stages[0],
        lead_source=world.sources[1],
        created_at=at(2026, 1, 20),
        expected_close=deal.expected_close,  # the same open bucket
        forecast_category=deal.forecast_category,
        stage_entered_at=deal.stage_entered_at,  # the same age bucket
    )
    rollups.rebuild()
    cal = rollups.calendar()
    locked = Deal.objects.get(pk=deal.pk)
    change = rollups.DealChange(locked, cal)
    locked.stage = world.stages[2]
    change.moved(world.stages[2], world.now)
    # When its move to Proposal in March is applied: an UPDATE of each Lead bucket (created,
    # open and age: the other deal stays in them); for each Proposal bucket (created, open,
    # age, stage flow of March, Q1 and the year) an UPDATE that finds nothing and an INSERT;
    # and the owner's lock on PostgreSQL
    lock = 1 if connection.vendor == "postgresql" else 0
    locked.stage_entered_at = world.now
    with django_assert_num_queries(3 + 6 * 2 + lock):
        change.apply(locked)
    # Then the buckets are those of a recount
    locked.save()
    StageChange.objects.create(deal=locked, to_stage=world.stages[2], at=world.now)
    assert rollups.differences() == IN_STEP


@pytest.mark.django_db
def test_a_drifted_bucket_does_not_stop_a_write(world, deal, caplog):
    # Given a deal whose buckets were lost
    DealRollup.objects.all().delete()
    # When it moves, the missing bucket is logged and the write goes through
    with caplog.at_level(logging.WARNING, logger="salesdesk.analytics.rollups"):
        deal_services.deal_move(actor=world.cast.admin, deal=deal, stage=world.stages[1])
    assert "missing" in caplog.text
    assert Deal.objects.get(pk=deal.pk).stage == world.stages[1]
    # and the deal's new bucket is written whole
    assert _buckets() == {_created(world, world.cast.alice, JAN, stage=1, furthest=1): 1}
    assert rollups.differences() == IN_STEP


@pytest.mark.django_db
def test_pipeline_change_and_lead_source_delete(world, deal):
    deal_services.deal_update(actor=world.cast.admin, deal=deal, pipeline=world.pipelines[1])
    assert _buckets() == {_created(world, world.cast.alice, JAN, stage=4, pipeline=1): 1}
    deal_services.lead_source_delete(actor=world.cast.admin, lead_source=world.sources[1])
    assert _buckets() == {_created(world, world.cast.alice, JAN, stage=4, pipeline=1, source=0): 1}
    assert rollups.differences() == IN_STEP


@pytest.mark.django_db
def test_stage_reorder_recounts_the_furthest_positions(world, deal):
    admin = world.cast.admin
    deal_services.deal_move(actor=admin, deal=deal, stage=world.stages[3])
    deal_services.deal_move(actor=admin, deal=deal, stage=world.stages[0])
    order = [world.stages[i].pk for i in (3, 0, 1, 2)]  # Negotiation first
    deal_services.stage_reorder(actor=admin, pipeline=world.pipelines[0], stage_ids=order)
    assert DealRollup.objects.get().furthest == 1  # Lead is now at position 1
    assert rollups.differences() == IN_STEP


@pytest.mark.django_db
def test_currency_rate_recomputes_the_amounts(world):
    deal_services.deal_create(
        actor=world.cast.admin,
        title="Dollars",
        owner=world.cast.bob,
        amount=D("1000"),
        currency="USD",
    )
    assert DealRollup.objects.get().amount == D("900.00")
    deal_services.currency_rate_set(actor=world.cast.admin, currency="USD", rate=D("1.10"))
    assert DealRollup.objects.get().amount == D("1100.00")
    assert rollups.differences() == IN_STEP


@pytest.mark.django_db
def test_reassigning_a_reps_records_moves_their_open_deals(world, deal):
    account_services.user_reassign_records(
        actor=world.cast.admin, from_user=world.cast.alice, to_user=world.cast.carol
    )
    assert _buckets() == {_created(world, world.cast.carol, JAN): 1}
    assert rollups.differences() == IN_STEP


@pytest.mark.django_db
def test_activity_create_update_complete_delete(world):
    admin, alice, bob = world.cast.admin, world.cast.alice, world.cast.bob
    call, _ = activity_services.activity_create(
        actor=admin, kind="call", owner=alice, subject="Hi", occurred_at=at(2026, 3, 1, 4, 59)
    )
    task, _ = activity_services.activity_create(
        actor=admin, kind="task", owner=alice, subject="Do", occurred_at=at(2026, 3, 2)
    )
    assert _buckets(ActivityRollup) == {(FEB, alice.pk, "call"): 1}  # an open task counts nowhere
    activity_services.activity_complete(actor=admin, activity=task)
    activity_services.activity_update(actor=admin, activity=call, owner=bob)
    assert _buckets(ActivityRollup) == {(FEB, bob.pk, "call"): 1, (MAR, alice.pk, "task"): 1}
    activity_services.activity_complete(actor=admin, activity=task, done=False)
    activity_services.activity_delete(actor=admin, activity=call)
    assert _buckets(ActivityRollup) == {}
    assert rollups.differences() == IN_STEP


@pytest.mark.django_db
def test_csv_import_counts_created_and_updated_deals(world, deal):
    text = f"id,title,stage,amount\n{deal.pk},Acme,Proposal,\n,Globex,Qualified,500\n"
    result = import_run(
        actor=world.cast.admin, entity="deals", data=text.encode(), mapping=None, dry_run=False
    )
    assert [row.action for row in result.rows] == ["updated", "created"]
    globex = DealRollup.objects.get(month=MAR)  # created now, by the import
    assert (globex.count, globex.amount, globex.stage) == (1, D("500.00"), world.stages[1])
    assert rollups.differences() == IN_STEP


@pytest.mark.django_db
def test_reporting_time_zone_change_rebuilds(world, deal):
    account_services.organization_settings_update(actor=world.cast.admin, timezone="UTC")
    assert _buckets() == {_created(world, world.cast.alice, FEB): 1}  # 1 February 04:30 UTC
    assert rollups.differences() == IN_STEP


@pytest.mark.django_db
def test_dashboards_read_the_rollups(world, deal):
    # Given a bucket that says something the deals do not
    DealRollup.objects.update(count=7)
    period = Period(PeriodKind.QUARTER, JAN, 1)
    slice_ = Slice.for_period(world.cast.admin, period)
    # Then the dashboard's period figures come from it, and a month-misaligned slice does not
    assert revenue.key_figures(slice_, period).created.count == 7
    odd = slice_.with_range(at(2026, 1, 15), slice_.end)
    assert not rollups.covers(odd)
    assert revenue.lead_sources(odd)[0].created.count == 1


# --- (c) the rebuild command and (d) the nightly repair ------------------------------------------


def _corrupt(world) -> None:
    DealRollup.objects.filter(event="created").update(count=99)
    ActivityRollup.objects.all()[:1].get().delete()
    ActivityRollup.objects.create(month=JAN, owner=world.cast.bob, kind="email", count=3)


@pytest.mark.django_db
def test_rebuild_command_recounts_everything(world):
    seed(world, random.Random(7))
    expected = (_buckets(), _buckets(ActivityRollup))
    _corrupt(world)
    out = StringIO()
    call_command("rollups-rebuild", stdout=out)
    assert (_buckets(), _buckets(ActivityRollup)) == expected
    assert "stage-flow and" in out.getvalue()
    assert "company buckets written" in out.getvalue()
    assert rollups.differences() == IN_STEP


@pytest.mark.django_db
def test_nightly_job_repairs_and_logs_drift(world, caplog):
    seed(world, random.Random(8))
    expected = (_buckets(), _buckets(ActivityRollup))
    _corrupt(world)
    drifted = rollups.differences()
    assert drifted["deals"]
    assert drifted["activities"]
    with caplog.at_level(logging.WARNING, logger="salesdesk.analytics.rollups"):
        repaired = tasks.rollups_verify_nightly.call_local()
    assert repaired == {name: len(keys) for name, keys in drifted.items()}
    assert (_buckets(), _buckets(ActivityRollup)) == expected
    assert "drifted" in caplog.text
    assert tasks.rollups_verify_nightly.call_local() == {"deals": 0, "activities": 0}


@pytest.mark.django_db
def test_verify_command_reports_nothing_when_in_step(world):
    seed(world, random.Random(9))
    out = StringIO()
    call_command("rollups-rebuild", "--verify", stdout=out)
    assert out.getvalue().startswith("0 deal and 0 activity bucket keys differed")


@pytest.mark.django_db
def test_fiscal_year_change_recounts_the_stage_flow_periods(world, deal):
    # Given a deal that entered Lead on 31 January (New York): fiscal years start in January
    assert set(StageFlowRollup.objects.values_list("kind", "start")) == {
        ("month", JAN),
        ("quarter", JAN),
        ("year", JAN),
    }
    # When the fiscal year starts in February
    account_services.organization_settings_update(actor=world.cast.admin, fiscal_year_start_month=2)
    # Then its quarter and year are the fiscal ones that started in November and February 2025
    assert set(StageFlowRollup.objects.values_list("kind", "start")) == {
        ("month", JAN),
        ("quarter", datetime.date(2025, 11, 1)),
        ("year", datetime.date(2025, 2, 1)),
    }
    assert rollups.differences() == IN_STEP


def _company_buckets() -> dict:
    return {
        (kind, start, company): (count, amount)
        for kind, start, company, count, amount in CompanyWonRollup.objects.values_list(
            *rollups.COMPANY_FIELDS, "count", "amount"
        )
    }


@pytest.mark.django_db
def test_company_buckets_follow_wins_company_changes_and_deletion(world, deal):
    admin = world.cast.admin
    acme, beta = world.companies[1], world.companies[2]
    deal_services.deal_update(actor=admin, deal=deal, company=acme)
    assert _company_buckets() == {}  # open: nothing won
    # Won on 1 March 04:30 UTC: still 28 February in New York (fiscal years from January)
    world.now = at(2026, 3, 1, 4, 30)
    deal_services.deal_win(actor=admin, deal=deal)
    won = (1, D("1000.00"))
    assert _company_buckets() == {
        ("month", FEB, acme.pk): won,
        ("quarter", JAN, acme.pk): won,
        ("year", JAN, acme.pk): won,
    }
    # A second win for Acme in March adds to its quarter and year
    other = deal_services.deal_create(
        actor=admin, title="More", owner=world.cast.bob, amount=D("500"), company=acme
    )
    world.now = at(2026, 3, 20)
    deal_services.deal_win(actor=admin, deal=other)
    assert _company_buckets() == {
        ("month", FEB, acme.pk): won,
        ("month", MAR, acme.pk): (1, D("500.00")),
        ("quarter", JAN, acme.pk): (2, D("1500.00")),
        ("year", JAN, acme.pk): (2, D("1500.00")),
    }
    # Moving the first deal to Beta moves its share; deleting Beta takes its buckets away
    deal_services.deal_update(actor=admin, deal=Deal.objects.get(pk=deal.pk), company=beta)
    assert _company_buckets()[("quarter", JAN, beta.pk)] == won
    assert _company_buckets()[("quarter", JAN, acme.pk)] == (1, D("500.00"))
    crm_services.company_delete(actor=admin, company=beta)
    assert {key[2] for key in _company_buckets()} == {acme.pk}
    # Reopening the second deal empties Acme's buckets
    deal_services.deal_reopen(actor=admin, deal=Deal.objects.get(pk=other.pk))
    assert _company_buckets() == {}
    assert rollups.differences() == IN_STEP


@pytest.mark.django_db
def test_company_buckets_are_recounted_by_a_bulk_refresh_and_repaired(world, deal):
    admin = world.cast.admin
    acme = world.companies[1]
    deal_services.deal_update(actor=admin, deal=deal, company=acme, currency="USD")
    deal_services.deal_win(actor=admin, deal=Deal.objects.get(pk=deal.pk))
    assert _company_buckets()[("year", JAN, acme.pk)] == (1, D("900.00"))
    # A new dollar rate recounts the buckets of the months it touched, and their periods
    deal_services.currency_rate_set(actor=admin, currency="USD", rate=D("1.20"))
    assert set(_company_buckets().values()) == {(1, D("1200.00"))}
    # A lost month bucket and a wrong year are found and repaired by the nightly check
    CompanyWonRollup.objects.filter(kind="month").delete()
    CompanyWonRollup.objects.filter(kind="year").update(count=5)
    assert rollups.differences()["deals"]
    tasks.rollups_verify_nightly.call_local()
    assert _company_buckets() == {
        ("month", MAR, acme.pk): (1, D("1200.00")),
        ("quarter", JAN, acme.pk): (1, D("1200.00")),
        ("year", JAN, acme.pk): (1, D("1200.00")),
    }
    assert rollups.differences() == IN_STEP


@pytest.mark.django_db
def test_the_migration_fills_the_company_buckets_of_deals_already_won(world):
    # Given a history won before the company buckets existed
    seed(world, random.Random(11))
    expected = _company_buckets()
    assert expected
    CompanyWonRollup.objects.all().delete()
    # When the migration that creates them runs its data step
    migration = importlib.import_module("salesdesk.analytics.migrations.0004_company_won_rollup")
    migration.count_won_deals(django_apps, None)
    # Then they equal a recount
    assert _company_buckets() == expected
    assert rollups.differences() == IN_STEP
