"""Import in the browser: upload, mapping, dry run, import; the upload kept between the steps."""

import os
import re
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from salesdesk.core import views
from salesdesk.crm.models import Contact
from tests.factories import ContactEmailFactory, ContactFactory

pytestmark = pytest.mark.django_db

CONTACTS_CSV = (
    b"First name,Last name,E-mail,Job title,Fax\n"
    b"Ada,Lovelace,ada@example.com,Engineer,123\n"
    b"Grace,Hopper,not-an-address,Admiral,456\n"
    b"Alan,Turing,alan@example.com,,789\n"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def upload(client, data=CONTACTS_CSV, entity="contacts", name="people.csv"):
    return client.post("/import/", {"entity": entity, "file": SimpleUploadedFile(name, data)})


def uploaded(client, data=CONTACTS_CSV, entity="contacts") -> str:
    """Upload a file; returns the URL of its mapping page."""
    response = upload(client, data, entity)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def stored_files(media) -> list[str]:
    return sorted(p.name for p in media.glob("imports/*/*.csv"))


def mapping_of(page: str) -> dict[str, str]:
    """{column: selected field} as the mapping form shows it."""
    labels = dict(re.findall(r'<label for="(id_column_\d+)">([^<]*)</label>', page))
    selected = {}
    for select_id, options in re.findall(
        r'<select[^>]*id="(id_column_\d+)"[^>]*>(.*?)</select>', page, re.S
    ):
        match = re.search(r'<option value="([^"]*)" selected>', options)
        selected[labels[select_id]] = match.group(1) if match else None
    return selected


def test_the_import_page_offers_the_kinds_and_the_exports(cast, django_assert_num_queries):
    client = signed_in(cast.alice)

    with django_assert_num_queries(2):
        response = client.get("/import/")

    page = response.content.decode()
    assert response.status_code == 200
    assert [k for k in ("companies", "contacts", "deals") if f'value="{k}"' in page] == [
        "companies",
        "contacts",
        "deals",
    ]
    assert '<label class="form-label" for="id_file">CSV file</label>' in page
    for entity in ("companies", "contacts", "deals"):
        assert f'href="/{entity}/export/"' in page


def test_uploading_keeps_the_file_and_shows_the_guessed_mapping(
    cast, media, django_assert_num_queries
):
    client = signed_in(cast.alice)

    response = upload(client)

    match = re.fullmatch(r"/import/contacts/([0-9a-f]{32})/", response["Location"])
    assert response.status_code == 302
    assert match
    token = match.group(1)
    path = media / "imports" / str(cast.alice.pk) / f"{token}.csv"
    assert path.read_bytes() == CONTACTS_CSV
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert not Contact.objects.exists()

    with django_assert_num_queries(2):
        page = client.get(response["Location"]).content.decode()

    assert "From people.csv: 3 rows, comma-separated, utf-8." in page
    assert mapping_of(page) == {
        "First name": "first_name",
        "Last name": "last_name",
        "E-mail": "email",
        "Job title": "title",
        "Fax": "",
    }
    assert '<option value="">— ignore —</option>' in page
    assert "<td>2</td><td>Ada</td><td>Lovelace</td><td>ada@example.com</td>" in page
    assert "Check (dry run)" in page
    assert 'value="import"' not in page  # importing comes after a check


def test_the_dry_run_shows_counts_and_every_failed_row_and_saves_nothing(cast, media):
    client = signed_in(cast.alice)
    url = uploaded(client)
    mapping = {
        "column_0": "first_name",
        "column_1": "last_name",
        "column_2": "email",
        "column_3": "title",
        "column_4": "",
    }

    response = client.post(url, {**mapping, "action": "check"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "Check (dry run): nothing was saved" in page
    assert '<span class="d-block fs-4 fw-semibold" data-count="created">2</span>' in page
    assert '<span class="d-block fs-4 fw-semibold text-danger" data-count="failed">1</span>' in page
    assert (
        "<strong>Line 3:</strong> E-mail: &#x27;not-an-address&#x27; is not an e-mail address."
        in page
    )
    assert 'name="action" value="import">Import 2 contacts</button>' in page
    assert not Contact.objects.exists()
    assert len(stored_files(media)) == 1


def test_importing_saves_the_rows_deletes_the_file_and_links_the_records(cast, media):
    client = signed_in(cast.alice)
    url = uploaded(client)
    mapping = {
        "column_0": "first_name",
        "column_1": "last_name",
        "column_2": "email",
        "column_3": "",
        "column_4": "",
    }

    response = client.post(url, {**mapping, "action": "import"})

    page = response.content.decode()
    ada, alan = Contact.objects.order_by("first_name")
    assert response.status_code == 200
    assert [(c.first_name, c.last_name, c.title, c.owner) for c in (ada, alan)] == [
        ("Ada", "Lovelace", "", cast.alice),  # the title column was ignored
        ("Alan", "Turing", "", cast.alice),
    ]
    assert "Imported contacts: 2 created, 0 updated, 0 skipped, 1 failed." in page
    assert "<strong>Line 3:</strong>" in page
    assert f'<a href="/contacts/{ada.pk}/">Ada Lovelace</a>' in page
    assert f'<a href="/contacts/{alan.pk}/">Alan Turing</a>' in page
    assert stored_files(media) == []

    again = client.post(url, {**mapping, "action": "import"}, follow=True)

    assert again.redirect_chain == [("/import/", 302)]
    assert "That upload is no longer here" in again.content.decode()
    assert Contact.objects.count() == 2


def test_importing_updates_what_is_there_instead_of_doubling(cast):
    ada = ContactFactory(owner=cast.alice, first_name="Ada", last_name="Lovelace")
    ContactEmailFactory(contact=ada, email="ada@example.com")
    client = signed_in(cast.alice)
    url = uploaded(client)
    mapping = {
        "column_0": "first_name",
        "column_1": "last_name",
        "column_2": "email",
        "column_3": "title",
        "column_4": "",
    }

    page = client.post(url, {**mapping, "action": "import"}).content.decode()

    ada.refresh_from_db()
    assert ada.title == "Engineer"
    assert Contact.objects.count() == 2
    assert "Imported contacts: 1 created, 1 updated, 0 skipped, 1 failed." in page


def test_another_users_upload_is_refused_and_left_alone(cast, media):
    url = uploaded(signed_in(cast.alice))

    response = signed_in(cast.manager).post(
        url, {"column_0": "first_name", "action": "import"}, follow=True
    )

    assert response.redirect_chain == [("/import/", 302)]
    assert "That upload is no longer here" in response.content.decode()
    assert len(stored_files(media)) == 1
    assert not Contact.objects.exists()


@pytest.mark.parametrize("token", ["../../../etc/passwd", "ABCDEF", "0" * 31, "g" * 32])
def test_a_malformed_token_names_no_file(cast, token):
    response = signed_in(cast.alice).get(f"/import/contacts/{token}/")

    assert response.status_code in (302, 404)
    assert response.status_code == 404 or response["Location"] == "/import/"


def test_an_unknown_kind_is_not_found(cast):
    url = uploaded(signed_in(cast.alice)).replace("/contacts/", "/invoices/")

    assert signed_in(cast.alice).get(url).status_code == 404


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The submitted file is empty."),
        (
            b"PK\x03\x04\x14\x00\x06\x00binary\x00\x00",
            "This is not a CSV text file (it contains binary data).",
        ),
        (b"\xef\xbb\xbfname\n\xff\xfe broken", "The file claims to be UTF-8 but is not."),
        (b"first_name,last_name\n", "The file has a header but no rows."),
        (
            b"ada@example.com,Ada\ngrace@example.com,Grace\n",
            "The first line must be a header naming the columns",
        ),
    ],
)
def test_bad_files_are_refused_next_to_the_file_field(cast, media, data, message):
    response = upload(signed_in(cast.alice), data)

    page = response.content.decode()
    assert response.status_code == 200
    assert '<div class="invalid-feedback" id="id_file_error">' in page
    assert message in page
    assert stored_files(media) == []


def test_a_file_over_the_limit_is_refused(cast, media, monkeypatch):
    monkeypatch.setattr(views, "MAX_BYTES", 100)

    response = upload(signed_in(cast.alice), CONTACTS_CSV + b"x" * 100)

    assert "The file is larger than 0 MB; split it into smaller files." in response.content.decode()
    assert stored_files(media) == []


def test_no_file_and_no_kind_are_reported(cast):
    response = signed_in(cast.alice).post("/import/", {"entity": "invoices"})

    page = response.content.decode()
    assert "Select a valid choice. invoices is not one of the available choices." in page
    assert "This field is required." in page


def test_a_mapping_without_a_name_is_refused_and_saves_nothing(cast):
    client = signed_in(cast.alice)
    url = uploaded(client)

    response = client.post(
        url, {"column_0": "", "column_1": "", "column_2": "email", "action": "import"}
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "No column holds a contact&#x27;s name" in page
    assert not Contact.objects.exists()


def test_two_columns_for_one_field_are_refused(cast):
    client = signed_in(cast.alice)
    url = uploaded(client)

    response = client.post(
        url, {"column_0": "first_name", "column_1": "first_name", "action": "check"}
    )

    assert (
        "The mapping gives the field &#x27;first_name&#x27; two columns"
        in response.content.decode()
    )


def test_an_unknown_field_is_an_error_next_to_its_column(cast):
    client = signed_in(cast.alice)
    url = uploaded(client)

    response = client.post(url, {"column_0": "salary", "column_1": "last_name", "action": "check"})

    page = response.content.decode()
    assert 'aria-describedby="id_column_0_error"' in page
    assert "Select a valid choice. salary is not one of the available choices." in page
    assert not Contact.objects.exists()


def test_a_missing_name_column_is_shown_on_the_mapping_page(cast):
    url = uploaded(signed_in(cast.alice), b"E-mail,Phone\nada@example.com,123\n")

    page = signed_in(cast.alice).get(url).content.decode()

    assert "No column holds a contact&#x27;s name" in page


def test_uploads_older_than_a_day_are_removed(cast, media):
    client = signed_in(cast.alice)
    uploaded(client)
    (old,) = media.glob("imports/*/*.csv")
    day_ago = time.time() - views.UPLOAD_LIFETIME - 60
    os.utime(old, (day_ago, day_ago))

    uploaded(client)

    assert old.name not in stored_files(media)
    assert len(stored_files(media)) == 1


def test_deals_import_through_the_browser(cast, pipeline):
    client = signed_in(cast.alice)
    url = uploaded(client, b"Deal name,Value,Stage\nBig one,1200,Qualified\n", entity="deals")

    page = client.post(
        url, {"column_0": "title", "column_1": "amount", "column_2": "stage", "action": "import"}
    )

    deal = cast.alice.deals.get()
    assert (deal.title, deal.amount, deal.stage.name) == ("Big one", 1200, "Qualified")
    assert f'<a href="/deals/{deal.pk}/">Big one</a>' in page.content.decode()


def test_import_needs_signing_in(client):
    assert client.get("/import/")["Location"] == "/login/?next=/import/"
