import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from salesdesk.accounts.models import ApiToken, OrganizationSettings, Team
from salesdesk.accounts.services import api_token_create

pytestmark = pytest.mark.django_db


def test_token_is_shown_once_and_stored_hashed(cast, api_client):
    client = api_client(cast.alice)

    response = client.post("/api/v1/tokens", {"name": "Zapier"})

    assert response.status_code == 201
    key = response.json()["token"]
    token = ApiToken.objects.get(pk=response.json()["id"])
    assert key.startswith(f"sd_{token.prefix}_")
    assert key not in token.key_hash
    assert all("token" not in item for item in client.get("/api/v1/tokens").json())
    me = Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/v1/users/me")
    assert me.json()["email"] == "alice@salesdesk.test"


def test_revoked_token_no_longer_authenticates(cast, api_client):
    token, key = api_token_create(user=cast.alice, name="old")
    response = api_client(cast.alice).delete(f"/api/v1/tokens/{token.pk}")
    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    assert Client(HTTP_AUTHORIZATION=f"Bearer {key}").get("/api/v1/deals").status_code == 401


def test_nobody_revokes_another_users_token(cast, api_client):
    token, _ = api_token_create(user=cast.bob, name="bob's")
    response = api_client(cast.alice).delete(f"/api/v1/tokens/{token.pk}")
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_token_needs_a_name(cast, api_client):
    response = api_client(cast.alice).post("/api/v1/tokens", {"name": "  "})
    assert response.status_code == 422
    assert response.json()["errors"] == {"name": "This field is required."}


def test_session_can_create_tokens_with_csrf(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.alice)
    refused = client.post("/api/v1/tokens", {"name": "x"}, content_type="application/json")
    assert refused.status_code in (401, 403)
    assert not ApiToken.objects.filter(user=cast.alice).exists()


def test_token_cli_creates_lists_and_revokes(cast, capsys):
    call_command("token", "create", "ALICE@salesdesk.test", "--name", "laptop")
    key = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(user=cast.alice)
    assert key.startswith(f"sd_{token.prefix}_")
    call_command("token", "revoke", "alice@salesdesk.test", token.prefix)
    token.refresh_from_db()
    assert token.revoked_at is not None
    with pytest.raises(CommandError, match=r"No user with the e-mail address nobody@x\.test"):
        call_command("token", "create", "nobody@x.test")


def test_users_are_listed_for_everyone_without_secrets(cast, api_client):
    response = api_client(cast.outsider).get("/api/v1/users", {"team": cast.alice.team_id})
    assert response.status_code == 200
    assert [u["email"] for u in response.json()["items"]] == sorted(
        ["manager@salesdesk.test", "alice@salesdesk.test", "bob@salesdesk.test"],
        key=lambda e: {
            "manager@salesdesk.test": cast.manager.pk,
            "alice@salesdesk.test": cast.alice.pk,
            "bob@salesdesk.test": cast.bob.pk,
        }[e],
        reverse=True,
    )
    assert "password" not in response.json()["items"][0]


def test_only_admins_manage_teams(cast, api_client):
    refused = api_client(cast.manager).post("/api/v1/teams", {"name": "North"})
    created = api_client(cast.admin).post(
        "/api/v1/teams", {"name": "North", "manager_id": cast.manager.pk}
    )
    assert refused.status_code == 403
    assert created.status_code == 201
    assert Team.objects.get(name="North").manager == cast.manager
    duplicate = api_client(cast.admin).post("/api/v1/teams", {"name": "north"})
    assert duplicate.status_code == 422


def test_organization_settings_admin_only_and_validated(cast, api_client):
    assert (
        api_client(cast.alice).patch("/api/v1/organization", {"reps_see_all": True}).status_code
        == 403
    )
    bad = api_client(cast.admin).patch("/api/v1/organization", {"fiscal_year_start_month": 13})
    assert bad.status_code == 422
    good = api_client(cast.admin).patch(
        "/api/v1/organization",
        {"fiscal_year_start_month": 4, "internal_domains": ["Salesdesk.test"]},
    )
    assert good.status_code == 200
    org = OrganizationSettings.get()
    assert (org.fiscal_year_start_month, org.internal_domains) == (4, ["salesdesk.test"])
