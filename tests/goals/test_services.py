"""Setting goals: who may, and what is refused (with nothing changed)."""

import datetime
from decimal import Decimal

import pytest

from salesdesk.accounts.models import OrganizationSettings
from salesdesk.core.errors import Conflict, PermissionDenied, ValidationFailed
from salesdesk.core.models import AuditEntry
from salesdesk.goals import services
from salesdesk.goals.models import Goal
from salesdesk.goals.periods import Period
from tests.factories import GoalFactory

pytestmark = pytest.mark.django_db

D = datetime.date


def create(actor, **fields) -> Goal:
    fields = {
        "period_kind": "quarter",
        "period_start": D(2026, 1, 1),
        "metric": "won_revenue",
        "target": Decimal("10000"),
        **fields,
    }
    return services.goal_create(actor=actor, **fields)


def goals_now() -> list[tuple]:
    return list(
        Goal.objects.order_by("pk").values_list(
            "pk", "user_id", "team_id", "period_kind", "period_start", "metric", "target", "ramp"
        )
    )


@pytest.mark.parametrize(
    ("actor", "owner", "allowed"),
    [
        ("admin", "alice", True),
        ("admin", "carol", True),
        ("admin", "west", True),
        ("manager", "alice", True),
        ("manager", "bob", True),
        ("manager", "east", True),
        ("manager", "carol", False),
        ("manager", "west", False),
        ("manager", "outsider", False),
        ("alice", "alice", False),
        ("alice", "bob", False),
        ("alice", "east", False),
        ("carol", "carol", False),
        ("outsider", "outsider", False),
    ],
)
def test_who_sets_goals_for_whom(cast, actor, owner, allowed):
    teams = {"east": cast.alice.team, "west": cast.carol.team}
    owner_args = {"team": teams[owner]} if owner in teams else {"user": getattr(cast, owner)}
    if owner in teams:
        owner_args["target"] = None

    if allowed:
        goal = create(getattr(cast, actor), **owner_args)
        assert Goal.objects.get() == goal
        assert goal.created_by == getattr(cast, actor)
    else:
        with pytest.raises(PermissionDenied):
            create(getattr(cast, actor), **owner_args)
        assert goals_now() == []


@pytest.mark.parametrize("actor", ["alice", "carol", "outsider"])
def test_reps_cannot_change_or_delete_goals(cast, actor):
    goal = GoalFactory(user=cast.alice)
    before = goals_now()

    with pytest.raises(PermissionDenied):
        services.goal_update(actor=getattr(cast, actor), goal=goal, target=Decimal(1))
    with pytest.raises(PermissionDenied):
        services.goal_delete(actor=getattr(cast, actor), goal=goal)

    assert goals_now() == before


def test_a_manager_changes_and_deletes_the_goals_of_their_team_only(cast):
    alices = GoalFactory(user=cast.alice)
    carols = GoalFactory(user=cast.carol)

    services.goal_update(
        actor=cast.manager, goal=alices, target=Decimal("5000"), ramp=[50], ramp_start=D(2026, 1, 1)
    )
    with pytest.raises(PermissionDenied):
        services.goal_update(actor=cast.manager, goal=carols, target=Decimal("5000"))
    with pytest.raises(PermissionDenied):
        services.goal_delete(actor=cast.manager, goal=carols)
    services.goal_delete(actor=cast.manager, goal=alices)

    assert list(Goal.objects.values_list("pk", "target")) == [(carols.pk, Decimal("100000.00"))]


def test_changes_are_audited(cast):
    goal = create(cast.manager, user=cast.alice)
    pk = goal.pk
    services.goal_update(actor=cast.manager, goal=goal, target=Decimal("12000"))
    services.goal_delete(actor=cast.manager, goal=goal)

    entries = list(
        AuditEntry.objects.filter(entity="goals.goal", entity_id=pk)
        .order_by("id")
        .values_list("action", "actor_id")
    )
    assert entries == [
        ("create", cast.manager.pk),
        ("update", cast.manager.pk),
        ("delete", cast.manager.pk),
    ]
    update = AuditEntry.objects.get(action="update")
    assert update.changes == {"target": ["10000.00", "12000.00"]}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"period_start": D(2026, 2, 1)}, "period_start"),  # not the start of a quarter
        ({"period_kind": "year", "period_start": D(2026, 4, 1)}, "period_start"),
        ({"period_kind": "week"}, "period_kind"),
        ({"period_start": D(9999, 10, 1)}, "period_start"),  # would end after year 9999
        ({"period_kind": "year", "period_start": D(1, 1, 1)}, "period_start"),
        ({"target": Decimal("-1")}, "target"),
        ({"target": None}, "target"),  # a rep's goal needs one
        ({"target": Decimal("1e15")}, "target"),
        ({"target": Decimal("NaN")}, "target"),
        ({"metric": "profit"}, "metric"),
        ({"activity_kind": "call"}, "activity_kind"),  # only for an activities goal
        ({"metric": "activities", "activity_kind": "fax"}, "activity_kind"),
        ({"ramp": [25, 150], "ramp_start": D(2026, 1, 1)}, "ramp"),
        ({"ramp": [25, 50]}, "ramp_start"),
        ({"ramp": [25], "ramp_start": D(2026, 1, 15)}, "ramp_start"),
    ],
)
def test_bad_goals_are_refused_field_by_field_and_nothing_is_saved(cast, fields, field):
    with pytest.raises(ValidationFailed) as error:
        create(cast.admin, user=cast.alice, **fields)

    assert field in error.value.fields
    assert goals_now() == []
    assert not AuditEntry.objects.exists()


