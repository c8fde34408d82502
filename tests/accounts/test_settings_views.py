"""The admin settings pages: only admins reach them; pipelines and stages, named lists, rates."""

from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from salesdesk.core.models import CurrencyRate
from salesdesk.crm.models import Tag
from salesdesk.pipeline.models import Deal, LeadSource, LostReason, Pipeline, Stage
from tests.factories import (
    CompanyFactory,
    DealFactory,
    LeadSourceFactory,
    LostReasonFactory,
    PipelineFactory,
    StageFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def stage_names(pipeline: Pipeline) -> list[str]:
    return list(pipeline.stages.order_by("position", "id").values_list("name", flat=True))


# --- Who reaches the settings --------------------------------------------------------------

SETTINGS_PAGES = [
    "/settings/",
    "/settings/organization/",
    "/settings/users/",
    "/settings/users/invite/",
    "/settings/users/{user}/",
    "/settings/users/{user}/deactivate/",
    "/settings/teams/",
    "/settings/teams/{team}/",
    "/settings/teams/{team}/delete/",
    "/settings/pipelines/",
    "/settings/pipelines/{pipeline}/",
    "/settings/pipelines/{pipeline}/delete/",
    "/settings/stages/{stage}/",
    "/settings/stages/{stage}/delete/",
    "/settings/lead-sources/",
    "/settings/lead-sources/{lead_source}/",
    "/settings/lead-sources/{lead_source}/delete/",
    "/settings/lost-reasons/",
    "/settings/lost-reasons/{lost_reason}/",
    "/settings/lost-reasons/{lost_reason}/delete/",
    "/settings/tags/",
    "/settings/tags/{tag}/",
    "/settings/tags/{tag}/delete/",
    "/settings/currencies/",
]

SETTINGS_ACTIONS = [  # POST only
    "/settings/users/{user}/activate/",
    "/settings/pipelines/{pipeline}/stages/",
    "/settings/pipelines/{pipeline}/order/",
    "/settings/stages/{stage}/move/",
    "/settings/lead-sources/{lead_source}/toggle/",
    "/settings/lost-reasons/{lost_reason}/toggle/",
    "/settings/tags/{tag}/toggle/",
]


@pytest.fixture
def ids(cast, pipeline):
    return {
        "user": cast.bob.pk,
        "team": cast.bob.team_id,
        "pipeline": pipeline.pk,
        "stage": pipeline.stages.first().pk,
        "lead_source": LeadSourceFactory(name="Web").pk,
        "lost_reason": LostReasonFactory(name="Price").pk,
        "tag": TagFactory(name="vip").pk,
    }


@pytest.mark.parametrize("path", SETTINGS_PAGES)
@pytest.mark.parametrize("role", ["manager", "alice", "outsider"])
def test_settings_pages_do_not_exist_for_non_admins(cast, ids, role, path):
    client = signed_in(getattr(cast, role))

    assert client.get(path.format(**ids)).status_code == 404
    assert client.post(path.format(**ids), {"name": "Changed"}).status_code == 404


@pytest.mark.parametrize("path", SETTINGS_ACTIONS)
@pytest.mark.parametrize("role", ["manager", "alice", "outsider"])
def test_settings_actions_do_not_exist_for_non_admins(cast, ids, role, path, pipeline):
    before = stage_names(pipeline)

    response = signed_in(getattr(cast, role)).post(
        path.format(**ids), {"direction": "down", "name": "New", "stage_ids": []}
    )

    assert response.status_code == 404
    assert stage_names(pipeline) == before
    assert LeadSource.objects.get(pk=ids["lead_source"]).is_active is True


@pytest.mark.parametrize("path", SETTINGS_PAGES)
def test_settings_pages_open_for_admins(cast, ids, path):
    assert signed_in(cast.admin).get(path.format(**ids)).status_code == 200


def test_settings_need_sign_in(client, ids):
    response = client.get("/settings/users/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/settings/users/"


def test_settings_link_in_the_menu_only_for_admins(cast):
    assert 'href="/settings/"' in signed_in(cast.admin).get("/account/").content.decode()
    assert 'href="/settings/"' not in signed_in(cast.manager).get("/account/").content.decode()


def test_settings_index_links_every_section(cast, django_assert_num_queries):
    client = signed_in(cast.admin)
    with django_assert_num_queries(2):  # session, user
        page = client.get("/settings/").content.decode()
    for path in (
        "organization",
        "users",
        "teams",
        "pipelines",
        "lead-sources",
        "lost-reasons",
        "tags",
        "currencies",
    ):
        assert f'class="card card-body h-100 settings-card" href="/settings/{path}/"' in page


# --- Pipelines -----------------------------------------------------------------------------


def test_create_a_pipeline_and_make_it_the_default(cast, pipeline):
    client = signed_in(cast.admin)

    response = client.post("/settings/pipelines/", {"name": "Renewals"})
    renewals = Pipeline.objects.get(name="Renewals")
    assert response["Location"] == f"/settings/pipelines/{renewals.pk}/"
    assert renewals.is_default is False

    client.post(
        f"/settings/pipelines/{renewals.pk}/", {"name": "Renewals 2026", "is_default": "on"}
    )

    renewals.refresh_from_db()
    pipeline.refresh_from_db()
    assert (renewals.name, renewals.is_default, pipeline.is_default) == (
        "Renewals 2026",
        True,
        False,
    )


def test_a_duplicate_pipeline_name_is_a_field_error(cast, pipeline):
    response = signed_in(cast.admin).post("/settings/pipelines/", {"name": "sales"})

    assert 'id="id_name_error">Taken.</div>' in response.content.decode()
    assert Pipeline.objects.count() == 1


def test_a_pipeline_with_deals_cannot_be_deleted(cast, pipeline):
    DealFactory(stage=pipeline.stages.first())

    response = signed_in(cast.admin).post(f"/settings/pipelines/{pipeline.pk}/delete/")

    assert response.status_code == 200
    assert "This pipeline still has deals" in response.content.decode()
    assert Pipeline.objects.filter(pk=pipeline.pk).exists()


def test_pipeline_list_query_count(cast, pipeline, django_assert_num_queries):
    for n in range(4):
        other = PipelineFactory(name=f"Other {n}")
        DealFactory.create_batch(2, stage=StageFactory(pipeline=other))
    client = signed_in(cast.admin)

    with django_assert_num_queries(3):  # session, user, pipelines with counts
        response = client.get("/settings/pipelines/")

    assert "1 stage · 2 open deals" in response.content.decode()


# --- Stages --------------------------------------------------------------------------------


def test_add_a_stage_at_the_end(cast, pipeline):
    response = signed_in(cast.admin).post(
        f"/settings/pipelines/{pipeline.pk}/stages/",
        {"stage-name": "Contract", "stage-probability": "90", "stage-stale_after_days": ""},
    )

    assert response.status_code == 302
    assert stage_names(pipeline)[-1] == "Contract"
    contract = pipeline.stages.get(name="Contract")
    assert (contract.probability, contract.stale_after_days) == (90, None)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"stage-name": "Big", "stage-probability": "150"}, "id_stage-probability_error"),
        ({"stage-name": "Neg", "stage-probability": "-1"}, "id_stage-probability_error"),
        ({"stage-name": "lead", "stage-probability": "10"}, "id_stage-name_error"),
        (
            {"stage-name": "Slow", "stage-probability": "1", "stage-stale_after_days": "0"},
            "id_stage-stale_after_days_error",
        ),
        ({"stage-name": "", "stage-probability": "1"}, "id_stage-name_error"),
    ],
)
def test_a_bad_stage_is_refused_with_a_field_error(cast, pipeline, data, field):
    response = signed_in(cast.admin).post(f"/settings/pipelines/{pipeline.pk}/stages/", data)

    assert response.status_code == 200
    assert f'id="{field}"' in response.content.decode()
    assert pipeline.stages.count() == 4


