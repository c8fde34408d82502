"""Goals over the REST API."""

import datetime
from decimal import Decimal

import pytest

from salesdesk.goals.models import Goal
from tests.factories import DealFactory, GoalFactory, UserFactory

pytestmark = pytest.mark.django_db

D = datetime.date
Q1 = {"period_kind": "quarter", "period_start": D(2026, 1, 1)}


@pytest.fixture
def goals(cast, pipeline):
    DealFactory(
        stage=pipeline.stages.get(name="Proposal"),
        owner=cast.alice,
        amount=Decimal("4000"),
        status="won",
        closed_at=datetime.datetime(2026, 2, 1, tzinfo=datetime.UTC),
    )
    return {
        "east": GoalFactory(team=cast.alice.team, target=None, **Q1),
        "alice": GoalFactory(user=cast.alice, target=Decimal("10000"), **Q1),
        "alice_deals": GoalFactory(user=cast.alice, metric="deals_won", target=Decimal(4), **Q1),
        "carol": GoalFactory(user=cast.carol, target=Decimal("7000"), **Q1),
    }


def test_list_a_periods_goals_with_progress(cast, goals, api_client):
    response = api_client(cast.manager).get("/api/v1/goals", {"period": "fy2026-q1"})

    body = response.json()
    assert response.status_code == 200
    assert body["period"] == {
        "key": "fy2026-q1",
        "label": "Q1 FY2026",
        "kind": "quarter",
        "start": "2026-01-01",
        "end": "2026-04-01",
    }
    items = {item["id"]: item for item in body["items"]}
    assert set(items) == {goals["east"].pk, goals["alice"].pk, goals["alice_deals"].pk}
    alice = items[goals["alice"].pk]
    assert alice["user"] == {
        "id": cast.alice.pk,
        "email": "alice@salesdesk.test",
        "full_name": "Alice East",
    }
    assert alice["target"] == "10000.00"
    assert alice["progress"] == {
        "target": "10000.00",
        "achieved": "4000.00",
        "expected": "0",  # the quarter is over
        "best_case": "0",
        "gap": "6000.00",
        "pace_per_week": "6000.00",
        "elapsed_share": 1.0,
        "on_track": False,
        "attainment": 0.4,
        "coverage": "0.00",
        "coverage_ok": False,
        "status": "missed",
    }
    east = items[goals["east"].pk]
    assert east["target"] is None
    assert east["progress"]["target"] == "10000.00"
    assert [m["goal_id"] for m in east["members"]] == [goals["alice"].pk]


def test_list_filters(cast, goals, api_client):
    client = api_client(cast.admin)

    def ids(**params):
        body = client.get("/api/v1/goals", {"period": "fy2026-q1", **params}).json()
        return {item["id"] for item in body["items"]}

    assert ids(user=cast.alice.pk) == {goals["alice"].pk, goals["alice_deals"].pk}
    assert ids(user=cast.alice.pk, metric="deals_won") == {goals["alice_deals"].pk}
    assert ids(team=cast.alice.team_id) == {goals["east"].pk}
    assert ids(user=cast.carol.pk) == {goals["carol"].pk}
    assert ids(period="fy2026-q2") == set()


def test_a_bad_period_is_a_json_422(cast, api_client):
    client = api_client(cast.alice)

    bad = client.get("/api/v1/goals", {"period": "last-week"})
    far = client.get("/api/v1/goals", {"period": "fy9999"})

    assert bad.status_code == far.status_code == 422
    assert bad.json()["errors"] == {
        "period": "Not a period: 'last-week'. Use fy2026, fy2026-q2 or 2026-04."
    }
    assert far.json()["code"] == "invalid"


def test_get_one_goal_and_not_one_the_user_cannot_see(cast, goals, api_client):
    client = api_client(cast.bob)

    found = client.get(f"/api/v1/goals/{goals['alice'].pk}")
    hidden = client.get(f"/api/v1/goals/{goals['carol'].pk}")

    assert found.status_code == 200
    assert found.json()["progress"]["achieved"] == "4000.00"
    assert hidden.status_code == 404
    assert hidden.json()["code"] == "not_found"


