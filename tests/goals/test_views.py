"""The goals page and the forms that set goals."""

import datetime
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from salesdesk.goals.models import Goal
from salesdesk.goals.periods import current_period
from salesdesk.pipeline.models import Deal
from tests.factories import DealFactory, GoalFactory, UserFactory

pytestmark = pytest.mark.django_db

D = datetime.date


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def quarter(org):
    """The current quarter (the page's default), in UTC with a calendar fiscal year."""
    return current_period("quarter", now=timezone.now(), tz="UTC")


def figure(html: str, goal: Goal, name: str) -> str:
    """The text of one figure of one goal's card, whitespace collapsed."""
    card = html.split(f'id="goal-{goal.pk}"', 1)[1]
    match = re.search(rf'data-figure="{name}">(.*?)</dd>', card, re.S)
    text = re.sub(r"<[^>]+>", " ", match.group(1))
    return " ".join(text.split())


@pytest.fixture
def goals(cast, pipeline, quarter):
    """East: a team goal adding up Alice's 10 000 and Bob's 5 000; Alice won 4000 so far."""
    start, _ = quarter.bounds("UTC")
    DealFactory(
        stage=pipeline.stages.first(),
        owner=cast.alice,
        amount=Decimal("4000"),
        status=Deal.Status.WON,
        closed_at=start,
    )
    kwargs = {"period_kind": "quarter", "period_start": quarter.start}
    return {
        "east": GoalFactory(team=cast.alice.team, target=None, **kwargs),
        "alice": GoalFactory(user=cast.alice, target=Decimal("10000"), **kwargs),
        "bob": GoalFactory(user=cast.bob, target=Decimal("5000"), **kwargs),
        "carol": GoalFactory(user=cast.carol, target=Decimal("7000"), **kwargs),
    }


def test_the_page_shows_the_current_quarters_goals_with_their_progress(cast, goals, quarter):
    response = client_for(cast.manager).get("/goals/")

    html = response.content.decode()
    assert response.status_code == 200
    assert f"<title>Goals · {quarter.label} · Salesdesk</title>" in html
    assert figure(html, goals["east"], "target") == "EUR 15,000.00 sum of members' goals"
    assert figure(html, goals["east"], "achieved") == "EUR 4,000.00 (27%)"
    assert 'value="40"' in html.split(f'id="goal-{goals["alice"].pk}"', 1)[1]
    assert "Carol West" not in html  # West is not the manager's team
    # A member's figures load when their row is opened.
    assert f'hx-get="/goals/{goals["alice"].pk}/figures/"' in html
    details = client_for(cast.manager).get(f"/goals/{goals['alice'].pk}/figures/")
    member = f'<div id="goal-{goals["alice"].pk}">{details.content.decode()}</div>'
    assert figure(member, goals["alice"], "target") == "EUR 10,000.00"
    assert figure(member, goals["alice"], "achieved") == "EUR 4,000.00 (40%)"
    assert figure(member, goals["alice"], "gap") == "EUR 6,000.00"


def test_a_members_figures_load_for_whoever_sees_the_goal(cast, goals):
    path = f"/goals/{goals['alice'].pk}/figures/"

    assert client_for(cast.bob).get(path).status_code == 200  # the whole team sees its goals
    assert (
        f"/goals/{goals['alice'].pk}/edit/" not in client_for(cast.bob).get(path).content.decode()
    )
    assert client_for(cast.carol).get(path).status_code == 404  # another team's
    assert client_for(cast.manager).get("/goals/999999/figures/").status_code == 404


def test_other_teams_members_load_when_their_card_is_opened(cast, goals):
    """The admin belongs to no team: every team's card counts its members, and lists them
    when opened; the manager's own team is listed at once."""
    html = client_for(cast.admin).get("/goals/").content.decode()
    own = client_for(cast.manager).get("/goals/").content.decode()
    members = client_for(cast.admin).get(f"/goals/{goals['east'].pk}/members/")

    assert "Members (2)" in html
    assert f'hx-get="/goals/{goals["east"].pk}/members/"' in html
    assert f'id="goal-{goals["alice"].pk}"' not in html
    assert f'id="goal-{goals["alice"].pk}"' in own
    assert members.status_code == 200
    listed = members.content.decode()
    assert "Alice East" in listed
    assert "Bob East" in listed
    assert f'hx-get="/goals/{goals["alice"].pk}/figures/"' in listed
    assert client_for(cast.carol).get(f"/goals/{goals['east'].pk}/members/").status_code == 404
    assert client_for(cast.admin).get(f"/goals/{goals['alice'].pk}/members/").status_code == 404


def test_a_rep_sees_the_goals_of_their_team_but_cannot_change_them(cast, goals):
    response = client_for(cast.bob).get("/goals/")

    html = response.content.decode()
    assert "Alice East" in html
    assert f"/goals/{goals['alice'].pk}/edit/" not in html
    assert "Add a goal" not in html


