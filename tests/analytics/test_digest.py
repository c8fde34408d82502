"""The weekly digest: who gets it when, what it says, and that it goes out once a week."""

import datetime
import types
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from salesdesk.accounts.models import User
from salesdesk.activities.models import Activity
from salesdesk.analytics import digest, tasks
from salesdesk.analytics.models import DigestSent
from salesdesk.pipeline.models import Deal
from tests.factories import ActivityFactory, DealFactory, GoalFactory, UserFactory

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
MONDAY = datetime.date(2026, 3, 16)
# 07:10 UTC on Monday 16 March 2026: 08:10 in Berlin (CET), 00:10 in Los Angeles (PDT).
NOW = datetime.datetime(2026, 3, 16, 7, 10, tzinfo=UTC)
SITE = "https://crm.example.com"


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SALESDESK_BASE_URL = SITE + "/"


@pytest.fixture
def zones(cast):
    """Alice in UTC, Bob in Berlin, Carol in Los Angeles (the manager and the rest in UTC)."""
    for user, name in [(cast.bob, "Europe/Berlin"), (cast.carol, "America/Los_Angeles")]:
        user.timezone = name
        user.save(update_fields=["timezone"])
    return cast


def due_at(now) -> dict[str, datetime.date]:
    emails = dict(User.objects.values_list("pk", "email"))
    return {emails[pk]: week for pk, week in digest.due_recipients(now=now)}


# --- Who is due when ------------------------------------------------------------------------


IN_UTC = {
    "admin@salesdesk.test",
    "manager@salesdesk.test",
    "alice@salesdesk.test",
    "olaf@salesdesk.test",
}
BOB = {"bob@salesdesk.test"}
CAROL = {"carol@salesdesk.test"}


@pytest.mark.parametrize(
    ("now", "due"),
    [
        (at(2026, 3, 16, 5, 59), set()),  # 06:59 in Berlin (CET, UTC+1)
        (at(2026, 3, 16, 6, 0), BOB),  # 07:00 in Berlin
        (at(2026, 3, 16, 6, 59), BOB),  # 07:59 in Berlin, 06:59 in UTC
        (at(2026, 3, 16, 7, 0), IN_UTC),  # 08:00 in Berlin
        (at(2026, 3, 16, 7, 59), IN_UTC),
        (at(2026, 3, 16, 8, 0), set()),
        (at(2026, 3, 16, 14, 15), CAROL),  # 07:15 in Los Angeles (PDT since 8 March, UTC-7)
        (at(2026, 3, 16, 15, 0), set()),  # 08:00 in Los Angeles
        (at(2026, 3, 15, 14, 0), set()),  # 07:00 in Los Angeles on the Sunday
        (at(2026, 3, 17, 7, 0), set()),  # a Tuesday
        (at(2026, 6, 15, 5, 0), BOB),  # 07:00 in Berlin in summer (CEST, UTC+2)
        (at(2026, 6, 15, 6, 0), set()),  # 08:00 in Berlin in summer, 06:00 in UTC
    ],
)
def test_the_digest_is_due_on_monday_at_seven_in_each_users_time_zone(zones, now, due):
    found = due_at(now)

    assert set(found) == due
    assert all(week == now.date() for week in found.values())  # that Monday, locally


def test_deactivated_users_and_weeks_already_sent_are_not_due(zones):
    zones.alice.is_active = False
    zones.alice.save(update_fields=["is_active"])
    DigestSent.objects.create(user=zones.manager, week_start=MONDAY)
    DigestSent.objects.create(user=zones.admin, week_start=MONDAY - datetime.timedelta(days=7))

    assert set(due_at(NOW)) == {"admin@salesdesk.test", "olaf@salesdesk.test"}


# --- What it says ---------------------------------------------------------------------------


@pytest.fixture
def week(cast, pipeline):
    """Alice's last week (9 to 15 March, UTC) and her quarter; Carol's, in another team."""
    lead = pipeline.stages.get(name="Lead")

    def won(owner, amount, closed_at, title):
        return DealFactory(
            owner=owner,
            stage=lead,
            title=title,
            amount=Decimal(amount),
            status=Deal.Status.WON,
            closed_at=closed_at,
        )

    won(cast.alice, "3000", at(2026, 3, 10, 12), "Globex")
    won(cast.alice, "500", at(2026, 3, 15, 23, 30), "Initech")
    won(cast.alice, "9999", at(2026, 3, 16, 0, 30), "This week")  # this week: the goal only
    won(cast.carol, "7777", at(2026, 3, 10, 12), "Carol's")
    DealFactory(
        owner=cast.alice,
        stage=lead,
        title="Stale Co",
        amount=Decimal("1200"),
        stage_entered_at=NOW - datetime.timedelta(days=30),
        expected_close=datetime.date(2026, 4, 1),
        created_at=at(2026, 1, 5),
    )
    ActivityFactory(owner=cast.alice, occurred_at=at(2026, 3, 9, 0, 0))
    ActivityFactory(owner=cast.alice, occurred_at=at(2026, 3, 13, 9))
    ActivityFactory(owner=cast.alice, occurred_at=at(2026, 3, 8, 23, 59))  # the week before
    ActivityFactory(
        owner=cast.alice,
        kind=Activity.Kind.TASK,
        occurred_at=at(2026, 3, 1),
        due_at=at(2026, 3, 11),
        done_at=at(2026, 3, 12),
    )
    ActivityFactory(
        owner=cast.alice,
        kind=Activity.Kind.TASK,
        occurred_at=at(2026, 3, 1),
        due_at=at(2026, 3, 12),
    )
    ActivityFactory(owner=cast.carol, occurred_at=at(2026, 3, 13, 9))
    GoalFactory(user=cast.alice, period_start=datetime.date(2026, 1, 1), target=Decimal("10000"))
    return cast