def test_a_manager_creates_a_ramped_goal(cast, api_client):
    response = api_client(cast.manager).post(
        "/api/v1/goals",
        {
            "user_id": cast.bob.pk,
            "period_kind": "year",
            "period_start": "2026-01-01",
            "metric": "won_revenue",
            "target": "120000",
            "ramp": [25, 50, 75],
            "ramp_start": "2026-02-01",
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["ramp"] == [25, 50, 75]
    assert body["target"] == "120000.00"
    assert body["progress"]["target"] == "95000.00"  # (0 + 25 + 50 + 75 + 8 x 100) / 1200
    goal = Goal.objects.get()
    assert (goal.user, goal.ramp_start) == (cast.bob, D(2026, 2, 1))


def test_a_team_goal_without_target(cast, api_client):
    response = api_client(cast.admin).post(
        "/api/v1/goals",
        {
            "team_id": cast.carol.team_id,
            "period_kind": "month",
            "period_start": "2026-03-01",
            "metric": "activities",
            "activity_kind": "call",
        },
    )

    assert response.status_code == 201
    assert response.json()["team"] == {"id": cast.carol.team_id, "name": "West"}
    assert response.json()["progress"]["expected"] is None


@pytest.mark.parametrize(
    ("payload", "status", "field"),
    [
        ({"period_start": "2026-02-01"}, 422, "period_start"),
        ({"target": "-1"}, 422, None),
        ({"target": None}, 422, "target"),
        ({"user_id": 10**9}, 422, "user_id"),
        ({"metric": "profit"}, 422, None),
        ({"ramp": [10, 500], "ramp_start": "2026-01-01"}, 422, "ramp"),
        ({"activity_kind": "call"}, 422, "activity_kind"),
        ({"team_id": 1}, 422, "user"),
    ],
)
def test_bad_goals_are_json_errors_and_nothing_is_saved(cast, api_client, payload, status, field):
    body = {
        "user_id": cast.alice.pk,
        "period_kind": "quarter",
        "period_start": "2026-01-01",
        "metric": "won_revenue",
        "target": "1000",
        **payload,
    }
    if payload.get("team_id") == 1:
        body["team_id"] = cast.alice.team_id

    response = api_client(cast.manager).post("/api/v1/goals", body)

    assert response.status_code == status
    assert response["content-type"].startswith("application/json")
    if field:
        assert field in response.json()["errors"]
    assert not Goal.objects.exists()


def test_reps_and_other_teams_managers_are_refused(cast, api_client):
    body = {
        "user_id": cast.carol.pk,
        "period_kind": "quarter",
        "period_start": "2026-01-01",
        "metric": "won_revenue",
        "target": "1000",
    }

    assert api_client(cast.manager).post("/api/v1/goals", body).status_code == 403
    assert api_client(cast.carol).post("/api/v1/goals", body).status_code == 403
    assert not Goal.objects.exists()


def test_a_duplicate_is_a_409(cast, goals, api_client):
    body = {
        "user_id": cast.alice.pk,
        "metric": "won_revenue",
        "target": "1",
        "period_kind": "quarter",
    }

    response = api_client(cast.manager).post(
        "/api/v1/goals", {**body, "period_start": "2026-01-01"}
    )

    assert response.status_code == 409
    assert response.json()["code"] == "duplicate"
    assert Goal.objects.count() == 4


def test_patch_and_delete(cast, goals, api_client):
    client = api_client(cast.manager)
    goal = goals["alice"]

    patched = client.patch(f"/api/v1/goals/{goal.pk}", {"target": "12000", "ramp": []})
    refused = client.patch(f"/api/v1/goals/{goal.pk}", {"period_start": "2026-01-15"})
    rep = api_client(cast.alice).patch(f"/api/v1/goals/{goal.pk}", {"target": "1"})
    deleted = client.delete(f"/api/v1/goals/{goal.pk}")
    gone = client.get(f"/api/v1/goals/{goal.pk}")

    assert patched.status_code == 200
    assert patched.json()["target"] == "12000.00"
    assert refused.status_code == 422
    assert refused.json()["errors"] == {"period_start": "A quarter does not start on 2026-01-15."}
    assert rep.status_code == 403
    assert deleted.status_code == 204
    assert gone.status_code == 404


def test_roll_over(cast, goals, api_client):
    response = api_client(cast.manager).post("/api/v1/goals/roll-over", {"period": "fy2026-q1"})

    assert response.status_code == 200
    assert response.json() == {
        "period": {
            "key": "fy2026-q2",
            "label": "Q2 FY2026",
            "kind": "quarter",
            "start": "2026-04-01",
            "end": "2026-07-01",
        },
        "created": 3,
        "skipped": 0,
    }
    assert (
        api_client(cast.alice).post("/api/v1/goals/roll-over", {"period": "fy2026-q1"}).status_code
        == 403
    )


def test_the_list_needs_few_queries_whatever_the_number_of_goals(
    cast, goals, api_client, django_assert_max_num_queries
):
    client = api_client(cast.manager)
    for n in range(10):
        rep = UserFactory(team=cast.alice.team)
        GoalFactory(user=rep, target=1000 + n, **Q1)

    with django_assert_max_num_queries(12):
        response = client.get("/api/v1/goals", {"period": "fy2026-q1"})

    assert len(response.json()["items"]) == 13
