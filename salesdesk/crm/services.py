import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction

from salesdesk.accounts.models import User
from salesdesk.core import events
from salesdesk.core.audit import audit_record, snapshot
from salesdesk.core.errors import NotFound, ValidationFailed
from salesdesk.core.models import AuditEntry
from salesdesk.core.services import clean_text, require_admin, require_assignable, require_change
from salesdesk.crm.models import Company, Contact, ContactEmail, ContactPhone, SavedView, Tag
from salesdesk.crm.normalize import normalize_domain, normalize_email

_url_validator = URLValidator(schemes=["http", "https"])
TAG_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
COMPANY_TEXT_FIELDS = {"name": 200, "industry": 100, "region": 100, "phone": 40, "website": 200}


def _company_values(changes: dict) -> dict:
    values = {}
    for field, limit in COMPANY_TEXT_FIELDS.items():
        if field in changes:
            values[field] = clean_text(
                changes[field], field=field, max_length=limit, required=field == "name"
            )
    if "domain" in changes:
        values["domain"] = normalize_domain(changes["domain"])
    if "country" in changes:
        country = (changes["country"] or "").strip().upper()
        if country and (len(country) != 2 or not country.isalpha()):
            raise ValidationFailed(
                "Use a two-letter country code.", fields={"country": "e.g. DE, US, FR."}
            )
        values["country"] = country
    if "size" in changes:
        values["size"] = changes["size"]
    if values.get("website"):
        if "://" not in values["website"]:
            values["website"] = "https://" + values["website"]
        try:
            _url_validator(values["website"])
        except DjangoValidationError:
            raise ValidationFailed(
                "The website is not a valid address.", fields={"website": "Enter a valid URL."}
            ) from None
    return values


def _check_domain_free(domain: str, *, exclude_pk: int | None = None) -> None:
    if not domain:
        return
    taken = Company.objects.filter(domain__iexact=domain)
    if exclude_pk:
        taken = taken.exclude(pk=exclude_pk)
    if taken.exists():
        raise ValidationFailed(
            f"Another company already has the domain {domain}.",
            fields={"domain": "Already used by another company."},
            code="duplicate",
        )


def _set_tags(record, tags: Iterable[Tag] | None) -> None:
    if tags is not None:
        record.tags.set(tags)


@transaction.atomic
def company_create(*, actor: User, owner: User | None = None, tags=None, **fields) -> Company:
    require_assignable(actor, owner)
    if "name" not in fields:
        fields["name"] = ""
    values = _company_values(fields)
    if not values.get("domain") and values.get("website"):
        # A website names the domain, unless another company already holds it.
        derived = normalize_domain(values["website"], field="website")
        if not Company.objects.filter(domain__iexact=derived).exists():
            values["domain"] = derived
    _check_domain_free(values.get("domain", ""))
    company = Company(owner=owner, **values)
    try:
        with transaction.atomic():
            company.save()
    except IntegrityError:
        raise ValidationFailed(
            "Another company already has this domain.", fields={"domain": "Already used."}
        ) from None
    _set_tags(company, tags)
    audit_record(actor=actor, instance=company, action=AuditEntry.Action.CREATE)
    events.emit(events.COMPANY_CREATED, company_id=company.pk, actor_id=actor.pk)
    return company


@transaction.atomic
def company_update(*, actor: User, company: Company, tags=None, **changes) -> Company:
    require_change(actor, company)
    if "owner" in changes:
        require_assignable(actor, changes["owner"])
    before = snapshot(company)
    values = _company_values(changes)
    if "domain" in values:
        _check_domain_free(values["domain"], exclude_pk=company.pk)
    for field, value in values.items():
        setattr(company, field, value)
    if "owner" in changes:
        company.owner = changes["owner"]
    company.save()
    _set_tags(company, tags)
    audit_record(actor=actor, instance=company, action=AuditEntry.Action.UPDATE, before=before)
    return company


@transaction.atomic
def company_delete(*, actor: User, company: Company) -> None:
    require_change(actor, company)
    audit_record(
        actor=actor, instance=company, action=AuditEntry.Action.DELETE, before=snapshot(company)
    )
    company.delete()


CONTACT_TEXT_FIELDS = {"first_name": 100, "last_name": 100, "title": 150, "source": 50}


def _contact_values(changes: dict) -> dict:
    return {
        field: clean_text(changes[field], field=field, max_length=limit)
        for field, limit in CONTACT_TEXT_FIELDS.items()
        if field in changes
    }


