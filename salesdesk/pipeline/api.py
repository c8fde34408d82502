import datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from salesdesk.accounts.models import User
from salesdesk.core.api_support import (
    AwareDatetime,
    Id,
    InSchema,
    Limit,
    Page,
    Text,
    paginate_by_id,
    reference,
    references,
    visible_or_404,
)
from salesdesk.core.errors import NotFound
from salesdesk.core.models import CurrencyRate
from salesdesk.core.schemas import (
    AuditEntryOut,
    CompanyRef,
    ContactRef,
    NamedRef,
    StageRef,
    UserRef,
)
from salesdesk.core.selectors import audit_trail
from salesdesk.crm.models import Company, Contact, Tag
from salesdesk.pipeline import selectors, services
from salesdesk.pipeline.models import Deal, LeadSource, LostReason, Pipeline, Stage

router = Router()


def _get(queryset, pk: int, label: str):
    record = queryset.filter(pk=pk).first()
    if record is None:
        raise NotFound(f"{label} {pk} does not exist.")
    return record


# --- Pipelines and stages ------------------------------------------------------------------


class StageOut(Schema):
    id: int
    pipeline_id: int
    name: str
    position: int
    probability: int
    stale_after_days: int | None


class PipelineOut(Schema):
    id: int
    name: str
    is_default: bool
    stages: list[StageOut]


class PipelineIn(InSchema):
    name: Text
    is_default: bool = False


class PipelinePatch(InSchema):
    name: Text | None = None
    is_default: bool | None = None


class StageIn(InSchema):
    name: Text
    probability: int = 0
    stale_after_days: int | None = None
    position: int | None = None


class StagePatch(InSchema):
    name: Text | None = None
    probability: int | None = None
    stale_after_days: int | None = None


class StageOrder(InSchema):
    stage_ids: list[Id]


def _pipelines():
    return Pipeline.objects.prefetch_related("stages")


@router.get("/pipelines", response=list[PipelineOut], tags=["pipelines"])
def list_pipelines(request: HttpRequest):
    return _pipelines()


@router.post("/pipelines", response={201: PipelineOut}, tags=["pipelines"])
def create_pipeline(request: HttpRequest, payload: PipelineIn):
    pipeline = services.pipeline_create(actor=request.auth, **payload.dict())
    return Status(201, _get(_pipelines(), pipeline.pk, "Pipeline"))


@router.get("/pipelines/{pipeline_id}", response=PipelineOut, tags=["pipelines"])
def get_pipeline(request: HttpRequest, pipeline_id: Id):
    return _get(_pipelines(), pipeline_id, "Pipeline")


@router.patch("/pipelines/{pipeline_id}", response=PipelineOut, tags=["pipelines"])
def update_pipeline(request: HttpRequest, pipeline_id: Id, payload: PipelinePatch):
    pipeline = _get(Pipeline.objects, pipeline_id, "Pipeline")
    changes = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    services.pipeline_update(actor=request.auth, pipeline=pipeline, **changes)
    return _get(_pipelines(), pipeline_id, "Pipeline")


@router.delete("/pipelines/{pipeline_id}", response={204: None}, tags=["pipelines"])
def delete_pipeline(request: HttpRequest, pipeline_id: Id):
    services.pipeline_delete(
        actor=request.auth, pipeline=_get(Pipeline.objects, pipeline_id, "Pipeline")
    )
    return Status(204, None)


@router.post("/pipelines/{pipeline_id}/stages", response={201: StageOut}, tags=["pipelines"])
def create_stage(request: HttpRequest, pipeline_id: Id, payload: StageIn):
    pipeline = _get(Pipeline.objects, pipeline_id, "Pipeline")
    return Status(
        201, services.stage_create(actor=request.auth, pipeline=pipeline, **payload.dict())
    )


@router.put("/pipelines/{pipeline_id}/stage-order", response=list[StageOut], tags=["pipelines"])
def reorder_stages(request: HttpRequest, pipeline_id: Id, payload: StageOrder):
    pipeline = _get(Pipeline.objects, pipeline_id, "Pipeline")
    return services.stage_reorder(
        actor=request.auth, pipeline=pipeline, stage_ids=payload.stage_ids
    )


