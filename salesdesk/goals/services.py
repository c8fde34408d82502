"""Setting goals: managers for their teams and the members of them, admins for everyone."""

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction

from salesdesk.accounts.models import OrganizationSettings, Team, User
from salesdesk.core.audit import audit_record, snapshot
from salesdesk.core.errors import Conflict, PermissionDenied, ValidationFailed
from salesdesk.core.models import AuditEntry
from salesdesk.goals.models import Goal
from salesdesk.goals.periods import (
    FIRST_YEAR,
    LAST_YEAR,
    Period,
    PeriodKind,
    is_usable_period,
    period_of,
)
from salesdesk.goals.selectors import can_set_goal_for, can_set_goals, visible_goals

CENT = Decimal("0.01")
EDITABLE = (
    "period_kind",
    "period_start",
    "metric",
    "activity_kind",
    "target",
    "ramp",
    "ramp_start",
)


def _require_setter(actor, *, user: User | None, team: Team | None) -> None:
    if not can_set_goals(actor):
        raise PermissionDenied("Only managers and admins set goals.")
    if not can_set_goal_for(actor, user=user, team=team):
        raise PermissionDenied("You set goals only for your teams and their members.")


def goal_period(kind: str, start: datetime.date, fiscal_start_month: int) -> Period:
    """The period of `kind` starting on `start`, or a field error saying why there is none."""
    if kind not in PeriodKind.values:
        raise ValidationFailed(
            "Pick a fiscal year, a quarter or a month.",
            fields={"period_kind": "Pick year, quarter or month."},
        )
    try:
        period = period_of(kind, start, fiscal_start_month)
        is_usable = is_usable_period(period)
    except (ValueError, OverflowError) as error:
        if "does not start" not in str(error):
            raise ValidationFailed(
                "This date is out of range.", fields={"period_start": "Out of range."}
            ) from None
        raise ValidationFailed(str(error), fields={"period_start": str(error)}) from None
    if not is_usable:
        message = f"Pick a period between {FIRST_YEAR} and {LAST_YEAR}."
        raise ValidationFailed(message, fields={"period_start": message})
    return period


def _label(goal: Goal) -> str:
    owner = goal.user or goal.team
    return f"{owner} already has a {goal.get_metric_display().lower()} goal for this period."


def _check_and_save(goal: Goal, *, fiscal_start_month: int) -> None:
    """Validate field by field, refuse duplicates (409), then save."""
    goal_period(goal.period_kind, goal.period_start, fiscal_start_month)
    errors = {}
    if goal.user_id and goal.target is None:
        errors["target"] = "Give the rep's goal a target."
    if goal.target is not None:
        try:
            target = Decimal(goal.target)
            if target.is_finite():
                target = target.quantize(CENT)
        except (InvalidOperation, TypeError, ValueError):
            errors["target"] = "At most 12 digits before the decimal point."
        else:
            if not target.is_finite():
                errors["target"] = "Enter a number."
            elif target < 0:
                errors["target"] = "A target cannot be negative."
            else:
                goal.target = target
    if errors:
        raise ValidationFailed("; ".join(errors.values()), fields=errors)
    try:
        goal.full_clean(validate_constraints=False)
    except DjangoValidationError as error:
        raise ValidationFailed(
            "; ".join(error.messages),
            fields={key: " ".join(messages) for key, messages in error.message_dict.items()},
        ) from None
    owner = {"team_id": goal.team_id} if goal.team_id else {"user_id": goal.user_id}
    duplicates = Goal.objects.filter(
        period_kind=goal.period_kind,
        period_start=goal.period_start,
        metric=goal.metric,
        activity_kind=goal.activity_kind,
        **owner,
    ).exclude(pk=goal.pk)
    if duplicates.exists():
        raise Conflict(_label(goal), code="duplicate")
    try:
        with transaction.atomic():
            goal.save()
    except IntegrityError:
        # Someone saved the same goal in between.
        raise Conflict(_label(goal), code="duplicate") from None


