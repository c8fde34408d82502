"""Suggested follow-ups: an e-mail we sent that got no answer for the organization's
`follow_up_days` becomes a task for its sender: "Follow up: no reply to …".

"No answer" means nothing happened since with anyone on it: no e-mail either way, call or
meeting on any of its contacts or on its deal. Only the newest unanswered e-mail of a
conversation is followed up (an earlier one has a later e-mail after it). Each e-mail is
followed up at most once (`FollowUp`, unique per e-mail), even when its task is deleted, and
whichever of several workers gets there first.
"""

import datetime
import logging
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from salesdesk.accounts.models import OrganizationSettings
from salesdesk.activities import services
from salesdesk.activities.models import Activity, FollowUp

logger = logging.getLogger(__name__)

LOOKBACK = datetime.timedelta(days=30)  # older silences are history, not a to-do
BATCH = 500  # e-mails per run at most; the next run takes the rest
INTERACTIONS = (Activity.Kind.EMAIL, Activity.Kind.CALL, Activity.Kind.MEETING)


def unanswered(now: datetime.datetime, days: int) -> QuerySet[Activity]:
    """Outbound e-mails sent between `days` (+ LOOKBACK) and `days` ago, with a contact, an
    active sender and nothing after them, not followed up yet; oldest first."""
    due = now - datetime.timedelta(days=days)
    contacts_of_email = Activity.contacts.through.objects.filter(
        activity_id=OuterRef(OuterRef("pk"))
    ).values("contact_id")
    later = Activity.objects.filter(
        kind__in=INTERACTIONS, occurred_at__gt=OuterRef("occurred_at"), occurred_at__lte=now
    )
    return (
        Activity.objects.filter(
            kind=Activity.Kind.EMAIL,
            direction=Activity.Direction.OUTBOUND,
            occurred_at__gt=due - LOOKBACK,
            occurred_at__lte=due,
            owner__is_active=True,
        )
        .filter(
            Exists(Activity.contacts.through.objects.filter(activity_id=OuterRef("pk"))),
            ~Exists(FollowUp.objects.filter(email_id=OuterRef("pk"))),
            ~Exists(later.filter(contacts__in=contacts_of_email)),
            ~Exists(later.filter(deal_id=OuterRef("deal_id"))),
        )
        .select_related("owner")
        .prefetch_related("contacts")
        .order_by("occurred_at", "pk")
    )


def follow_ups_suggest(*, now: datetime.datetime | None = None) -> int:
    """Make the follow-up tasks that are due; returns how many were made."""
    now = now or timezone.now()
    days = OrganizationSettings.get().follow_up_days
    made = 0
    for email in unanswered(now, days)[:BATCH]:
        contacts = list(email.contacts.all())
        names = ", ".join(str(contact) for contact in contacts[:3])
        subject = email.subject or "(no subject)"
        try:
            with transaction.atomic():
                follow_up = FollowUp.objects.create(email=email, created_at=now)
                task, _created = services.activity_create(
                    actor=email.owner,
                    kind=Activity.Kind.TASK,
                    owner=email.owner,
                    company=email.company,
                    deal=email.deal,
                    contacts=contacts,
                    source=Activity.Source.FOLLOW_UP,
                    external_id=f"follow-up:{email.pk}",
                    subject=f"Follow up: no reply to “{subject}”"[:255],
                    body=(
                        f"{names or 'They'} did not answer your e-mail of "
                        f"{email.occurred_at.astimezone(ZoneInfo(email.owner.timezone)):%d %b %Y}"
                        f" in {days} days."
                    ),
                    occurred_at=now,
                    due_at=now,
                )
                follow_up.task = task
                follow_up.save(update_fields=["task"])
        except IntegrityError:
            continue  # another worker followed this e-mail up at the same moment
        made += 1
    if made:
        logger.info("%s follow-up task(s) suggested", made)
    return made