@router.patch("/stages/{stage_id}", response=StageOut, tags=["pipelines"])
def update_stage(request: HttpRequest, stage_id: Id, payload: StagePatch):
    stage = _get(Stage.objects.select_related("pipeline"), stage_id, "Stage")
    return services.stage_update(
        actor=request.auth, stage=stage, **payload.dict(exclude_unset=True)
    )


@router.delete("/stages/{stage_id}", response={204: None}, tags=["pipelines"])
def delete_stage(request: HttpRequest, stage_id: Id):
    services.stage_delete(
        actor=request.auth, stage=_get(Stage.objects.select_related("pipeline"), stage_id, "Stage")
    )
    return Status(204, None)


# --- Lead sources, lost reasons, currency rates -------------------------------------------


class NamedOut(NamedRef):
    is_active: bool


class NamedIn(InSchema):
    name: Text


class NamedPatch(InSchema):
    name: Text | None = None
    is_active: bool | None = None


@router.get("/lead-sources", response=list[NamedOut], tags=["lead sources"])
def list_lead_sources(request: HttpRequest):
    return LeadSource.objects.order_by("name")


@router.post("/lead-sources", response={201: NamedOut}, tags=["lead sources"])
def create_lead_source(request: HttpRequest, payload: NamedIn):
    return Status(201, services.lead_source_create(actor=request.auth, name=payload.name))


@router.patch("/lead-sources/{source_id}", response=NamedOut, tags=["lead sources"])
def update_lead_source(request: HttpRequest, source_id: Id, payload: NamedPatch):
    source = _get(LeadSource.objects, source_id, "Lead source")
    return services.lead_source_update(
        actor=request.auth, lead_source=source, **payload.dict(exclude_unset=True)
    )


@router.delete("/lead-sources/{source_id}", response={204: None}, tags=["lead sources"])
def delete_lead_source(request: HttpRequest, source_id: Id):
    services.lead_source_delete(
        actor=request.auth, lead_source=_get(LeadSource.objects, source_id, "Lead source")
    )
    return Status(204, None)


@router.get("/lost-reasons", response=list[NamedOut], tags=["lost reasons"])
def list_lost_reasons(request: HttpRequest):
    return LostReason.objects.order_by("name")


@router.post("/lost-reasons", response={201: NamedOut}, tags=["lost reasons"])
def create_lost_reason(request: HttpRequest, payload: NamedIn):
    return Status(201, services.lost_reason_create(actor=request.auth, name=payload.name))


@router.patch("/lost-reasons/{reason_id}", response=NamedOut, tags=["lost reasons"])
def update_lost_reason(request: HttpRequest, reason_id: Id, payload: NamedPatch):
    reason = _get(LostReason.objects, reason_id, "Lost reason")
    return services.lost_reason_update(
        actor=request.auth, lost_reason=reason, **payload.dict(exclude_unset=True)
    )


@router.delete("/lost-reasons/{reason_id}", response={204: None}, tags=["lost reasons"])
def delete_lost_reason(request: HttpRequest, reason_id: Id):
    services.lost_reason_delete(
        actor=request.auth, lost_reason=_get(LostReason.objects, reason_id, "Lost reason")
    )
    return Status(204, None)


class RateOut(Schema):
    currency: str
    rate: Decimal
    updated_at: datetime.datetime


class RateIn(InSchema):
    rate: Decimal


@router.get("/currency-rates", response=list[RateOut], tags=["currencies"])
def list_rates(request: HttpRequest):
    return CurrencyRate.objects.order_by("currency")


@router.put("/currency-rates/{currency}", response=RateOut, tags=["currencies"])
def set_rate(request: HttpRequest, currency: Text, payload: RateIn):
    """Set how much one unit of `currency` is worth in the base currency; deals are recomputed."""
    return services.currency_rate_set(actor=request.auth, currency=currency, rate=payload.rate)


# --- Deals ---------------------------------------------------------------------------------


