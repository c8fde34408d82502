"""Factories shared by every app's tests (imported by tests/<app>/factories.py)."""

import contextlib
import datetime
from decimal import Decimal

import factory
from django.db.models import F
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.utils import timezone

from salesdesk.accounts.models import Role, Team, User
from salesdesk.activities.models import Activity
from salesdesk.crm.models import Company, Contact, ContactEmail, Tag
from salesdesk.goals.models import Goal
from salesdesk.goals.periods import PeriodKind
from salesdesk.pipeline.models import (
    CloseDateChange,
    Deal,
    LeadSource,
    LostReason,
    Pipeline,
    Stage,
    StageChange,
)

PASSWORD = "correct horse battery staple"


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@salesdesk.test")
    full_name = factory.Faker("name")
    role = Role.REP
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(self, create, extracted, **kwargs):
        if create:
            self.save()


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"tag{n}")


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}")
    domain = factory.Sequence(lambda n: f"company{n}.example")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")


class ContactEmailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactEmail

    contact = factory.SubFactory(ContactFactory)
    email = factory.Sequence(lambda n: f"person{n}@company.example")
    is_primary = True


class PipelineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pipeline

    name = factory.Sequence(lambda n: f"Pipeline {n}")


class StageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stage

    pipeline = factory.SubFactory(PipelineFactory)
    name = factory.Sequence(lambda n: f"Stage {n}")
    position = factory.Sequence(lambda n: n)
    probability = 20


class LeadSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadSource
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Source {n}")


class LostReasonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LostReason
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Reason {n}")


class DealFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Deal

    title = factory.Sequence(lambda n: f"Deal {n}")
    stage = factory.SubFactory(StageFactory)
    pipeline = factory.SelfAttribute("stage.pipeline")
    amount = Decimal("1000.00")
    currency = "EUR"
    amount_base = factory.SelfAttribute("amount")
    expected_close = factory.LazyFunction(
        lambda: timezone.localdate() + datetime.timedelta(days=30)
    )


def record_close_date_change(deal: Deal, from_date, to_date, **fields) -> CloseDateChange:
    """A close-date change written by hand (any `at`, `by`), counted on the deal as
    `deal_update` counts it."""
    change = CloseDateChange.objects.create(
        deal=deal, from_date=from_date, to_date=to_date, **fields
    )
    if change.is_slip:
        Deal.objects.filter(pk=deal.pk).update(close_date_slips=F("close_date_slips") + 1)
        deal.close_date_slips += 1
    return change


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    kind = Activity.Kind.CALL
    subject = factory.Sequence(lambda n: f"Call {n}")
    occurred_at = factory.LazyFunction(timezone.now)


class GoalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Goal

    period_kind = PeriodKind.QUARTER
    period_start = datetime.date(2026, 1, 1)
    metric = Goal.Metric.WON_REVENUE
    target = Decimal("100000.00")


# --- Rollups --------------------------------------------------------------------------------
# The services keep the dashboards' rollups current (salesdesk/analytics/rollups.py). Factories
# and tests that save rows directly (a deal handed to another owner, a stage change written by
# hand) bypass the services, so while `rollups_follow_direct_writes` is on, every direct save or
# delete of a deal, a stage change or an activity refreshes the buckets it touches, before and
# after, as a service would. The services' own +/- deltas are off meanwhile: the saves they make
# are recounted by the hook, and a delta on top would count them twice.


def _stored_deal_keys(deal_id) -> set:
    from salesdesk.analytics import rollups

    deal = Deal.objects.filter(pk=deal_id).first() if deal_id else None
    return rollups.deal_keys(deal) if deal is not None else set()


def _deal_before(sender, instance, **kwargs):
    instance._rollup_keys = _stored_deal_keys(instance.pk)


def _deal_after(sender, instance, **kwargs):
    from salesdesk.analytics import rollups

    keys = getattr(instance, "_rollup_keys", set())
    if kwargs.get("signal") is not post_delete:
        keys = keys | rollups.deal_keys(instance)
    rollups.refresh_deals(keys)


def _stage_change_after(sender, instance, **kwargs):
    from salesdesk.analytics import rollups

    rollups.refresh_deals(_stored_deal_keys(instance.deal_id))


def _activity_before(sender, instance, **kwargs):
    from salesdesk.analytics import rollups

    instance._rollup_keys = rollups.stored_activity_keys(instance.pk) if instance.pk else set()
    stored = Activity.objects.filter(pk=instance.pk).values_list("owner_id", flat=True)
    instance._rollup_owners = set(stored) if instance.pk else set()


def _activity_after(sender, instance, **kwargs):
    from salesdesk.analytics import rollups

    keys = getattr(instance, "_rollup_keys", set())
    if kwargs.get("signal") is not post_delete:
        keys = keys | rollups.activity_keys(instance)
    rollups.refresh_activities(keys)  # with the open tasks of the keys' owners
    # Open tasks count in no month: those of owners without a key are recounted here.
    owners = getattr(instance, "_rollup_owners", set()) | {instance.owner_id}
    rollups.refresh_open_tasks(owners - {owner_id for owner_id, _ in keys})


def _recounted(change, instance) -> None:
    """The delta of a service while the hook recounts its saves: nothing left to add."""


_ROLLUP_RECEIVERS = [
    (pre_save, _deal_before, Deal),
    (post_save, _deal_after, Deal),
    (pre_delete, _deal_before, Deal),
    (post_delete, _deal_after, Deal),
    (post_save, _stage_change_after, StageChange),
    (post_delete, _stage_change_after, StageChange),
    (pre_save, _activity_before, Activity),
    (post_save, _activity_after, Activity),
    (pre_delete, _activity_before, Activity),
    (post_delete, _activity_after, Activity),
]


@contextlib.contextmanager
def rollups_follow_direct_writes():
    from unittest import mock

    from salesdesk.analytics import rollups

    for signal, receiver, model in _ROLLUP_RECEIVERS:
        signal.connect(receiver, sender=model, weak=False, dispatch_uid=f"rollups-{id(receiver)}")
    try:
        with (
            mock.patch.object(rollups.DealChange, "apply", _recounted),
            mock.patch.object(rollups.ActivityChange, "apply", _recounted),
        ):
            yield
    finally:
        for signal, receiver, model in _ROLLUP_RECEIVERS:
            signal.disconnect(receiver, sender=model, dispatch_uid=f"rollups-{id(receiver)}")