@transaction.atomic
def goal_create(
    *,
    actor: User,
    user: User | None = None,
    team: Team | None = None,
    period_kind: str,
    period_start: datetime.date,
    metric: str,
    target: Decimal | None = None,
    activity_kind: str = "",
    ramp: list[int] | None = None,
    ramp_start: datetime.date | None = None,
) -> Goal:
    if (user is None) == (team is None):
        raise ValidationFailed(
            "A goal belongs to one rep or one team.",
            fields={"user": "Pick a rep or a team (one of them)."},
        )
    _require_setter(actor, user=user, team=team)
    if user is not None and not user.is_active:
        raise ValidationFailed(
            "Goals are not set for deactivated users.", fields={"user": "Deactivated user."}
        )
    goal = Goal(
        user=user,
        team=team,
        period_kind=period_kind,
        period_start=period_start,
        metric=metric,
        target=target,
        activity_kind=activity_kind or "",
        ramp=list(ramp or []),
        ramp_start=ramp_start,
        created_by=actor,
    )
    _check_and_save(goal, fiscal_start_month=OrganizationSettings.get().fiscal_year_start_month)
    audit_record(actor=actor, instance=goal, action=AuditEntry.Action.CREATE)
    return goal


@transaction.atomic
def goal_update(*, actor: User, goal: Goal, **changes) -> Goal:
    """Change any of EDITABLE; the owner stays (delete the goal and set another instead)."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"goal_update() cannot change {', '.join(sorted(unknown))}")
    _require_setter(actor, user=goal.user, team=goal.team)
    goal = (
        Goal.objects.select_for_update(of=("self",)).select_related("user", "team").get(pk=goal.pk)
    )
    before = snapshot(goal)
    for field, value in changes.items():
        if field == "activity_kind":
            value = value or ""
        elif field == "ramp":
            value = list(value or [])
        setattr(goal, field, value)
    _check_and_save(goal, fiscal_start_month=OrganizationSettings.get().fiscal_year_start_month)
    audit_record(actor=actor, instance=goal, action=AuditEntry.Action.UPDATE, before=before)
    return goal


@transaction.atomic
def goal_delete(*, actor: User, goal: Goal) -> None:
    _require_setter(actor, user=goal.user, team=goal.team)
    before = snapshot(goal)
    audit_record(actor=actor, instance=goal, action=AuditEntry.Action.DELETE, before=before)
    goal.delete()


@transaction.atomic
def goal_roll_over(*, actor: User, period: Period) -> tuple[list[Goal], int]:
    """Copy the goals of `period` that `actor` sets to the next period of the same kind.

    Targets, metrics and ramps are kept (a ramp runs by calendar month, so it goes on where
    it was). Goals that exist there already and goals of deactivated users are skipped.
    Returns the new goals and how many were skipped.
    """
    if not can_set_goals(actor):
        raise PermissionDenied("Only managers and admins set goals.")
    target_period = period.next()
    if not is_usable_period(target_period):
        raise ValidationFailed("There is no next period.", fields={"period": "Out of range."})
    sources = [
        goal
        for goal in visible_goals(actor)
        .filter(period_kind=period.kind, period_start=period.start)
        .select_related("user", "team")
        .order_by("pk")
        if can_set_goal_for(actor, user=goal.user, team=goal.team)
    ]
    existing = set(
        Goal.objects.filter(
            period_kind=target_period.kind, period_start=target_period.start
        ).values_list("user_id", "team_id", "metric", "activity_kind")
    )
    created, skipped = [], 0
    for source in sources:
        key = (source.user_id, source.team_id, source.metric, source.activity_kind)
        if key in existing or (source.user is not None and not source.user.is_active):
            skipped += 1
            continue
        created.append(
            Goal(
                user=source.user,
                team=source.team,
                period_kind=target_period.kind,
                period_start=target_period.start,
                metric=source.metric,
                activity_kind=source.activity_kind,
                target=source.target,
                ramp=list(source.ramp),
                ramp_start=source.ramp_start,
                created_by=actor,
            )
        )
    try:
        with transaction.atomic():
            created = Goal.objects.bulk_create(created)
    except IntegrityError:
        raise Conflict("Someone set goals for that period meanwhile; try again.") from None
    for goal in created:
        audit_record(actor=actor, instance=goal, action=AuditEntry.Action.CREATE)
    return created, skipped
