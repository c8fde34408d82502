"""Account pages in a real browser: profile time zone, API tokens, password reset by e-mail."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from salesdesk.accounts.models import ApiToken, User
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "a brand new passphrase 42"


def test_change_time_zone_then_create_and_revoke_a_token(page, cast):
    sign_in(page, cast.alice, PASSWORD)
    page.goto(f"{page.base_url}/account/")
    page.get_by_label("Time zone").select_option("Asia/Tokyo")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status").filter(has_text="Your profile is saved.")).to_be_visible()
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    assert User.objects.get(pk=cast.alice.pk).timezone == "Asia/Tokyo"

    page.get_by_role("link", name="API tokens").first.click()
    page.get_by_label("Token name").fill("Reporting script")
    page.get_by_role("button", name="Create token").click()
    page.wait_for_url(f"{page.base_url}/account/tokens/created/")
    key = page.get_by_label("Token").input_value()
    assert key.startswith("sd_")
    page.get_by_role("link", name="Done").click()
    row = page.get_by_role("row").filter(has_text="Reporting script")
    expect(row.get_by_text("Active")).to_be_visible()
    assert key not in page.content()

    row.get_by_role("link", name="Revoke Reporting script").click()
    page.get_by_role("button", name="Revoke token").click()
    page.wait_for_url(f"{page.base_url}/account/tokens/")
    assert (
        page.get_by_role("row")
        .filter(has_text="Reporting script")
        .get_by_text("Revoked")
        .is_visible()
    )
    assert ApiToken.objects.get(name="Reporting script").revoked_at is not None


def test_password_reset_by_email(page, cast):
    page.goto(f"{page.base_url}/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("E-mail").fill("alice@salesdesk.test")
    page.get_by_role("button", name="Send reset link").click()
    page.wait_for_url(f"{page.base_url}/password-reset/sent/")
    expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()

    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+", mail.outbox[0].body).group(0)
    page.goto(link)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    page.wait_for_url(f"{page.base_url}/reset/done/")
    page.get_by_role("link", name="Sign in").click()

    sign_in(page, cast.alice, NEW_PASSWORD)
    assert page.url == f"{page.base_url}/"
