import pytest

from tests.browser.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_sign_in_and_out(page, cast):
    sign_in(page, cast.alice, PASSWORD)
    assert page.get_by_role("heading", name="Welcome, Alice").is_visible()
    page.get_by_role("button", name="Alice").click()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{page.base_url}/login/")
    assert page.get_by_role("heading", name="Sign in").is_visible()


def test_wrong_password_shows_error(page, cast):
    page.goto(f"{page.base_url}/login/")
    page.get_by_label("E-mail").fill(cast.alice.email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").is_visible()
    assert page.url == f"{page.base_url}/login/"
