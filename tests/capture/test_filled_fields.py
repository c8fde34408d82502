"""Values filled in from e-mail signatures: shown on the record with their message, undoable."""

import pytest
from django.test import Client

from salesdesk.capture.models import FilledField
from salesdesk.core.models import AuditEntry
from salesdesk.crm.models import Company, Contact, ContactPhone
from tests.capture.test_pipeline import SIGNED, capture, mail

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def jane(cast) -> Contact:
    capture(mail(body=SIGNED), user=cast.alice)
    return Contact.objects.get()


def test_the_contact_page_shows_what_was_filled_in_and_from_which_email(cast, jane):
    page = signed_in(cast.alice).get(f"/contacts/{jane.pk}/").content.decode()

    assert "Filled in from e-mail signatures" in page
    for text in ("Head of Procurement", "+442079460958", "+447911123456", "LinkedIn"):
        assert text in page
    assert "from “Pricing for the pilot”" in page
    assert page.count('aria-label="Undo ') == 4  # title, LinkedIn and two phones
    company = signed_in(cast.alice).get(f"/companies/{jane.company_id}/").content.decode()
    assert 'aria-label="Undo Website https://www.acme.co.uk/"' in company


def test_undo_gives_each_field_its_earlier_value_with_an_audit_entry(cast, jane):
    alice = signed_in(cast.alice)
    audits = AuditEntry.objects.count()

    for field in ("title", "phone", "website"):
        filled = FilledField.objects.filter(field=field).order_by("pk").first()
        response = alice.post(f"/capture/filled/{filled.pk}/undo/")
        assert response.status_code == 302
        filled.refresh_from_db()
        assert (filled.undone_by, filled.undone_at is not None) == (cast.alice, True)

    jane.refresh_from_db()
    assert jane.title == ""
    assert jane.linkedin_url == "https://www.linkedin.com/in/janedoe"  # not taken back
    assert list(ContactPhone.objects.values_list("number", flat=True)) == ["+447911123456"]
    assert Company.objects.get().website == "https://acme.co.uk/"  # the guess from the domain
    assert AuditEntry.objects.count() == audits + 3
    response = alice.get(f"/contacts/{jane.pk}/")
    assert sorted((f.field, f.value) for f in response.context["filled"]) == [
        ("linkedin_url", "https://www.linkedin.com/in/janedoe"),
        ("phone", "+447911123456"),
    ]


def test_a_value_changed_by_hand_since_is_not_undone(cast, jane):
    jane.title = "Chief Procurement Officer"
    jane.save()
    filled = FilledField.objects.get(field="title")
    alice = signed_in(cast.alice)

    response = alice.post(f"/capture/filled/{filled.pk}/undo/", follow=True)

    assert "was changed after it was filled in" in response.content.decode()
    jane.refresh_from_db()
    assert jane.title == "Chief Procurement Officer"
    filled.refresh_from_db()
    assert filled.undone_at is None
    assert 'aria-label="Undo Title' not in response.content.decode()  # no longer offered


def test_undoing_twice_says_so(cast, jane):
    filled = FilledField.objects.get(field="title")
    alice = signed_in(cast.alice)
    alice.post(f"/capture/filled/{filled.pk}/undo/")

    response = alice.post(f"/capture/filled/{filled.pk}/undo/", follow=True)

    assert "taken back already" in response.content.decode()


def test_only_who_may_change_the_contact_takes_a_value_back(cast, jane):
    filled = FilledField.objects.get(field="title")

    assert signed_in(cast.carol).post(f"/capture/filled/{filled.pk}/undo/").status_code == 404
    bob = signed_in(cast.bob)  # same team as alice, but reps change only their own
    response = bob.post(f"/capture/filled/{filled.pk}/undo/", follow=True)
    assert response.status_code in (200, 404)
    jane.refresh_from_db()
    assert jane.title == "Head of Procurement"
    assert signed_in(cast.manager).post(f"/capture/filled/{filled.pk}/undo/").status_code == 302
    jane.refresh_from_db()
    assert jane.title == ""


def test_get_is_not_allowed(cast, jane):
    filled = FilledField.objects.get(field="title")

    assert signed_in(cast.alice).get(f"/capture/filled/{filled.pk}/undo/").status_code == 405
