"""Suggested contacts (capture mode "suggest"): the inbox where reps add or ignore them."""

import pytest
from django.test import Client

from salesdesk.accounts.models import OrganizationSettings
from salesdesk.activities.models import Activity
from salesdesk.capture.models import CapturedAddress, SuggestedContact
from salesdesk.crm.models import Company, Contact
from tests.capture.test_pipeline import SENT, capture, mail
from tests.factories import ContactEmailFactory, ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def suggest(org):
    org.capture_mode = OrganizationSettings.CaptureMode.SUGGEST
    org.save()
    return org


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def jane_in_two_mails(user) -> SuggestedContact:
    capture(
        mail(),
        mail(message_id="<m2@acme.co.uk>", subject="Again", date=SENT.replace(day=21)),
        user=user,
    )
    return SuggestedContact.objects.get(match_key="jane.doe@acme.co.uk")


def test_the_inbox_lists_what_to_review_and_the_contacts_list_links_to_it(cast, suggest):
    jane = jane_in_two_mails(cast.alice)
    alice = signed_in(cast.alice)

    page = alice.get("/contacts/suggested/")
    html = page.content.decode()
    assert [s.pk for s in page.context["page"].object_list] == [jane.pk]
    assert "jane.doe@acme.co.uk" in html
    assert "2 e-mails or meetings" in html
    assert f'href="/companies/{Company.objects.get(domain="acme.co.uk").pk}/"' in html
    contacts = alice.get("/contacts/").content.decode()
    assert 'href="/contacts/suggested/">Suggested <span class="badge text-bg-primary">1</span>' in (
        contacts
    )


def test_adding_makes_a_contact_with_its_emails_on_its_timeline(cast, suggest):
    jane = jane_in_two_mails(cast.alice)

    response = signed_in(cast.alice).post(
        f"/contacts/suggested/{jane.pk}/accept/", HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    contact = Contact.objects.get()
    assert (contact.first_name, contact.last_name, contact.owner, contact.source) == (
        "Jane",
        "Doe",
        cast.alice,
        "e-mail",
    )
    assert contact.company.domain == "acme.co.uk"
    assert list(contact.emails.values_list("email", flat=True)) == ["jane.doe@acme.co.uk"]
    assert contact.last_interaction_at == SENT.replace(day=21)
    assert sorted(Activity.objects.filter(contacts=contact).values_list("subject", flat=True)) == [
        "Again",
        "Pricing for the pilot",
    ]
    assert not CapturedAddress.objects.filter(match_key="jane.doe@acme.co.uk", contact=None)
    jane.refresh_from_db()
    assert (jane.status, jane.contact, jane.decided_by) == ("accepted", contact, cast.alice)
    assert f'href="/contacts/{contact.pk}/"' in response.content.decode()

    capture(mail(message_id="<m3@acme.co.uk>", subject="Third"), user=cast.alice)
    assert Activity.objects.get(subject="Third").contacts.get() == contact  # known from now on


def test_adding_links_to_a_contact_someone_made_meanwhile(cast, suggest):
    jane = jane_in_two_mails(cast.alice)
    existing = ContactFactory(first_name="Jane", last_name="D.", owner=cast.alice)
    ContactEmailFactory(contact=existing, email="jane.doe+crm@acme.co.uk")

    signed_in(cast.alice).post(f"/contacts/suggested/{jane.pk}/accept/")

    assert Contact.objects.get() == existing
    assert Activity.objects.filter(contacts=existing).count() == 2


def test_ignoring_keeps_the_address_from_coming_back(cast, suggest):
    jane = jane_in_two_mails(cast.alice)

    response = signed_in(cast.alice).post(f"/contacts/suggested/{jane.pk}/ignore/")
    assert response.status_code == 302
    capture(mail(message_id="<m4@acme.co.uk>"), user=cast.alice)

    jane.refresh_from_db()
    assert (jane.status, jane.messages) == ("ignored", 3)
    assert not Contact.objects.exists()
    alice = signed_in(cast.alice)
    assert list(alice.get("/contacts/suggested/").context["page"].object_list) == []
    ignored = alice.get("/contacts/suggested/", {"status": "ignored"})
    assert [s.pk for s in ignored.context["page"].object_list] == [jane.pk]

    alice.post(f"/contacts/suggested/{jane.pk}/accept/")  # changed their mind
    assert Contact.objects.count() == 1


def test_a_decided_suggestion_cannot_be_decided_twice(cast, suggest):
    jane = jane_in_two_mails(cast.alice)
    alice = signed_in(cast.alice)
    alice.post(f"/contacts/suggested/{jane.pk}/accept/")

    again = alice.post(f"/contacts/suggested/{jane.pk}/accept/", HTTP_HX_REQUEST="true")
    ignore = alice.post(f"/contacts/suggested/{jane.pk}/ignore/", HTTP_HX_REQUEST="true")

    assert (again.status_code, again.content.decode()) == (
        409,
        "This suggestion is accepted already.",
    )
    assert ignore.status_code == 409
    assert Contact.objects.count() == 1
    jane.refresh_from_db()
    assert jane.status == "accepted"


def test_who_decides_follows_whose_mail_it_was(cast, suggest):
    jane = jane_in_two_mails(cast.alice)

    for user in (cast.bob, cast.carol, cast.outsider):
        client = signed_in(user)
        assert list(client.get("/contacts/suggested/").context["page"].object_list) == []
        assert client.post(f"/contacts/suggested/{jane.pk}/accept/").status_code == 404
        assert client.post(f"/contacts/suggested/{jane.pk}/ignore/").status_code == 404
    jane.refresh_from_db()
    assert jane.status == "pending"
    for user in (cast.manager, cast.admin):
        listed = signed_in(user).get("/contacts/suggested/").context["page"].object_list
        assert [s.pk for s in listed] == [jane.pk]

    signed_in(cast.manager).post(f"/contacts/suggested/{jane.pk}/accept/")
    assert Contact.objects.get().owner == cast.manager


def test_the_inbox_costs_the_same_queries_for_many_suggestions(
    cast, suggest, django_assert_max_num_queries
):
    for number in range(30):
        capture(
            mail(
                sender=f"Person {number} <p{number}@firm{number}.com>",
                message_id=f"<x{number}@firm{number}.com>",
            ),
            user=cast.alice,
        )
    alice = signed_in(cast.alice)

    with django_assert_max_num_queries(9):
        page = alice.get("/contacts/suggested/")

    assert len(page.context["page"].object_list) == 30
