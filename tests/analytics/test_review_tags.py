"""The review list's row tag: every part of a row, escaped."""

import datetime
import re
from types import SimpleNamespace

from django.test import override_settings

from salesdesk.analytics.review import RepStatus
from salesdesk.analytics.templatetags.reviews import review_row
from tests.factories import TeamFactory, UserFactory


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def _progress(metric: str, percent: int, status: str):
    goal = SimpleNamespace(get_metric_display=lambda: metric)
    return SimpleNamespace(goal=goal, attainment_percent=percent, status=status)


@override_settings(TIME_ZONE="Europe/Berlin")
def test_a_row_with_goals_a_past_review_and_deals_to_act_on(db):
    team = TeamFactory(name="East & West")
    rep = UserFactory(full_name="Eve <Evil>", team=team)
    row = RepStatus(
        rep=rep,
        last_review_at=datetime.datetime(2026, 3, 1, 23, 30, tzinfo=datetime.UTC),
        open_deals=1,
        stale=2,
        no_next_step=0,
        overdue_close=3,
        goals=[_progress("Won revenue", 85, "on_track"), _progress("Deals won", 40, "behind")],
    )

    html = review_row(row)

    assert f'<li class="list-group-item" id="rep-{rep.pk}">' in html
    assert f'href="/reviews/{rep.pk}/"' in html
    assert "Eve &lt;Evil&gt;" in html
    assert "East &amp; West · " in html
    # 2 March in Berlin, the current time zone (1 March in UTC); so long ago that one is due
    assert "last 1:1 02/03/2026" in _text(html)
    assert '<span class="badge text-bg-warning">1:1 due</span>' in html
    text = _text(html)
    assert "Won revenue 85%" in text
    assert "Deals won 40%" in text
    assert "1 open deal " in text + " "
    assert "2 stale" in text
    assert "3 past close date" in text
    assert "without next step" not in text
    assert "No goal" not in text


def test_a_row_without_goals_review_or_team(db):
    rep = UserFactory(full_name="Nina New", team=None)
    row = RepStatus(
        rep=rep, last_review_at=None, open_deals=0, stale=0, no_next_step=4, overdue_close=0
    )

    text = _text(review_row(row))

    assert text.startswith("Nina New 1:1 due no 1:1 yet")
    assert "No goal" in text
    assert "0 open deals" in text
    assert "4 without next step" in text
    assert "stale" not in text
    assert "·" not in text
