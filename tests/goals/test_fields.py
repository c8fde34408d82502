"""The period select shared by the goals, forecast and dashboard pages, and its parsing."""

import datetime
import re

import pytest
from django import forms
from django.test import Client
from django.utils import timezone

from salesdesk.goals.fields import PeriodField, period_choices
from salesdesk.goals.periods import Period, current_period, period_parse

D = datetime.date
# April fiscal years: the quarter of 15 May 2026 is Q1 FY2026/27 (April to June 2026).
CURRENT = Period("quarter", D(2026, 4, 1), 4)


def keys(choices) -> list[tuple[str, list[str]]]:
    return [(group, [key for key, _ in pairs]) for group, pairs in choices]


def test_choices_are_the_years_quarters_and_months_around_the_current_quarter():
    choices = period_choices(CURRENT)

    assert keys(choices) == [
        ("Fiscal years", ["fy2025", "fy2026", "fy2027"]),
        (
            "Quarters",
            [
                "fy2025-q1",
                "fy2025-q2",
                "fy2025-q3",
                "fy2025-q4",
                "fy2026-q1",
                "fy2026-q2",
                "fy2026-q3",
                "fy2026-q4",
                "fy2027-q1",
            ],
        ),
        (
            "Months",
            [f"2025-{m:02d}" for m in range(10, 13)] + [f"2026-{m:02d}" for m in range(1, 13)],
        ),
    ]
    assert choices[0][1][1] == ("fy2026", "FY2026/27")
    assert choices[1][1][4] == ("fy2026-q1", "Q1 FY2026/27")
    assert choices[2][1][0] == ("2025-10", "Oct 2025")


def test_any_period_of_the_current_quarter_gives_the_same_choices():
    month = Period("month", D(2026, 6, 1), 4)
    assert period_choices(month) == period_choices(CURRENT)


def test_a_selected_period_outside_the_list_comes_first_in_its_own_group():
    old = period_parse("fy2019-q3", 4)
    listed = period_parse("2026-07", 4)

    assert period_choices(CURRENT, selected=old)[0] == ("Selected", [("fy2019-q3", "Q3 FY2019/20")])
    assert period_choices(CURRENT, selected=listed) == period_choices(CURRENT)


class FilterForm(forms.Form):
    period = PeriodField(required=False)

    def __init__(self, data):
        super().__init__(data)
        self.fields["period"].around(CURRENT)


class GoalPeriodForm(forms.Form):
    period = PeriodField()

    def __init__(self, data):
        super().__init__(data)
        self.fields["period"].around(CURRENT)


def selected(form) -> list[str]:
    return re.findall(r'<option value="([^"]+)" selected>', str(form["period"]))


def test_an_empty_optional_field_is_the_current_quarter_and_shows_it_selected():
    form = FilterForm({})

    assert form.is_valid()
    assert form.cleaned_data["period"] == CURRENT
    assert selected(form) == ["fy2026-q1"]


def test_an_unlisted_period_is_taken_and_shown_selected():
    form = FilterForm({"period": "FY2019-Q3"})

    assert form.is_valid()
    assert form.cleaned_data["period"] == Period("quarter", D(2019, 10, 1), 4)
    assert selected(form) == ["fy2019-q3"]
    assert '<optgroup label="Selected">' in str(form["period"])


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("soon", "Not a period: 'soon'. Use fy2026, fy2026-q2 or 2026-04."),
        ("fy2026-q5", "Not a period: 'fy2026-q5'. Use fy2026, fy2026-q2 or 2026-04."),
        ("2026-13", "Not a period: '2026-13'. Use fy2026, fy2026-q2 or 2026-04."),
        ("x" * 50, f"Not a period: '{'x' * 20}'. Use fy2026, fy2026-q2 or 2026-04."),
        ("fy9999", "Pick a period between 1900 and 2999."),
        ("9999-12", "Pick a period between 1900 and 2999."),
        ("fy0000", "Pick a period between 1900 and 2999."),
    ],
)
def test_a_garbled_key_is_a_form_error_that_says_what_to_write(key, message):
    form = FilterForm({"period": key})

    assert not form.is_valid()
    assert form.errors["period"] == [message]


def test_a_required_field_asks_for_a_period():
    form = GoalPeriodForm({"period": ""})

    assert not form.is_valid()
    assert form.errors["period"] == ["This field is required."]
    assert GoalPeriodForm({"period": "2026-05"}).is_valid()


# --- The goals and forecast pages with a garbled ?period= ---------------------------------

GARBLED = [
    ("soon", "Not a period: &#x27;soon&#x27;."),
    ("fy9999-q4", "Pick a period between 1900 and 2999."),
    ("9999-12", "Pick a period between 1900 and 2999."),
]


@pytest.fixture
def manager(cast):
    client = Client()
    client.force_login(cast.manager)
    return client


@pytest.fixture
def quarter(org):
    return current_period("quarter", now=timezone.now(), tz=org.timezone)


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "message"), GARBLED)
def test_goals_page_explains_a_garbled_period_and_shows_the_current_quarter(
    manager, quarter, key, message
):
    response = manager.get("/goals/", {"period": key})

    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert f"Showing {quarter.label}." in html
    assert response.context["period"] == quarter


@pytest.mark.django_db
@pytest.mark.parametrize("key", [key for key, _ in GARBLED])
def test_new_goal_form_opens_on_the_current_quarter_for_a_garbled_period(manager, quarter, key):
    response = manager.get("/goals/new/", {"period": key})

    assert response.status_code == 200
    assert re.findall(r'<option value="([^"]+)" selected>', response.content.decode()) == [
        quarter.key
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "message"), GARBLED)
def test_forecast_page_shows_a_garbled_period_next_to_its_field_and_keeps_the_others(
    cast, manager, quarter, key, message
):
    response = manager.get("/forecast/", {"period": key, "owner": cast.alice.pk})

    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert 'id="id_period_error"' in html
    assert response.context["period"] == quarter
    assert response.context["form"].filters()["owner_id"] == cast.alice.pk


@pytest.mark.django_db
@pytest.mark.parametrize("key", [key for key, _ in GARBLED])
def test_forecast_card_refuses_a_garbled_period(manager, key):
    response = manager.get("/forecast/vs-goal/", {"period": key})

    assert response.status_code == 422


@pytest.mark.django_db
def test_the_goals_and_forecast_pages_offer_the_same_periods(manager, org, quarter):
    expected = [key for _, pairs in period_choices(quarter) for key, _ in pairs]
    for page in ("/goals/", "/forecast/", "/goals/new/"):
        html = manager.get(page).content.decode()
        select = html.split('name="period"', 1)[1].split("</select>", 1)[0]
        assert re.findall(r'<option value="([^"]+)"', select) == expected, page
