import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from salesdesk.crm.models import Company, Contact
from salesdesk.crm.transfer import export_csv
from tests.factories import CompanyFactory, ContactEmailFactory, ContactFactory

pytestmark = pytest.mark.django_db

PEOPLE = b"Name,E-Mail,Fax\nAda Lovelace,ada@x.example,1\nBad Row,not-an-email,2\n"


def upload(client, path, data: bytes, **fields):
    file = SimpleUploadedFile("upload.csv", data, content_type="text/csv")
    return client.client.post(path, {"file": file, **fields})


def test_import_is_a_dry_run_by_default(cast, api_client):
    response = upload(api_client(cast.admin), "/api/v1/imports/contacts", PEOPLE)

    assert response.status_code == 200
    assert response.json() == {
        "entity": "contacts",
        "dry_run": True,
        "created": 1,
        "updated": 0,
        "skipped": 0,
        "failed": 1,
        "rows": [
            {"line": 2, "action": "created", "id": None, "errors": [], "warnings": []},
            {
                "line": 3,
                "action": "failed",
                "id": None,
                "errors": ["E-Mail: 'not-an-email' is not an e-mail address."],
                "warnings": [],
            },
        ],
        "mapping": {"Name": "full_name", "E-Mail": "email"},
        "columns_unmapped": ["Fax"],
        "encoding": "utf-8",
        "delimiter": "comma",
        "warnings": [],
    }
    assert Contact.objects.count() == 0


def test_real_import_with_a_mapping(cast, api_client):
    response = upload(
        api_client(cast.alice),
        "/api/v1/imports/contacts",
        PEOPLE,
        dry_run="false",
        mapping=json.dumps({"Fax": "phone", "E-Mail": ""}),
    )

    assert response.status_code == 200
    body = response.json()
    ada = Contact.objects.get(first_name="Ada")
    assert (body["dry_run"], body["created"], body["failed"]) == (False, 2, 0)
    assert body["rows"][0]["id"] == ada.pk
    assert body["mapping"] == {"Name": "full_name", "Fax": "phone"}
    assert (ada.owner, list(ada.phones.values_list("number", flat=True))) == (cast.alice, ["1"])
    assert ada.emails.count() == 0


def test_rep_cannot_update_another_reps_contact_through_the_api(cast, api_client):
    bobs = ContactFactory(first_name="Robert", last_name="Secret", owner=cast.bob)
    ContactEmailFactory(contact=bobs, email="ada@x.example")

    response = upload(api_client(cast.alice), "/api/v1/imports/contacts", PEOPLE, dry_run="false")

    assert response.json()["rows"][0] == {
        "line": 2,
        "action": "failed",
        "id": None,
        "errors": ["E-Mail: The e-mail ada@x.example belongs to a record you cannot change."],
        "warnings": [],
    }
    bobs.refresh_from_db()
    assert (bobs.first_name, bobs.last_name) == ("Robert", "Secret")


@pytest.mark.parametrize(
    ("data", "fields", "detail"),
    [
        (b"", {}, "The file is empty."),
        (
            b"\x00\x01\x02binary\xff",
            {},
            "This is not a CSV text file (it contains binary data). Export the data as CSV "
            "(comma- or semicolon-separated values) and try again.",
        ),
        (
            b"Phone\n123\n",
            {},
            "No column holds a contact's name: map a column to 'first_name' or 'last_name' or "
            "'full_name'. The columns are: Phone.",
        ),
        (
            PEOPLE,
            {"mapping": "{not json"},
            'The mapping must be a JSON object of column → field, such as {"E-Mail": "email"}.',
        ),
        (
            PEOPLE,
            {"mapping": json.dumps({"Fax": "fax"})},
            "'fax' is not a field of contacts. The fields are: id, first_name, last_name, "
            "full_name, email, phone, mobile, title, company, owner, source, tags.",
        ),
    ],
)
def test_bad_files_and_mappings_are_422(cast, api_client, data, fields, detail):
    response = upload(api_client(cast.admin), "/api/v1/imports/contacts", data, **fields)

    assert response.status_code == 422
    assert response.json()["detail"] == detail
    assert response.json()["code"] == "invalid"
    assert Contact.objects.count() == 0


def test_missing_file_is_422(cast, api_client):
    response = api_client(cast.admin).client.post("/api/v1/imports/contacts", {"dry_run": "true"})

    assert response.status_code == 422
    assert response.json()["code"] == "invalid"
    assert "file" in response.json()["detail"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/imports/people"),
        ("post", "/api/v1/imports/people/preview"),
        ("get", "/api/v1/exports/people"),
    ],
)
def test_unknown_entity_is_404(cast, api_client, method, path):
    client = api_client(cast.admin)

    response = upload(client, path, PEOPLE) if method == "post" else client.get(path)

    assert response.status_code == 404
    assert response.json() == {
        "detail": "Unknown kind of record 'people'; use companies, contacts, deals.",
        "code": "not_found",
    }


def test_preview(cast, api_client):
    response = upload(api_client(cast.admin), "/api/v1/imports/contacts/preview", PEOPLE)

    assert response.status_code == 200
    body = response.json()
    assert body["mapping"] == {"Name": "full_name", "E-Mail": "email"}
    assert body["columns"] == ["Name", "E-Mail", "Fax"]
    assert body["rows"] == [
        {"line": 2, "values": {"Name": "Ada Lovelace", "E-Mail": "ada@x.example", "Fax": "1"}},
        {"line": 3, "values": {"Name": "Bad Row", "E-Mail": "not-an-email", "Fax": "2"}},
    ]
    assert (body["rows_total"], body["problems"]) == (2, [])
    assert {"name": "email", "help": body["fields"][4]["help"], "required": False} in body["fields"]
    assert Contact.objects.count() == 0


def test_export_is_a_csv_attachment_of_what_the_user_sees(cast, api_client):
    CompanyFactory(name="Alice's", owner=cast.alice)
    CompanyFactory(name="Carol's", owner=cast.carol)

    response = api_client(cast.alice).get("/api/v1/exports/companies")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="companies-')
    body = b"".join(response.streaming_content).decode()
    assert body == "".join(export_csv(actor=cast.alice, entity="companies"))
    assert "Alice's" in body
    assert "Carol's" not in body


def test_import_and_export_need_authentication(cast):
    client = Client()

    assert client.get("/api/v1/exports/companies").status_code == 401
    response = client.post(
        "/api/v1/imports/companies",
        {"file": SimpleUploadedFile("x.csv", b"Name\nAcme\n"), "dry_run": "false"},
    )
    assert response.status_code == 401
    assert Company.objects.count() == 0
