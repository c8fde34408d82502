import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from salesdesk.accounts.models import User
from salesdesk.analytics import rollups
from salesdesk.core import events
from salesdesk.core.audit import audit_record, snapshot
from salesdesk.core.errors import Conflict, ValidationFailed
from salesdesk.core.models import AuditEntry, CurrencyRate
from salesdesk.core.money import base_currency, normalize_currency, parse_amount, to_base
from salesdesk.core.services import clean_text, require_admin, require_assignable, require_change
from salesdesk.crm.models import Company
from salesdesk.pipeline.models import (
    CloseDateChange,
    Deal,
    LeadSource,
    LostReason,
    Pipeline,
    Stage,
    StageChange,
)

# --- Pipelines and stages (admin) ---------------------------------------------------------


@transaction.atomic
def pipeline_create(*, actor: User, name: str, is_default: bool = False) -> Pipeline:
    require_admin(actor)
    name = clean_text(name, field="name", max_length=100, required=True)
    if Pipeline.objects.filter(name__iexact=name).exists():
        raise ValidationFailed("A pipeline with this name exists.", fields={"name": "Taken."})
    if is_default or not Pipeline.objects.exists():
        Pipeline.objects.filter(is_default=True).update(is_default=False)
        is_default = True
    return Pipeline.objects.create(name=name, is_default=is_default)


@transaction.atomic
def pipeline_update(*, actor: User, pipeline: Pipeline, **changes) -> Pipeline:
    require_admin(actor)
    if "name" in changes:
        name = clean_text(changes["name"], field="name", max_length=100, required=True)
        if Pipeline.objects.filter(name__iexact=name).exclude(pk=pipeline.pk).exists():
            raise ValidationFailed("A pipeline with this name exists.", fields={"name": "Taken."})
        pipeline.name = name
    if changes.get("is_default"):
        Pipeline.objects.filter(is_default=True).exclude(pk=pipeline.pk).update(is_default=False)
        pipeline.is_default = True
    pipeline.save()
    return pipeline


@transaction.atomic
def pipeline_delete(*, actor: User, pipeline: Pipeline) -> None:
    require_admin(actor)
    if pipeline.deals.exists():
        raise Conflict("This pipeline still has deals; move or delete them first.")
    pipeline.delete()


def _validate_stage_numbers(probability, stale_after_days) -> None:
    if probability is not None and not 0 <= probability <= 100:
        raise ValidationFailed("Probability is a percentage.", fields={"probability": "0 to 100."})
    if stale_after_days is not None and not 0 < stale_after_days <= 3650:
        raise ValidationFailed(
            "Stale after must be 1 to 3650 days.", fields={"stale_after_days": "1 to 3650."}
        )


@transaction.atomic
def stage_create(
    *,
    actor: User,
    pipeline: Pipeline,
    name: str,
    probability: int = 0,
    stale_after_days: int | None = None,
    position: int | None = None,
) -> Stage:
    require_admin(actor)
    name = clean_text(name, field="name", max_length=100, required=True)
    _validate_stage_numbers(probability, stale_after_days)
    if pipeline.stages.filter(name__iexact=name).exists():
        raise ValidationFailed("This pipeline has a stage of that name.", fields={"name": "Taken."})
    if position is None:
        position = (pipeline.stages.aggregate(last=Max("position"))["last"] or -1) + 1
    else:
        pipeline.stages.filter(position__gte=position).update(position=F("position") + 1)
        rollups.refresh_deal_set(pipeline.deals.all())  # furthest positions moved up
    return Stage.objects.create(
        pipeline=pipeline,
        name=name,
        probability=probability,
        stale_after_days=stale_after_days,
        position=position,
    )