def _normalized_emails(emails: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for raw in emails:
        email = normalize_email(raw, field="emails")
        if email not in seen:
            seen.append(email)
    return seen


def _set_emails(contact: Contact, emails: list[str]) -> None:
    taken = ContactEmail.objects.filter(email__in=emails).exclude(contact=contact)
    clash = taken.values_list("email", flat=True).first()
    if clash:
        raise ValidationFailed(
            f"{clash} already belongs to another contact.",
            fields={"emails": f"{clash} belongs to another contact."},
            code="duplicate",
        )
    contact.emails.exclude(email__in=emails).delete()
    existing = set(contact.emails.values_list("email", flat=True))
    ContactEmail.objects.bulk_create(
        ContactEmail(contact=contact, email=email) for email in emails if email not in existing
    )
    if emails:
        contact.emails.update(is_primary=False)
        contact.emails.filter(email=emails[0]).update(is_primary=True)


def _set_phones(contact: Contact, phones: list[dict]) -> None:
    contact.phones.all().delete()
    rows = []
    for phone in phones:
        number = clean_text(phone.get("number"), field="phones", max_length=40, required=True)
        kind = phone.get("kind") or ContactPhone.Kind.WORK
        if kind not in ContactPhone.Kind.values:
            raise ValidationFailed(
                f"Unknown phone kind {kind!r}.",
                fields={"phones": f"Use one of {', '.join(ContactPhone.Kind.values)}."},
            )
        rows.append(ContactPhone(contact=contact, number=number, kind=kind))
    ContactPhone.objects.bulk_create(rows)


def _require_name(contact: Contact) -> None:
    if not contact.first_name and not contact.last_name:
        raise ValidationFailed(
            "A contact needs a first or last name.",
            fields={"last_name": "Give a first or last name."},
        )


@transaction.atomic
def contact_create(
    *,
    actor: User,
    owner: User | None = None,
    company: Company | None = None,
    emails: Iterable[str] = (),
    phones: Iterable[dict] = (),
    tags=None,
    **fields,
) -> Contact:
    require_assignable(actor, owner)
    contact = Contact(owner=owner, company=company, **_contact_values(fields))
    _require_name(contact)
    contact.save()
    _set_emails(contact, _normalized_emails(emails))
    _set_phones(contact, list(phones))
    _set_tags(contact, tags)
    audit_record(
        actor=actor,
        instance=contact,
        action=AuditEntry.Action.CREATE,
        extra={"emails": [None, list(contact.emails.values_list("email", flat=True))]},
    )
    events.emit(events.CONTACT_CREATED, contact_id=contact.pk, actor_id=actor.pk)
    return contact


@transaction.atomic
def contact_update(
    *, actor: User, contact: Contact, emails=None, phones=None, tags=None, **changes
) -> Contact:
    require_change(actor, contact)
    if "owner" in changes:
        require_assignable(actor, changes["owner"])
    before = snapshot(contact)
    before_emails = list(contact.emails.values_list("email", flat=True))
    for field, value in _contact_values(changes).items():
        setattr(contact, field, value)
    for field in ("owner", "company"):
        if field in changes:
            setattr(contact, field, changes[field])
    _require_name(contact)
    contact.save()
    extra = {}
    if emails is not None:
        _set_emails(contact, _normalized_emails(emails))
        after_emails = list(contact.emails.values_list("email", flat=True))
        if sorted(after_emails) != sorted(before_emails):
            extra["emails"] = [before_emails, after_emails]
    if phones is not None:
        before_phones = list(contact.phones.order_by("pk").values_list("number", flat=True))
        _set_phones(contact, list(phones))
        after_phones = list(contact.phones.order_by("pk").values_list("number", flat=True))
        if after_phones != before_phones:
            extra["phones"] = [before_phones, after_phones]
    _set_tags(contact, tags)
    audit_record(
        actor=actor, instance=contact, action=AuditEntry.Action.UPDATE, before=before, extra=extra
    )
    return contact


@transaction.atomic
def contact_delete(*, actor: User, contact: Contact) -> None:
    require_change(actor, contact)
    before = snapshot(contact)
    before["emails"] = list(contact.emails.values_list("email", flat=True))
    audit_record(actor=actor, instance=contact, action=AuditEntry.Action.DELETE, before=before)
    contact.delete()


def _tag_color(color: str) -> str:
    if not TAG_COLOR.fullmatch(color or ""):
        raise ValidationFailed(
            "Give the colour as #rrggbb.", fields={"color": "Use #rrggbb, e.g. #6c757d."}
        )
    return color.lower()


@transaction.atomic
def tag_create(*, actor: User, name: str, color: str = "#6c757d") -> Tag:
    require_admin(actor)
    name = clean_text(name, field="name", max_length=50, required=True)
    if Tag.objects.filter(name__iexact=name).exists():
        raise ValidationFailed("This tag exists.", fields={"name": "Already taken."})
    return Tag.objects.create(name=name, color=_tag_color(color))


@transaction.atomic
def tag_update(*, actor: User, tag: Tag, **changes) -> Tag:
    """Rename, recolour, deactivate or activate a tag (`name`, `color`, `is_active`).

    A deactivated tag stays on the records that have it; forms no longer offer it.
    """
    require_admin(actor)
    if "name" in changes:
        name = clean_text(changes["name"], field="name", max_length=50, required=True)
        if Tag.objects.filter(name__iexact=name).exclude(pk=tag.pk).exists():
            raise ValidationFailed("This tag exists.", fields={"name": "Already taken."})
        tag.name = name
    if "color" in changes:
        tag.color = _tag_color(changes["color"])
    if changes.get("is_active") is not None:
        tag.is_active = changes["is_active"]
    tag.save()
    return tag


@transaction.atomic
def tag_delete(*, actor: User, tag: Tag) -> None:
    """Removes the tag from every company, contact and deal that carries it."""
    require_admin(actor)
    tag.delete()


def saved_view_query(query: str) -> str:
    """A list's query string as a saved view keeps it: without the page and empty filters."""
    return urlencode(
        [(key, value) for key, value in parse_qsl(query or "") if key != "page" and value]
    )


@transaction.atomic
def saved_view_save(*, actor: User, entity: str, name: str, query: str) -> SavedView:
    """Save the list filters `query` under `name`; saving a name again replaces its filters."""
    if entity not in SavedView.Entity.values:
        raise ValidationFailed(f"Unknown list {entity!r}.", fields={"entity": "Unknown."})
    name = clean_text(name, field="name", max_length=60, required=True)
    query = clean_text(saved_view_query(query), field="query", max_length=2000)
    view, _ = SavedView.objects.update_or_create(
        user=actor, entity=entity, name=name, defaults={"query": query}
    )
    return view


@transaction.atomic
def saved_view_delete(*, actor: User, saved_view: SavedView) -> None:
    if saved_view.user_id != actor.pk:
        raise NotFound("No such saved view.")
    saved_view.delete()
