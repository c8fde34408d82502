"""GET /api/v1/dashboards/team: the team dashboard's figures as JSON."""

import calendar
import datetime
import zoneinfo
from decimal import Decimal

import pytest
from django.utils import timezone

from salesdesk.accounts.models import OrganizationSettings, Team
from salesdesk.activities.models import Activity
from salesdesk.pipeline.models import Deal
from tests.factories import ActivityFactory, DealFactory, GoalFactory, LostReasonFactory

URL = "/api/v1/dashboards/team"
UTC = datetime.UTC


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


@pytest.fixture
def world(cast, pipeline):
    """Q1 FY2026: Alice won 1,000 (10 days) and lost one, 2 calls; Bob won 3,000 (5 days).
    Q4 FY2025: Alice won 500 (20 days). Carol (West) won 9,999 in Q1."""
    lead = pipeline.stages.get(name="Lead")

    def won(owner, amount, created, closed):
        DealFactory(
            stage=lead,
            owner=owner,
            amount=Decimal(amount),
            status=Deal.Status.WON,
            created_at=created,
            closed_at=closed,
        )

    won(cast.alice, "1000", at(2026, 1, 1), at(2026, 1, 11))
    won(cast.bob, "3000", at(2026, 2, 1), at(2026, 2, 6))
    won(cast.alice, "500", at(2025, 10, 1), at(2025, 10, 21))
    won(cast.carol, "9999", at(2026, 1, 1), at(2026, 1, 2))
    DealFactory(
        stage=lead,
        owner=cast.alice,
        status=Deal.Status.LOST,
        lost_reason=LostReasonFactory(name="Price"),
        created_at=at(2025, 12, 1),
        closed_at=at(2026, 3, 1),
    )
    for day in (2, 3):
        ActivityFactory(owner=cast.alice, kind=Activity.Kind.CALL, occurred_at=at(2026, 1, day))
    GoalFactory(user=cast.alice, period_start=datetime.date(2026, 1, 1), target=Decimal("4000"))


@pytest.mark.django_db
def test_manager_gets_each_reps_figures_and_the_total(cast, world, api_client):
    response = api_client(cast.manager).get(URL, {"period": "fy2026-q1"})
    assert response.status_code == 200
    body = response.json()
    assert body["period"] == {
        "key": "fy2026-q1",
        "label": "Q1 FY2026",
        "kind": "quarter",
        "start": "2026-01-01",
        "end": "2026-04-01",
    }
    assert body["previous_period"]["key"] == "fy2025-q4"
    assert body["previous_until"] is None  # Q1 is over: the whole of Q4
    assert body["team"] is None
    assert body["currency"] == "EUR"
    assert [row["rep"]["full_name"] for row in body["rows"]] == ["Bob East", "Alice East"]
    alice = body["rows"][1]
    assert alice["rep"] == {
        "id": cast.alice.pk,
        "full_name": "Alice East",
        "email": "alice@salesdesk.test",
        "is_active": True,
    }
    assert alice["current"] == {
        "emails": 0,
        "calls": 2,
        "meetings": 0,
        "notes": 0,
        "tasks_done": 0,
        "activities": 2,
        "new_deals": 1,
        "won": 1,
        "won_revenue": "1000.00",
        "lost": 1,
        "win_rate": "50.0",
        "average_cycle": "10.0",
    }
    assert alice["previous"]["won_revenue"] == "500.00"
    assert alice["previous"]["average_cycle"] == "20.0"
    assert alice["standing"] == {
        "open_deals": 0,
        "open_amount": "0.00",
        "stale": 0,
        "overdue_tasks": 0,
    }
    assert alice["goal"]["target"] == "4000.00"
    assert alice["goal"]["achieved"] == "1000.00"
    assert alice["goal"]["attainment"] == "25.0"
    assert alice["trend"] == {
        "activities": 2,
        "new_deals": -1,
        "won": 0,
        "won_revenue": "500.00",
        "lost": 1,
        "win_rate": "-50.0",
        "average_cycle": "-10.0",
    }
    assert body["total"]["rep"] is None
    assert body["total"]["current"]["won_revenue"] == "4000.00"
    assert body["total"]["current"]["win_rate"] == "66.7"
    assert body["leaderboard_metric"] == "won_revenue"
    assert body["leaderboard"] == [
        {"rank": 1, "rep_id": cast.bob.pk, "value": "3000.00"},
        {"rank": 2, "rep_id": cast.alice.pk, "value": "1000.00"},
    ]


@pytest.mark.django_db
def test_leaderboard_by_another_metric_and_team_filter(cast, world, api_client):
    west = Team.objects.get(name="West")
    response = api_client(cast.admin).get(
        URL, {"period": "fy2026-q1", "team": west.pk, "leaderboard": "won"}
    )
    body = response.json()
    assert body["team"] == {"id": west.pk, "name": "West"}
    assert [row["rep"]["full_name"] for row in body["rows"]] == ["Carol West"]
    assert body["leaderboard"] == [{"rank": 1, "rep_id": cast.carol.pk, "value": 1}]


@pytest.mark.django_db
def test_rep_gets_only_their_own_row(cast, world, api_client):
    body = api_client(cast.bob).get(URL, {"period": "fy2026-q1"}).json()
    assert [row["rep"]["full_name"] for row in body["rows"]] == ["Bob East"]
    assert body["total"]["current"]["won_revenue"] == "3000.00"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "fy2026-q7"}, "period"),
        ({"period": "next year"}, "period"),
        ({"leaderboard": "height"}, "leaderboard"),
        ({"pipeline": 999999}, "pipeline"),
    ],
)
def test_bad_filters_are_422(cast, world, api_client, params, field):
    response = api_client(cast.manager).get(URL, params)
    assert response.status_code == 422
    assert field in response.json()["errors"]


@pytest.mark.django_db
def test_team_the_viewer_does_not_see_is_422_as_if_it_did_not_exist(cast, world, api_client):
    west = Team.objects.get(name="West")
    response = api_client(cast.manager).get(URL, {"team": west.pk})
    assert response.status_code == 422
    assert response.json() == {
        "detail": f"Team {west.pk} does not exist.",
        "code": "invalid",
        "errors": {"team": "Does not exist."},
    }


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{"team": "abc"}, {"team": 0}, {"pipeline": -1}])
def test_malformed_ids_are_422(cast, api_client, params):
    assert api_client(cast.admin).get(URL, params).status_code == 422


@pytest.mark.django_db
def test_default_period_is_the_current_quarter_and_signed_out_is_401(cast, api_client, client):
    body = api_client(cast.admin).get(URL).json()
    assert body["period"]["key"].count("-q") == 1
    # Under way: compared with the previous quarter up to the same day (same day of the month)
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(OrganizationSettings.get().timezone))
    year, month = divmod(today.year * 12 + today.month - 1 - 3, 12)
    day = min(today.day, calendar.monthrange(year, month + 1)[1])
    assert body["previous_until"] == datetime.date(year, month + 1, day).isoformat()
    assert client.get(URL).status_code == 401


@pytest.mark.django_db
def test_query_count_is_constant(cast, world, api_client, django_assert_num_queries):
    caller = api_client(cast.manager)
    # The token and its last use; settings; the dashboard as on the page (Q1 is over, so the
    # goals read no expected pipeline).
    with django_assert_num_queries(19):
        caller.get(URL, {"period": "fy2026-q1"})