@transaction.atomic
def stage_update(*, actor: User, stage: Stage, **changes) -> Stage:
    require_admin(actor)
    if "name" in changes:
        name = clean_text(changes["name"], field="name", max_length=100, required=True)
        clash = stage.pipeline.stages.filter(name__iexact=name).exclude(pk=stage.pk)
        if clash.exists():
            raise ValidationFailed(
                "This pipeline has a stage of that name.", fields={"name": "Taken."}
            )
        stage.name = name
    _validate_stage_numbers(changes.get("probability"), changes.get("stale_after_days"))
    for field in ("probability", "stale_after_days"):
        if field in changes and (changes[field] is not None or field == "stale_after_days"):
            setattr(stage, field, changes[field])
    stage.save()
    return stage


@transaction.atomic
def stage_reorder(*, actor: User, pipeline: Pipeline, stage_ids: list[int]) -> list[Stage]:
    require_admin(actor)
    stages = {s.pk: s for s in pipeline.stages.select_for_update()}
    if sorted(stage_ids) != sorted(stages):
        raise ValidationFailed(
            "Give every stage of the pipeline exactly once.", fields={"stage_ids": "Incomplete."}
        )
    for position, stage_id in enumerate(stage_ids):
        stages[stage_id].position = position
    Stage.objects.bulk_update(stages.values(), ["position"])
    rollups.refresh_deal_set(pipeline.deals.all())  # furthest positions follow the order
    return [stages[i] for i in stage_ids]


@transaction.atomic
def stage_delete(*, actor: User, stage: Stage) -> None:
    require_admin(actor)
    if stage.deals.exists():
        raise Conflict("This stage still has deals; move them to another stage first.")
    if stage.pipeline.stages.count() == 1:
        raise Conflict("A pipeline keeps at least one stage.")
    deals = stage.pipeline.deals.all()
    keys = rollups.deal_keys_of(deals)
    stage.delete()  # and the moves into it: the furthest positions may change
    rollups.refresh_deals(keys)


# --- Lead sources and lost reasons (admin) ------------------------------------------------


def _named_create(model, *, actor: User, name: str):
    require_admin(actor)
    name = clean_text(name, field="name", max_length=100, required=True)
    if model.objects.filter(name__iexact=name).exists():
        raise ValidationFailed("This name exists.", fields={"name": "Already taken."})
    return model.objects.create(name=name)


def _named_update(record, *, actor: User, **changes):
    require_admin(actor)
    if "name" in changes:
        name = clean_text(changes["name"], field="name", max_length=100, required=True)
        if type(record).objects.filter(name__iexact=name).exclude(pk=record.pk).exists():
            raise ValidationFailed("This name exists.", fields={"name": "Already taken."})
        record.name = name
    if changes.get("is_active") is not None:
        record.is_active = changes["is_active"]
    record.save()
    return record


@transaction.atomic
def lead_source_create(*, actor: User, name: str) -> LeadSource:
    return _named_create(LeadSource, actor=actor, name=name)


@transaction.atomic
def lead_source_update(*, actor: User, lead_source: LeadSource, **changes) -> LeadSource:
    return _named_update(lead_source, actor=actor, **changes)


@transaction.atomic
def lead_source_delete(*, actor: User, lead_source: LeadSource) -> None:
    require_admin(actor)
    keys = rollups.deal_keys_of(lead_source.deals.all())
    lead_source.delete()  # deals keep existing with no source (SET_NULL)
    rollups.refresh_deals(keys)


@transaction.atomic
def lost_reason_create(*, actor: User, name: str) -> LostReason:
    return _named_create(LostReason, actor=actor, name=name)


@transaction.atomic
def lost_reason_update(*, actor: User, lost_reason: LostReason, **changes) -> LostReason:
    return _named_update(lost_reason, actor=actor, **changes)


@transaction.atomic
def lost_reason_delete(*, actor: User, lost_reason: LostReason) -> None:
    require_admin(actor)
    if lost_reason.deals.exists():
        raise Conflict("Lost deals give this reason; deactivate it instead of deleting it.")
    lost_reason.delete()


# --- Currency rates (admin) --------------------------------------------------------------


