"""Every read of capture's own records, for the acting user."""

from django.db.models import OuterRef, QuerySet, Subquery

from salesdesk.accounts import visibility
from salesdesk.accounts.models import User
from salesdesk.capture.models import Mailbox, SuggestedContact
from salesdesk.crm.models import Company


def mailbox_list(*, user: User) -> QuerySet[Mailbox]:
    """The user's own mailboxes: nobody else's, not even an admin's view of them."""
    return Mailbox.objects.filter(user=user).order_by("host", "username", "pk")


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