def test_a_goal_has_one_owner(cast):
    with pytest.raises(ValidationFailed) as neither:
        create(cast.admin)
    with pytest.raises(ValidationFailed) as both:
        create(cast.admin, user=cast.alice, team=cast.alice.team)

    assert "user" in neither.value.fields
    assert "user" in both.value.fields
    assert goals_now() == []


def test_a_team_goal_cannot_ramp_and_deactivated_reps_get_no_new_goals(cast):
    cast.bob.is_active = False
    cast.bob.save()

    with pytest.raises(ValidationFailed) as ramp:
        create(cast.admin, team=cast.alice.team, ramp=[50], ramp_start=D(2026, 1, 1))
    with pytest.raises(ValidationFailed) as inactive:
        create(cast.admin, user=cast.bob)

    assert "ramp" in ramp.value.fields
    assert "user" in inactive.value.fields
    assert goals_now() == []


def test_periods_follow_the_fiscal_year(cast):
    OrganizationSettings.objects.filter(pk=1).update(fiscal_year_start_month=4)

    goal = create(cast.admin, user=cast.alice, period_kind="year", period_start=D(2026, 4, 1))
    with pytest.raises(ValidationFailed):
        create(cast.admin, user=cast.alice, period_kind="year", period_start=D(2026, 1, 1))

    assert goal.period(4).label == "FY2026/27"


def test_the_same_goal_twice_is_a_conflict(cast):
    create(cast.manager, user=cast.alice)
    before = goals_now()

    with pytest.raises(Conflict):
        create(cast.manager, user=cast.alice, target=Decimal("1"))

    assert goals_now() == before
    # Another metric, activity kind or period is another goal.
    create(cast.manager, user=cast.alice, metric="deals_won", target=Decimal("3"))
    create(cast.manager, user=cast.alice, metric="activities", target=Decimal("3"))
    create(cast.manager, user=cast.alice, metric="activities", activity_kind="call", target=3)
    create(cast.manager, user=cast.alice, period_start=D(2026, 4, 1))
    assert len(goals_now()) == 5


def test_an_update_that_would_duplicate_a_goal_is_refused_and_changes_nothing(cast):
    create(cast.manager, user=cast.alice)
    second = create(cast.manager, user=cast.alice, period_start=D(2026, 4, 1))
    before = goals_now()

    with pytest.raises(Conflict):
        services.goal_update(
            actor=cast.manager, goal=second, period_start=D(2026, 1, 1), target=Decimal("1")
        )
    with pytest.raises(ValidationFailed):
        services.goal_update(actor=cast.manager, goal=second, target=Decimal("-5"))

    assert goals_now() == before


def test_an_update_changes_what_it_is_given(cast):
    goal = create(cast.manager, user=cast.alice)

    updated = services.goal_update(
        actor=cast.manager,
        goal=goal,
        period_kind="month",
        period_start=D(2026, 3, 1),
        ramp=[25, 50],
        ramp_start=D(2026, 2, 1),
    )

    assert (updated.period_kind, updated.period_start, updated.target) == (
        "month",
        D(2026, 3, 1),
        Decimal("10000.00"),
    )
    assert Goal.objects.get().ramp == [25, 50]


def test_roll_over_copies_a_periods_goals_to_the_next_one(cast):
    q1 = Period("quarter", D(2026, 1, 1))
    alices = GoalFactory(user=cast.alice, ramp=[25, 50, 75], ramp_start=D(2026, 2, 1))
    GoalFactory(team=cast.alice.team, target=None)
    GoalFactory(user=cast.bob)
    GoalFactory(user=cast.bob, period_start=D(2026, 4, 1), target=Decimal("7"))  # there already
    GoalFactory(user=cast.carol)  # West: not the manager's
    GoalFactory(user=cast.manager, metric="activities", target=Decimal("20"))

    created, skipped = services.goal_roll_over(actor=cast.manager, period=q1)

    copies = Goal.objects.filter(period_start=D(2026, 4, 1)).order_by("pk")
    assert len(created) == 3
    assert skipped == 1
    assert sorted(
        ((g.user_id, g.team_id, g.metric, g.target, g.ramp, g.ramp_start) for g in copies),
        key=str,
    ) == sorted(
        [
            (cast.alice.pk, None, "won_revenue", Decimal("100000.00"), [25, 50, 75], D(2026, 2, 1)),
            (None, cast.alice.team_id, "won_revenue", None, [], None),
            (cast.bob.pk, None, "won_revenue", Decimal("7.00"), [], None),
            (cast.manager.pk, None, "activities", Decimal("20.00"), [], None),
        ],
        key=str,
    )
    assert alices.period_start == D(2026, 1, 1)


def test_reps_cannot_roll_over(cast):
    GoalFactory(user=cast.alice)

    with pytest.raises(PermissionDenied):
        services.goal_roll_over(actor=cast.alice, period=Period("quarter", D(2026, 1, 1)))

    assert Goal.objects.count() == 1
