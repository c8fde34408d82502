import datetime

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
from salesdesk.core.schemas import AuditEntryOut, CompanyRef, NamedRef, UserRef
from salesdesk.core.selectors import audit_trail
from salesdesk.crm import selectors, services
from salesdesk.crm.models import Company, Contact, ContactPhone, Tag

router = Router()


def _owner(request, owner_id):
    return reference(
        request.auth,
        User.objects.filter(is_active=True),
        owner_id,
        field="owner_id",
        label="User",
        owned=False,
    )


def _tags(request, tag_ids):
    return references(
        request.auth, Tag.objects.all(), tag_ids, field="tag_ids", label="Tags", owned=False
    )


# --- Tags ---------------------------------------------------------------------------------


class TagOut(NamedRef):
    color: str
    is_active: bool


class TagIn(InSchema):
    name: Text
    color: Text = "#6c757d"


class TagPatch(InSchema):
    name: Text | None = None
    color: Text | None = None
    is_active: bool | None = None


def _tag(tag_id: int) -> Tag:
    tag = Tag.objects.filter(pk=tag_id).first()
    if tag is None:
        raise NotFound(f"Tag {tag_id} does not exist.")
    return tag


@router.get("/tags", response=list[TagOut], tags=["tags"])
def list_tags(request: HttpRequest):
    return Tag.objects.order_by("name")


@router.post("/tags", response={201: TagOut}, tags=["tags"])
def create_tag(request: HttpRequest, payload: TagIn):
    return Status(
        201, services.tag_create(actor=request.auth, name=payload.name, color=payload.color)
    )


@router.patch("/tags/{tag_id}", response=TagOut, tags=["tags"])
def update_tag(request: HttpRequest, tag_id: Id, payload: TagPatch):
    """Rename, recolour or (with `is_active: false`) deactivate a tag; admins only.

    A deactivated tag stays on the records that have it; the web forms no longer offer it.
    """
    return services.tag_update(
        actor=request.auth, tag=_tag(tag_id), **payload.dict(exclude_unset=True)
    )


@router.delete("/tags/{tag_id}", response={204: None}, tags=["tags"])
def delete_tag(request: HttpRequest, tag_id: Id):
    """Delete a tag and take it off every record; admins only."""
    services.tag_delete(actor=request.auth, tag=_tag(tag_id))
    return Status(204, None)


# --- Companies ----------------------------------------------------------------------------


class CompanyOut(Schema):
    id: int
    name: str
    domain: str
    industry: str
    country: str
    region: str
    size: int | None
    website: str
    phone: str
    owner: UserRef | None
    tags: list[TagOut]
    last_interaction_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime


class CompanyPage(Page):
    items: list[CompanyOut]


class CompanyIn(InSchema):
    name: Text
    domain: Text = ""
    industry: Text = ""
    country: Text = ""
    region: Text = ""
    size: int | None = None
    website: Text = ""
    phone: Text = ""
    owner_id: Id | None = None
    tag_ids: list[Id] | None = None


class CompanyPatch(InSchema):
    name: Text | None = None
    domain: Text | None = None
    industry: Text | None = None
    country: Text | None = None
    region: Text | None = None
    size: int | None = None
    website: Text | None = None
    phone: Text | None = None
    owner_id: Id | None = None
    tag_ids: list[Id] | None = None


class CompanyFilters(InSchema):
    owner: Id | None = None
    q: Text | None = None
    tag: Id | None = None
    industry: Text | None = None
    country: Text | None = None
    created_after: AwareDatetime | None = None
    created_before: AwareDatetime | None = None
    limit: Limit = 50
    cursor: Text | None = None


def _company(request, company_id: int) -> Company:
    return visible_or_404(
        request.auth, Company.objects.select_related("owner"), company_id, label="Company"
    )


@router.get("/companies", response=CompanyPage, tags=["companies"])
def list_companies(request: HttpRequest, filters: Query[CompanyFilters]):
    companies = selectors.company_list(
        actor=request.auth,
        owner_id=filters.owner,
        q=filters.q,
        tag_id=filters.tag,
        industry=filters.industry,
        country=filters.country,
        created_after=filters.created_after,
        created_before=filters.created_before,
    )
    return paginate_by_id(companies, limit=filters.limit, cursor=filters.cursor)


@router.post("/companies", response={201: CompanyOut}, tags=["companies"])
def create_company(request: HttpRequest, payload: CompanyIn):
    data = payload.dict()
    owner_id = data.pop("owner_id")
    owner = _owner(request, owner_id) if owner_id else request.auth
    tags = _tags(request, data.pop("tag_ids"))
    return Status(201, services.company_create(actor=request.auth, owner=owner, tags=tags, **data))


@router.get("/companies/{company_id}", response=CompanyOut, tags=["companies"])
def get_company(request: HttpRequest, company_id: Id):
    return _company(request, company_id)


def _company_changes(request, payload: CompanyPatch) -> dict:
    changes = payload.dict(exclude_unset=True)
    if "owner_id" in changes:
        changes["owner"] = _owner(request, changes.pop("owner_id"))
    changes["tags"] = _tags(request, changes.pop("tag_ids", None))
    if changes.get("name", "") is None:
        changes.pop("name")
    return changes


