"""The global search: visible companies, contacts and deals; a dropdown for htmx, else a page."""

import pytest

from salesdesk.core.search import search
from salesdesk.crm.models import ContactPhone
from tests.factories import (
    CompanyFactory,
    ContactEmailFactory,
    ContactFactory,
    DealFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def book(cast, pipeline):
    stage = pipeline.stages.first()
    acme = CompanyFactory(name="Acme GmbH", domain="acme.example", owner=cast.alice)
    CompanyFactory(name="Initech", domain="acme-rival.example", owner=cast.alice)
    CompanyFactory(name="Acme Hidden", owner=cast.carol)
    ada = ContactFactory(first_name="Ada", last_name="Lovelace", company=acme, owner=cast.alice)
    ContactEmailFactory(contact=ada, email="ada@acme.example")
    ContactPhone.objects.create(contact=ada, number="+49 30 555 0101")
    ContactFactory(first_name="Ada", last_name="Secret", owner=cast.carol)
    DealFactory(title="Acme renewal", company=acme, owner=cast.alice, stage=stage)
    DealFactory(title="Acme hidden deal", owner=cast.carol, stage=stage)
    return acme, ada


def test_search_finds_companies_by_name_or_domain_contacts_and_deals(cast, book):
    results = search(actor=cast.alice, q="acme")

    assert [c.name for c in results.companies] == ["Acme GmbH", "Initech"]
    assert [c.full_name for c in results.contacts] == ["Ada Lovelace"]  # by e-mail
    assert [d.title for d in results.deals] == ["Acme renewal"]


def test_search_finds_contacts_by_name_words_and_phone(cast, book):
    assert [c.full_name for c in search(actor=cast.alice, q="ada love").contacts] == [
        "Ada Lovelace"
    ]
    assert [c.full_name for c in search(actor=cast.alice, q="555 0101").contacts] == [
        "Ada Lovelace"
    ]
    assert search(actor=cast.alice, q="ada love").contacts[0].email == "ada@acme.example"


def test_search_never_shows_what_the_user_cannot_see(cast, book):
    results = search(actor=cast.alice, q="hidden")
    secret = search(actor=cast.alice, q="secret")

    assert results.is_empty
    assert secret.is_empty
    assert [c.name for c in search(actor=cast.carol, q="acme").companies] == ["Acme Hidden"]


def test_search_shows_at_most_five_of_each(cast):
    for number in range(7):
        CompanyFactory(name=f"Zeta {number}", owner=cast.alice)

    assert len(search(actor=cast.alice, q="zeta").companies) == 5


def test_search_needs_two_characters(cast, book):
    assert search(actor=cast.alice, q=" a ").is_empty


def test_search_dropdown_for_htmx_with_a_pinned_query_count(
    client, cast, book, django_assert_num_queries
):
    acme, ada = book
    client.force_login(cast.alice)

    # session, user, settings, companies, contacts, deals
    with django_assert_num_queries(6):
        response = client.get("/search/", {"q": "acme"}, **HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert page.lstrip().startswith('<div class="list-group shadow search-dropdown"')
    assert f'href="/companies/{acme.pk}/">Acme GmbH' in page
    assert f'href="/contacts/{ada.pk}/">Ada Lovelace' in page
    assert 'href="/search/?q=acme">All results for “acme”</a>' in page
    assert "Hidden" not in page


def test_an_empty_search_closes_the_dropdown(client, cast):
    client.force_login(cast.alice)

    response = client.get("/search/", {"q": "a"}, **HTMX)

    assert response.content == b""


def test_search_page_without_htmx(client, cast, book):
    client.force_login(cast.alice)

    response = client.get("/search/", {"q": "renewal"})

    page = response.content.decode()
    assert "<html" in page
    assert 'value="renewal"' in page
    assert "Acme renewal" in page


def test_search_page_says_when_nothing_matches(client, cast):
    client.force_login(cast.alice)

    page = client.get("/search/", {"q": "nothing here"}).content.decode()

    assert "Nothing found for “nothing here”." in page


def test_search_needs_sign_in(client):
    assert client.get("/search/", {"q": "acme"}).status_code == 302
