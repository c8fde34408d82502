import pytest

from salesdesk.crm.models import Contact
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)

CSV = (
    "Name,Email,Company,Fax\n"
    "Ada Lovelace,ada@example.com,Analytical Engines,1\n"
    "Grace Hopper,grace(at)navy,Navy,2\n"
    "Alan Turing,alan@example.com,Bletchley,3\n"
)


def test_importing_contacts_from_a_csv_file(page, cast, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    csv = tmp_path / "people.csv"
    csv.write_text(CSV)
    sign_in(page, cast.alice, PASSWORD)
    page.goto(f"{page.base_url}/import/")

    page.get_by_label("Contacts").check()
    page.get_by_label("CSV file", exact=True).set_input_files(str(csv))
    page.get_by_role("button", name="Upload and map columns").click()

    assert page.get_by_label("Name", exact=True).input_value() == "full_name"
    assert page.get_by_label("Email", exact=True).input_value() == "email"
    assert page.get_by_label("Fax", exact=True).input_value() == ""
    page.get_by_label("Company", exact=True).select_option("")  # leave companies out
    page.get_by_role("button", name="Check (dry run)").click()

    assert page.locator('[data-count="created"]').inner_text() == "2"
    assert page.locator('[data-count="failed"]').inner_text() == "1"
    failure = page.locator(".import-failures li")
    assert failure.inner_text().startswith("Line 3: Email: 'grace(at)navy' is not an e-mail")
    assert not Contact.objects.exists()

    page.get_by_role("button", name="Import 2 contacts").click()

    page.get_by_role("heading", name="Imported contacts").wait_for()
    assert page.get_by_role("link", name="Ada Lovelace").is_visible()
    contacts = Contact.objects.order_by("first_name")
    assert [(c.first_name, c.last_name, c.company_id, c.owner) for c in contacts] == [
        ("Ada", "Lovelace", None, cast.alice),
        ("Alan", "Turing", None, cast.alice),
    ]
    assert list(tmp_path.glob("imports/*/*.csv")) == []
