"""The account pages (profile, password, API tokens, password reset) and the admin pages for
users, teams and the organization."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from salesdesk.accounts.models import ApiToken, OrganizationSettings, Role, Team, User
from salesdesk.accounts.services import api_token_authenticate, api_token_create
from salesdesk.activities.models import Activity
from salesdesk.core.models import AuditEntry
from salesdesk.pipeline.models import Deal
from tests.factories import (
    PASSWORD,
    ActivityFactory,
    CompanyFactory,
    ContactFactory,
    DealFactory,
    TeamFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 42"


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def can_sign_in(email: str, password: str) -> bool:
    client = Client()
    client.post("/login/", {"username": email, "password": password})
    return "_auth_user_id" in client.session


def link_in(message) -> str:
    """The path of the one link in an e-mail body."""
    urls = re.findall(r"https?://[^\s]+", message.body)
    assert len(urls) == 1, message.body
    return re.sub(r"^https?://[^/]+", "", urls[0])


def main_of(response) -> str:
    """The page's <main>, where the answer is (the layout differs only in CSRF tokens)."""
    page = response.content.decode()
    return page[page.index("<main") : page.index("</main>")]


# --- Profile -------------------------------------------------------------------------------


def test_profile_shows_the_email_read_only_and_the_current_settings(cast):
    page = signed_in(cast.alice).get("/account/").content.decode()

    assert 'value="alice@salesdesk.test" readonly' in page
    assert '<label class="form-label" for="id_timezone">Time zone</label>' in page
    assert '<option value="UTC" selected>UTC</option>' in page
    assert '<optgroup label="Common">' in page
    assert '<option value="Pacific/Auckland">Pacific/Auckland</option>' in page


def test_profile_update_saves_name_time_zone_and_locale(cast):
    client = signed_in(cast.alice)

    response = client.post(
        "/account/",
        {"full_name": "Alice Eastwood", "timezone": "Asia/Tokyo", "locale": "en-us"},
        follow=True,
    )

    assert response.redirect_chain == [("/account/", 302)]
    assert "Your profile is saved." in response.content.decode()
    cast.alice.refresh_from_db()
    assert (cast.alice.full_name, cast.alice.timezone, cast.alice.locale) == (
        "Alice Eastwood",
        "Asia/Tokyo",
        "en-us",
    )
    assert cast.alice.email == "alice@salesdesk.test"


def test_profile_ignores_an_email_sent_with_the_form(cast):
    signed_in(cast.alice).post(
        "/account/",
        {"full_name": "A", "timezone": "UTC", "locale": "en-gb", "email": "evil@x.test"},
    )

    cast.alice.refresh_from_db()
    assert cast.alice.email == "alice@salesdesk.test"


