"""The database computes each contact address's match key, whatever wrote the row."""

import pytest

from salesdesk.crm.models import ContactEmail
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

CASES = [
    ("bob@acme.com", "bob@acme.com"),
    ("bob+crm@acme.com", "bob@acme.com"),
    ("bob+a+b@acme.com", "bob@acme.com"),
    ("b.o.b@acme.com", "b.o.b@acme.com"),  # dots matter outside Gmail
    ("j.doe+news@gmail.com", "jdoe@gmail.com"),
    ("j.doe@googlemail.com", "jdoe@gmail.com"),
    ("+only@acme.com", "+only@acme.com"),  # a tag needs a name before it
]


def test_match_key_is_computed_on_every_insert():
    contact = ContactFactory()
    ContactEmail.objects.create(contact=contact, email=CASES[0][0])
    ContactEmail.objects.bulk_create(
        [ContactEmail(contact=contact, email=email) for email, _ in CASES[1:]]
    )

    keys = dict(ContactEmail.objects.values_list("email", "match_key"))

    assert keys == dict(CASES)


def test_the_database_key_is_what_capture_matches_on():
    """addresses.normalize (Python, for incoming mail) and the generated column (SQL, for stored
    addresses) must agree, or a known contact would not be found."""
    from salesdesk.capture.addresses import normalize

    contact = ContactFactory()
    emails = [email for email, _ in CASES] + [
        "x.y+z@sub.acme.co.uk",
        "first.last@googlemail.com",
        "a+b+c@gmail.com",
        "ünïcode@bücher.de",
        "o'brien@example.ie",
    ]
    ContactEmail.objects.bulk_create([ContactEmail(contact=contact, email=e) for e in emails])

    keys = dict(ContactEmail.objects.values_list("email", "match_key"))

    assert {email: normalize(email) for email in emails} == keys
