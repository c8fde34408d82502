"""GET /api/v1/dashboards/revenue: the dashboard's figures as JSON, with the page's filters."""

import pytest

from tests.analytics.test_revenue import world_fixture  # noqa: F401

URL = "/api/v1/dashboards/revenue"


@pytest.mark.django_db
def test_the_figures_of_a_period(world, api_client):
    response = api_client(world.cast.admin).get(URL, {"period": "fy2026-q1"})

    assert response.status_code == 200
    body = response.json()
    assert body["period"] == {
        "key": "fy2026-q1",
        "label": "Q1 FY2026/27",
        "kind": "quarter",
        "start": "2026-04-01",
        "end": "2026-07-01",
    }
    assert body["currency"] == "EUR"
    assert body["filters"] == {"pipeline": None, "team": None, "owner": None}
    assert body["figures"] == {
        "won": {"count": 5, "amount": "13000.00"},
        "lost": {"count": 1, "amount": "300.00"},
        "created": {"count": 7, "amount": "13200.00"},
        "open": {"count": 3, "amount": "5800.00"},
        "goal": "100000.00",
        "attainment": "13.0",
        "win_rate": "83.3",
        "average_deal_size": "2600.00",
        "cycle_days": "32.6",
        "velocity_per_day": "199.39",
        "velocity_per_month": "5981.70",
    }
    assert len(body["months"]) == 15
    assert body["months"][-1] == {
        "month": {
            "key": "2026-06",
            "label": "Jun 2026",
            "kind": "month",
            "start": "2026-06-01",
            "end": "2026-07-01",
        },
        "is_in_period": True,
        "won": {"count": 2, "amount": "2600.00"},
        "lost": {"count": 0, "amount": "0.00"},
        "created": {"count": 1, "amount": "100.00"},
        "goal": "33333.33",
        "attainment": "7.8",
    }
    stages = body["stages"]
    assert stages["pipeline_id"] == world.pipeline.pk
    assert stages["stages"][0] == {
        "stage_id": world.stages["Lead"].pk,
        "name": "Lead",
        "entered": {"count": 4, "amount": "3100.00"},
        "reached": {"count": 7, "amount": "13200.00"},
        "conversion": "85.7",
    }
    assert stages["converted"] == {"count": 4, "amount": "12100.00"}
    assert body["lead_sources"][0] == {
        "source_id": None,
        "name": "No source",
        "created": {"count": 4, "amount": "10300.00"},
        "won": {"count": 2, "amount": "9500.00"},
        "lost_count": 0,
        "win_rate": "100.0",
    }
    assert body["lost_reasons"] == [
        {"id": world.price.pk, "name": "Price", "count": 1, "amount": "300.00"}
    ]
    assert [row["name"] for row in body["top_companies"]] == ["Gamma", "Acme"]


@pytest.mark.django_db
def test_filters_and_visibility_match_the_web_page(world, api_client):
    east = api_client(world.cast.admin).get(
        URL, {"period": "fy2026-q1", "team": world.east.pk, "pipeline": world.pipeline.pk}
    )
    assert east.json()["figures"]["won"] == {"count": 4, "amount": "5000.00"}
    dave = api_client(world.cast.admin).get(URL, {"period": "fy2026-q1", "owner": world.dave.pk})
    assert dave.json()["figures"]["won"] == {"count": 1, "amount": "600.00"}
    assert dave.json()["figures"]["goal"] is None
    alice = api_client(world.cast.alice).get(URL, {"period": "fy2026-q1"})
    assert alice.json()["figures"]["won"] == {"count": 1, "amount": "900.00"}


@pytest.mark.django_db
def test_the_current_quarter_is_the_default(world, api_client):
    response = api_client(world.cast.manager).get(URL)
    assert response.status_code == 200
    assert response.json()["period"]["kind"] == "quarter"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "last-quarter"}, "period"),
        ({"period": "fy2026-q9"}, "period"),
        ({"period": "2026-00"}, "period"),
        ({"team": 999999}, "team"),
        ({"owner": 999999}, "owner"),
        ({"pipeline": 999999}, "pipeline"),
    ],
)
def test_bad_filters_are_422(world, api_client, params, field):
    response = api_client(world.cast.manager).get(URL, params)
    assert response.status_code == 422
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{"team": "abc"}, {"owner": 0}, {"period": "a\x00b"}])
def test_malformed_parameters_are_422(world, api_client, params):
    response = api_client(world.cast.manager).get(URL, params)
    assert response.status_code == 422


@pytest.mark.django_db
def test_anonymous_callers_get_401(client):
    assert client.get(URL).status_code == 401


@pytest.mark.django_db
def test_a_fixed_number_of_queries(world, api_client, django_assert_num_queries):
    caller = api_client(world.cast.manager)
    with django_assert_num_queries(18):
        assert caller.get(URL, {"period": "fy2026"}).status_code == 200