@transaction.atomic
def currency_rate_set(*, actor: User, currency: str, rate: Decimal) -> CurrencyRate:
    """Set a rate and recompute every deal's base amount in that currency, in SQL."""
    require_admin(actor)
    currency = normalize_currency(currency)
    if currency == base_currency():
        raise ValidationFailed("The base currency needs no rate.", fields={"currency": "Base."})
    if rate is None or not rate.is_finite() or rate <= 0:
        raise ValidationFailed("A rate is a positive number.", fields={"rate": "Must be > 0."})
    record, _ = CurrencyRate.objects.update_or_create(currency=currency, defaults={"rate": rate})
    deals = Deal.objects.filter(currency=currency)
    zone = rollups.calendar()
    keys = rollups.deal_keys_of(deals, zone)  # a new rate changes amounts, not buckets
    deals.update(amount_base=F("amount") * rate)
    rollups.refresh_deals(keys, zone)
    return record


# --- Deals -------------------------------------------------------------------------------


def _default_stage(pipeline: Pipeline | None) -> tuple[Pipeline, Stage]:
    if pipeline is None:
        pipeline = Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.first()
    if pipeline is None:
        raise ValidationFailed("There is no pipeline yet; an admin must create one.")
    stage = pipeline.stages.order_by("position", "id").first()
    if stage is None:
        raise ValidationFailed(f"The pipeline {pipeline} has no stages.")
    return pipeline, stage


def _check_stage(pipeline: Pipeline, stage: Stage) -> None:
    if stage.pipeline_id != pipeline.pk:
        raise ValidationFailed(
            f"The stage {stage} is not in the pipeline {pipeline}.",
            fields={"stage_id": "Pick a stage of the deal's pipeline."},
        )


def _check_next_step_due(value: datetime.date | None) -> None:
    if value is not None and not datetime.date(1970, 1, 1) <= value <= datetime.date(2200, 1, 1):
        raise ValidationFailed(
            "That date is out of range.", fields={"next_step_due": "1970 to 2200."}
        )


DEAL_TEXT_FIELDS = {"title": 200, "next_step": 255, "lost_note": 5000}


@transaction.atomic
def deal_create(
    *,
    actor: User,
    title: str,
    owner: User | None,
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    company: Company | None = None,
    contacts=(),
    amount=Decimal("0"),
    currency: str | None = None,
    expected_close: datetime.date | None = None,
    lead_source: LeadSource | None = None,
    forecast_category: str = Deal.ForecastCategory.PIPELINE,
    next_step: str = "",
    next_step_due: datetime.date | None = None,
    tags=None,
) -> Deal:
    require_assignable(actor, owner)
    if stage is not None and pipeline is None:
        pipeline = stage.pipeline
    default_pipeline, first_stage = _default_stage(pipeline)
    pipeline, stage = default_pipeline, stage or first_stage
    _check_stage(pipeline, stage)
    _check_next_step_due(next_step_due)
    amount = parse_amount(amount)
    currency = normalize_currency(currency or base_currency())
    now = timezone.now()
    deal = Deal.objects.create(
        title=clean_text(title, field="title", max_length=200, required=True),
        owner=owner,
        pipeline=pipeline,
        stage=stage,
        company=company,
        amount=amount,
        currency=currency,
        amount_base=to_base(amount, currency),
        expected_close=expected_close,
        lead_source=lead_source,
        forecast_category=forecast_category,
        next_step=clean_text(next_step, field="next_step", max_length=255),
        next_step_due=next_step_due,
        stage_entered_at=now,
        created_at=now,
    )
    deal.contacts.set(contacts)
    if tags is not None:
        deal.tags.set(tags)
    StageChange.objects.create(deal=deal, from_stage=None, to_stage=stage, at=now, by=actor)
    rollup = rollups.DealChange(None, rollups.calendar())
    rollup.moved(stage, now)
    rollup.apply(deal)
    audit_record(actor=actor, instance=deal, action=AuditEntry.Action.CREATE)
    events.emit(events.DEAL_CREATED, deal_id=deal.pk, actor_id=actor.pk)
    return deal