def test_managers_get_edit_links_for_their_teams_goals(cast, goals):
    html = client_for(cast.manager).get("/goals/").content.decode()
    member = client_for(cast.manager).get(f"/goals/{goals['alice'].pk}/figures/")

    assert f"/goals/{goals['alice'].pk}/edit/" in member.content.decode()
    assert f"/goals/{goals['east'].pk}/delete/" in html
    assert "Add a goal" in html


def test_a_period_parameter_picks_the_period_and_a_bad_one_is_explained(cast, goals, quarter):
    other = client_for(cast.manager).get("/goals/", {"period": quarter.next().key})
    bad = client_for(cast.manager).get("/goals/", {"period": "fy2026-q9"})
    far = client_for(cast.manager).get("/goals/", {"period": "fy9999"})

    assert f"No goals for {quarter.next().label} yet" in other.content.decode()
    assert bad.status_code == far.status_code == 200
    assert "Not a period: &#x27;fy2026-q9&#x27;" in bad.content.decode()
    assert f"Showing {quarter.label}." in bad.content.decode()
    assert "Pick a period between 1900 and 2999." in far.content.decode()


def test_the_empty_page_tells_a_manager_how_to_add_goals_and_a_rep_that_none_is_set(cast, org):
    manager = client_for(cast.manager).get("/goals/").content.decode()
    rep = client_for(cast.alice).get("/goals/").content.decode()

    assert "Set a goal for each rep or for a whole team" in manager
    assert "Copy the goals of" in manager
    assert "No goal is set for" in rep
    assert "Add a goal" not in rep


def test_an_htmx_request_gets_the_goals_only(cast, goals, quarter):
    response = client_for(cast.manager).get(
        "/goals/", {"period": quarter.key}, headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="goal-page">')
    assert "<html" not in html


def test_the_page_needs_few_queries_whatever_the_number_of_goals(
    cast, goals, quarter, django_assert_num_queries
):
    client = client_for(cast.manager)
    # Session, user, settings (view and selector), managed teams, goals, members' goals, won,
    # expected.
    with django_assert_num_queries(9):
        client.get("/goals/")
    for n in range(10):
        rep = UserFactory(team=cast.alice.team)
        GoalFactory(user=rep, period_kind="quarter", period_start=quarter.start, target=1000 + n)
        GoalFactory(
            user=rep,
            period_kind="quarter",
            period_start=quarter.start,
            metric="deals_won",
            target=3,
        )
    with django_assert_num_queries(9):
        client.get("/goals/")


def form_data(**fields) -> dict:
    return {
        "metric": "won_revenue",
        "activity_kind": "",
        "target": "",
        "ramp": "",
        "ramp_start": "",
        **fields,
    }


def test_a_manager_sets_a_ramped_goal_for_a_rep(cast, quarter):
    response = client_for(cast.manager).post(
        "/goals/new/",
        form_data(
            owner=f"user:{cast.alice.pk}",
            period=quarter.key,
            target="30000",
            ramp="25, 50 ,75%",
            ramp_start=f"{quarter.start:%Y-%m}",
        ),
    )

    goal = Goal.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/goals/?period={quarter.key}"
    assert (goal.user, goal.team, goal.period_kind, goal.period_start) == (
        cast.alice,
        None,
        "quarter",
        quarter.start,
    )
    assert (goal.target, goal.ramp, goal.ramp_start) == (
        Decimal("30000.00"),
        [25, 50, 75],
        quarter.start,
    )
    assert goal.created_by == cast.manager


def test_a_manager_sets_a_team_goal_that_adds_up_its_members(cast, quarter):
    client_for(cast.manager).post(
        "/goals/new/", form_data(owner=f"team:{cast.alice.team_id}", period=quarter.key)
    )

    goal = Goal.objects.get()
    assert (goal.team, goal.target) == (cast.alice.team, None)


def test_the_form_offers_only_the_managers_teams_and_their_members(cast, quarter):
    html = client_for(cast.manager).get("/goals/new/").content.decode()

    assert f'value="user:{cast.alice.pk}"' in html
    assert f'value="team:{cast.alice.team_id}"' in html
    assert f'value="user:{cast.carol.pk}"' not in html
    assert f'value="team:{cast.carol.team_id}"' not in html
    assert f'<option value="{quarter.key}" selected>' in html


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"ramp": "25, fifty"}, "Write whole percents from 0 to 100"),
        ({"ramp": "25, 150", "ramp_start": "2026-01"}, "Write whole percents from 0 to 100"),
        ({"ramp": "25, 50"}, "Say in which month the ramp starts."),
        ({"ramp_start": "2026-13"}, "Pick a month (YYYY-MM)."),
        ({"target": "-5"}, "Ensure this value is greater than or equal to 0."),
        ({"target": ""}, "Give the rep&#x27;s goal a target."),
        ({"activity_kind": "call"}, "Only an activities goal counts one kind of activity."),
        ({"period": "fy2026-q9"}, "Not a period: &#x27;fy2026-q9&#x27;."),
        ({"period": "fy9999"}, "Pick a period between 1900 and 2999."),
        ({"period": ""}, "This field is required."),
        ({"owner": f"user:{10**9}"}, "Select a valid choice."),
    ],
)
def test_bad_input_is_shown_next_to_the_field_and_nothing_is_saved(cast, quarter, fields, message):
    data = form_data(owner=f"user:{cast.alice.pk}", period=quarter.key, target="1000")
    response = client_for(cast.manager).post("/goals/new/", {**data, **fields})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert 'class="invalid-feedback d-block"' in response.content.decode()
    assert not Goal.objects.exists()


