"""GET /api/v1/forecast and /api/v1/forecast/accuracy."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from salesdesk.goals.models import ForecastSnapshot
from salesdesk.goals.periods import PeriodKind, current_period
from salesdesk.pipeline.models import Deal
from tests.factories import DealFactory

pytestmark = pytest.mark.django_db

D = datetime.date


def make(stage, owner, amount, **fields) -> Deal:
    return DealFactory(
        stage=stage, owner=owner, amount=Decimal(amount), amount_base=Decimal(amount), **fields
    )


@pytest.fixture
def book(cast, pipeline):
    stages = {stage.name: stage for stage in pipeline.stages.all()}
    make(
        stages["Negotiation"],
        cast.alice,
        "1000",
        expected_close=D(2026, 3, 20),
        forecast_category=Deal.ForecastCategory.COMMIT,
    )
    make(stages["Proposal"], cast.carol, "800", expected_close=D(2026, 3, 25))
    make(
        stages["Proposal"],
        cast.alice,
        "300",
        status=Deal.Status.WON,
        closed_at=datetime.datetime(2026, 3, 2, tzinfo=datetime.UTC),
    )


def test_forecast_of_the_periods_asked_for(cast, book, api_client):
    response = api_client(cast.admin).get("/api/v1/forecast", {"period": ["2026-03", "fy2026"]})

    assert response.status_code == 200
    body = response.json()
    assert body["currency"] == "EUR"
    march, year = body["rows"]
    assert march == {
        "period": {
            "key": "2026-03",
            "label": "Mar 2026",
            "kind": "month",
            "start": "2026-03-01",
            "end": "2026-04-01",
        },
        "committed": "300.00",
        "weighted": "1450.00",
        "best_case": "2100.00",
        "commit": "1300.00",
        "historical": "1450.00",
        "goal": None,
        "gap": None,
    }
    assert year["period"]["key"] == "fy2026"
    assert year["best_case"] == "2100.00"


def test_forecast_follows_visibility_and_filters(cast, book, api_client):
    alice = api_client(cast.alice).get("/api/v1/forecast", {"period": "2026-03"}).json()
    west = (
        api_client(cast.admin)
        .get("/api/v1/forecast", {"period": "2026-03", "team": cast.carol.team_id})
        .json()
    )

    assert alice["rows"][0]["best_case"] == "1300.00"
    assert west["rows"][0]["best_case"] == "800.00"


def test_forecast_defaults_to_the_periods_ahead(cast, book, api_client):
    rows = api_client(cast.admin).get("/api/v1/forecast").json()["rows"]

    now = timezone.now()
    month = current_period(PeriodKind.MONTH, now=now, tz="UTC")
    quarter = current_period(PeriodKind.QUARTER, now=now, tz="UTC")
    assert [row["period"]["key"] for row in rows] == [
        month.key,
        month.next().key,
        month.shifted(2).key,
        quarter.key,
        quarter.next().key,
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"period": "someday"}, "period"),
        ({"period": [f"2026-{m:02d}" for m in range(1, 13)] + ["fy2027"]}, "period"),
        ({"team": 999999}, "team"),
        ({"owner": 999999}, "owner"),
        ({"pipeline": 999999}, "pipeline"),
        ({"team": "x"}, "team"),
    ],
)
def test_forecast_refuses_bad_input(cast, api_client, query, field):
    response = api_client(cast.admin).get("/api/v1/forecast", query)

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid"
    assert field in str(body["errors"])


def test_forecast_needs_a_token(client, db):
    assert client.get("/api/v1/forecast").status_code == 401


@pytest.fixture
def record(cast):
    """January and February 2026 forecasts of the organization, team East and Alice."""
    rows = []

    def add(week, start, method, scope, scope_id, value, actual):
        rows.append(
            ForecastSnapshot(
                week=week,
                period_kind="month",
                period_start=start,
                method=method,
                scope=scope,
                scope_id=scope_id,
                value=Decimal(value),
                actual=Decimal(actual),
            )
        )

    jan, feb = D(2026, 1, 1), D(2026, 2, 1)
    # The forecast of record is the last one before the month began (29 Dec, 26 Jan).
    add(D(2025, 12, 22), jan, "weighted", "organization", 0, 999, 100)  # older: ignored
    add(D(2025, 12, 29), jan, "weighted", "organization", 0, 110, 100)
    add(D(2026, 1, 5), jan, "weighted", "organization", 0, 555, 100)  # inside: ignored
    add(D(2025, 12, 29), jan, "historical", "organization", 0, 95, 100)
    add(D(2026, 1, 26), feb, "weighted", "organization", 0, 150, 200)
    add(D(2026, 1, 26), feb, "historical", "organization", 0, 210, 200)
    add(D(2025, 12, 29), jan, "commit", "rep", cast.alice.pk, 40, 50)
    add(D(2026, 1, 26), feb, "commit", "rep", cast.alice.pk, 60, 50)
    add(D(2025, 12, 29), jan, "commit", "rep", cast.carol.pk, 10, 0)
    add(D(2026, 1, 26), feb, "weighted", "team", cast.alice.team_id, 70, 35)
    ForecastSnapshot.objects.bulk_create(rows)


def test_accuracy_of_each_method_and_each_reps_commit(cast, record, api_client):
    response = api_client(cast.admin).get("/api/v1/forecast/accuracy")

    assert response.status_code == 200
    body = response.json()
    assert (body["scope"], body["scope_id"]) == ("organization", 0)
    methods = {m["method"]: m for m in body["methods"]}
    # Weighted: +10% in January, -25% in February. Historical: -5% and +5%.
    assert methods["weighted"]["periods"] == 2
    assert methods["weighted"]["mape"] == pytest.approx(0.175)
    assert methods["weighted"]["bias"] == pytest.approx(-0.075)
    assert methods["historical"]["mape"] == pytest.approx(0.05)
    assert methods["historical"]["bias"] == pytest.approx(0.0)
    assert [past["period"]["key"] for past in body["history"]] == ["2026-01", "2026-02"]
    assert body["history"][0]["actual"] == "100.00"
    assert body["history"][0]["forecasts"] == {"weighted": "110.00", "historical": "95.00"}
    reps = {rep["name"]: rep for rep in body["reps"]}
    # Alice: 40 against 50 (-20%), 60 against 50 (+20%). Carol won nothing: no error to count.
    assert reps["Alice East"]["months"] == 2
    assert (reps["Alice East"]["commit"], reps["Alice East"]["actual"]) == ("100.00", "100.00")
    assert reps["Alice East"]["mape"] == pytest.approx(0.2)
    assert reps["Alice East"]["bias"] == pytest.approx(0.0)
    assert reps["Carol West"]["months"] == 0
    assert reps["Carol West"]["mape"] is None


def test_manager_sees_their_team_and_its_reps(cast, record, api_client):
    body = api_client(cast.manager).get("/api/v1/forecast/accuracy").json()

    assert (body["scope"], body["scope_id"]) == ("team", cast.alice.team_id)
    assert [m["method"] for m in body["methods"]] == ["weighted"]
    assert body["methods"][0]["bias"] == pytest.approx(1.0)
    assert [rep["name"] for rep in body["reps"]] == ["Alice East"]


def test_rep_sees_only_their_own_record(cast, record, api_client):
    mine = api_client(cast.alice).get("/api/v1/forecast/accuracy").json()
    team = api_client(cast.alice).get("/api/v1/forecast/accuracy", {"team": cast.alice.team_id})
    other = api_client(cast.alice).get("/api/v1/forecast/accuracy", {"owner": cast.carol.pk})

    assert (mine["scope"], mine["scope_id"]) == ("rep", cast.alice.pk)
    assert mine["methods"] == [
        {"period_kind": "month", "method": "commit", "periods": 2, "mape": 0.2, "bias": 0.0}
    ]
    assert mine["reps"] == []
    assert team.status_code == 404
    assert other.status_code == 404
