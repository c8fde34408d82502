import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from salesdesk.accounts import visibility
from salesdesk.accounts.models import User
from salesdesk.activities.models import Activity
from salesdesk.analytics import rollups
from salesdesk.core import events
from salesdesk.core.errors import PermissionDenied, ValidationFailed
from salesdesk.core.services import clean_text, require_assignable, require_change
from salesdesk.crm.models import Company
from salesdesk.pipeline.models import Deal

TEXT_LIMITS = {"subject": 255, "body": 100_000, "external_id": 255}
MAX_DURATION = datetime.timedelta(days=7)


def _validate(values: dict) -> dict:
    for field, limit in TEXT_LIMITS.items():
        if field in values:
            values[field] = clean_text(values[field], field=field, max_length=limit)
    if values.get("kind") is not None and values["kind"] not in Activity.Kind.values:
        raise ValidationFailed(
            f"Unknown kind {values['kind']!r}.",
            fields={"kind": f"One of {', '.join(Activity.Kind.values)}."},
        )
    if values.get("direction") not in (None, *Activity.Direction.values):
        raise ValidationFailed("Direction is in, out or empty.", fields={"direction": "in/out."})
    duration = values.get("duration")
    if duration is not None and not datetime.timedelta(0) <= duration <= MAX_DURATION:
        raise ValidationFailed("A duration is 0 to 7 days.", fields={"duration": "0 to 7 days."})
    return values


def _fill_links(activity: Activity) -> None:
    # An activity on a deal also belongs to the deal's company, so company timelines are whole.
    if activity.deal_id and not activity.company_id:
        activity.company_id = (
            Deal.objects.filter(pk=activity.deal_id).values_list("company_id", flat=True).first()
        )


@transaction.atomic
def activity_create(
    *,
    actor: User,
    kind: str,
    owner: User | None,
    company: Company | None = None,
    deal: Deal | None = None,
    contacts=(),
    source: str = Activity.Source.MANUAL,
    external_id: str = "",
    **fields,
) -> tuple[Activity, bool]:
    """Log an activity. With an external id, a second call returns the first row unchanged.

    Returns (activity, created).
    """
    require_assignable(actor, owner)
    values = _validate({"kind": kind, "external_id": external_id, **fields})
    if source not in Activity.Source.values:
        raise ValidationFailed(f"Unknown source {source!r}.", fields={"source": "Unknown."})
    external_id = values.pop("external_id")
    if external_id:
        existing = Activity.objects.filter(source=source, external_id=external_id).first()
        if existing is not None:
            return existing, False
    activity = Activity(
        owner=owner, company=company, deal=deal, source=source, external_id=external_id, **values
    )
    if activity.kind == Activity.Kind.TASK and activity.due_at is None:
        activity.due_at = activity.occurred_at
    _fill_links(activity)
    try:
        with transaction.atomic():
            activity.save()
    except IntegrityError:
        # Another worker captured the same message at the same moment: theirs stands.
        return Activity.objects.get(source=source, external_id=external_id), False
    rollups.ActivityChange(None, rollups.calendar()).apply(activity)
    activity.contacts.set(contacts)
    events.emit(events.ACTIVITY_CREATED, activity_id=activity.pk, actor_id=actor.pk)
    return activity, True


@transaction.atomic
def activity_update(*, actor: User, activity: Activity, contacts=None, **changes) -> Activity:
    require_change(actor, activity)
    if "owner" in changes:
        require_assignable(actor, changes["owner"])
    _require_text_kept_private(actor, activity, changes)
    changes = _validate(changes)
    rollup = rollups.ActivityChange(activity.pk, rollups.calendar())  # the stored row
    for field, value in changes.items():
        setattr(activity, field, value)
    _fill_links(activity)
    activity.save()
    rollup.apply(activity)
    if contacts is not None:
        activity.contacts.set(contacts)
    return activity


def _require_text_kept_private(actor: User, activity: Activity, changes: dict) -> None:
    """Whoever may not read a captured e-mail's text may not change it either, nor make it
    readable by turning the e-mail into another kind or giving it to another owner."""
    if not visibility.is_email_text_hidden(actor, activity):
        return
    revealing = {
        "body": changes.get("body", activity.body) != activity.body,
        "kind": changes.get("kind", activity.kind) != activity.kind,
        "owner": "owner" in changes and changes["owner"] != activity.owner,
    }
    refused = [field for field, changed in revealing.items() if changed]
    if refused:
        raise PermissionDenied(
            f"{activity.owner} keeps the text of their e-mails private: only they change its "
            f"{', '.join(refused)}.",
            fields=dict.fromkeys(refused, "Only the e-mail's owner changes this."),
        )


@transaction.atomic
def activity_complete(*, actor: User, activity: Activity, done: bool = True) -> Activity:
    require_change(actor, activity)
    rollup = rollups.ActivityChange(activity.pk, rollups.calendar())  # the stored row
    activity.done_at = timezone.now() if done else None
    activity.save(update_fields=["done_at", "updated_at"])
    rollup.apply(activity)
    return activity


@transaction.atomic
def activity_delete(*, actor: User, activity: Activity) -> None:
    require_change(actor, activity)
    rollup = rollups.ActivityChange(activity.pk, rollups.calendar())  # the stored row
    activity.delete()
    rollup.apply(None)