def test_profile_refuses_an_unknown_time_zone_and_changes_nothing(cast):
    response = signed_in(cast.alice).post(
        "/account/", {"full_name": "Changed", "timezone": "Mars/Olympus", "locale": "xx"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="id_timezone_error"' in page
    assert 'id="id_locale_error"' in page
    assert 'aria-describedby="id_timezone_helptext id_timezone_error"' in page
    cast.alice.refresh_from_db()
    assert (cast.alice.full_name, cast.alice.timezone) == ("Alice East", "UTC")


def test_changing_the_time_zone_changes_how_times_are_shown(cast):
    token, _ = api_token_create(user=cast.alice, name="Script")
    ApiToken.objects.filter(pk=token.pk).update(
        created_at=datetime.datetime(2025, 3, 4, 9, 30, tzinfo=datetime.UTC)
    )
    client = signed_in(cast.alice)
    assert "<td>04/03/2025 9:30 a.m.</td>" in client.get("/account/tokens/").content.decode()

    client.post("/account/", {"full_name": "Alice", "timezone": "Asia/Tokyo", "locale": "en-gb"})

    page = client.get("/account/tokens/").content.decode()
    assert "<td>04/03/2025 6:30 p.m.</td>" in page
    assert "9:30" not in page


def test_account_pages_need_sign_in(client):
    for path in (
        "/account/",
        "/account/password/",
        "/account/tokens/",
        "/account/tokens/1/revoke/",
    ):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == f"/login/?next={path}"


# --- Password change -----------------------------------------------------------------------


def test_password_change_keeps_the_user_signed_in(cast):
    client = signed_in(cast.alice)

    response = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert client.get("/account/").status_code == 200
    assert can_sign_in("alice@salesdesk.test", NEW_PASSWORD)
    assert not can_sign_in("alice@salesdesk.test", PASSWORD)


def test_password_change_refuses_a_wrong_old_password(cast):
    response = signed_in(cast.alice).post(
        "/account/password/",
        {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 200
    assert 'id="id_old_password_error"' in response.content.decode()
    assert can_sign_in("alice@salesdesk.test", PASSWORD)


# --- API tokens ----------------------------------------------------------------------------


def test_a_new_token_is_shown_once_and_works(cast):
    client = signed_in(cast.alice)

    response = client.post("/account/tokens/", {"name": "Zapier"})

    assert response.status_code == 302
    assert response["Location"] == "/account/tokens/created/"
    shown = client.get("/account/tokens/created/")
    assert shown["Cache-Control"] == "no-store"
    key = re.search(r'id="new-token" value="([^"]+)"', shown.content.decode()).group(1)
    assert api_token_authenticate(key) == cast.alice
    again = client.get("/account/tokens/created/", follow=True)
    assert again.redirect_chain == [("/account/tokens/", 302)]
    assert key not in again.content.decode()
    assert "A token is shown only once" in again.content.decode()
    token = ApiToken.objects.get(user=cast.alice)
    assert token.name == "Zapier"
    assert f"sd_{token.prefix}…" in again.content.decode()


def test_a_token_needs_a_name(cast):
    response = signed_in(cast.alice).post("/account/tokens/", {"name": "  "})

    assert response.status_code == 200
    assert 'id="id_name_error"' in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_a_token_asks_first_then_stops_it(cast):
    token, key = api_token_create(user=cast.alice, name="Old script")
    client = signed_in(cast.alice)

    confirm = client.get(f"/account/tokens/{token.pk}/revoke/")
    assert "Revoke the token “Old script”?" in confirm.content.decode()
    assert api_token_authenticate(key) == cast.alice

    response = client.post(f"/account/tokens/{token.pk}/revoke/", follow=True)

    assert "The token “Old script” is revoked" in response.content.decode()
    assert "Revoked" in response.content.decode()
    assert api_token_authenticate(key) is None


def test_nobody_sees_or_revokes_another_users_token(cast):
    token, key = api_token_create(user=cast.alice, name="Mine")
    client = signed_in(cast.admin)

    assert client.get(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert "Mine" not in client.get("/account/tokens/").content.decode()
    assert api_token_authenticate(key) == cast.alice


def test_token_list_query_count(cast, django_assert_num_queries):
    for n in range(5):
        api_token_create(user=cast.alice, name=f"Token {n}")
    client = signed_in(cast.alice)
    # session, user, tokens
    with django_assert_num_queries(3):
        response = client.get("/account/tokens/")
    assert response.content.decode().count("/revoke/") == 5


def test_profile_query_count(cast, django_assert_num_queries):
    client = signed_in(cast.alice)
    with django_assert_num_queries(2):  # session, user
        client.get("/account/")


# --- Password reset ------------------------------------------------------------------------


def test_password_reset_end_to_end(cast):
    client = Client()

    response = client.post("/password-reset/", {"email": "Alice@Salesdesk.test"})

    assert response.status_code == 302
    assert response["Location"] == "/password-reset/sent/"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@salesdesk.test"]
    assert message.subject == "Reset your Salesdesk password"
    link = link_in(message)
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done["Location"] == "/reset/done/"
    assert can_sign_in("alice@salesdesk.test", NEW_PASSWORD)
    assert not can_sign_in("alice@salesdesk.test", PASSWORD)
    # The link worked once.
    assert "This link no longer works" in client.get(link, follow=True).content.decode()


def test_password_reset_says_the_same_for_unknown_addresses(cast):
    known = Client().post("/password-reset/", {"email": "alice@salesdesk.test"}, follow=True)
    unknown = Client().post("/password-reset/", {"email": "nobody@salesdesk.test"}, follow=True)

    assert known.redirect_chain == unknown.redirect_chain == [("/password-reset/sent/", 302)]
    assert main_of(known) == main_of(unknown)
    assert len(mail.outbox) == 1


def test_password_reset_sends_nothing_to_a_deactivated_user(cast):
    User.objects.filter(pk=cast.bob.pk).update(is_active=False)

    Client().post("/password-reset/", {"email": "bob@salesdesk.test"})

    assert mail.outbox == []


def test_sign_in_page_links_to_password_reset(client):
    assert 'href="/password-reset/"' in client.get("/login/").content.decode()


# --- Users ---------------------------------------------------------------------------------


def test_user_list_shows_everyone_with_role_team_and_status(cast, django_assert_num_queries):
    UserFactory.create_batch(5, team=TeamFactory())
    User.objects.filter(pk=cast.bob.pk).update(is_active=False)
    client = signed_in(cast.admin)

    with django_assert_num_queries(3):  # session, user, users with their team
        response = client.get("/settings/users/")

    page = response.content.decode()
    assert page.count('<a href="/settings/users/') == User.objects.count()
    assert "Max Manager" in page
    assert "Sales development rep" in page
    assert "Deactivated" in page


def test_invite_sends_a_link_that_sets_a_password(cast, django_capture_on_commit_callbacks):
    east = Team.objects.get(name="East")
    client = signed_in(cast.admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/settings/users/invite/",
            {
                "email": "Nina@Salesdesk.test",
                "full_name": "Nina New",
                "role": "rep",
                "team": east.pk,
            },
            follow=True,
        )

    assert "Invitation sent to nina@salesdesk.test" in response.content.decode()
    nina = User.objects.get(email="nina@salesdesk.test")
    assert (nina.role, nina.team, nina.has_usable_password()) == (Role.REP, east, False)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["nina@salesdesk.test"]
    assert message.subject == "Ada Admin invited you to Salesdesk"
    assert "Ada Admin (admin@salesdesk.test) invited you" in message.body
    visitor = Client()
    welcome = visitor.get(link_in(message), follow=True)
    assert "Welcome, Nina" in welcome.content.decode()
    done = visitor.post(
        welcome.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done["Location"] == "/reset/done/"
    assert can_sign_in("nina@salesdesk.test", NEW_PASSWORD)


def test_invite_refuses_an_address_that_has_an_account(cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(cast.admin).post(
            "/settings/users/invite/", {"email": "ALICE@salesdesk.test", "role": "rep"}
        )

    assert response.status_code == 200
    assert "Someone with this address already has an account." in response.content.decode()
    assert User.objects.count() == 6
    assert mail.outbox == []


def test_invite_refuses_a_bad_email_and_role(cast):
    response = signed_in(cast.admin).post(
        "/settings/users/invite/", {"email": "not-an-address", "role": "boss"}
    )

    page = response.content.decode()
    assert 'id="id_email_error"' in page
    assert 'id="id_role_error"' in page
    assert User.objects.count() == 6


def test_edit_user_role_and_team(cast):
    west = Team.objects.get(name="West")

    response = signed_in(cast.admin).post(
        f"/settings/users/{cast.alice.pk}/",
        {"full_name": "Alice East", "role": "manager", "team": west.pk},
    )

    assert response.status_code == 302
    cast.alice.refresh_from_db()
    assert (cast.alice.role, cast.alice.team) == (Role.MANAGER, west)


def test_an_admin_cannot_demote_themselves(cast):
    response = signed_in(cast.admin).post(
        f"/settings/users/{cast.admin.pk}/", {"full_name": "Ada", "role": "rep", "team": ""}
    )

    assert response.status_code == 200
    assert "You cannot take away your own admin role." in response.content.decode()
    cast.admin.refresh_from_db()
    assert (cast.admin.role, cast.admin.full_name) == (Role.ADMIN, "Ada Admin")


def owned_by(user: User):
    return {
        "companies": CompanyFactory.create_batch(2, owner=user),
        "contacts": ContactFactory.create_batch(3, owner=user),
        "open_deals": DealFactory.create_batch(2, owner=user),
        "won_deal": DealFactory(
            owner=user, status=Deal.Status.WON, closed_at=timezone.now(), forecast_category="closed"
        ),
        "open_task": ActivityFactory(owner=user, kind=Activity.Kind.TASK),
        "done_task": ActivityFactory(owner=user, kind=Activity.Kind.TASK, done_at=timezone.now()),
        "call": ActivityFactory(owner=user, kind=Activity.Kind.CALL),
    }


def test_deactivated_user_cannot_sign_in_and_keeps_their_records(cast):
    records = owned_by(cast.bob)
    client = signed_in(cast.admin)
    bob_client = signed_in(cast.bob)
    page = client.get(f"/settings/users/{cast.bob.pk}/deactivate/").content.decode()
    assert "owns\n  2 companies,\n  3 contacts,\n  2 open deals and\n  1 open task." in page

    response = client.post(
        f"/settings/users/{cast.bob.pk}/deactivate/", {"reassign_to": ""}, follow=True
    )

    assert "Bob East is deactivated and can no longer sign in." in response.content.decode()
    cast.bob.refresh_from_db()
    assert cast.bob.is_active is False
    assert not can_sign_in("bob@salesdesk.test", PASSWORD)
    assert bob_client.get("/account/").status_code == 302  # the open session ends too
    for company in records["companies"]:
        company.refresh_from_db()
        assert company.owner_id == cast.bob.pk
    assert Deal.objects.filter(owner=cast.bob).count() == 3
    assert not AuditEntry.objects.exists()


def test_deactivate_with_reassignment_moves_exactly_the_open_work(cast):
    bobs = owned_by(cast.bob)
    alices = owned_by(cast.alice)
    client = signed_in(cast.admin)

    response = client.post(
        f"/settings/users/{cast.bob.pk}/deactivate/", {"reassign_to": cast.carol.pk}, follow=True
    )

    assert (
        "Moved 2 companies, 3 contacts, 2 open deals and 1 open task." in response.content.decode()
    )
    for key in ("companies", "contacts", "open_deals"):
        for record in bobs[key]:
            record.refresh_from_db()
            assert record.owner_id == cast.carol.pk, key
    for key in ("won_deal", "done_task", "call"):
        bobs[key].refresh_from_db()
        assert bobs[key].owner_id == cast.bob.pk, key
    bobs["open_task"].refresh_from_db()
    assert bobs["open_task"].owner_id == cast.carol.pk
    for key in ("companies", "contacts", "open_deals"):
        for record in alices[key]:
            record.refresh_from_db()
            assert record.owner_id == cast.alice.pk
    alices["open_task"].refresh_from_db()
    assert alices["open_task"].owner_id == cast.alice.pk
    audit = AuditEntry.objects.filter(actor=cast.admin, action="update")
    assert sorted(audit.values_list("entity", flat=True)) == sorted(
        ["crm.company"] * 2 + ["crm.contact"] * 3 + ["pipeline.deal"] * 2
    )
    assert all(e.changes == {"owner_id": [cast.bob.pk, cast.carol.pk]} for e in audit)


def test_records_of_an_inactive_user_can_be_handed_over_later(cast):
    bobs = owned_by(cast.bob)
    User.objects.filter(pk=cast.bob.pk).update(is_active=False)
    client = signed_in(cast.admin)

    refused = client.post(f"/settings/users/{cast.bob.pk}/deactivate/", {"reassign_to": ""})
    assert refused.status_code == 200
    assert 'id="id_reassign_to_error"' in refused.content.decode()

    response = client.post(
        f"/settings/users/{cast.bob.pk}/deactivate/", {"reassign_to": cast.alice.pk}, follow=True
    )

    assert "Bob East&#x27;s records now belong to Alice East." in response.content.decode()
    assert Deal.objects.filter(owner=cast.alice).count() == 2
    bobs["won_deal"].refresh_from_db()
    assert bobs["won_deal"].owner_id == cast.bob.pk


def test_records_cannot_go_to_an_inactive_user(cast):
    owned_by(cast.bob)
    User.objects.filter(pk=cast.carol.pk).update(is_active=False)

    response = signed_in(cast.admin).post(
        f"/settings/users/{cast.bob.pk}/deactivate/", {"reassign_to": cast.carol.pk}
    )

    assert response.status_code == 200
    assert 'id="id_reassign_to_error"' in response.content.decode()
    cast.bob.refresh_from_db()
    assert cast.bob.is_active is True
    assert Deal.objects.filter(owner=cast.bob).count() == 3


def test_an_admin_cannot_deactivate_themselves(cast):
    response = signed_in(cast.admin).post(
        f"/settings/users/{cast.admin.pk}/deactivate/", {"reassign_to": ""}
    )

    assert "You cannot deactivate yourself." in response.content.decode()
    cast.admin.refresh_from_db()
    assert cast.admin.is_active is True


def test_reactivate_lets_the_user_sign_in_again(cast):
    User.objects.filter(pk=cast.bob.pk).update(is_active=False)

    response = signed_in(cast.admin).post(f"/settings/users/{cast.bob.pk}/activate/")

    assert response.status_code == 302
    assert can_sign_in("bob@salesdesk.test", PASSWORD)


# --- Teams ---------------------------------------------------------------------------------


def test_create_rename_set_manager_and_delete_a_team(cast):
    client = signed_in(cast.admin)

    client.post("/settings/teams/", {"name": "North", "manager": cast.manager.pk})
    north = Team.objects.get(name="North")
    assert north.manager == cast.manager

    client.post(f"/settings/teams/{north.pk}/", {"name": "Nordics", "manager": ""})
    north.refresh_from_db()
    assert (north.name, north.manager) == ("Nordics", None)

    response = client.post(f"/settings/teams/{north.pk}/delete/", follow=True)
    assert "Team “Nordics” deleted" in response.content.decode()
    assert not Team.objects.filter(pk=north.pk).exists()


def test_duplicate_team_name_is_a_field_error(cast):
    response = signed_in(cast.admin).post("/settings/teams/", {"name": "east", "manager": ""})

    assert response.status_code == 200
    page = response.content.decode()
    assert '<div class="invalid-feedback d-block" id="id_name_error">Already taken.</div>' in page
    assert 'class="form-control is-invalid"' in page
    assert Team.objects.count() == 2


def test_renaming_a_team_to_a_taken_name_changes_nothing(cast):
    west = Team.objects.get(name="West")

    response = signed_in(cast.admin).post(
        f"/settings/teams/{west.pk}/", {"name": "EAST", "manager": ""}
    )

    assert 'id="id_name_error">Already taken.' in response.content.decode()
    west.refresh_from_db()
    assert west.name == "West"


def test_team_list_query_count(cast, django_assert_num_queries):
    for _ in range(4):
        team = TeamFactory(manager=UserFactory(role=Role.MANAGER))
        UserFactory.create_batch(2, team=team)
    client = signed_in(cast.admin)

    with django_assert_num_queries(4):  # session, user, teams with counts, manager choices
        response = client.get("/settings/teams/")

    assert response.content.decode().count('aria-label="Delete ') == 6


# --- Organization --------------------------------------------------------------------------


def org_form(**changes):
    data = {
        "name": "Acme Sales",
        "fiscal_year_start_month": "4",
        "internal_domains": "acme.test\nhttps://www.Acme-Group.test/about\n",
        "reps_see_all": "on",
        "capture_mode": "suggest",
        "follow_up_days": "10",
        "timezone": "Europe/Berlin",
        "pipeline_coverage_target": "2.5",
    }
    data.update(changes)
    return data


def test_organization_settings_are_saved(cast):
    response = signed_in(cast.admin).post("/settings/organization/", org_form(), follow=True)

    assert "Organization settings saved." in response.content.decode()
    org = OrganizationSettings.get()
    assert (
        org.name,
        org.fiscal_year_start_month,
        org.internal_domains,
        org.reps_see_all,
        org.capture_mode,
        org.follow_up_days,
        org.timezone,
        org.pipeline_coverage_target,
    ) == (
        "Acme Sales",
        4,
        ["acme-group.test", "acme.test"],
        True,
        "suggest",
        10,
        "Europe/Berlin",
        Decimal("2.5"),
    )
    assert "acme-group.test\nacme.test</textarea>" in response.content.decode()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"fiscal_year_start_month": "13"}, "fiscal_year_start_month"),
        ({"internal_domains": "acme.test\nnot a domain"}, "internal_domains"),
        ({"follow_up_days": "0"}, "follow_up_days"),
        ({"name": ""}, "name"),
        ({"capture_mode": "magic"}, "capture_mode"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"pipeline_coverage_target": "0"}, "pipeline_coverage_target"),
    ],
)
def test_organization_settings_refuse_bad_input(cast, changes, field):
    before = OrganizationSettings.get()

    response = signed_in(cast.admin).post("/settings/organization/", org_form(**changes))

    assert response.status_code == 200
    assert f'id="id_{field}_error"' in response.content.decode()
    after = OrganizationSettings.get()
    assert (after.name, after.fiscal_year_start_month, after.internal_domains) == (
        before.name,
        before.fiscal_year_start_month,
        before.internal_domains,
    )


def test_a_bad_domain_is_named_in_the_error(cast):
    response = signed_in(cast.admin).post(
        "/settings/organization/", org_form(internal_domains="acme.test\nlocalhost")
    )

    assert "Not a domain: localhost." in response.content.decode()


def test_organization_query_count(cast, django_assert_num_queries):
    OrganizationSettings.get()
    client = signed_in(cast.admin)
    with django_assert_num_queries(3):  # session, user, settings
        client.get("/settings/organization/")
