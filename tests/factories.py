"""Factories shared by every app's tests (imported by tests/<app>/factories.py)."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from salesdesk.accounts.models import Role, Team, User
from salesdesk.activities.models import Activity
from salesdesk.crm.models import Company, Contact, ContactEmail, Tag
from salesdesk.goals.models import Goal
from salesdesk.goals.periods import PeriodKind
from salesdesk.pipeline.models import Deal, LeadSource, LostReason, Pipeline, Stage

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
