"""Every page with a period select shows the period it is on, the current quarter by default."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from salesdesk.goals.periods import current_period

PAGES = ["/dashboards/revenue/", "/dashboards/team/", "/goals/", "/forecast/"]


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_the_period_select_shows_the_current_quarter_by_default(cast, org, page):
    client = Client()
    client.force_login(cast.manager)
    quarter = current_period("quarter", now=timezone.now(), tz=org.timezone)
    next_quarter = quarter.next()

    html = client.get(page).content.decode()
    selected = re.findall(r'<option value="([^"]+)"[^>]*\bselected\b', html)
    assert quarter.key in selected

    html = client.get(page, {"period": next_quarter.key}).content.decode()
    selected = re.findall(r'<option value="([^"]+)"[^>]*\bselected\b', html)
    assert next_quarter.key in selected
    assert quarter.key not in selected
