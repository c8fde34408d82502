import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from salesdesk.accounts import visibility
from salesdesk.accounts.models import User
from salesdesk.activities import selectors, services
from salesdesk.activities.models import Activity
from salesdesk.core.api_support import (
    AwareDatetime,
    Id,
    InSchema,
    Limit,
    Page,
    Text,
    paginate_by_time,
    reference,
    references,
    visible_or_404,
)
from salesdesk.core.schemas import CompanyRef, ContactRef, UserRef
from salesdesk.crm.models import Company, Contact
from salesdesk.pipeline.models import Deal

router = Router(tags=["activities"])


class DealRef(Schema):
    id: int
    title: str


class ActivityOut(Schema):
    id: int
    kind: str
    direction: str
    subject: str
    body: str = Field(
        description="Empty when `text_hidden`: a captured e-mail whose owner keeps its text "
        "private."
    )
    text_hidden: bool = False
    occurred_at: datetime.datetime
    due_at: datetime.datetime | None
    done_at: datetime.datetime | None
    duration_seconds: int | None
    owner: UserRef | None
    company: CompanyRef | None
    contacts: list[ContactRef]
    deal: DealRef | None
    source: str
    external_id: str
    created_at: datetime.datetime

    @staticmethod
    def resolve_text_hidden(activity: Activity, context) -> bool:
        hidden = getattr(activity, "text_hidden", None)
        if hidden is None:
            hidden = visibility.is_email_text_hidden(context["request"].auth, activity)
        return hidden

    @staticmethod
    def resolve_body(activity: Activity, context) -> str:
        return "" if ActivityOut.resolve_text_hidden(activity, context) else activity.body

    @staticmethod
    def resolve_duration_seconds(activity: Activity) -> int | None:
        return int(activity.duration.total_seconds()) if activity.duration is not None else None


class ActivityPage(Page):
    items: list[ActivityOut]


class ActivityIn(InSchema):
    kind: Activity.Kind
    direction: Activity.Direction = Activity.Direction.NONE
    subject: Text = ""
    body: Text = ""
    occurred_at: AwareDatetime | None = None
    due_at: AwareDatetime | None = None
    done_at: AwareDatetime | None = None
    duration_seconds: int | None = None
    owner_id: Id | None = None
    company_id: Id | None = None
    contact_ids: list[Id] = []
    deal_id: Id | None = None
    external_id: Text = ""


class ActivityPatch(InSchema):
    direction: Activity.Direction | None = None
    subject: Text | None = None
    body: Text | None = None
    occurred_at: AwareDatetime | None = None
    due_at: AwareDatetime | None = None
    done_at: AwareDatetime | None = None
    duration_seconds: int | None = None
    owner_id: Id | None = None
    company_id: Id | None = None
    contact_ids: list[Id] | None = None
    deal_id: Id | None = None


class ActivityFilters(InSchema):
    owner: Id | None = None
    company: Id | None = None
    contact: Id | None = None
    deal: Id | None = None
    kind: Activity.Kind | None = None
    source: Activity.Source | None = None
    done: bool | None = None
    q: Text | None = None
    occurred_after: AwareDatetime | None = None
    occurred_before: AwareDatetime | None = None
    due_before: AwareDatetime | None = None
    limit: Limit = 50
    cursor: Text | None = None


class CompleteIn(InSchema):
    done: bool = True


def _activity(request, activity_id: int) -> Activity:
    queryset = Activity.objects.select_related("owner", "company", "deal").prefetch_related(
        "contacts"
    )
    return visible_or_404(request.auth, queryset, activity_id, label="Activity")


def _refs(request, data: dict) -> dict:
    user = request.auth
    if "owner_id" in data:
        data["owner"] = reference(
            user,
            User.objects.filter(is_active=True),
            data.pop("owner_id"),
            field="owner_id",
            label="User",
            owned=False,
        )
    if "company_id" in data:
        data["company"] = reference(
            user, Company.objects.all(), data.pop("company_id"), field="company_id", label="Company"
        )
    if "deal_id" in data:
        data["deal"] = reference(
            user, Deal.objects.all(), data.pop("deal_id"), field="deal_id", label="Deal"
        )
    if "contact_ids" in data:
        data["contacts"] = references(
            user,
            Contact.objects.all(),
            data.pop("contact_ids"),
            field="contact_ids",
            label="Contacts",
        )
    if "duration_seconds" in data:
        seconds = data.pop("duration_seconds")
        data["duration"] = datetime.timedelta(seconds=seconds) if seconds is not None else None
    return data


@router.get("/activities", response=ActivityPage)
def list_activities(request: HttpRequest, filters: Query[ActivityFilters]):
    activities = selectors.activity_list(
        actor=request.auth,
        owner_id=filters.owner,
        company_id=filters.company,
        contact_id=filters.contact,
        deal_id=filters.deal,
        kind=filters.kind,
        source=filters.source,
        is_done=filters.done,
        q=filters.q,
        occurred_after=filters.occurred_after,
        occurred_before=filters.occurred_before,
        due_before=filters.due_before,
    )
    return paginate_by_time(
        activities, field="occurred_at", limit=filters.limit, cursor=filters.cursor
    )


@router.post("/activities", response={200: ActivityOut, 201: ActivityOut})
def create_activity(request: HttpRequest, payload: ActivityIn):
    """Log an activity. With an `external_id`, posting the same one again returns it (200)."""
    data = payload.dict()
    if data["owner_id"] is None:
        data["owner_id"] = request.auth.pk
    for field in ("occurred_at", "due_at", "done_at"):
        if data[field] is None:
            data.pop(field)
    if "occurred_at" not in data:
        data["occurred_at"] = datetime.datetime.now(datetime.UTC)
    data = _refs(request, data)
    activity, created = services.activity_create(
        actor=request.auth, source=Activity.Source.API, **data
    )
    return Status((201 if created else 200), _activity(request, activity.pk))


@router.get("/activities/{activity_id}", response=ActivityOut)
def get_activity(request: HttpRequest, activity_id: Id):
    return _activity(request, activity_id)


@router.patch("/activities/{activity_id}", response=ActivityOut)
def update_activity(request: HttpRequest, activity_id: Id, payload: ActivityPatch):
    activity = _activity(request, activity_id)
    changes = payload.dict(exclude_unset=True)

    for field in ("direction", "subject", "body", "occurred_at"):
        if field in changes and changes[field] is None:
            changes.pop(field)
    services.activity_update(actor=request.auth, activity=activity, **_refs(request, changes))
    return _activity(request, activity_id)


@router.post("/activities/{activity_id}/complete", response=ActivityOut)
def complete_activity(request: HttpRequest, activity_id: Id, payload: CompleteIn):
    services.activity_complete(
        actor=request.auth, activity=_activity(request, activity_id), done=payload.done
    )
    return _activity(request, activity_id)


@router.delete("/activities/{activity_id}", response={204: None})
def delete_activity(request: HttpRequest, activity_id: Id):
    services.activity_delete(actor=request.auth, activity=_activity(request, activity_id))
    return Status(204, None)