def _locked(deal: Deal) -> Deal:
    """Re-read the deal under a row lock, so concurrent moves serialize.

    No joins here: after waiting for the lock PostgreSQL rechecks the joined rows as they were
    when the query started, so a join to the old stage would lose the freshly moved deal.
    """
    return Deal.objects.select_for_update().get(pk=deal.pk)


@transaction.atomic
def deal_update(*, actor: User, deal: Deal, contacts=None, tags=None, **changes) -> Deal:
    """Change plain fields. Stage and status change through deal_move/win/lose/reopen."""
    require_change(actor, deal)
    deal = _locked(deal)
    before = snapshot(deal)
    rollup = rollups.DealChange(deal, rollups.calendar())
    if "owner" in changes:
        require_assignable(actor, changes["owner"])
        deal.owner = changes["owner"]
    for field, limit in DEAL_TEXT_FIELDS.items():
        if field in changes:
            setattr(
                deal,
                field,
                clean_text(
                    changes[field], field=field, max_length=limit, required=field == "title"
                ),
            )
    if (
        "expected_close" in changes
        and deal.status == Deal.Status.OPEN
        and deal.expected_close is not None
        and changes["expected_close"] != deal.expected_close
    ):
        change = CloseDateChange.objects.create(
            deal=deal, from_date=deal.expected_close, to_date=changes["expected_close"], by=actor
        )
        deal.close_date_slips += change.is_slip
    for field in ("company", "expected_close", "lead_source", "next_step_due", "forecast_category"):
        if field in changes:
            setattr(deal, field, changes[field])
    _check_next_step_due(deal.next_step_due)
    if "amount" in changes or "currency" in changes:
        if changes.get("amount") is not None:
            deal.amount = parse_amount(changes["amount"])
        if changes.get("currency") is not None:
            deal.currency = normalize_currency(changes["currency"])
        deal.amount_base = to_base(deal.amount, deal.currency)
    if (
        "pipeline" in changes
        and changes["pipeline"] is not None
        and changes["pipeline"] != deal.pipeline
    ):
        # Moving to another pipeline puts the deal in that pipeline's first stage.
        pipeline, first_stage = _default_stage(changes["pipeline"])
        _record_move(deal, first_stage, actor)
        rollup.moved(first_stage, deal.stage_entered_at)
        deal.pipeline = pipeline
    deal.save()
    rollup.apply(deal)
    if contacts is not None:
        deal.contacts.set(contacts)
    if tags is not None:
        deal.tags.set(tags)
    audit_record(actor=actor, instance=deal, action=AuditEntry.Action.UPDATE, before=before)
    events.emit(events.DEAL_UPDATED, deal_id=deal.pk, actor_id=actor.pk)
    return deal


def _record_move(deal: Deal, stage: Stage, actor: User) -> None:
    now = timezone.now()
    StageChange.objects.create(deal=deal, from_stage=deal.stage, to_stage=stage, at=now, by=actor)
    deal.stage = stage
    deal.stage_entered_at = now


@transaction.atomic
def deal_move(*, actor: User, deal: Deal, stage: Stage) -> Deal:
    require_change(actor, deal)
    deal = _locked(deal)
    _check_stage(deal.pipeline, stage)
    if deal.status != Deal.Status.OPEN:
        raise Conflict(f"This deal is {deal.status}; reopen it before moving it.")
    if deal.stage_id == stage.pk:
        return deal
    before = snapshot(deal)
    from_stage_id = deal.stage_id
    rollup = rollups.DealChange(deal, rollups.calendar())
    _record_move(deal, stage, actor)
    rollup.moved(stage, deal.stage_entered_at)
    deal.save(update_fields=["stage", "stage_entered_at", "updated_at"])
    rollup.apply(deal)
    audit_record(actor=actor, instance=deal, action=AuditEntry.Action.UPDATE, before=before)
    events.emit(
        events.DEAL_MOVED,
        deal_id=deal.pk,
        from_stage_id=from_stage_id,
        to_stage_id=stage.pk,
        actor_id=actor.pk,
    )
    return deal