def test_edit_a_stage(cast, pipeline):
    lead = pipeline.stages.get(name="Lead")

    signed_in(cast.admin).post(
        f"/settings/stages/{lead.pk}/",
        {"name": "Inbound lead", "probability": "5", "stale_after_days": "30"},
    )

    lead.refresh_from_db()
    assert (lead.name, lead.probability, lead.stale_after_days) == ("Inbound lead", 5, 30)


def test_editing_a_stage_to_probability_150_changes_nothing(cast, pipeline):
    lead = pipeline.stages.get(name="Lead")

    response = signed_in(cast.admin).post(
        f"/settings/stages/{lead.pk}/", {"name": "Renamed", "probability": "150"}
    )

    page = response.content.decode()
    assert 'id="id_probability_error"' in page
    assert "Ensure this value is less than or equal to 100." in page
    lead.refresh_from_db()
    assert (lead.name, lead.probability) == ("Lead", 10)


def test_a_stage_with_deals_cannot_be_deleted(cast, pipeline):
    lead = pipeline.stages.get(name="Lead")
    DealFactory(stage=lead)

    response = signed_in(cast.admin).post(f"/settings/stages/{lead.pk}/delete/")

    assert response.status_code == 200
    page = response.content.decode()
    assert '<div class="alert alert-warning" role="alert"><strong>Cannot delete.</strong>' in page
    assert "This stage still has deals; move them to another stage first." in page
    assert pipeline.stages.count() == 4


