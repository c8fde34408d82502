"""The team dashboard's period select: the shared choices, and a garbled ?period= explained."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from salesdesk.goals.fields import period_choices
from salesdesk.goals.periods import current_period

URL = "/dashboards/team/"


def page_for(cast, params=None):
    """The team dashboard as the East team's manager sees it."""
    client = Client()
    client.force_login(cast.manager)
    return client.get(URL, params)


def this_quarter(org):
    return current_period("quarter", now=timezone.now(), tz=org.timezone)


def period_options(html: str) -> list[str]:
    select = html.split('name="period"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]+)"', select)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("soon", "Not a period: &#x27;soon&#x27;. Use fy2026, fy2026-q2 or 2026-04."),
        ("fy2026-q5", "Not a period: &#x27;fy2026-q5&#x27;."),
        ("fy9999-q4", "Pick a period between 1900 and 2999."),
        ("9999-12", "Pick a period between 1900 and 2999."),
        ("fy0000", "Pick a period between 1900 and 2999."),
    ],
)
def test_a_garbled_period_is_shown_next_to_the_select_and_the_current_quarter_is_used(
    cast, org, key, message
):
    quarter = this_quarter(org)
    response = page_for(cast, {"period": key})

    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert 'id="id_period_error"' in html
    assert response.context["dashboard"].period == quarter
    assert period_options(html) == [k for _, pairs in period_choices(quarter) for k, _ in pairs]


@pytest.mark.django_db
def test_the_team_dashboard_offers_the_same_periods_as_the_other_pages(cast, org):
    quarter = this_quarter(org)
    html = page_for(cast).content.decode()

    assert period_options(html) == [k for _, pairs in period_choices(quarter) for k, _ in pairs]
    assert re.findall(r'<option value="([^"]+)" selected>', html)[0] == quarter.key


@pytest.mark.django_db
def test_an_unlisted_period_is_offered_first_and_selected(cast):
    html = page_for(cast, {"period": "fy2019"}).content.decode()

    assert period_options(html)[0] == "fy2019"
    assert '<option value="fy2019" selected>' in html
