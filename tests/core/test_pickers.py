"""Pickers: the /pick/… endpoints and the form fields that take their ids."""

import re

import pytest

from salesdesk.crm.models import Contact
from salesdesk.pipeline.models import Deal
from tests.factories import CompanyFactory, ContactFactory, DealFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def as_alice(client, cast):
    client.force_login(cast.alice)
    return client


def options(response) -> list[tuple[str, str]]:
    """(id, label) of each choosable option in a picker's answer."""
    return re.findall(r'data-value="(\d+)" data-label="([^"]*)"', response.content.decode())


def labels(response) -> list[str]:
    return [label for _, label in options(response)]


# --- Endpoints ----------------------------------------------------------------------------


def test_company_picker_offers_only_visible_companies_starting_matches_first(as_alice, cast):
    CompanyFactory(name="Tracme Ltd", owner=cast.alice)
    acme = CompanyFactory(name="Acme GmbH", domain="acme.example", owner=cast.alice)
    CompanyFactory(name="Acme Shared", owner=None)
    CompanyFactory(name="Acme West", owner=cast.carol)

    response = as_alice.get("/pick/companies/", {"q": "acm"}, **HTMX)

    assert response.status_code == 200
    assert labels(response) == ["Acme GmbH", "Acme Shared", "Tracme Ltd"]
    assert options(response)[0][0] == str(acme.pk)
    assert "acme.example" in response.content.decode()
    assert "Acme West" not in response.content.decode()


def test_contact_picker_finds_by_name_and_shows_the_company(as_alice, cast):
    acme = CompanyFactory(name="Acme", owner=cast.alice)
    ContactFactory(first_name="Ada", last_name="Lovelace", company=acme, owner=cast.alice)
    ContactFactory(first_name="Ada", last_name="Secret", owner=cast.carol)

    response = as_alice.get("/pick/contacts/", {"q": "ada"}, **HTMX)

    assert labels(response) == ["Ada Lovelace (Acme)"]


def test_deal_picker_shows_company_and_stage(as_alice, cast, pipeline):
    stage = pipeline.stages.get(name="Qualified")
    acme = CompanyFactory(name="Acme", owner=cast.alice)
    DealFactory(title="Acme renewal", company=acme, stage=stage, owner=cast.alice)
    DealFactory(title="Acme secret", stage=stage, owner=cast.carol)

    response = as_alice.get("/pick/deals/", {"q": "renew"}, **HTMX)

    assert labels(response) == ["Acme renewal"]
    assert "Acme · Qualified" in response.content.decode()


def test_a_picker_lists_at_most_ten_and_says_that_more_match(as_alice, cast):
    for number in range(25):
        CompanyFactory(name=f"Many {number:02}", owner=cast.alice)

    response = as_alice.get("/pick/companies/", {"q": "many"}, **HTMX)

    assert labels(response) == [f"Many {number:02}" for number in range(10)]
    assert "More match: type more of the name." in response.content.decode()


def test_a_picker_says_when_nothing_matches_and_answers_nothing_to_nothing(as_alice, cast):
    CompanyFactory(name="Acme", owner=cast.carol)

    nothing = as_alice.get("/pick/companies/", {"q": "acme"}, **HTMX)
    empty = as_alice.get("/pick/companies/", {"q": "  "}, **HTMX)

    assert "No company matches “acme”." in nothing.content.decode()
    assert options(nothing) == []
    assert empty.content == b""


@pytest.mark.parametrize("path", ["/pick/companies/", "/pick/contacts/", "/pick/deals/"])
def test_pickers_need_a_signed_in_user(client, path):
    response = client.get(path, {"q": "a"})

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize(
    ("path", "role", "queries"),
    [
        # session, user, settings (reps see all?), the matches
        ("/pick/companies/", "alice", 4),
        ("/pick/contacts/", "alice", 4),
        ("/pick/deals/", "alice", 4),
        # a manager also reads the teams they manage
        ("/pick/contacts/", "manager", 5),
        # an admin sees everything: no settings
        ("/pick/deals/", "admin", 3),
    ],
)
def test_picker_query_count_does_not_grow_with_rows(
    client, cast, pipeline, django_assert_num_queries, path, role, queries
):
    stage = pipeline.stages.first()
    for number in range(30):
        company = CompanyFactory(name=f"Alpha {number}", owner=cast.alice)
        ContactFactory(first_name="Alpha", last_name=f"{number}", company=company, owner=cast.alice)
        DealFactory(title=f"Alpha deal {number}", company=company, stage=stage, owner=cast.alice)
    client.force_login(getattr(cast, role))

    with django_assert_num_queries(queries):
        response = client.get(path, {"q": "alpha"}, **HTMX)

    assert len(options(response)) == 10


# --- Fields -------------------------------------------------------------------------------


def test_contact_form_takes_a_company_id(as_alice, cast):
    acme = CompanyFactory(name="Acme", owner=cast.alice)

    response = as_alice.post("/contacts/new/", {"last_name": "Lovelace", "company": acme.pk})

    assert response.status_code == 302
    assert Contact.objects.get().company == acme