def test_a_managers_digest_sums_up_each_rep_of_the_team(week):
    built = digest.build(week.manager, week_start=MONDAY, now=NOW)

    assert (built.kind, built.last_week_start) == ("team", datetime.date(2026, 3, 9))
    assert [line.rep for line in built.lines] == [week.alice, week.bob]
    alice, bob = built.lines
    assert (alice.won_amount, alice.won_count, alice.activities) == (Decimal("3500.00"), 2, 3)
    assert (alice.stale, alice.overdue_tasks) == (1, 1)
    # 3000 + 500 + 9999 won this quarter against 10000
    assert (alice.goal.achieved, alice.goal.attainment_percent) == (Decimal("13499.00"), 135)
    assert (bob.won_amount, bob.won_count, bob.activities, bob.goal) == (
        Decimal("0.00"),
        0,
        0,
        None,
    )
    assert (built.total.won_amount, built.total.won_count, built.total.activities) == (
        Decimal("3500.00"),
        2,
        3,
    )


def test_the_managers_email_has_the_figures_in_text_and_html(week):
    assert digest.send_digest(user_id=week.manager.pk, now=NOW) == digest.SENT

    [message] = mail.outbox
    assert message.to == ["manager@salesdesk.test"]
    assert message.subject == "Your team's week · 16 Mar 2026"
    text = message.body
    assert (
        "Alice East\n  Won last week: EUR 3,500.00 (2 deals)\n  Activities last week: 3\n" in text
    )
    assert "  Revenue goal Q1 FY2026: 135% of EUR 10,000.00 (reached)\n" in text
    assert "  Stale deals: 1 · Overdue tasks: 1\n" in text
    assert f"  Scorecard: {SITE}/reviews/{week.alice.pk}/\n" in text
    assert "Bob East\n  Won last week: EUR 0.00 (0 deals)" in text
    assert "Revenue goal Q1 FY2026: none set" in text
    assert "Team total\n  Won last week: EUR 3,500.00 (2 deals)" in text
    assert f"Team dashboard: {SITE}/dashboards/team/" in text
    assert "Carol" not in text
    assert "7,777" not in text
    [(html, kind)] = message.alternatives
    assert kind == "text/html"
    assert f'<td><a href="{SITE}/reviews/{week.alice.pk}/">Alice East</a></td>' in html
    assert "<td>EUR 3,500.00</td>\n        <td>2</td>\n        <td>3</td>" in html
    assert '<span class="reached">135%</span>' in html
    assert '<td class="alert">1</td>' in html
    assert "<tfoot>\n      <tr><td>Team</td><td>EUR 3,500.00</td><td>2</td><td>3</td>" in html
    assert "Carol" not in html


def test_a_reps_email_has_goals_last_week_and_focus_deals(week):
    week.alice.timezone = "Europe/Berlin"
    week.alice.locale = "de"
    week.alice.save(update_fields=["timezone", "locale"])
    stale = Deal.objects.get(title="Stale Co")

    assert digest.send_digest(user_id=week.alice.pk, week_start=MONDAY, now=NOW) == digest.SENT

    [message] = mail.outbox
    assert message.subject == "Your week ahead · 16 Mar 2026"
    text = message.body
    # German number formats; Berlin's last week began at 23:00 UTC on 8 March, so the call at
    # 23:59 UTC on the 8th counts and the win at 23:30 UTC on the 15th (the 16th there) not.
    assert "- Won revenue: EUR 13.499,00 of EUR 10.000,00 (135%, reached)\n" in text
    assert "- Won: EUR 3.000,00 (1 deal)\n- Activities: 4\n- Overdue tasks now: 1\n" in text
    assert "Stale: 1\n- Stale Co · EUR 1.200,00 · Lead · closes 01.04.2026\n" in text
    assert f"  {SITE}/deals/{stale.pk}/\n" in text
    assert f"Your scorecard: {SITE}/reviews/{week.alice.pk}/" in text
    [(html, _)] = message.alternatives
    assert f'<a href="{SITE}/deals/{stale.pk}/">Stale Co</a> · EUR 1.200,00 · Lead' in html
    assert "<h3>Stale (1)</h3>" in html
    assert '(135%, <span class="reached">reached</span>)' in html


def test_an_admin_without_a_team_gets_no_digest(cast):
    assert digest.send_digest(user_id=cast.admin.pk, now=NOW) == digest.NOTHING_TO_SEND
    assert mail.outbox == []
    assert DigestSent.objects.count() == 0


