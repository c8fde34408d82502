"""Every read of sending and tracking, for the acting user."""

from django.db.models import Count, IntegerField, Max, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce

from salesdesk.accounts import visibility
from salesdesk.accounts.models import User
from salesdesk.capture.models import EmailTemplate, Mailbox, TrackedLink, TrackingEvent
from salesdesk.crm.models import Contact
from salesdesk.pipeline.models import Deal


def sending_mailboxes(*, user: User) -> QuerySet[Mailbox]:
    """The user's own mailboxes that are set up for sending: nobody sends from another's."""
    return (
        Mailbox.objects.filter(user=user)
        .exclude(smtp_host="")
        .select_related("user")
        .order_by("username", "pk")
    )


def email_template_list(*, user: User) -> QuerySet[EmailTemplate]:
    """The user's own templates and the shared ones, by name."""
    return (
        EmailTemplate.objects.filter(visibility.email_template_scope(user))
        .select_related("owner")
        .order_by("name", "pk")
    )


def contact_open_deal(*, user: User, contact: Contact) -> Deal | None:
    """The contact's most recently active open deal that the user sees: what `{{ deal.title }}`
    stands for when writing from the contact's page."""
    deals = Deal.objects.filter(contacts=contact, status=Deal.Status.OPEN)
    return (
        visibility.scope(user, deals)
        .select_related("stage")
        .order_by("-last_interaction_at", "-updated_at", "-pk")
        .first()
    )


def with_email_tracking(activities: QuerySet) -> QuerySet:
    """Activities with what tracking recorded of the e-mails among them sent from Salesdesk:
    `sent_email` (None for the rest), `open_count` and `last_opened_at` (subqueries of the same
    query), and `sent_email.clicked_links` (the links clicked, each with `click_count` and
    `last_clicked_at`: one query for the whole page, only when it has a sent e-mail)."""
    opens = TrackingEvent.objects.filter(
        email__activity_id=OuterRef("pk"), kind=TrackingEvent.Kind.OPEN
    ).order_by()
    clicked = (
        TrackedLink.objects.annotate(click_count=Count("events"), last_clicked_at=Max("events__at"))
        .filter(click_count__gt=0)
        .order_by("position")
    )
    return (
        activities.annotate(
            open_count=Coalesce(
                Subquery(
                    opens.values("email_id").annotate(count=Count("pk")).values("count"),
                    output_field=IntegerField(),
                ),
                0,
            ),
            last_opened_at=Subquery(opens.order_by("-at").values("at")[:1]),
        )
        .select_related("sent_email")
        .defer("sent_email__sent_copy")
        .prefetch_related(Prefetch("sent_email__links", queryset=clicked, to_attr="clicked_links"))
    )