@pytest.mark.parametrize("value", ["theirs", "999999", "abc", "99999999999999999999999"])
def test_a_company_the_user_cannot_pick_is_a_field_error(as_alice, cast, value):
    theirs = CompanyFactory(name="West Secret", owner=cast.carol)
    posted = str(theirs.pk) if value == "theirs" else value

    response = as_alice.post("/contacts/new/", {"last_name": "Lovelace", "company": posted})

    assert response.status_code == 200
    assert response.context["form"].errors["company"] == [
        "Choose a company from the list; that one cannot be found."
    ]
    assert 'id="id_company_error"' in response.content.decode()
    assert "West Secret" not in response.content.decode()
    assert not Contact.objects.exists()


def test_a_deal_with_a_contact_the_user_cannot_see_is_refused(client, cast, pipeline):
    mine = ContactFactory(first_name="Ada", last_name="Mine", owner=cast.alice)
    theirs = ContactFactory(first_name="Carl", last_name="Theirs", owner=cast.carol)
    client.force_login(cast.alice)

    response = client.post(
        "/deals/new/",
        {
            "title": "Sneaky",
            "owner": cast.alice.pk,
            "pipeline": pipeline.pk,
            "amount": "10",
            "currency": "EUR",
            "contacts": [mine.pk, theirs.pk],
        },
    )

    assert response.context["form"].errors["contacts"] == [
        "Choose a contact from the list; that one cannot be found."
    ]
    assert not Deal.objects.exists()
    # the chip of the visible contact stays, the other is not named
    page = response.content.decode()
    assert f'name="contacts" value="{mine.pk}"' in page
    assert "Carl Theirs" not in page


def test_a_deal_takes_several_contacts(client, cast, pipeline):
    ada = ContactFactory(first_name="Ada", last_name="One", owner=cast.alice)
    bob = ContactFactory(first_name="Bob", last_name="Two", owner=None)
    client.force_login(cast.alice)

    response = client.post(
        "/deals/new/",
        {
            "title": "Two people",
            "owner": cast.alice.pk,
            "pipeline": pipeline.pk,
            "amount": "10",
            "currency": "EUR",
            "contacts": [ada.pk, bob.pk],
        },
    )

    assert response.status_code == 302
    assert set(Deal.objects.get().contacts.all()) == {ada, bob}


def test_an_activity_linked_to_an_invisible_deal_is_refused(as_alice, cast, pipeline):
    theirs = DealFactory(title="West deal", owner=cast.carol, stage=pipeline.stages.first())

    response = as_alice.post(
        "/activities/new/", {"kind": "note", "body": "Hello", "deal": theirs.pk}
    )

    assert response.context["form"].errors["deal"] == [
        "Choose a deal from the list; that one cannot be found."
    ]
    assert not theirs.activities.exists()


def test_edit_forms_show_the_names_of_the_current_choices(as_alice, cast, pipeline):
    acme = CompanyFactory(name="Acme", owner=cast.alice)
    ada = ContactFactory(first_name="Ada", last_name="Lovelace", company=acme, owner=cast.alice)
    deal = DealFactory(title="Big", company=acme, owner=cast.alice, stage=pipeline.stages.first())
    deal.contacts.set([ada])

    contact_page = as_alice.get(f"/contacts/{ada.pk}/edit/").content.decode()
    deal_page = as_alice.get(f"/deals/{deal.pk}/edit/").content.decode()

    assert f'name="company" value="{acme.pk}"' in contact_page
    assert re.search(r'<input type="text" role="combobox"[^>]* value="Acme"', contact_page)
    assert '<label class="form-label" for="id_company">Company</label>' in contact_page
    assert f'name="contacts" value="{ada.pk}"' in deal_page
    assert 'aria-label="Remove Ada Lovelace (Acme)"' in deal_page


def test_new_contact_page_names_the_company_it_was_opened_from(as_alice, cast):
    acme = CompanyFactory(name="Acme", owner=cast.alice)
    theirs = CompanyFactory(name="West Secret", owner=cast.carol)

    page = as_alice.get("/contacts/new/", {"company": acme.pk}).content.decode()
    hidden = as_alice.get("/contacts/new/", {"company": theirs.pk}).content.decode()

    assert re.search(r'role="combobox"[^>]* value="Acme"', page)
    assert "West Secret" not in hidden
    assert 'name="company" value=""' in hidden


def test_contact_list_filters_by_a_picked_company(as_alice, cast):
    acme = CompanyFactory(name="Acme", owner=cast.alice)
    other = CompanyFactory(name="Other", owner=cast.alice)
    ContactFactory(last_name="AtAcme", company=acme, owner=cast.alice)
    ContactFactory(last_name="Elsewhere", company=other, owner=cast.alice)

    response = as_alice.get("/contacts/", {"company": acme.pk})
    refused = as_alice.get("/contacts/", {"company": "abc"})

    assert [c.last_name for c in response.context["page"].object_list] == ["AtAcme"]
    assert re.search(r'role="combobox"[^>]* value="Acme"', response.content.decode())
    assert refused.status_code == 200
    assert refused.context["form"].errors["company"]
