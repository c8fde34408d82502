import pytest

from salesdesk.core.models import AuditEntry
from salesdesk.crm.models import Company, Contact, ContactEmail
from tests.factories import CompanyFactory, ContactEmailFactory, ContactFactory, TagFactory

pytestmark = pytest.mark.django_db


def test_create_company_normalizes_domain_and_audits(cast, api_client):
    tag = TagFactory(name="enterprise")
    response = api_client(cast.alice).post(
        "/api/v1/companies",
        {
            "name": " Acme GmbH ",
            "domain": "https://www.ACME.de/about",
            "country": "de",
            "tag_ids": [tag.pk],
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["domain"], body["country"]) == ("Acme GmbH", "acme.de", "DE")
    assert body["owner"]["id"] == cast.alice.pk
    assert [t["name"] for t in body["tags"]] == ["enterprise"]
    entry = AuditEntry.objects.get(entity="crm.company", entity_id=body["id"])
    assert entry.actor == cast.alice
    assert entry.changes["domain"] == [None, "acme.de"]


def test_domain_is_unique_case_insensitively(cast, api_client):
    CompanyFactory(domain="acme.de", owner=cast.carol)
    response = api_client(cast.alice).post(
        "/api/v1/companies", {"name": "Acme", "domain": "ACME.DE"}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "duplicate"
    assert Company.objects.filter(domain="acme.de").count() == 1


def test_website_gives_the_domain(cast, api_client):
    response = api_client(cast.alice).post(
        "/api/v1/companies", {"name": "Initech", "website": "www.initech.com/en"}
    )
    assert response.status_code == 201
    assert (response.json()["domain"], response.json()["website"]) == (
        "initech.com",
        "https://www.initech.com/en",
    )


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "X", "domain": "not a domain"}, "domain"),
        ({"name": "X", "country": "Germany"}, "country"),
        ({"name": "X", "website": "ht!tp://"}, "website"),
    ],
)
def test_company_validation_errors_name_the_field(cast, api_client, payload, field):
    response = api_client(cast.alice).post("/api/v1/companies", payload)
    assert response.status_code == 422
    assert field in response.json()["errors"]
    assert not Company.objects.exists()


def test_update_company_records_before_and_after(cast, api_client):
    company = CompanyFactory(owner=cast.alice, name="Old name", industry="Retail")
    response = api_client(cast.alice).patch(f"/api/v1/companies/{company.pk}", {"name": "New name"})
    assert response.status_code == 200
    company.refresh_from_db()
    assert (company.name, company.industry) == ("New name", "Retail")
    entry = AuditEntry.objects.get(entity="crm.company", entity_id=company.pk, action="update")
    assert entry.changes == {"name": ["Old name", "New name"]}


def test_create_contact_with_emails_and_phones(cast, api_client):
    company = CompanyFactory(owner=cast.alice)
    response = api_client(cast.alice).post(
        "/api/v1/contacts",
        {
            "first_name": "Grace",
            "last_name": "Hopper",
            "company_id": company.pk,
            "emails": ["Grace@Navy.mil", "grace@navy.mil", "g.hopper@example.org"],
            "phones": [{"number": "+1 555 0100", "kind": "mobile"}],
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["emails"] == ["grace@navy.mil", "g.hopper@example.org"]
    assert body["phones"] == [{"number": "+1 555 0100", "kind": "mobile"}]
    assert body["company"] == {"id": company.pk, "name": company.name}
    assert ContactEmail.objects.get(email="grace@navy.mil").is_primary


def test_an_email_belongs_to_one_contact(cast, api_client):
    ContactEmailFactory(email="taken@example.org", contact=ContactFactory(owner=cast.carol))
    response = api_client(cast.alice).post(
        "/api/v1/contacts", {"last_name": "Copy", "emails": ["TAKEN@example.org"]}
    )
    assert response.status_code == 422
    assert "taken@example.org already belongs to another contact" in response.json()["detail"]
    assert not Contact.objects.filter(last_name="Copy").exists()


def test_contact_needs_a_name_and_valid_emails(cast, api_client):
    client = api_client(cast.alice)
    nameless = client.post("/api/v1/contacts", {"emails": ["a@b.de"]})
    bad_email = client.post("/api/v1/contacts", {"last_name": "X", "emails": ["not-an-email"]})
    assert (nameless.status_code, bad_email.status_code) == (422, 422)
    assert "first or last name" in nameless.json()["detail"]
    assert bad_email.json()["errors"] == {"emails": "Enter a valid e-mail address."}
    assert not Contact.objects.exists()


def test_replacing_emails_keeps_given_ones(cast, api_client):
    contact = ContactFactory(owner=cast.alice)
    ContactEmailFactory(contact=contact, email="old@example.org")
    response = api_client(cast.alice).patch(
        f"/api/v1/contacts/{contact.pk}", {"emails": ["new@example.org", "old@example.org"]}
    )
    assert response.status_code == 200
    assert response.json()["emails"] == ["new@example.org", "old@example.org"]


def test_search_contacts_by_name_email_phone(cast, api_client):
    ada = ContactFactory(owner=cast.alice, first_name="Ada", last_name="Lovelace")
    ContactEmailFactory(contact=ada, email="ada@engine.org")
    other = ContactFactory(owner=cast.alice, first_name="Charles", last_name="Babbage")
    other.phones.create(number="+44 20 7946 0000")
    client = api_client(cast.alice)
    for q, expected in [
        ("lovelace", [ada.pk]),
        ("engine.org", [ada.pk]),
        ("7946", [other.pk]),
        ("ada love", [ada.pk]),
    ]:
        found = [c["id"] for c in client.get("/api/v1/contacts", {"q": q}).json()["items"]]
        assert found == expected, q


def test_contact_list_query_count_is_constant(cast, api_client, django_assert_num_queries):
    company = CompanyFactory(owner=cast.alice)
    for i in range(25):
        contact = ContactFactory(owner=cast.alice, company=company)
        ContactEmailFactory(contact=contact, email=f"c{i}@example.org")
        contact.tags.add(TagFactory(name="vip"))
    client = api_client(cast.alice)
    client.get("/api/v1/contacts")
    # token, settings, contacts, emails, phones, tags
    with django_assert_num_queries(6):
        response = client.get("/api/v1/contacts", {"limit": 25})
    assert len(response.json()["items"]) == 25


def test_company_list_query_count_is_constant(cast, api_client, django_assert_num_queries):
    for _ in range(25):
        CompanyFactory(owner=cast.alice).tags.add(TagFactory(name="vip"))
    client = api_client(cast.alice)
    client.get("/api/v1/companies")
    # token, settings, companies, tags
    with django_assert_num_queries(4):
        response = client.get("/api/v1/companies", {"limit": 25})
    assert len(response.json()["items"]) == 25


def test_contact_audit_records_email_changes(cast, api_client):
    client = api_client(cast.alice)
    contact_id = client.post(
        "/api/v1/contacts", {"last_name": "Lin", "emails": ["a@x.org"]}
    ).json()["id"]
    client.patch(f"/api/v1/contacts/{contact_id}", {"emails": ["b@x.org"]})
    trail = client.get(f"/api/v1/contacts/{contact_id}/audit").json()
    assert trail[0]["changes"] == {"emails": [["a@x.org"], ["b@x.org"]]}
    assert trail[1]["changes"]["emails"] == [None, ["a@x.org"]]
    assert api_client(cast.bob).get(f"/api/v1/contacts/{contact_id}/audit").status_code == 404