class DealOut(Schema):
    id: int
    title: str
    company: CompanyRef | None
    contacts: list[ContactRef]
    owner: UserRef | None
    pipeline: NamedRef
    stage: StageRef
    amount: Decimal
    currency: str
    amount_base: Decimal
    expected_close: datetime.date | None
    status: str
    closed_at: datetime.datetime | None
    lost_reason: NamedRef | None
    lost_note: str
    lead_source: NamedRef | None
    forecast_category: str
    next_step: str
    next_step_due: datetime.date | None
    tags: list[NamedRef]
    stage_entered_at: datetime.datetime
    days_in_stage: int
    is_stale: bool
    last_interaction_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_days_in_stage(deal: Deal) -> int:
        return deal.days_in_stage()


class DealPage(Page):
    items: list[DealOut]


class DealIn(InSchema):
    title: Text
    pipeline_id: Id | None = None
    stage_id: Id | None = None
    company_id: Id | None = None
    contact_ids: list[Id] = []
    owner_id: Id | None = None
    amount: Decimal = Decimal("0")
    currency: Text | None = None
    expected_close: datetime.date | None = None
    lead_source_id: Id | None = None
    forecast_category: Deal.ForecastCategory = Deal.ForecastCategory.PIPELINE
    next_step: Text = ""
    next_step_due: datetime.date | None = None
    tag_ids: list[Id] | None = None


class DealPatch(InSchema):
    title: Text | None = None
    pipeline_id: Id | None = None
    company_id: Id | None = None
    contact_ids: list[Id] | None = None
    owner_id: Id | None = None
    amount: Decimal | None = None
    currency: Text | None = None
    expected_close: datetime.date | None = None
    lead_source_id: Id | None = None
    forecast_category: Deal.ForecastCategory | None = None
    next_step: Text | None = None
    next_step_due: datetime.date | None = None
    tag_ids: list[Id] | None = None


class DealFilters(InSchema):
    owner: Id | None = None
    pipeline: Id | None = None
    stage: Id | None = None
    status: Deal.Status | None = None
    company: Id | None = None
    contact: Id | None = None
    lead_source: Id | None = None
    tag: Id | None = None
    q: Text | None = None
    created_after: AwareDatetime | None = None
    created_before: AwareDatetime | None = None
    expected_close_after: datetime.date | None = None
    expected_close_before: datetime.date | None = None
    closed_after: AwareDatetime | None = None
    closed_before: AwareDatetime | None = None
    limit: Limit = 50
    cursor: Text | None = None


class MoveIn(InSchema):
    stage_id: Id


class LoseIn(InSchema):
    lost_reason_id: Id
    note: Text = ""


class StageChangeOut(Schema):
    stage_id: int
    stage: str
    entered_at: datetime.datetime
    left_at: datetime.datetime | None
    seconds: int
    by: UserRef | None


def _deals():
    return Deal.objects.select_related(
        "owner", "company", "pipeline", "stage", "lead_source", "lost_reason"
    ).prefetch_related("contacts", "tags")


def _deal(request, deal_id: int) -> Deal:
    return visible_or_404(request.auth, _deals(), deal_id, label="Deal")


def _deal_refs(request, data: dict) -> dict:
    """Turn the *_id fields of a deal payload into records the caller may use."""
    user = request.auth
    lookups = {
        "pipeline_id": ("pipeline", Pipeline.objects.all(), "Pipeline", False),
        "stage_id": ("stage", Stage.objects.select_related("pipeline"), "Stage", False),
        "company_id": ("company", Company.objects.all(), "Company", True),
        "owner_id": ("owner", User.objects.filter(is_active=True), "User", False),
        "lead_source_id": ("lead_source", LeadSource.objects.all(), "Lead source", False),
    }
    for key, (name, queryset, label, owned) in lookups.items():
        if key in data:
            data[name] = reference(
                user, queryset, data.pop(key), field=key, label=label, owned=owned
            )
    if "contact_ids" in data:
        data["contacts"] = references(
            user,
            Contact.objects.all(),
            data.pop("contact_ids"),
            field="contact_ids",
            label="Contacts",
        )
    if "tag_ids" in data:
        data["tags"] = references(
            user, Tag.objects.all(), data.pop("tag_ids"), field="tag_ids", label="Tags", owned=False
        )
    return data