@transaction.atomic
def deal_win(*, actor: User, deal: Deal) -> Deal:
    require_change(actor, deal)
    deal = _locked(deal)
    if deal.status == Deal.Status.WON:
        return deal
    if deal.status == Deal.Status.LOST:
        raise Conflict("This deal is lost; reopen it before winning it.")
    before = snapshot(deal)
    rollup = rollups.DealChange(deal, rollups.calendar())
    deal.status = Deal.Status.WON
    deal.closed_at = timezone.now()
    deal.forecast_category = Deal.ForecastCategory.CLOSED
    deal.save(update_fields=["status", "closed_at", "forecast_category", "updated_at"])
    rollup.apply(deal)
    audit_record(actor=actor, instance=deal, action=AuditEntry.Action.UPDATE, before=before)
    events.emit(events.DEAL_WON, deal_id=deal.pk, actor_id=actor.pk)
    return deal


@transaction.atomic
def deal_lose(*, actor: User, deal: Deal, reason: LostReason | None, note: str = "") -> Deal:
    require_change(actor, deal)
    if reason is None:
        raise ValidationFailed(
            "Say why the deal was lost.", fields={"lost_reason_id": "Pick a lost reason."}
        )
    deal = _locked(deal)
    if deal.status == Deal.Status.LOST:
        return deal
    if deal.status == Deal.Status.WON:
        raise Conflict("This deal is won; reopen it before losing it.")
    before = snapshot(deal)
    rollup = rollups.DealChange(deal, rollups.calendar())
    deal.status = Deal.Status.LOST
    deal.closed_at = timezone.now()
    deal.lost_reason = reason
    deal.lost_note = clean_text(note, field="note", max_length=5000)
    deal.forecast_category = Deal.ForecastCategory.CLOSED
    deal.save(
        update_fields=[
            "status",
            "closed_at",
            "lost_reason",
            "lost_note",
            "forecast_category",
            "updated_at",
        ]
    )
    rollup.apply(deal)
    audit_record(actor=actor, instance=deal, action=AuditEntry.Action.UPDATE, before=before)
    events.emit(events.DEAL_LOST, deal_id=deal.pk, reason_id=reason.pk, actor_id=actor.pk)
    return deal


@transaction.atomic
def deal_reopen(*, actor: User, deal: Deal) -> Deal:
    require_change(actor, deal)
    deal = _locked(deal)
    if deal.status == Deal.Status.OPEN:
        return deal
    before = snapshot(deal)
    rollup = rollups.DealChange(deal, rollups.calendar())
    deal.status = Deal.Status.OPEN
    deal.closed_at = None
    deal.lost_reason = None
    deal.lost_note = ""
    deal.forecast_category = Deal.ForecastCategory.PIPELINE
    deal.save(
        update_fields=[
            "status",
            "closed_at",
            "lost_reason",
            "lost_note",
            "forecast_category",
            "updated_at",
        ]
    )
    rollup.apply(deal)
    audit_record(actor=actor, instance=deal, action=AuditEntry.Action.UPDATE, before=before)
    events.emit(events.DEAL_REOPENED, deal_id=deal.pk, actor_id=actor.pk)
    return deal


@transaction.atomic
def deal_delete(*, actor: User, deal: Deal) -> None:
    require_change(actor, deal)
    audit_record(actor=actor, instance=deal, action=AuditEntry.Action.DELETE, before=snapshot(deal))
    deal_id = deal.pk
    rollup = rollups.DealChange(_locked(deal), rollups.calendar())  # the stored row
    deal.delete()
    rollup.apply(None)
    events.emit(events.DEAL_DELETED, deal_id=deal_id, actor_id=actor.pk)
