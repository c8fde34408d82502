import datetime
import importlib

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from salesdesk.activities.models import Activity
from salesdesk.crm.models import Company, ContactEmail
from salesdesk.pipeline.models import CloseDateChange, Deal
from tests.factories import (
    ActivityFactory,
    CompanyFactory,
    ContactEmailFactory,
    ContactFactory,
    DealFactory,
    LostReasonFactory,
)

pytestmark = pytest.mark.django_db


def _violates(make) -> bool:
    try:
        with transaction.atomic():
            make()
    except IntegrityError:
        return True
    return False


def test_database_refuses_lost_deal_without_reason(pipeline):
    stage = pipeline.stages.first()
    assert _violates(lambda: DealFactory(stage=stage, status="lost", closed_at=timezone.now()))
    reason = LostReasonFactory()
    assert not _violates(
        lambda: DealFactory(
            stage=stage, status="lost", closed_at=timezone.now(), lost_reason=reason
        )
    )


def test_database_refuses_closed_deal_without_close_time_and_negative_amounts(pipeline):
    stage = pipeline.stages.first()
    assert _violates(lambda: DealFactory(stage=stage, status="won"))
    assert _violates(lambda: DealFactory(stage=stage, status="open", closed_at=timezone.now()))
    assert _violates(lambda: DealFactory(stage=stage, amount=-1))


def test_company_domain_unique_ignoring_case_but_blank_allowed_twice():
    CompanyFactory(domain="acme.com")
    assert _violates(lambda: CompanyFactory(domain="ACME.com"))
    CompanyFactory(domain="")
    CompanyFactory(domain="")
    assert Company.objects.filter(domain="").count() == 2


def test_an_email_address_belongs_to_one_contact():
    ContactEmailFactory(email="ada@engine.org")
    assert _violates(lambda: ContactEmailFactory(email="ada@engine.org", contact=ContactFactory()))
    assert ContactEmail.objects.count() == 1


def test_external_id_unique_per_source_only():
    ActivityFactory(source="imap", external_id="<m1@x>")
    assert _violates(lambda: ActivityFactory(source="imap", external_id="<m1@x>"))
    ActivityFactory(source="import", external_id="<m1@x>")
    ActivityFactory(source="manual", external_id="")
    ActivityFactory(source="manual", external_id="")
    assert Activity.objects.count() == 4


def test_stale_after_the_stage_limit(pipeline):
    stage = pipeline.stages.get(name="Lead")  # stale after 14 days
    fresh = DealFactory(stage=stage, stage_entered_at=timezone.now() - datetime.timedelta(days=14))
    stale = DealFactory(stage=stage, stage_entered_at=timezone.now() - datetime.timedelta(days=15))
    won = DealFactory(
        stage=stage,
        stage_entered_at=timezone.now() - datetime.timedelta(days=90),
        status="won",
        closed_at=timezone.now(),
    )
    assert (fresh.is_stale, stale.is_stale, won.is_stale) == (False, True, False)
    assert stale.days_in_stage() == 15


def test_the_slip_count_migration_counts_the_slips_already_recorded(cast, pipeline):
    from django.apps import apps

    migration = importlib.import_module("salesdesk.pipeline.migrations.0007_deal_close_date_slips")
    pushed, pulled, untouched = (
        DealFactory(stage=pipeline.stages.first(), owner=cast.alice) for _ in range(3)
    )
    day = datetime.date(2026, 3, 31)
    for deal, dates in ((pushed, [(day, day + datetime.timedelta(days=30)), (day, None)]),
                        (pulled, [(day, day - datetime.timedelta(days=1))])):  # fmt: skip
        for from_date, to_date in dates:
            CloseDateChange.objects.create(deal=deal, from_date=from_date, to_date=to_date)

    migration.count_slips(apps, None)

    counts = dict(Deal.objects.values_list("pk", "close_date_slips"))
    assert [counts[pushed.pk], counts[pulled.pk], counts[untouched.pk]] == [2, 0, 0]