def test_building_a_team_digest_takes_the_same_queries_for_any_team_size(
    week, django_assert_num_queries
):
    manager = User.objects.get(pk=week.manager.pk)
    with django_assert_num_queries(13):
        digest.build(manager, week_start=MONDAY, now=NOW)
    for _ in range(5):
        UserFactory(team=week.alice.team)

    manager = User.objects.get(pk=week.manager.pk)  # nothing cached from the first build
    with django_assert_num_queries(13):
        built = digest.build(manager, week_start=MONDAY, now=NOW)

    assert len(built.lines) == 7


# --- Once a week ----------------------------------------------------------------------------


def test_a_second_send_in_the_same_week_sends_nothing(week):
    assert digest.send_digest(user_id=week.alice.pk, now=NOW) == digest.SENT
    later = NOW + datetime.timedelta(days=3)
    assert digest.send_digest(user_id=week.alice.pk, now=later) == digest.ALREADY_SENT
    assert len(mail.outbox) == 1
    assert list(DigestSent.objects.values_list("user_id", "week_start", "kind")) == [
        (week.alice.pk, MONDAY, "weekly")
    ]
    next_week = NOW + datetime.timedelta(days=7)
    assert digest.send_digest(user_id=week.alice.pk, now=next_week) == digest.SENT
    assert len(mail.outbox) == 2


def test_a_worker_that_loses_the_race_sends_nothing(week, monkeypatch):
    build = digest.build

    def other_worker_claims_first(user, **kwargs):
        DigestSent.objects.create(user=user, week_start=kwargs["week_start"])
        return build(user, **kwargs)

    monkeypatch.setattr(digest, "build", other_worker_claims_first)

    assert digest.send_digest(user_id=week.alice.pk, now=NOW) == digest.ALREADY_SENT
    assert mail.outbox == []
    assert DigestSent.objects.count() == 1


def test_a_failed_send_gives_the_week_back_for_a_retry(week, monkeypatch):
    def broken(self, fail_silently=False):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", broken)

    with pytest.raises(ConnectionRefusedError):
        digest.send_digest(user_id=week.alice.pk, now=NOW)

    assert DigestSent.objects.count() == 0


def test_the_hourly_job_sends_to_those_due_once(week, monkeypatch):
    # 07:00 in Berlin: only Bob is due; the job running twice sends him one digest.
    week.bob.timezone = "Europe/Berlin"
    week.bob.save(update_fields=["timezone"])
    monkeypatch.setattr(tasks, "timezone", types.SimpleNamespace(now=lambda: at(2026, 3, 16, 6)))

    assert tasks.digest_hourly.call_local() == 1
    assert tasks.digest_hourly.call_local() == 0

    assert [message.to for message in mail.outbox] == [["bob@salesdesk.test"]]
    assert DigestSent.objects.get().week_start == MONDAY


def test_the_job_runs_through_huey(week, monkeypatch):
    monkeypatch.setattr(tasks, "timezone", types.SimpleNamespace(now=lambda: at(2026, 3, 16, 7)))

    tasks.digest_hourly()  # Huey keeps no result of a periodic task

    # Everyone is in UTC; the admin manages no team and gets none.
    assert sorted(message.to[0] for message in mail.outbox) == [
        "alice@salesdesk.test",
        "bob@salesdesk.test",
        "carol@salesdesk.test",
        "manager@salesdesk.test",
        "olaf@salesdesk.test",
    ]


# --- The command ----------------------------------------------------------------------------


def test_send_digest_command_sends_now_once_unless_forced(week, capsys):
    call_command("send-digest", "--user", "ALICE@salesdesk.test")
    call_command("send-digest", "--user", "alice@salesdesk.test")
    call_command("send-digest", "--user", "alice@salesdesk.test", "--force")

    output = capsys.readouterr().out.splitlines()
    week_start = digest.week_start_for(week.alice, datetime.datetime.now(UTC))
    assert output == [
        f"alice@salesdesk.test: sent (week of {week_start:%Y-%m-%d})",
        "1 digest sent.",
        f"alice@salesdesk.test: already sent this week (week of {week_start:%Y-%m-%d})",
        "0 digests sent.",
        f"alice@salesdesk.test: sent (week of {week_start:%Y-%m-%d})",
        "1 digest sent.",
    ]
    assert len(mail.outbox) == 2
    assert DigestSent.objects.count() == 1


def test_send_digest_command_for_everyone(week, capsys):
    call_command("send-digest")

    assert sorted(message.to[0] for message in mail.outbox) == [
        "alice@salesdesk.test",
        "bob@salesdesk.test",
        "carol@salesdesk.test",
        "manager@salesdesk.test",
        "olaf@salesdesk.test",
    ]
    assert "admin@salesdesk.test: nothing to send" in capsys.readouterr().out


def test_send_digest_command_refuses_an_unknown_user(cast):
    with pytest.raises(CommandError, match=r"No active user with the e-mail address x@y\.z"):
        call_command("send-digest", "--user", "x@y.z")