def test_delete_an_empty_stage(cast, pipeline):
    lead = pipeline.stages.get(name="Lead")

    response = signed_in(cast.admin).post(f"/settings/stages/{lead.pk}/delete/", follow=True)

    assert "Stage “Lead” deleted." in response.content.decode()
    assert stage_names(pipeline) == ["Qualified", "Proposal", "Negotiation"]


def ids_in_order(pipeline, *names):
    return [pipeline.stages.get(name=name).pk for name in names]


def test_reorder_by_drag_with_htmx_returns_the_list(cast, pipeline):
    order = ids_in_order(pipeline, "Proposal", "Lead", "Qualified", "Negotiation")

    response = signed_in(cast.admin).post(
        f"/settings/pipelines/{pipeline.pk}/order/", {"stage_ids": order}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith('<form id="stage-order"')
    assert "Stage order saved." in page
    assert page.index(">Proposal<") < page.index(">Lead<") < page.index(">Qualified<")
    assert stage_names(pipeline) == ["Proposal", "Lead", "Qualified", "Negotiation"]


def test_reorder_without_every_stage_is_refused(cast, pipeline):
    order = ids_in_order(pipeline, "Proposal", "Lead")

    response = signed_in(cast.admin).post(
        f"/settings/pipelines/{pipeline.pk}/order/",
        {"stage_ids": [*order, "x"]},
        HTTP_HX_REQUEST="true",
    )

    assert "Give every stage of the pipeline exactly once." in response.content.decode()
    assert stage_names(pipeline) == ["Lead", "Qualified", "Proposal", "Negotiation"]


def test_move_a_stage_down_and_up_without_javascript(cast, pipeline):
    client = signed_in(cast.admin)
    lead = pipeline.stages.get(name="Lead")

    response = client.post(f"/settings/stages/{lead.pk}/move/", {"direction": "down"}, follow=True)
    assert "Stage order saved." in response.content.decode()
    assert stage_names(pipeline) == ["Qualified", "Lead", "Proposal", "Negotiation"]

    client.post(f"/settings/stages/{lead.pk}/move/", {"direction": "up"})
    client.post(f"/settings/stages/{lead.pk}/move/", {"direction": "up"})  # already first
    assert stage_names(pipeline) == ["Lead", "Qualified", "Proposal", "Negotiation"]


def test_move_with_htmx_returns_the_list(cast, pipeline):
    negotiation = pipeline.stages.get(name="Negotiation")

    response = signed_in(cast.admin).post(
        f"/settings/stages/{negotiation.pk}/move/", {"direction": "up"}, HTTP_HX_REQUEST="true"
    )

    assert response.content.decode().lstrip().startswith('<form id="stage-order"')
    assert stage_names(pipeline) == ["Lead", "Qualified", "Negotiation", "Proposal"]


def test_first_stage_has_no_up_button_enabled(cast, pipeline):
    page = signed_in(cast.admin).get(f"/settings/pipelines/{pipeline.pk}/").content.decode()
    lead, negotiation = ids_in_order(pipeline, "Lead", "Negotiation")

    assert 'aria-label="Move Lead up" disabled>' in page
    assert f'id="stage-{lead}-down"' in page
    assert 'aria-label="Move Negotiation down" disabled>' in page
    assert f'id="stage-{negotiation}-up"' in page


def test_pipeline_page_query_count(cast, pipeline, django_assert_num_queries):
    for stage in pipeline.stages.all():
        DealFactory.create_batch(2, stage=stage)
    client = signed_in(cast.admin)

    with django_assert_num_queries(4):  # session, user, pipeline, stages with deal counts
        response = client.get(f"/settings/pipelines/{pipeline.pk}/")

    assert response.content.decode().count("2 open deals") == 4


# --- Lead sources, lost reasons, tags ------------------------------------------------------


@pytest.mark.parametrize(
    ("slug", "model"), [("lead-sources", LeadSource), ("lost-reasons", LostReason), ("tags", Tag)]
)
def test_add_rename_and_delete_a_name(cast, slug, model):
    client = signed_in(cast.admin)

    response = client.post(f"/settings/{slug}/", {"name": "Partner"}, follow=True)
    assert "“Partner” added." in response.content.decode()
    record = model.objects.get(name="Partner")

    client.post(f"/settings/{slug}/{record.pk}/", {"name": "Partners"})
    record.refresh_from_db()
    assert record.name == "Partners"

    response = client.post(f"/settings/{slug}/{record.pk}/delete/", follow=True)
    assert "“Partners” deleted." in response.content.decode()
    assert not model.objects.filter(pk=record.pk).exists()


@pytest.mark.parametrize(
    ("slug", "factory"),
    [
        ("lead-sources", LeadSourceFactory),
        ("lost-reasons", LostReasonFactory),
        ("tags", TagFactory),
    ],
)
def test_a_duplicate_name_is_a_field_error(cast, slug, factory):
    factory(name="Events")
    other = factory(name="Other")
    client = signed_in(cast.admin)

    added = client.post(f"/settings/{slug}/", {"name": "events"})
    renamed = client.post(f"/settings/{slug}/{other.pk}/", {"name": "EVENTS"})

    for response in (added, renamed):
        assert response.status_code == 200
        assert 'id="id_name_error">Already taken.</div>' in response.content.decode()
    other.refresh_from_db()
    assert other.name == "Other"
    assert type(other).objects.count() == 2


@pytest.mark.parametrize(
    ("slug", "factory"), [("lead-sources", LeadSourceFactory), ("lost-reasons", LostReasonFactory)]
)
def test_deactivate_and_activate(cast, slug, factory):
    record = factory(name="Fairs")
    client = signed_in(cast.admin)

    response = client.post(f"/settings/{slug}/{record.pk}/toggle/", follow=True)
    assert "“Fairs” is deactivated" in response.content.decode()
    record.refresh_from_db()
    assert record.is_active is False

    client.post(f"/settings/{slug}/{record.pk}/toggle/")
    record.refresh_from_db()
    assert record.is_active is True


def test_a_lost_reason_in_use_cannot_be_deleted(cast, pipeline):
    reason = LostReasonFactory(name="Price")
    DealFactory(
        stage=pipeline.stages.first(),
        status=Deal.Status.LOST,
        lost_reason=reason,
        closed_at=timezone.now(),
        forecast_category="closed",
    )

    response = signed_in(cast.admin).post(f"/settings/lost-reasons/{reason.pk}/delete/")

    assert "deactivate it instead of deleting it" in response.content.decode()
    assert LostReason.objects.filter(pk=reason.pk).exists()


def test_deleting_a_tag_removes_it_from_records(cast):
    tag = TagFactory(name="vip")
    company = CompanyFactory()
    company.tags.add(tag)

    signed_in(cast.admin).post(f"/settings/tags/{tag.pk}/delete/")

    assert list(company.tags.all()) == []


@pytest.mark.parametrize("slug", ["lead-sources", "lost-reasons", "tags"])
def test_named_list_query_count(cast, pipeline, slug, django_assert_num_queries):
    stage = pipeline.stages.first()
    for n in range(5):
        source = LeadSourceFactory(name=f"Source {n}")
        reason = LostReasonFactory(name=f"Reason {n}")
        tag = TagFactory(name=f"tag {n}")
        deal = DealFactory(
            stage=stage,
            lead_source=source,
            status=Deal.Status.LOST,
            lost_reason=reason,
            closed_at=timezone.now(),
            forecast_category="closed",
        )
        deal.tags.add(tag)
        CompanyFactory().tags.add(tag)
    client = signed_in(cast.admin)

    with django_assert_num_queries(3):  # session, user, rows with usage counts
        response = client.get(f"/settings/{slug}/")

    page = response.content.decode()
    assert page.count("/delete/") == 5
    assert page.count("2 records" if slug == "tags" else "1 deal<") == 5


# --- Currencies ----------------------------------------------------------------------------


def test_setting_a_rate_recomputes_deals(cast, pipeline, org):
    deal = DealFactory(
        stage=pipeline.stages.first(), amount=Decimal("100.00"), currency="USD", amount_base=0
    )

    response = signed_in(cast.admin).post(
        "/settings/currencies/", {"currency": "usd", "rate": "0.9"}, follow=True
    )

    assert "Rate saved: 1 USD = 0.9 EUR. Deals in USD are recomputed." in response.content.decode()
    assert CurrencyRate.objects.get(currency="USD").rate == Decimal("0.9")
    deal.refresh_from_db()
    assert deal.amount_base == Decimal("90.00")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"currency": "EUR", "rate": "1"}, "currency"),
        ({"currency": "US", "rate": "1"}, "currency"),
        ({"currency": "USD", "rate": "0"}, "rate"),
        ({"currency": "USD", "rate": "-2"}, "rate"),
        ({"currency": "USD", "rate": "lots"}, "rate"),
    ],
)
def test_a_bad_rate_is_refused(cast, org, data, field):
    response = signed_in(cast.admin).post("/settings/currencies/", data)

    assert response.status_code == 200
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not CurrencyRate.objects.exists()


def test_currencies_page_warns_about_currencies_without_a_rate(
    cast, pipeline, org, django_assert_num_queries
):
    stage = pipeline.stages.first()
    CurrencyRate.objects.create(currency="USD", rate=Decimal("0.91"))
    for currency in ("USD", "USD", "GBP", "EUR"):
        DealFactory(stage=stage, currency=currency)
    client = signed_in(cast.admin)

    with django_assert_num_queries(5):  # session, user, deal counts, rates, org
        response = client.get("/settings/currencies/")

    page = response.content.decode()
    assert "Deals use GBP but there is no rate for it." in page
    assert '<td class="text-end font-monospace">0.91</td>' in page
    assert "The base currency is <strong>EUR</strong> (1 deal)" in page


def test_stage_positions_stay_unique_after_moves(cast, pipeline):
    client = signed_in(cast.admin)
    for stage in Stage.objects.filter(pipeline=pipeline):
        client.post(f"/settings/stages/{stage.pk}/move/", {"direction": "down"})

    positions = list(pipeline.stages.values_list("position", flat=True))
    assert sorted(positions) == [0, 1, 2, 3]
