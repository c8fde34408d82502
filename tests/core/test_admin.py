import pytest
from django.contrib import admin
from django.urls import reverse

from tests.factories import ActivityFactory, CompanyFactory, ContactEmailFactory, DealFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, cast, pipeline):
    cast.admin.is_staff = True
    cast.admin.is_superuser = True
    cast.admin.save()
    company = CompanyFactory(owner=cast.alice)
    ContactEmailFactory(contact__owner=cast.alice, contact__company=company)
    deal = DealFactory(owner=cast.alice, stage=pipeline.stages.first(), company=company)
    ActivityFactory(owner=cast.alice, deal=deal)
    client.force_login(cast.admin)
    return client


def test_every_admin_list_and_detail_renders(staff_client):
    for model in admin.site._registry:
        opts = model._meta
        listing = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert listing.status_code == 200, opts.label
        first = model._default_manager.first()
        if first is not None:
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[first.pk])
            assert staff_client.get(url).status_code == 200, opts.label


def test_records_changed_only_through_services_are_read_only(staff_client):
    deal_admin = admin.site._registry[DealFactory._meta.model]
    request = staff_client.get("/").wsgi_request
    assert not deal_admin.has_change_permission(request)
    assert not deal_admin.has_delete_permission(request)


def test_reps_cannot_open_the_admin(client, cast):
    client.force_login(cast.alice)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