def test_a_team_goal_cannot_ramp_and_a_duplicate_is_refused_above_the_form(cast, quarter):
    GoalFactory(user=cast.alice, period_kind="quarter", period_start=quarter.start)
    client = client_for(cast.manager)

    ramp = client.post(
        "/goals/new/",
        form_data(
            owner=f"team:{cast.alice.team_id}",
            period=quarter.key,
            ramp="50",
            ramp_start=f"{quarter.start:%Y-%m}",
        ),
    )
    duplicate = client.post(
        "/goals/new/", form_data(owner=f"user:{cast.alice.pk}", period=quarter.key, target="5")
    )

    assert "Only a rep&#x27;s goal can ramp." in ramp.content.decode()
    assert "Alice East already has a won revenue goal for this period." in (
        duplicate.content.decode()
    )
    assert 'class="alert alert-danger"' in duplicate.content.decode()
    assert Goal.objects.count() == 1


def test_reps_are_told_they_cannot_set_goals(cast, quarter):
    client = client_for(cast.alice)

    page = client.get("/goals/new/")
    post = client.post(
        "/goals/new/", form_data(owner=f"user:{cast.alice.pk}", period=quarter.key, target="1")
    )

    assert page.status_code == 200
    assert "Only managers and admins set goals" in page.content.decode()
    assert 'card card-body" method="post"' not in page.content.decode()
    assert post.status_code == 403
    assert not Goal.objects.exists()


def test_a_manager_edits_a_goal(cast, goals, quarter):
    goal = goals["alice"]
    page = client_for(cast.manager).get(f"/goals/{goal.pk}/edit/")
    response = client_for(cast.manager).post(
        f"/goals/{goal.pk}/edit/",
        form_data(period=quarter.key, target="12000", ramp="50", ramp_start="2026-01"),
    )

    goal.refresh_from_db()
    assert 'value="10000.00"' in page.content.decode()
    assert "For <strong>Alice East</strong>" in page.content.decode()
    assert response.status_code == 302
    assert (goal.target, goal.ramp, goal.ramp_start) == (Decimal("12000.00"), [50], D(2026, 1, 1))


def test_goals_outside_the_managers_teams_are_not_found_and_reps_cannot_edit(cast, goals, quarter):
    manager, rep = client_for(cast.manager), client_for(cast.alice)
    data = form_data(period=quarter.key, target="1")

    assert manager.get(f"/goals/{goals['carol'].pk}/edit/").status_code == 404
    assert manager.post(f"/goals/{goals['carol'].pk}/delete/").status_code == 404
    assert rep.get(f"/goals/{goals['alice'].pk}/edit/").status_code == 200
    assert rep.post(f"/goals/{goals['alice'].pk}/edit/", data).status_code == 403
    assert rep.post(f"/goals/{goals['alice'].pk}/delete/").status_code == 403
    assert rep.get(f"/goals/{10**9}/edit/").status_code == 404
    assert Goal.objects.get(pk=goals["alice"].pk).target == Decimal("10000.00")


def test_a_manager_deletes_a_goal_after_confirming(cast, goals, quarter):
    client = client_for(cast.manager)
    goal = goals["bob"]

    page = client.get(f"/goals/{goal.pk}/delete/")
    response = client.post(f"/goals/{goal.pk}/delete/")

    assert "Delete this goal?" in page.content.decode()
    assert response.status_code == 302
    assert response["Location"] == f"/goals/?period={quarter.key}"
    assert not Goal.objects.filter(pk=goal.pk).exists()


def test_a_manager_copies_a_periods_goals_to_the_next(cast, goals, quarter):
    client = client_for(cast.manager)

    response = client.post("/goals/roll-over/", {"period": quarter.key})
    again = client.post("/goals/roll-over/", {"period": quarter.key}, follow=True)

    assert response.status_code == 302
    assert response["Location"] == f"/goals/?period={quarter.next().key}"
    assert Goal.objects.filter(period_start=quarter.next().start).count() == 3
    assert "Copied 0 goals" in again.content.decode()
    assert "3 were there already" in again.content.decode()
    assert client.get("/goals/roll-over/").status_code == 405
    assert client.post("/goals/roll-over/", {"period": "nope"}).status_code == 302
