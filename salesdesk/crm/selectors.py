import datetime
from collections.abc import Iterable

from django.db.models import Prefetch, Q, QuerySet

from salesdesk.accounts import visibility
from salesdesk.crm.models import Company, Contact, ContactEmail, Tag


def company_list(
    *,
    actor,
    owner_id: int | None = None,
    q: str | None = None,
    tag_id: int | None = None,
    industry: str | None = None,
    country: str | None = None,
    created_after: datetime.datetime | None = None,
    created_before: datetime.datetime | None = None,
    team_id: int | None = None,
) -> QuerySet[Company]:
    companies = visibility.scope(actor, Company.objects.all())
    if team_id is not None:
        companies = companies.filter(owner__team_id=team_id)
    if owner_id is not None:
        companies = companies.filter(owner_id=owner_id)
    if q:
        companies = companies.filter(Q(name__icontains=q) | Q(domain__icontains=q))
    if tag_id is not None:
        companies = companies.filter(tags__id=tag_id)
    if industry:
        companies = companies.filter(industry__iexact=industry)
    if country:
        companies = companies.filter(country__iexact=country)
    if created_after:
        companies = companies.filter(created_at__gte=created_after)
    if created_before:
        companies = companies.filter(created_at__lt=created_before)
    return companies.select_related("owner").prefetch_related("tags")


def contact_list(
    *,
    actor,
    owner_id: int | None = None,
    company_id: int | None = None,
    q: str | None = None,
    email: str | None = None,
    tag_id: int | None = None,
    created_after: datetime.datetime | None = None,
    created_before: datetime.datetime | None = None,
    team_id: int | None = None,
) -> QuerySet[Contact]:
    contacts = visibility.scope(actor, Contact.objects.all())
    if team_id is not None:
        contacts = contacts.filter(owner__team_id=team_id)
    if owner_id is not None:
        contacts = contacts.filter(owner_id=owner_id)
    if company_id is not None:
        contacts = contacts.filter(company_id=company_id)
    if email:
        contacts = contacts.filter(emails__email=email.strip().lower())
    if q:
        words = q.split()
        for word in words:
            contacts = contacts.filter(
                Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(emails__email__icontains=word)
                | Q(phones__number__icontains=word)
            )
        contacts = contacts.distinct()
    if tag_id is not None:
        contacts = contacts.filter(tags__id=tag_id)
    if created_after:
        contacts = contacts.filter(created_at__gte=created_after)
    if created_before:
        contacts = contacts.filter(created_at__lt=created_before)
    return contacts.select_related("owner", "company").prefetch_related(
        Prefetch("emails", queryset=ContactEmail.objects.order_by("-is_primary", "id")),
        "phones",
        "tags",
    )


def tag_choices(*, keep: Iterable = ()) -> QuerySet[Tag]:
    """The tags a form offers: the active ones, and those in `keep` even if deactivated.

    `keep` holds the ids already chosen (a record's tags, a filter's value), so editing a
    record does not drop a deactivated tag and an old link still filters by it. Values that
    are not ids are ignored.
    """
    texts = (str(value) for value in list(keep)[:100])
    ids = [int(text) for text in texts if text.isascii() and text.isdigit() and len(text) < 19]
    return Tag.objects.filter(Q(is_active=True) | Q(pk__in=ids))
