"""Signing in and out, sign-in throttling, and the pages every visitor can reach."""

import pytest
from django.test import Client

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOCKED_OUT = "Too many failed sign-in attempts"


def sign_in(client: Client, email: str, password: str, **extra):
    return client.post("/login/", {"username": email, "password": password}, **extra)


def signed_in_user_id(client: Client) -> str | None:
    return client.session.get("_auth_user_id")


def test_sign_in_page_shows_an_email_and_password_form(client):
    response = client.get("/login/")

    assert response.status_code == 200
    assert response.templates[0].name == "registration/login.html"
    page = response.content.decode()
    assert '<label class="form-label" for="id_username">E-mail</label>' in page
    assert 'type="email" name="username"' in page
    assert 'type="password" name="password"' in page
    assert 'name="csrfmiddlewaretoken"' in page


def test_signing_in_with_email_and_password_leads_home(cast):
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    token = client.cookies["csrftoken"].value

    response = sign_in(client, "alice@salesdesk.test", PASSWORD, HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in_user_id(client) == str(cast.alice.pk)
    home = client.get("/")
    assert home.status_code == 200
    assert "Welcome, Alice" in home.content.decode()


def test_signing_in_returns_to_the_page_asked_for(client, cast):
    response = client.post(
        "/login/", {"username": "bob@salesdesk.test", "password": PASSWORD, "next": "/admin/"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_signing_in_refuses_a_redirect_to_another_site(client, cast):
    response = client.post(
        "/login/",
        {"username": "bob@salesdesk.test", "password": PASSWORD, "next": "https://evil.example/"},
    )

    assert response["Location"] == "/"


def test_wrong_password_shows_an_error_and_signs_nobody_in(client, cast):
    response = sign_in(client, "alice@salesdesk.test", "not the password")

    assert response.status_code == 200
    page = response.content.decode()
    assert (
        '<div class="alert alert-danger" role="alert">'
        "Please enter a correct e-mail address and password.</div>"
    ) in page
    assert 'value="alice@salesdesk.test"' in page  # the address is kept, the password is not
    assert signed_in_user_id(client) is None


def test_empty_fields_are_reported_next_to_each_field(client, cast):
    response = sign_in(client, "", "")

    page = response.content.decode()
    assert page.count("This field is required.") == 2
    assert 'aria-describedby="id_username_error"' in page
    assert 'aria-describedby="id_password_error"' in page
    assert signed_in_user_id(client) is None


def test_five_failures_lock_the_address_out_even_with_the_right_password(client, cast):
    for _ in range(4):
        assert LOCKED_OUT not in sign_in(client, "alice@salesdesk.test", "wrong").content.decode()
    fifth = sign_in(client, "alice@salesdesk.test", "wrong")

    right = sign_in(client, "alice@salesdesk.test", PASSWORD)

    assert fifth.status_code == 429
    assert right.status_code == 429
    assert "registration/locked_out.html" in [template.name for template in right.templates]
    assert f"{LOCKED_OUT}. Please wait 15 minutes and try again." in right.content.decode()
    assert signed_in_user_id(client) is None


def test_the_email_address_is_taken_in_any_case(client, cast):
    response = sign_in(client, "  Alice@SalesDesk.TEST ", PASSWORD)

    assert response.status_code == 302
    assert signed_in_user_id(client) == str(cast.alice.pk)


def test_failures_count_against_the_address_whatever_its_case(client, cast):
    for email in ["ALICE@salesdesk.test", "Alice@Salesdesk.test", "alice@SALESDESK.test"] * 2:
        sign_in(client, email, "wrong")

    response = sign_in(client, "alice@salesdesk.test", PASSWORD)

    assert response.status_code == 429
    assert signed_in_user_id(client) is None


def test_a_lockout_holds_only_for_that_address_and_ip(client, cast):
    for _ in range(5):
        sign_in(client, "alice@salesdesk.test", "wrong")

    other_user = sign_in(client, "bob@salesdesk.test", PASSWORD)
    other_ip = sign_in(Client(), "alice@salesdesk.test", PASSWORD, REMOTE_ADDR="10.0.0.7")

    assert other_user.status_code == 302
    assert other_ip.status_code == 302


def test_a_success_resets_the_failure_count(client, cast):
    for _ in range(4):
        sign_in(client, "alice@salesdesk.test", "wrong")
    assert sign_in(client, "alice@salesdesk.test", PASSWORD).status_code == 302
    client.post("/logout/")

    for _ in range(4):
        sign_in(client, "alice@salesdesk.test", "wrong")

    assert sign_in(client, "alice@salesdesk.test", PASSWORD).status_code == 302


def test_inactive_users_cannot_sign_in(client, cast):
    cast.bob.is_active = False
    cast.bob.save(update_fields=["is_active"])

    response = sign_in(client, "bob@salesdesk.test", PASSWORD)

    assert response.status_code == 200
    assert "Please enter a correct e-mail" in response.content.decode()
    assert signed_in_user_id(client) is None


def test_home_requires_signing_in(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_signing_out_ends_the_session(client, cast):
    client.force_login(cast.alice)

    response = client.post("/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert signed_in_user_id(client) is None
    assert client.get("/").status_code == 302


def test_signed_in_users_skip_the_sign_in_page(client, cast):
    client.force_login(cast.alice)

    response = client.get("/login/")

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_healthz_answers_ok_without_signing_in(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_unknown_pages_render_the_not_found_page(client):
    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert response.templates[0].name == "404.html"
    assert "This page does not exist, or you cannot see it." in response.content.decode()
    assert "Traceback" not in response.content.decode()


@pytest.mark.parametrize("path", ["/api/no-such-thing", "/api/v1/no-such-thing/"])
def test_unknown_api_paths_answer_json_not_found(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
