"""Every read of capture's own records, for the acting user."""

from django.db.models import OuterRef, Q, QuerySet, Subquery

from salesdesk.accounts import visibility
from salesdesk.accounts.models import User
from salesdesk.capture.models import CalendarConnection, FilledField, Mailbox, SuggestedContact
from salesdesk.crm.models import Company, Contact


def mailbox_list(*, user: User) -> QuerySet[Mailbox]:
    """The user's own mailboxes: nobody else's, not even an admin's view of them."""
    return Mailbox.objects.filter(user=user).order_by("host", "username", "pk")


def calendar_list(*, user: User) -> QuerySet[CalendarConnection]:
    """The user's own connected calendars: nobody else's, not even an admin's view of them."""
    return CalendarConnection.objects.filter(user=user).order_by("created_at", "pk")


def suggestion_list(*, user: User, status: str = SuggestedContact.Status.PENDING):
    """The suggestions the user may decide, newest first, each with the company of its domain
    when the user sees it (subqueries: no query per row)."""
    companies = visibility.scope(user, Company.objects.filter(domain=OuterRef("domain")))
    return (
        SuggestedContact.objects.filter(
            visibility.suggestion_scope(user, for_change=True), status=status
        )
        .annotate(
            company_id=Subquery(companies.order_by("pk").values("pk")[:1]),
            company_name=Subquery(companies.order_by("pk").values("name")[:1]),
        )
        .select_related("suggested_to", "contact")
        .order_by("-last_seen_at", "-pk")
    )


def suggestion_count(*, user: User) -> int:
    return SuggestedContact.objects.filter(
        visibility.suggestion_scope(user, for_change=True),
        status=SuggestedContact.Status.PENDING,
    ).count()


def suggestion_for(*, user: User, pk: int) -> SuggestedContact | None:
    return (
        SuggestedContact.objects.filter(visibility.suggestion_scope(user, for_change=True), pk=pk)
        .select_related("contact")
        .first()
    )


FIELD_LABELS = {
    "title": "Title",
    "linkedin_url": "LinkedIn",
    "twitter_url": "X / Twitter",
    "phone": "Phone",
    "website": "Website",
}


def filled_fields(*, contact=None, company=None) -> list[FilledField]:
    """The values capture filled in on a record from e-mail signatures and that the record
    still holds, newest first, each with the message (and its activity) it came from."""
    rows = FilledField.objects.filter(undone_at__isnull=True).select_related(
        "message__activity", "contact", "company"
    )
    if contact is not None:
        rows = rows.filter(contact=contact).prefetch_related("contact__phones")
    else:
        rows = rows.filter(company=company)
    current = [row for row in rows.order_by("-filled_at", "-pk") if is_current(row)]
    for row in current:
        row.label = FIELD_LABELS.get(row.field, row.field)
    return current


def filled_field_for(*, user: User, pk: int) -> FilledField | None:
    """A filled value on a record the user sees (whether they may change it is the service's
    to decide)."""
    visible = Q(contact__in=visibility.scope(user, Contact.objects.all())) | Q(
        company__in=visibility.scope(user, Company.objects.all())
    )
    return FilledField.objects.filter(visible, pk=pk).select_related("contact", "company").first()


def is_current(filled: FilledField) -> bool:
    """Does the record still hold the value that was filled in?"""
    if filled.field == "phone":
        return any(phone.number == filled.value for phone in filled.contact.phones.all())
    record = filled.contact or filled.company
    return getattr(record, filled.field, None) == filled.value
