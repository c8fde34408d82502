"""Deactivated tags: no longer offered in forms and filters, still on the records that have them."""

import pytest
from django.test import Client

from salesdesk.core.errors import PermissionDenied, ValidationFailed
from salesdesk.crm import services
from salesdesk.crm.models import Company, Contact, Tag
from salesdesk.pipeline.models import Deal
from tests.factories import CompanyFactory, ContactFactory, DealFactory, TagFactory

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def tags(db):
    return {"vip": TagFactory(name="vip"), "legacy": TagFactory(name="legacy", is_active=False)}


def offered(response, field: str) -> list[str]:
    return [tag.name for tag in response.context[response_form(response)].fields[field].queryset]


def response_form(response) -> str:
    return "filters" if "filters" in response.context else "form"


# --- Service ------------------------------------------------------------------------------


def test_admin_deactivates_and_activates_a_tag(cast, tags):
    tag = tags["vip"]

    services.tag_update(actor=cast.admin, tag=tag, is_active=False)
    tag.refresh_from_db()
    assert tag.is_active is False

    services.tag_update(actor=cast.admin, tag=tag, is_active=True, name="VIP")
    tag.refresh_from_db()
    assert (tag.name, tag.is_active) == ("VIP", True)


@pytest.mark.parametrize("who", ["manager", "alice", "outsider"])
def test_only_admins_change_tags(cast, tags, who):
    with pytest.raises(PermissionDenied):
        services.tag_update(actor=getattr(cast, who), tag=tags["vip"], is_active=False)

    assert Tag.objects.get(name="vip").is_active is True


@pytest.mark.parametrize("color", ["red", "#12345", "#1234567", "#gggggg", ""])
def test_a_tag_colour_must_be_hex(cast, tags, color):
    with pytest.raises(ValidationFailed) as raised:
        services.tag_update(actor=cast.admin, tag=tags["vip"], color=color)

    assert raised.value.fields == {"color": "Use #rrggbb, e.g. #6c757d."}
    assert Tag.objects.get(name="vip").color == "#6c757d"


# --- Forms and filters --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/companies/new/", "/contacts/new/", "/deals/new/"])
def test_new_records_are_offered_only_active_tags(cast, pipeline, tags, path):
    response = signed_in(cast.alice).get(path)

    assert offered(response, "tags") == ["vip"]
    assert ">legacy<" not in response.content.decode()


@pytest.mark.parametrize("path", ["/companies/", "/contacts/", "/deals/"])
def test_list_filters_offer_only_active_tags(cast, pipeline, tags, path):
    response = signed_in(cast.alice).get(path)

    assert offered(response, "tag") == ["vip"]


def test_an_old_link_still_filters_by_a_deactivated_tag(cast, pipeline, tags):
    stage = pipeline.stages.first()
    DealFactory(title="Old", owner=cast.alice, stage=stage).tags.add(tags["legacy"])
    DealFactory(title="Other", owner=cast.alice, stage=stage)
    CompanyFactory(name="Old Co", owner=cast.alice).tags.add(tags["legacy"])
    CompanyFactory(name="Other Co", owner=cast.alice)
    client = signed_in(cast.alice)

    deals = client.get("/deals/", {"tag": tags["legacy"].pk})
    companies = client.get("/companies/", {"tag": tags["legacy"].pk})

    assert offered(deals, "tag") == ["legacy", "vip"]
    assert [deal.title for deal in deals.context["page"].object_list] == ["Old"]
    assert [company.name for company in companies.context["page"].object_list] == ["Old Co"]


def test_a_tag_filter_that_is_not_an_id_is_an_error_not_a_crash(cast, tags):
    response = signed_in(cast.alice).get("/companies/", {"tag": "1; drop"})

    assert response.status_code == 200
    assert "tag" in response.context["form"].errors


def test_editing_a_company_keeps_its_deactivated_tag(cast, tags):
    company = CompanyFactory(name="Acme", owner=cast.alice)
    company.tags.set([tags["legacy"]])
    client = signed_in(cast.alice)

    form_page = client.get(f"/companies/{company.pk}/edit/")
    response = client.post(
        f"/companies/{company.pk}/edit/",
        {"name": "Acme AG", "owner": cast.alice.pk, "tags": [tags["legacy"].pk, tags["vip"].pk]},
    )

    assert offered(form_page, "tags") == ["legacy", "vip"]
    assert response.status_code == 302
    company.refresh_from_db()
    assert company.name == "Acme AG"
    assert sorted(tag.name for tag in company.tags.all()) == ["legacy", "vip"]