@router.patch("/companies/{company_id}", response=CompanyOut, tags=["companies"])
def update_company(request: HttpRequest, company_id: Id, payload: CompanyPatch):
    company = _company(request, company_id)
    return services.company_update(
        actor=request.auth, company=company, **_company_changes(request, payload)
    )


@router.delete("/companies/{company_id}", response={204: None}, tags=["companies"])
def delete_company(request: HttpRequest, company_id: Id):
    services.company_delete(actor=request.auth, company=_company(request, company_id))
    return Status(204, None)


# --- Contacts -----------------------------------------------------------------------------


class PhoneSchema(InSchema):
    number: Text
    kind: ContactPhone.Kind = ContactPhone.Kind.WORK


class ContactOut(Schema):
    id: int
    first_name: str
    last_name: str
    full_name: str
    title: str
    company: CompanyRef | None
    owner: UserRef | None
    emails: list[str]
    phones: list[PhoneSchema]
    source: str
    tags: list[TagOut]
    last_interaction_at: datetime.datetime | None
    next_meeting_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_emails(contact: Contact) -> list[str]:
        return [email.email for email in contact.emails.all()]


class ContactPage(Page):
    items: list[ContactOut]


class ContactIn(InSchema):
    first_name: Text = ""
    last_name: Text = ""
    title: Text = ""
    company_id: Id | None = None
    owner_id: Id | None = None
    emails: list[Text] = []
    phones: list[PhoneSchema] = []
    source: Text = ""
    tag_ids: list[Id] | None = None


class ContactPatch(InSchema):
    first_name: Text | None = None
    last_name: Text | None = None
    title: Text | None = None
    company_id: Id | None = None
    owner_id: Id | None = None
    emails: list[Text] | None = None
    phones: list[PhoneSchema] | None = None
    source: Text | None = None
    tag_ids: list[Id] | None = None


class ContactFilters(InSchema):
    owner: Id | None = None
    company: Id | None = None
    q: Text | None = None
    email: Text | None = None
    tag: Id | None = None
    created_after: AwareDatetime | None = None
    created_before: AwareDatetime | None = None
    limit: Limit = 50
    cursor: Text | None = None


def _contact(request, contact_id: int) -> Contact:
    return visible_or_404(
        request.auth,
        Contact.objects.select_related("owner", "company").prefetch_related(
            "emails", "phones", "tags"
        ),
        contact_id,
        label="Contact",
    )


def _company_ref(request, company_id):
    return reference(
        request.auth, Company.objects.all(), company_id, field="company_id", label="Company"
    )


@router.get("/contacts", response=ContactPage, tags=["contacts"])
def list_contacts(request: HttpRequest, filters: Query[ContactFilters]):
    contacts = selectors.contact_list(
        actor=request.auth,
        owner_id=filters.owner,
        company_id=filters.company,
        q=filters.q,
        email=filters.email,
        tag_id=filters.tag,
        created_after=filters.created_after,
        created_before=filters.created_before,
    )
    return paginate_by_id(contacts, limit=filters.limit, cursor=filters.cursor)


@router.post("/contacts", response={201: ContactOut}, tags=["contacts"])
def create_contact(request: HttpRequest, payload: ContactIn):
    data = payload.dict()
    owner_id = data.pop("owner_id")
    contact = services.contact_create(
        actor=request.auth,
        owner=_owner(request, owner_id) if owner_id else request.auth,
        company=_company_ref(request, data.pop("company_id")),
        tags=_tags(request, data.pop("tag_ids")),
        **data,
    )
    return Status(201, _contact(request, contact.pk))


@router.get("/contacts/{contact_id}", response=ContactOut, tags=["contacts"])
def get_contact(request: HttpRequest, contact_id: Id):
    return _contact(request, contact_id)


@router.patch("/contacts/{contact_id}", response=ContactOut, tags=["contacts"])
def update_contact(request: HttpRequest, contact_id: Id, payload: ContactPatch):
    contact = _contact(request, contact_id)
    changes = payload.dict(exclude_unset=True)
    if "owner_id" in changes:
        changes["owner"] = _owner(request, changes.pop("owner_id"))
    if "company_id" in changes:
        changes["company"] = _company_ref(request, changes.pop("company_id"))
    changes["tags"] = _tags(request, changes.pop("tag_ids", None))
    for field in ("first_name", "last_name", "title", "source", "emails", "phones"):
        if field in changes and changes[field] is None:
            changes.pop(field)
    services.contact_update(actor=request.auth, contact=contact, **changes)
    return _contact(request, contact_id)


@router.delete("/contacts/{contact_id}", response={204: None}, tags=["contacts"])
def delete_contact(request: HttpRequest, contact_id: Id):
    services.contact_delete(actor=request.auth, contact=_contact(request, contact_id))
    return Status(204, None)


@router.get("/companies/{company_id}/audit", response=list[AuditEntryOut], tags=["companies"])
def company_audit(request: HttpRequest, company_id: Id):
    """Who changed what on this company, newest first."""
    return audit_trail(record=_company(request, company_id))


@router.get("/contacts/{contact_id}/audit", response=list[AuditEntryOut], tags=["contacts"])
def contact_audit(request: HttpRequest, contact_id: Id):
    """Who changed what on this contact, newest first."""
    return audit_trail(record=_contact(request, contact_id))
