import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from salesdesk.core import events
from salesdesk.core.errors import Conflict, PermissionDenied
from salesdesk.core.models import AuditEntry
from salesdesk.pipeline import selectors, services
from salesdesk.pipeline.models import Deal, StageChange
from tests.factories import DealFactory, LostReasonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    seen = []
    unsubscribe = [
        events.subscribe(name, lambda **p: seen.append(p))
        for name in (events.DEAL_CREATED, events.DEAL_MOVED, events.DEAL_WON, events.DEAL_LOST)
    ]
    yield seen
    for undo in unsubscribe:
        undo()


def test_events_are_delivered_after_commit(
    cast, pipeline, received, django_capture_on_commit_callbacks
):
    stages = list(pipeline.stages.order_by("position"))
    with django_capture_on_commit_callbacks(execute=True):
        deal = services.deal_create(actor=cast.alice, title="T", owner=cast.alice)
        services.deal_move(actor=cast.alice, deal=deal, stage=stages[2])
        services.deal_win(actor=cast.alice, deal=deal)
    assert [p["name"] for p in received] == ["deal.created", "deal.moved", "deal.won"]
    assert received[1] == {
        "name": "deal.moved",
        "deal_id": deal.pk,
        "from_stage_id": stages[0].pk,
        "to_stage_id": stages[2].pk,
        "actor_id": cast.alice.pk,
    }


def test_refused_change_emits_nothing(cast, pipeline, received, django_capture_on_commit_callbacks):
    deal = DealFactory(owner=cast.bob, stage=pipeline.stages.first())
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied):
        services.deal_win(actor=cast.alice, deal=deal)
    deal.refresh_from_db()
    assert deal.status == "open"
    assert received == []


def test_moving_a_closed_deal_is_refused(cast, pipeline):
    stages = list(pipeline.stages.order_by("position"))
    deal = DealFactory(owner=cast.alice, stage=stages[0])
    services.deal_lose(actor=cast.alice, deal=deal, reason=LostReasonFactory())
    with pytest.raises(Conflict, match="reopen"):
        services.deal_move(actor=cast.alice, deal=deal, stage=stages[1])
    assert not StageChange.objects.filter(deal=deal).exists()


def test_reopen_after_loss_clears_the_close(cast, pipeline):
    deal = DealFactory(owner=cast.alice, stage=pipeline.stages.first())
    services.deal_lose(actor=cast.alice, deal=deal, reason=LostReasonFactory(), note="budget")
    deal = services.deal_reopen(actor=cast.alice, deal=deal)
    deal.refresh_from_db()
    assert (deal.status, deal.closed_at, deal.lost_reason, deal.lost_note) == (
        "open",
        None,
        None,
        "",
    )


def test_time_in_each_stage_comes_from_history(cast, pipeline):
    stages = list(pipeline.stages.order_by("position"))
    start = timezone.now() - datetime.timedelta(days=10)
    deal = DealFactory(
        owner=cast.alice, stage=stages[2], stage_entered_at=start + datetime.timedelta(days=7)
    )
    StageChange.objects.create(deal=deal, from_stage=None, to_stage=stages[0], at=start)
    StageChange.objects.create(
        deal=deal, from_stage=stages[0], to_stage=stages[1], at=start + datetime.timedelta(days=3)
    )
    StageChange.objects.create(
        deal=deal, from_stage=stages[1], to_stage=stages[2], at=start + datetime.timedelta(days=7)
    )
    now = start + datetime.timedelta(days=10)
    rows = selectors.stage_durations(deal=deal, now=now)
    assert [(r["stage"], r["seconds"] // 86400) for r in rows] == [
        ("Lead", 3),
        ("Qualified", 4),
        ("Proposal", 3),
    ]


def test_every_change_is_audited_with_before_and_after(cast, pipeline):
    deal = services.deal_create(actor=cast.alice, title="Audit me", owner=cast.alice, amount="100")
    services.deal_update(actor=cast.manager, deal=deal, amount=Decimal("250.00"), next_step="Call")
    services.deal_delete(actor=cast.manager, deal=deal)
    entries = list(AuditEntry.objects.filter(entity="pipeline.deal").order_by("id"))
    assert [(e.action, e.actor) for e in entries] == [
        ("create", cast.alice),
        ("update", cast.manager),
        ("delete", cast.manager),
    ]
    assert entries[1].changes["amount"] == ["100.00", "250.00"]
    assert entries[1].changes["next_step"] == ["", "Call"]
    assert entries[2].changes["title"] == ["Audit me", None]
    assert not Deal.objects.exists()


def test_changing_pipeline_puts_deal_in_its_first_stage(cast, pipeline):
    from tests.factories import PipelineFactory, StageFactory

    other = PipelineFactory(name="Renewals")
    first = StageFactory(pipeline=other, name="Due", position=0)
    StageFactory(pipeline=other, name="Signed", position=1)
    deal = DealFactory(owner=cast.alice, stage=pipeline.stages.last())
    deal = services.deal_update(actor=cast.alice, deal=deal, pipeline=other)
    deal.refresh_from_db()
    assert (deal.pipeline, deal.stage) == (other, first)
    assert StageChange.objects.filter(deal=deal, to_stage=first).count() == 1


@pytest.mark.django_db
def test_moving_the_expected_close_of_an_open_deal_records_the_change(cast, pipeline):
    deal = DealFactory(
        stage=pipeline.stages.first(), owner=cast.alice, expected_close=datetime.date(2026, 3, 31)
    )
    services.deal_update(actor=cast.alice, deal=deal, expected_close=datetime.date(2026, 4, 30))
    services.deal_update(actor=cast.alice, deal=deal, expected_close=datetime.date(2026, 4, 15))
    services.deal_update(actor=cast.alice, deal=deal, expected_close=datetime.date(2026, 4, 15))
    services.deal_update(actor=cast.alice, deal=deal, title="Same date, new title")
    changes = list(deal.close_date_changes.values_list("from_date", "to_date", "by"))
    assert changes == [
        (datetime.date(2026, 3, 31), datetime.date(2026, 4, 30), cast.alice.id),
        (datetime.date(2026, 4, 30), datetime.date(2026, 4, 15), cast.alice.id),
    ]
    assert [c.is_slip for c in deal.close_date_changes.all()] == [True, False]
    deal.refresh_from_db()
    assert deal.close_date_slips == 1  # counted on the deal, for the forecast's lists
    services.deal_update(actor=cast.alice, deal=deal, expected_close=None)  # cleared: a slip
    deal.refresh_from_db()
    assert deal.close_date_slips == 2
    assert deal.close_date_changes.last().to_date is None