@router.get("/deals", response=DealPage, tags=["deals"])
def list_deals(request: HttpRequest, filters: Query[DealFilters]):
    deals = selectors.deal_list(
        actor=request.auth,
        owner_id=filters.owner,
        pipeline_id=filters.pipeline,
        stage_id=filters.stage,
        status=filters.status,
        company_id=filters.company,
        contact_id=filters.contact,
        lead_source_id=filters.lead_source,
        tag_id=filters.tag,
        q=filters.q,
        created_after=filters.created_after,
        created_before=filters.created_before,
        expected_close_after=filters.expected_close_after,
        expected_close_before=filters.expected_close_before,
        closed_after=filters.closed_after,
        closed_before=filters.closed_before,
    )
    return paginate_by_id(deals, limit=filters.limit, cursor=filters.cursor)


@router.post("/deals", response={201: DealOut}, tags=["deals"])
def create_deal(request: HttpRequest, payload: DealIn):
    data = payload.dict()
    if data["owner_id"] is None:
        data["owner_id"] = request.auth.pk
    data = _deal_refs(request, data)
    deal = services.deal_create(actor=request.auth, **data)
    return Status(201, _deal(request, deal.pk))


@router.get("/deals/{deal_id}", response=DealOut, tags=["deals"])
def get_deal(request: HttpRequest, deal_id: Id):
    return _deal(request, deal_id)


@router.patch("/deals/{deal_id}", response=DealOut, tags=["deals"])
def update_deal(request: HttpRequest, deal_id: Id, payload: DealPatch):
    deal = _deal(request, deal_id)
    changes = payload.dict(exclude_unset=True)
    for field in ("title", "amount", "currency", "forecast_category", "next_step", "pipeline_id"):
        if field in changes and changes[field] is None:
            changes.pop(field)
    services.deal_update(actor=request.auth, deal=deal, **_deal_refs(request, changes))
    return _deal(request, deal_id)


@router.delete("/deals/{deal_id}", response={204: None}, tags=["deals"])
def delete_deal(request: HttpRequest, deal_id: Id):
    services.deal_delete(actor=request.auth, deal=_deal(request, deal_id))
    return Status(204, None)


@router.post("/deals/{deal_id}/move", response=DealOut, tags=["deals"])
def move_deal(request: HttpRequest, deal_id: Id, payload: MoveIn):
    deal = _deal(request, deal_id)
    stage = reference(
        request.auth,
        Stage.objects.all(),
        payload.stage_id,
        field="stage_id",
        label="Stage",
        owned=False,
    )
    services.deal_move(actor=request.auth, deal=deal, stage=stage)
    return _deal(request, deal_id)


@router.post("/deals/{deal_id}/win", response=DealOut, tags=["deals"])
def win_deal(request: HttpRequest, deal_id: Id):
    services.deal_win(actor=request.auth, deal=_deal(request, deal_id))
    return _deal(request, deal_id)


@router.post("/deals/{deal_id}/lose", response=DealOut, tags=["deals"])
def lose_deal(request: HttpRequest, deal_id: Id, payload: LoseIn):
    deal = _deal(request, deal_id)
    reason = reference(
        request.auth,
        LostReason.objects.all(),
        payload.lost_reason_id,
        field="lost_reason_id",
        label="Lost reason",
        owned=False,
    )
    services.deal_lose(actor=request.auth, deal=deal, reason=reason, note=payload.note)
    return _deal(request, deal_id)


@router.post("/deals/{deal_id}/reopen", response=DealOut, tags=["deals"])
def reopen_deal(request: HttpRequest, deal_id: Id):
    services.deal_reopen(actor=request.auth, deal=_deal(request, deal_id))
    return _deal(request, deal_id)


@router.get("/deals/{deal_id}/stage-history", response=list[StageChangeOut], tags=["deals"])
def deal_stage_history(request: HttpRequest, deal_id: Id):
    return selectors.stage_durations(deal=_deal(request, deal_id))


@router.get("/deals/{deal_id}/audit", response=list[AuditEntryOut], tags=["deals"])
def deal_audit(request: HttpRequest, deal_id: Id):
    """Who changed what on this deal, newest first."""
    return audit_trail(record=_deal(request, deal_id))
