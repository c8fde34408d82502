import pytest

from tests.browser.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_offline_pages_fall_back_to_the_offline_page(page, cast):
    sign_in(page, cast.alice, PASSWORD)
    registered = page.evaluate(
        """async () => {
            const registration = await navigator.serviceWorker.ready;
            return registration.active.scriptURL;
        }"""
    )
    assert registered == f"{page.base_url}/sw.js"
    page.reload()  # now the worker controls the page
    assert page.evaluate("navigator.serviceWorker.controller !== null")

    page.context.set_offline(True)
    page.goto(f"{page.base_url}/contacts/")

    assert page.get_by_role("heading", name="You are offline").is_visible()
    page.context.set_offline(False)
    page.goto(f"{page.base_url}/")
    assert page.get_by_role("heading", name="Welcome, Alice").is_visible()
