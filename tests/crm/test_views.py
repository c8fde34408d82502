"""Company and contact pages: lists, filters, saved views, export, detail, create, edit, delete."""

import csv
import datetime
import io

import pytest
from django.utils import timezone

from salesdesk.accounts.models import OrganizationSettings
from salesdesk.crm.models import Company, Contact, ContactEmail, SavedView
from salesdesk.pipeline.models import StageChange
from tests.factories import (
    ActivityFactory,
    CompanyFactory,
    ContactEmailFactory,
    ContactFactory,
    DealFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_alice(client, cast):
    client.force_login(cast.alice)
    return client


def names(response, key="page") -> list[str]:
    return [str(record) for record in response.context[key].object_list]


def reps_see_all():
    settings = OrganizationSettings.get()
    settings.reps_see_all = True
    settings.save()


# --- Company list -------------------------------------------------------------------------


def test_company_list_shows_only_visible_companies(as_alice, cast):
    CompanyFactory(name="Mine", owner=cast.alice)
    CompanyFactory(name="Shared", owner=None)
    CompanyFactory(name="Bobs", owner=cast.bob)
    CompanyFactory(name="Carols", owner=cast.carol)

    response = as_alice.get("/companies/")

    assert response.status_code == 200
    assert names(response) == ["Mine", "Shared"]


def test_company_list_needs_sign_in(client):
    response = client.get("/companies/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/companies/"


def test_company_list_filters_by_search_owner_team_tag_country_industry(client, cast):
    vip = TagFactory(name="vip")
    acme = CompanyFactory(
        name="Acme", domain="acme.example", country="DE", industry="Software", owner=cast.alice
    )
    acme.tags.set([vip])
    CompanyFactory(name="Beta", domain="beta.example", country="FR", owner=cast.bob)
    CompanyFactory(name="Gamma", country="DE", industry="Retail", owner=cast.carol)
    client.force_login(cast.admin)

    def shown(**params):
        return names(client.get("/companies/", params))

    assert shown(q="acme.ex") == ["Acme"]
    assert shown(owner=cast.bob.pk) == ["Beta"]
    assert shown(team=cast.alice.team_id) == ["Acme", "Beta"]
    assert shown(tag=vip.pk) == ["Acme"]
    assert shown(country="de") == ["Acme", "Gamma"]
    assert shown(industry="retail") == ["Gamma"]
    assert shown(country="DE", industry="Software") == ["Acme"]


def test_company_list_filters_by_created_day_in_the_users_time_zone(client, cast):
    cast.admin.timezone = "Europe/Berlin"
    cast.admin.save()
    old = CompanyFactory(name="Old")
    new = CompanyFactory(name="New")
    # 23:30 UTC on 1 March is 00:30 on 2 March in Berlin.
    Company.objects.filter(pk=old.pk).update(
        created_at=datetime.datetime(2026, 3, 1, 22, 30, tzinfo=datetime.UTC)
    )
    Company.objects.filter(pk=new.pk).update(
        created_at=datetime.datetime(2026, 3, 1, 23, 30, tzinfo=datetime.UTC)
    )
    client.force_login(cast.admin)

    on_the_second = client.get(
        "/companies/", {"created_after": "2026-03-02", "created_before": "2026-03-02"}
    )
    until_the_first = client.get("/companies/", {"created_before": "2026-03-01"})

    assert names(on_the_second) == ["New"]
    assert names(until_the_first) == ["Old"]


def test_company_list_shows_bad_filters_as_errors_and_ignores_them(as_alice, cast):
    CompanyFactory(name="Mine", owner=cast.alice)

    response = as_alice.get(
        "/companies/",
        {"owner": "999999", "created_after": "2026-05-02", "created_before": "2026-05-01"},
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert "owner" in form.errors
    assert form.errors["created_before"] == ["Pick a day on or after the start."]
    assert 'id="id_owner_error"' in response.content.decode()


def test_company_list_sorts_by_the_clicked_column(client, cast):
    a = CompanyFactory(name="Alpha", country="FR")
    b = CompanyFactory(name="Bravo", country="DE")
    c = CompanyFactory(name="Charlie", country="US")
    ContactFactory.create_batch(2, company=b)
    ContactFactory(company=c)
    client.force_login(cast.admin)

    by_name_desc = client.get("/companies/", {"sort": "-name"})
    by_country = client.get("/companies/", {"sort": "country"})
    by_contacts_desc = client.get("/companies/", {"sort": "-contacts"})
    unknown = client.get("/companies/", {"sort": "password"})

    assert names(by_name_desc) == ["Charlie", "Bravo", "Alpha"]
    assert names(by_country) == ["Bravo", "Alpha", "Charlie"]
    assert names(by_contacts_desc) == ["Bravo", "Charlie", "Alpha"]
    assert names(unknown) == ["Alpha", "Bravo", "Charlie"]
    headers = {column["label"]: column for column in by_country.context["columns"]}
    assert headers["Country"]["state"] == "ascending"
    assert headers["Country"]["url"] == "?sort=-country"
    assert headers["Name"]["url"] == "?sort=name"
    assert a.pk  # every company listed


def test_company_list_sort_links_keep_the_filters(client, cast):
    client.force_login(cast.admin)

    response = client.get("/companies/", {"q": "ac", "sort": "name", "page": "2"})

    headers = {column["label"]: column["url"] for column in response.context["columns"]}
    assert headers["Name"] == "?q=ac&sort=-name"
    assert headers["Domain"] == "?q=ac&sort=domain"


def test_company_list_paginates_fifty_a_page(client, cast):
    for number in range(55):
        CompanyFactory(name=f"Company {number:02}")
    client.force_login(cast.admin)

    first = client.get("/companies/")
    second = client.get("/companies/", {"page": 2})

    assert len(first.context["page"].object_list) == 50
    assert names(second) == [f"Company {number}" for number in range(50, 55)]
    assert 'href="?page=2" rel="next"' in first.content.decode()


def test_company_list_query_count_does_not_grow_with_rows(client, cast, django_assert_num_queries):
    tags = [TagFactory(name="vip"), TagFactory(name="partner")]
    for number in range(25):
        company = CompanyFactory(name=f"Company {number}", owner=cast.alice)
        company.tags.set(tags)
        ContactFactory.create_batch(2, company=company, owner=cast.alice)
    SavedView.objects.create(user=cast.alice, entity="companies", name="Mine", query="q=a")
    client.force_login(cast.alice)

    # session, user, organization settings, count, rows, tags of the rows, saved views,
    # owner, team and tag choices of the filter form
    with django_assert_num_queries(10):
        response = client.get("/companies/")

    assert len(response.context["page"].object_list) == 25
    assert response.content.decode().count('<span class="badge text-bg-light border">vip') == 25


def test_company_list_empty_state_points_to_create_and_import(as_alice):
    page = as_alice.get("/companies/").content.decode()

    assert "No companies yet — add one or import a CSV." in page
    assert 'href="/companies/new/">Add a company' in page
    assert 'href="/import/">Import a CSV' in page


def test_company_list_with_filters_matching_nothing_says_so(as_alice, cast):
    CompanyFactory(name="Mine", owner=cast.alice)

    page = as_alice.get("/companies/", {"q": "zzz"}).content.decode()

    assert "No companies match these filters." in page


# --- Export -------------------------------------------------------------------------------


def csv_rows(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_company_export_downloads_exactly_the_filtered_visible_rows(as_alice, cast):
    CompanyFactory(name="Acme DE", country="DE", owner=cast.alice)
    CompanyFactory(name="Acme FR", country="FR", owner=cast.alice)
    CompanyFactory(name="Carol DE", country="DE", owner=cast.carol)

    response = as_alice.get("/companies/export/", {"country": "DE", "sort": "-name", "page": 3})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="companies.csv"'
    assert [row["name"] for row in csv_rows(response)] == ["Acme DE"]


def test_contact_export_takes_the_list_filters(as_alice, cast):
    acme = CompanyFactory(name="Acme", owner=cast.alice)
    ada = ContactFactory(first_name="Ada", last_name="Lovelace", company=acme, owner=cast.alice)
    ContactEmailFactory(contact=ada, email="ada@acme.example")
    ContactFactory(first_name="Bob", last_name="Other", owner=cast.alice)

    response = as_alice.get("/contacts/export/", {"company": acme.pk})

    rows = csv_rows(response)
    assert response["Content-Disposition"] == 'attachment; filename="contacts.csv"'
    assert [(row["first_name"], row["last_name"]) for row in rows] == [("Ada", "Lovelace")]


def test_list_links_export_with_the_current_filters(as_alice):
    page = as_alice.get("/companies/", {"q": "acme", "page": "2", "sort": "name"}).content
    assert b'href="/companies/export/?q=acme"' in page


# --- Saved views --------------------------------------------------------------------------


def test_saving_a_view_lists_it_as_a_quick_link(as_alice, cast):
    response = as_alice.post(
        "/saved-views/",
        {"entity": "companies", "name": "German", "query": "country=DE&page=3&q="},
    )

    assert response.status_code == 302
    assert response["Location"] == "/companies/?country=DE"
    view = SavedView.objects.get()
    assert (view.user, view.entity, view.name, view.query) == (
        cast.alice,
        "companies",
        "German",
        "country=DE",
    )
    page = as_alice.get("/companies/").content.decode()
    assert 'href="/companies/?country=DE">German</a>' in page


def test_saving_a_view_under_an_existing_name_replaces_it(as_alice, cast):
    SavedView.objects.create(user=cast.alice, entity="contacts", name="Mine", query="q=a")

    as_alice.post("/saved-views/", {"entity": "contacts", "name": "Mine", "query": "q=b"})

    assert list(SavedView.objects.values_list("name", "query")) == [("Mine", "q=b")]


def test_saved_views_belong_to_their_user(client, cast):
    SavedView.objects.create(user=cast.bob, entity="companies", name="Bobs", query="q=b")
    client.force_login(cast.alice)

    page = client.get("/companies/").content.decode()

    assert "Bobs" not in page


def test_deleting_a_saved_view(as_alice, cast):
    view = SavedView.objects.create(user=cast.alice, entity="companies", name="X", query="q=x")

    response = as_alice.post(f"/saved-views/{view.pk}/delete/")

    assert response.status_code == 302
    assert response["Location"] == "/companies/"
    assert not SavedView.objects.exists()


def test_nobody_deletes_another_users_saved_view(as_alice, cast):
    view = SavedView.objects.create(user=cast.bob, entity="companies", name="X", query="q=x")

    response = as_alice.post(f"/saved-views/{view.pk}/delete/")

    assert response.status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()


def test_saving_a_view_without_a_name_is_refused(as_alice):
    response = as_alice.post("/saved-views/", {"entity": "companies", "name": "", "query": ""})

    assert response.status_code == 302
    assert not SavedView.objects.exists()


# --- Company detail -----------------------------------------------------------------------


def test_company_detail_shows_fields_contacts_deals_and_one_timeline(as_alice, cast, pipeline):
    lead, qualified = pipeline.stages.all()[:2]
    acme = CompanyFactory(name="Acme", domain="acme.example", owner=cast.alice)
    acme.tags.set([TagFactory(name="vip")])
    ada = ContactFactory(first_name="Ada", last_name="Lovelace", company=acme, owner=cast.alice)
    deal = DealFactory(title="Big deal", company=acme, owner=cast.alice, stage=lead)
    now = timezone.now()
    ActivityFactory(
        subject="Older call",
        company=acme,
        owner=cast.alice,
        occurred_at=now - datetime.timedelta(days=3),
    )
    StageChange.objects.create(
        deal=deal,
        from_stage=lead,
        to_stage=qualified,
        by=cast.alice,
        at=now - datetime.timedelta(days=2),
    )
    ActivityFactory(
        kind="note",
        subject="Newest note",
        company=acme,
        owner=cast.alice,
        occurred_at=now - datetime.timedelta(days=1),
    )
    ActivityFactory(subject="Other company", owner=cast.alice)

    response = as_alice.get(f"/companies/{acme.pk}/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "acme.example" in page
    assert f'href="/contacts/{ada.pk}/">Ada Lovelace</a>' in page
    assert f'href="/deals/{deal.pk}/">Big deal</a>' in page
    assert "EUR 1,000.00" in page
    entries = response.context["timeline_entries"]
    described = [
        entry.activity.subject if entry.activity else f"moved to {entry.stage_change.to_stage}"
        for entry in entries
    ]
    assert described == ["Newest note", "moved to Qualified", "Older call"]
    assert page.index("Newest note") < page.index("Qualified</strong>") < page.index("Older call")


def test_company_detail_query_count_with_many_rows(
    client, cast, pipeline, django_assert_num_queries
):
    stage = pipeline.stages.first()
    acme = CompanyFactory(name="Acme", owner=cast.alice)
    acme.tags.set([TagFactory(name="vip"), TagFactory(name="partner")])
    contacts = ContactFactory.create_batch(20, company=acme, owner=cast.alice)
    for contact in contacts:
        ContactEmailFactory(contact=contact)
    for number in range(20):
        deal = DealFactory(title=f"Deal {number}", company=acme, owner=cast.alice, stage=stage)
        StageChange.objects.create(deal=deal, to_stage=stage, by=cast.alice)
        activity = ActivityFactory(company=acme, deal=deal, owner=cast.alice)
        activity.contacts.set(contacts[:2])
    client.force_login(cast.alice)

    # session, user, settings, company, its tags, contacts, their e-mails, deals, may-change,
    # activities, their contacts, stage changes, values filled from e-mail signatures, the
    # next meeting
    with django_assert_num_queries(14):
        response = client.get(f"/companies/{acme.pk}/")

    assert len(response.context["timeline_entries"]) == 20
    last = response.context["timeline_entries"][-1]
    assert response.context["timeline_next_cursor"] == last.cursor


@pytest.mark.parametrize(
    "path",
    ["/companies/{}/", "/companies/{}/edit/", "/companies/{}/delete/"],
)
def test_invisible_company_pages_are_404(as_alice, cast, path):
    company = CompanyFactory(owner=cast.carol)

    assert as_alice.get(path.format(company.pk)).status_code == 404
    assert as_alice.post(path.format(company.pk), {"name": "Hacked"}).status_code == 404
    company.refresh_from_db()
    assert company.name != "Hacked"
    assert Company.objects.filter(pk=company.pk).exists()


def test_manager_sees_the_teams_companies(client, cast):
    company = CompanyFactory(name="Alices", owner=cast.alice)
    client.force_login(cast.manager)

    response = client.get(f"/companies/{company.pk}/")

    assert response.status_code == 200
    assert response.context["can_change"] is True


# --- Company create, edit, delete ---------------------------------------------------------


def test_creating_a_company(as_alice, cast):
    vip = TagFactory(name="vip")

    response = as_alice.post(
        "/companies/new/",
        {
            "name": "Acme",
            "domain": "ACME.example",
            "country": "de",
            "size": "40",
            "owner": cast.alice.pk,
            "tags": [vip.pk],
        },
    )

    company = Company.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/companies/{company.pk}/"
    assert (company.name, company.domain, company.country, company.size, company.owner) == (
        "Acme",
        "acme.example",
        "DE",
        40,
        cast.alice,
    )
    assert list(company.tags.all()) == [vip]
    assert "Company Acme created." in as_alice.get(response["Location"]).content.decode()


def test_new_company_form_defaults_the_owner_to_me_and_offers_only_whom_i_may_assign(
    as_alice, cast
):
    form = as_alice.get("/companies/new/").context["form"]

    assert form["owner"].value() == cast.alice.pk
    assert list(form.fields["owner"].queryset) == [cast.alice]


def test_a_duplicate_domain_is_an_error_next_to_the_domain(as_alice, cast):
    CompanyFactory(name="First", domain="acme.example", owner=cast.carol)

    response = as_alice.post("/companies/new/", {"name": "Second", "domain": "Acme.Example"})

    assert response.status_code == 200
    assert response.context["form"].errors["domain"] == ["Already used by another company."]
    assert 'aria-describedby="id_domain_helptext id_domain_error"' in response.content.decode()
    assert Company.objects.count() == 1


def test_a_company_needs_a_name(as_alice):
    response = as_alice.post("/companies/new/", {"name": "  "})

    assert response.context["form"].errors["name"] == ["This field is required."]
    assert not Company.objects.exists()


def test_a_rep_cannot_give_a_company_to_someone_else(as_alice, cast):
    response = as_alice.post("/companies/new/", {"name": "Acme", "owner": cast.bob.pk})

    assert response.status_code == 200
    assert "owner" in response.context["form"].errors
    assert not Company.objects.exists()


def test_editing_a_company(as_alice, cast):
    company = CompanyFactory(name="Acme", domain="acme.example", owner=cast.alice)

    response = as_alice.post(
        f"/companies/{company.pk}/edit/",
        {"name": "Acme AG", "domain": "acme.example", "owner": cast.alice.pk, "industry": "IT"},
    )

    assert response.status_code == 302
    company.refresh_from_db()
    assert (company.name, company.industry) == ("Acme AG", "IT")


def test_editing_a_company_to_a_taken_domain_is_refused(as_alice, cast):
    CompanyFactory(domain="taken.example", owner=cast.carol)
    company = CompanyFactory(name="Acme", domain="acme.example", owner=cast.alice)

    response = as_alice.post(
        f"/companies/{company.pk}/edit/",
        {"name": "Acme", "domain": "taken.example", "owner": cast.alice.pk},
    )

    assert response.context["form"].errors["domain"] == ["Already used by another company."]
    company.refresh_from_db()
    assert company.domain == "acme.example"


def test_rep_cannot_edit_another_reps_company_when_reps_see_all(as_alice, cast):
    reps_see_all()
    company = CompanyFactory(name="Bobs", owner=cast.bob)

    page = as_alice.get(f"/companies/{company.pk}/")
    form_page = as_alice.get(f"/companies/{company.pk}/edit/")
    refused = as_alice.post(
        f"/companies/{company.pk}/edit/", {"name": "Alices now", "owner": cast.alice.pk}
    )
    delete = as_alice.post(f"/companies/{company.pk}/delete/")

    assert page.status_code == 200
    assert page.context["can_change"] is False
    assert f'href="/companies/{company.pk}/edit/"' not in page.content.decode()
    assert form_page.status_code == 403
    assert refused.status_code == 403
    assert "You can see this company but not change it." in refused.content.decode()
    assert delete.status_code == 403
    company.refresh_from_db()
    assert (company.name, company.owner) == ("Bobs", cast.bob)


def test_deleting_a_company_asks_first(as_alice, cast):
    company = CompanyFactory(name="Acme", owner=cast.alice)

    confirm = as_alice.get(f"/companies/{company.pk}/delete/")
    response = as_alice.post(f"/companies/{company.pk}/delete/")

    assert "Delete the company Acme?" in confirm.content.decode()
    assert Company.objects.filter(pk=company.pk).exists() is False
    assert response["Location"] == "/companies/"


# --- Contacts -----------------------------------------------------------------------------


def test_contact_list_filters_by_company_and_search(client, cast):
    acme = CompanyFactory(name="Acme")
    ada = ContactFactory(first_name="Ada", last_name="Lovelace", company=acme)
    ContactEmailFactory(contact=ada, email="ada@acme.example")
    ContactFactory(first_name="Grace", last_name="Hopper")
    client.force_login(cast.admin)

    assert names(client.get("/contacts/", {"company": acme.pk})) == ["Ada Lovelace"]
    assert names(client.get("/contacts/", {"q": "ada@acme"})) == ["Ada Lovelace"]
    assert names(client.get("/contacts/", {"sort": "-name"})) == ["Ada Lovelace", "Grace Hopper"]


def test_contact_list_company_filter_offers_only_visible_companies(as_alice, cast):
    mine = CompanyFactory(name="Mine", owner=cast.alice)
    hidden = CompanyFactory(name="Hidden", owner=cast.carol)

    response = as_alice.get("/contacts/", {"company": hidden.pk})

    assert list(response.context["form"].fields["company"].queryset) == [mine]
    assert "company" in response.context["form"].errors


def test_contact_list_query_count_does_not_grow_with_rows(client, cast, django_assert_num_queries):
    acme = CompanyFactory(name="Acme", owner=cast.alice)
    tag = TagFactory(name="vip")
    for number in range(25):
        contact = ContactFactory(last_name=f"Person {number:02}", company=acme, owner=cast.alice)
        ContactEmailFactory(contact=contact)
        contact.tags.set([tag])
    client.force_login(cast.alice)

    # session, user, settings, count, rows (with company and owner), e-mails, tags, saved views,
    # owner, team and tag choices (the company filter is a picker: no choices), suggested contacts
    with django_assert_num_queries(12):
        response = client.get("/contacts/")

    assert len(response.context["page"].object_list) == 25


def test_creating_a_contact_with_two_emails_a_phone_and_a_company(as_alice, cast):
    acme = CompanyFactory(name="Acme", owner=cast.alice)

    response = as_alice.post(
        "/contacts/new/",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "title": "CTO",
            "company": acme.pk,
            "email": "Ada@Acme.example",
            "email_2": "ada@home.example",
            "phone": "+49 30 123",
            "phone_kind": "mobile",
            "owner": cast.alice.pk,
        },
    )

    contact = Contact.objects.get()
    assert response["Location"] == f"/contacts/{contact.pk}/"
    assert (contact.full_name, contact.title, contact.company, contact.owner) == (
        "Ada Lovelace",
        "CTO",
        acme,
        cast.alice,
    )
    assert [(e.email, e.is_primary) for e in contact.emails.all()] == [
        ("ada@acme.example", True),
        ("ada@home.example", False),
    ]
    assert [(p.number, p.kind) for p in contact.phones.all()] == [("+49 30 123", "mobile")]


def test_an_email_of_another_contact_is_an_error_next_to_that_field(as_alice, cast):
    ContactEmailFactory(contact=ContactFactory(owner=cast.carol), email="taken@example.com")

    response = as_alice.post(
        "/contacts/new/",
        {"last_name": "New", "email": "free@example.com", "email_2": "TAKEN@example.com"},
    )

    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["email_2"] == ["taken@example.com belongs to another contact."]
    assert "email" not in form.errors
    assert Contact.objects.count() == 1


def test_a_contact_needs_a_name(as_alice):
    response = as_alice.post("/contacts/new/", {"email": "x@example.com"})

    assert response.context["form"].errors["last_name"] == ["Give a first or last name."]
    assert not Contact.objects.exists()


def test_a_contact_cannot_be_put_at_an_invisible_company(as_alice, cast):
    hidden = CompanyFactory(owner=cast.carol)

    response = as_alice.post("/contacts/new/", {"last_name": "X", "company": hidden.pk})

    assert "company" in response.context["form"].errors
    assert not Contact.objects.exists()


def test_editing_a_contact_keeps_the_addresses_the_form_does_not_show(as_alice, cast):
    contact = ContactFactory(first_name="Ada", last_name="L", owner=cast.alice)
    for number, address in enumerate(["a@x.example", "b@x.example", "c@x.example"]):
        ContactEmail.objects.create(contact=contact, email=address, is_primary=number == 0)

    response = as_alice.post(
        f"/contacts/{contact.pk}/edit/",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "a@x.example",
            "email_2": "new@x.example",
            "owner": cast.alice.pk,
        },
    )

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.last_name == "Lovelace"
    assert sorted(contact.emails.values_list("email", flat=True)) == [
        "a@x.example",
        "c@x.example",
        "new@x.example",
    ]


def test_contact_detail_shows_its_activities_newest_first(as_alice, cast, pipeline):
    acme = CompanyFactory(name="Acme", owner=cast.alice)
    ada = ContactFactory(first_name="Ada", last_name="Lovelace", company=acme, owner=cast.alice)
    ContactEmailFactory(contact=ada, email="ada@acme.example")
    deal = DealFactory(title="Ada's deal", owner=cast.alice, stage=pipeline.stages.first())
    deal.contacts.set([ada])
    now = timezone.now()
    for days, subject in [(3, "First"), (1, "Third"), (2, "Second")]:
        activity = ActivityFactory(
            subject=subject, owner=cast.alice, occurred_at=now - datetime.timedelta(days=days)
        )
        activity.contacts.set([ada])
    ActivityFactory(subject="Not Ada's", owner=cast.alice, company=acme)

    response = as_alice.get(f"/contacts/{ada.pk}/")

    page = response.content.decode()
    assert [entry.activity.subject for entry in response.context["timeline_entries"]] == [
        "Third",
        "Second",
        "First",
    ]
    assert "Not Ada&#x27;s" not in page
    assert f'href="/companies/{acme.pk}/">Acme</a>' in page
    assert "ada@acme.example" in page
    assert f'href="/deals/{deal.pk}/">Ada&#x27;s deal</a>' in page


def test_contact_detail_query_count_with_many_rows(client, cast, django_assert_num_queries):
    ada = ContactFactory(owner=cast.alice, company=CompanyFactory(owner=cast.alice))
    ContactEmailFactory(contact=ada)
    others = ContactFactory.create_batch(3, owner=cast.alice)
    for _ in range(25):
        activity = ActivityFactory(owner=cast.alice)
        activity.contacts.set([ada, *others])
    client.force_login(cast.alice)

    # session, user, settings, contact, e-mails, phones, tags, company visible, deals,
    # may-change, values filled from e-mail signatures, the next meeting, activities, their
    # contacts
    with django_assert_num_queries(14):
        response = client.get(f"/contacts/{ada.pk}/")

    assert len(response.context["timeline_entries"]) == 20


@pytest.mark.parametrize(
    "path",
    ["/contacts/{}/", "/contacts/{}/edit/", "/contacts/{}/delete/"],
)
def test_invisible_contact_pages_are_404(as_alice, cast, path):
    contact = ContactFactory(last_name="Hidden", owner=cast.carol)

    assert as_alice.get(path.format(contact.pk)).status_code == 404
    assert as_alice.post(path.format(contact.pk), {"last_name": "Hacked"}).status_code == 404
    contact.refresh_from_db()
    assert contact.last_name == "Hidden"


def test_rep_cannot_edit_another_reps_contact_when_reps_see_all(as_alice, cast):
    reps_see_all()
    contact = ContactFactory(last_name="Bobs", owner=cast.bob)

    refused = as_alice.post(f"/contacts/{contact.pk}/edit/", {"last_name": "Mine"})

    assert refused.status_code == 403
    contact.refresh_from_db()
    assert contact.last_name == "Bobs"


def test_deleting_a_contact(as_alice, cast):
    contact = ContactFactory(first_name="Ada", last_name="Lovelace", owner=cast.alice)

    response = as_alice.post(f"/contacts/{contact.pk}/delete/")

    assert response["Location"] == "/contacts/"
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    ("path", "queries"),
    [
        # session, user, (settings,) then the choices: assignable owners (two), tags; the
        # company of a contact is a picker, which lists nothing
        ("/companies/new/", 5),
        ("/contacts/new/", 6),
        # plus the record, its tags (e-mails and phones), may-change (and a contact's company)
        ("/companies/{company}/edit/", 9),
        ("/contacts/{contact}/edit/", 12),
        ("/companies/{company}/delete/", 5),
        ("/contacts/{contact}/delete/", 7),
    ],
)
def test_form_pages_query_counts(as_alice, cast, django_assert_num_queries, path, queries):
    TagFactory.create_batch(3)
    companies = CompanyFactory.create_batch(20, owner=cast.alice)
    contact = ContactFactory(owner=cast.alice, company=companies[0])
    ContactEmailFactory.create_batch(2, contact=contact)

    with django_assert_num_queries(queries):
        response = as_alice.get(path.format(company=companies[0].pk, contact=contact.pk))

    assert response.status_code == 200