def test_a_deactivated_tag_cannot_be_given_to_a_record(cast, tags):
    company = CompanyFactory(name="Acme", owner=cast.alice)
    company.tags.set([tags["vip"]])

    response = signed_in(cast.alice).post(
        f"/companies/{company.pk}/edit/",
        {"name": "Acme AG", "owner": cast.alice.pk, "tags": [tags["legacy"].pk]},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["tags"] == [
        f"Select a valid choice. {tags['legacy'].pk} is not one of the available choices."
    ]
    company.refresh_from_db()
    assert company.name == "Acme"
    assert [tag.name for tag in company.tags.all()] == ["vip"]


def test_a_new_contact_cannot_get_a_deactivated_tag(cast, tags):
    response = signed_in(cast.alice).post(
        "/contacts/new/", {"last_name": "Lovelace", "tags": [tags["legacy"].pk]}
    )

    assert response.status_code == 200
    assert "tags" in response.context["form"].errors
    assert not Contact.objects.exists()


def test_editing_a_contact_keeps_its_deactivated_tag(cast, tags):
    contact = ContactFactory(first_name="Ada", last_name="Lovelace", owner=cast.alice)
    contact.tags.set([tags["legacy"]])

    response = signed_in(cast.alice).post(
        f"/contacts/{contact.pk}/edit/",
        {"first_name": "Ada", "last_name": "King", "tags": [tags["legacy"].pk]},
    )

    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.last_name == "King"
    assert [tag.name for tag in contact.tags.all()] == ["legacy"]


def test_editing_a_deal_keeps_its_deactivated_tag(cast, pipeline, tags):
    deal = DealFactory(title="Renewal", owner=cast.alice, stage=pipeline.stages.first())
    deal.tags.set([tags["legacy"]])
    client = signed_in(cast.alice)

    form_page = client.get(f"/deals/{deal.pk}/edit/")
    response = client.post(
        f"/deals/{deal.pk}/edit/",
        {
            "title": "Renewal 2027",
            "owner": cast.alice.pk,
            "pipeline": pipeline.pk,
            "amount": "1000",
            "currency": "EUR",
            "tags": [tags["legacy"].pk],
        },
    )

    assert offered(form_page, "tags") == ["legacy", "vip"]
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.title == "Renewal 2027"
    assert [tag.name for tag in deal.tags.all()] == ["legacy"]


def test_a_new_deal_cannot_get_a_deactivated_tag(cast, pipeline, tags):
    response = signed_in(cast.alice).post(
        "/deals/new/",
        {
            "title": "New",
            "owner": cast.alice.pk,
            "pipeline": pipeline.pk,
            "amount": "1000",
            "currency": "EUR",
            "tags": [tags["legacy"].pk],
        },
    )

    assert response.status_code == 200
    assert "tags" in response.context["form"].errors
    assert not Deal.objects.exists()


def test_records_still_show_a_deactivated_tag(cast, pipeline, tags):
    company = CompanyFactory(name="Acme", owner=cast.alice)
    company.tags.set([tags["legacy"]])
    contact = ContactFactory(owner=cast.alice)
    contact.tags.set([tags["legacy"]])
    deal = DealFactory(owner=cast.alice, stage=pipeline.stages.first())
    deal.tags.set([tags["legacy"]])
    client = signed_in(cast.alice)

    for path in (
        f"/companies/{company.pk}/",
        "/companies/",
        f"/contacts/{contact.pk}/",
        "/contacts/",
        f"/deals/{deal.pk}/",
        "/deals/",
    ):
        assert '<span class="badge text-bg-light border' in client.get(path).content.decode()
        assert ">legacy</span>" in client.get(path).content.decode(), path


# --- Settings -----------------------------------------------------------------------------


def test_admin_deactivates_and_activates_a_tag_in_settings(cast, tags):
    client = signed_in(cast.admin)
    tag = tags["vip"]

    response = client.post(f"/settings/tags/{tag.pk}/toggle/", follow=True)

    page = response.content.decode()
    assert response.redirect_chain == [("/settings/tags/", 302)]
    assert "Tag “vip” is deactivated; the records that have it keep it." in page
    assert 'aria-label="Activate vip">Activate</button>' in page
    assert 'aria-label="Deactivate legacy"' not in page
    tag.refresh_from_db()
    assert tag.is_active is False

    response = client.post(f"/settings/tags/{tag.pk}/toggle/", follow=True)

    assert "Tag “vip” is active again and can be chosen." in response.content.decode()
    tag.refresh_from_db()
    assert tag.is_active is True


def test_settings_list_active_tags_first_with_their_status(cast, tags):
    page = signed_in(cast.admin).get("/settings/tags/")

    assert [row.name for row in page.context["rows"]] == ["vip", "legacy"]
    content = page.content.decode()
    assert '<th scope="col">Status</th>' in content
    assert '<span class="badge text-bg-secondary">Inactive</span>' in content


@pytest.mark.parametrize("who", ["manager", "alice"])
def test_only_admins_toggle_tags_in_settings(cast, tags, who):
    response = signed_in(getattr(cast, who)).post(f"/settings/tags/{tags['vip'].pk}/toggle/")

    assert response.status_code == 404
    assert Tag.objects.get(name="vip").is_active is True


# --- API ----------------------------------------------------------------------------------


def test_api_lists_tags_with_their_state(cast, tags, api_client):
    response = api_client(cast.alice).get("/api/v1/tags")

    assert response.status_code == 200
    assert response.json() == [
        {"id": tags["legacy"].pk, "name": "legacy", "color": "#6c757d", "is_active": False},
        {"id": tags["vip"].pk, "name": "vip", "color": "#6c757d", "is_active": True},
    ]


def test_api_admin_renames_and_deactivates_a_tag(cast, tags, api_client):
    tag = tags["vip"]

    response = api_client(cast.admin).patch(
        f"/api/v1/tags/{tag.pk}", {"name": "Key account", "is_active": False}
    )

    assert response.status_code == 200
    assert response.json() == {
        "id": tag.pk,
        "name": "Key account",
        "color": "#6c757d",
        "is_active": False,
    }
    tag.refresh_from_db()
    assert (tag.name, tag.is_active) == ("Key account", False)


def test_api_patch_changes_only_what_it_is_given(cast, tags, api_client):
    tag = tags["legacy"]

    response = api_client(cast.admin).patch(f"/api/v1/tags/{tag.pk}", {"color": "#FF0000"})

    assert response.status_code == 200
    tag.refresh_from_db()
    assert (tag.name, tag.color, tag.is_active) == ("legacy", "#ff0000", False)


@pytest.mark.parametrize("who", ["manager", "alice"])
def test_api_only_admins_change_tags(cast, tags, api_client, who):
    response = api_client(getattr(cast, who)).patch(
        f"/api/v1/tags/{tags['vip'].pk}", {"is_active": False}
    )

    assert response.status_code == 403
    assert Tag.objects.get(pk=tags["vip"].pk).is_active is True


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": "LEGACY"}, "name"), ({"name": "  "}, "name"), ({"color": "blue"}, "color")],
)
def test_api_bad_tag_changes_are_refused(cast, tags, api_client, body, field):
    response = api_client(cast.admin).patch(f"/api/v1/tags/{tags['vip'].pk}", body)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]
    tag = Tag.objects.get(pk=tags["vip"].pk)
    assert (tag.name, tag.color) == ("vip", "#6c757d")


def test_api_patch_of_a_missing_tag_is_404(cast, tags, api_client):
    response = api_client(cast.admin).patch("/api/v1/tags/999999", {"is_active": False})

    assert response.status_code == 404
    assert response.json()["detail"] == "Tag 999999 does not exist."


def test_api_admin_deletes_a_tag_and_takes_it_off_records(cast, tags, api_client):
    company = CompanyFactory(owner=cast.alice)
    company.tags.set([tags["vip"]])

    refused = api_client(cast.alice).delete(f"/api/v1/tags/{tags['vip'].pk}")
    deleted = api_client(cast.admin).delete(f"/api/v1/tags/{tags['vip'].pk}")

    assert (refused.status_code, deleted.status_code) == (403, 204)
    assert list(Tag.objects.values_list("name", flat=True)) == ["legacy"]
    assert Company.objects.get(pk=company.pk).tags.count() == 0
