"""The deal screens: list, export, create, edit, delete, the deal page and its quick actions."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from salesdesk.accounts.models import OrganizationSettings
from salesdesk.pipeline.models import Deal, StageChange
from tests.factories import (
    ActivityFactory,
    CompanyFactory,
    ContactFactory,
    DealFactory,
    LeadSourceFactory,
    LostReasonFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def stages(pipeline):
    return {stage.name: stage for stage in pipeline.stages.all()}


@pytest.fixture
def deal(cast, stages):
    return DealFactory(
        title="Alice's big deal", owner=cast.alice, stage=stages["Lead"], amount=Decimal("5000")
    )


@pytest.fixture
def reps_see_all(org):
    OrganizationSettings.objects.filter(pk=1).update(reps_see_all=True)


def _signed_in(client, user):
    client.force_login(user)
    return client


# --- Who sees what -------------------------------------------------------------------------

DEAL_PAGES = [
    ("get", "/deals/{}/"),
    ("get", "/deals/{}/edit/"),
    ("get", "/deals/{}/delete/"),
    ("post", "/deals/{}/delete/"),
    ("post", "/deals/{}/move/"),
    ("post", "/deals/{}/win/"),
    ("post", "/deals/{}/lose/"),
    ("post", "/deals/{}/reopen/"),
    ("post", "/deals/{}/next-step/"),
]


@pytest.mark.parametrize(("method", "path"), DEAL_PAGES)
@pytest.mark.parametrize("who", ["bob", "carol", "outsider"])
def test_a_deal_you_cannot_see_is_404_everywhere(client, cast, deal, stages, method, path, who):
    client = _signed_in(client, getattr(cast, who))
    data = {"stage": stages["Qualified"].pk, "lost_reason": LostReasonFactory().pk, "board": "1"}
    response = getattr(client, method)(path.format(deal.pk), data, **HTMX)
    assert response.status_code == 404
    deal.refresh_from_db()
    assert (deal.stage, deal.status) == (stages["Lead"], "open")
    assert Deal.objects.filter(pk=deal.pk).exists()


@pytest.mark.parametrize("who", ["admin", "manager", "alice"])
def test_owner_manager_and_admin_see_the_deal(client, cast, deal, who):
    response = _signed_in(client, getattr(cast, who)).get(f"/deals/{deal.pk}/")
    assert response.status_code == 200
    assert b"Alice&#x27;s big deal" in response.content
    assert b"Mark as won" in response.content


def test_pages_need_sign_in(client, deal):
    for path in ["/deals/", "/deals/new/", f"/deals/{deal.pk}/", "/board/", "/deals/export/"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_rep_sees_but_cannot_change_another_reps_deal_when_reps_see_all(
    client, cast, deal, stages, reps_see_all
):
    client = _signed_in(client, cast.bob)
    page = client.get(f"/deals/{deal.pk}/")
    assert page.status_code == 200
    assert b"Mark as won" not in page.content
    assert client.get(f"/deals/{deal.pk}/edit/").status_code == 403
    assert client.post(f"/deals/{deal.pk}/delete/").status_code == 403

    moved = client.post(
        f"/deals/{deal.pk}/move/", {"stage": stages["Proposal"].pk, "board": "1"}, **HTMX
    )
    won = client.post(f"/deals/{deal.pk}/win/", {"board": "1"}, **HTMX)
    plain = client.post(f"/deals/{deal.pk}/move/", {"stage": stages["Proposal"].pk})

    assert moved.status_code == 403
    assert b"You cannot change this deal" in moved.content
    assert won.status_code == 403
    assert plain.status_code == 403
    assert b"You cannot change this deal" in plain.content
    deal.refresh_from_db()
    assert (deal.stage, deal.status) == (stages["Lead"], "open")
    assert StageChange.objects.filter(deal=deal).count() == 0


# --- The list --------------------------------------------------------------------------------


@pytest.fixture
def listed(cast, pipeline, stages):
    """Deals of several owners, stages, sources and tags."""
    web, fair = LeadSourceFactory(name="Web"), LeadSourceFactory(name="Fair")
    hot = TagFactory(name="hot")
    today = timezone.localdate()
    acme = CompanyFactory(name="Acme")
    deals = {
        "a1": DealFactory(
            title="Acme renewal",
            owner=cast.alice,
            company=acme,
            stage=stages["Lead"],
            lead_source=web,
            amount=Decimal("300"),
            expected_close=today + datetime.timedelta(days=5),
        ),
        "a2": DealFactory(
            title="Beta pilot",
            owner=cast.alice,
            stage=stages["Proposal"],
            lead_source=fair,
            amount=Decimal("100"),
            expected_close=today + datetime.timedelta(days=40),
        ),
        "b1": DealFactory(
            title="Gamma expansion",
            owner=cast.bob,
            stage=stages["Proposal"],
            amount=Decimal("200"),
            expected_close=today + datetime.timedelta(days=20),
        ),
        "c1": DealFactory(
            title="Delta west", owner=cast.carol, stage=stages["Lead"], amount=Decimal("400")
        ),
        "lost": DealFactory(
            title="Epsilon lost",
            owner=cast.bob,
            stage=stages["Lead"],
            status="lost",
            closed_at=timezone.now(),
            lost_reason=LostReasonFactory(),
        ),
    }
    deals["a1"].tags.add(hot)
    deals["a1"].contacts.add(ContactFactory(company=acme))
    return deals


def _titles(response) -> list[str]:
    return [deal.title for deal in response.context["page"].object_list]


def test_list_shows_only_visible_deals(client, cast, listed):
    assert _titles(_signed_in(client, cast.alice).get("/deals/?sort=title")) == [
        "Acme renewal",
        "Beta pilot",
    ]
    manager_titles = _titles(_signed_in(client, cast.manager).get("/deals/?sort=title"))
    assert manager_titles == ["Acme renewal", "Beta pilot", "Epsilon lost", "Gamma expansion"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=acme", ["Acme renewal"]),
        ("status=lost", ["Epsilon lost"]),
        ("status=open&stage={Proposal}", ["Beta pilot", "Gamma expansion"]),
        ("owner={bob}", ["Epsilon lost", "Gamma expansion"]),
        ("team={west}", ["Delta west"]),
        ("lead_source={web}", ["Acme renewal"]),
        ("tag={hot}", ["Acme renewal"]),
        ("close_from={in10}&close_to={in25}", ["Gamma expansion"]),
        (
            "pipeline={pipeline}&status=open",
            ["Acme renewal", "Beta pilot", "Delta west", "Gamma expansion"],
        ),
        (
            "owner=not-a-number",
            ["Acme renewal", "Beta pilot", "Delta west", "Epsilon lost", "Gamma expansion"],
        ),
    ],
)
def test_list_filters(client, cast, pipeline, stages, listed, query, expected):
    today = timezone.localdate()
    values = {
        "Proposal": stages["Proposal"].pk,
        "bob": cast.bob.pk,
        "west": cast.carol.team_id,
        "web": listed["a1"].lead_source_id,
        "hot": listed["a1"].tags.get().pk,
        "in10": today + datetime.timedelta(days=10),
        "in25": today + datetime.timedelta(days=25),
        "pipeline": pipeline.pk,
    }
    response = _signed_in(client, cast.admin).get(f"/deals/?sort=title&{query.format(**values)}")
    assert response.status_code == 200
    assert _titles(response) == expected


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("amount", ["Epsilon lost", "Beta pilot", "Gamma expansion", "Acme renewal", "Delta west"]),
        (
            "-amount",
            ["Delta west", "Acme renewal", "Gamma expansion", "Beta pilot", "Epsilon lost"],
        ),
        ("-title", ["Gamma expansion", "Epsilon lost", "Delta west", "Beta pilot", "Acme renewal"]),
        (
            "nonsense",
            ["Epsilon lost", "Delta west", "Gamma expansion", "Beta pilot", "Acme renewal"],
        ),
    ],
)
def test_list_sorting(client, cast, listed, sort, expected):
    Deal.objects.filter(title="Epsilon lost").update(amount_base=Decimal("0"))
    response = _signed_in(client, cast.admin).get(f"/deals/?sort={sort}")
    assert _titles(response) == expected


def test_list_paginates(client, cast, stages):
    DealFactory.create_batch(55, owner=cast.alice, stage=stages["Lead"])
    client = _signed_in(client, cast.alice)
    first, second = client.get("/deals/"), client.get("/deals/?page=2")
    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 5
    assert b"Page 1 of 2" in first.content


def test_empty_list_says_what_to_do(client, cast, pipeline):
    response = _signed_in(client, cast.alice).get("/deals/")
    assert b"Create the first deal" in response.content
    filtered = client.get("/deals/?q=zzz")
    assert b"No deals match these filters" in filtered.content


def test_export_streams_exactly_the_filtered_visible_rows(client, cast, listed, stages):
    response = _signed_in(client, cast.manager).get(f"/deals/export/?stage={stages['Proposal'].pk}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="deals.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["title"] for row in rows] == ["Beta pilot", "Gamma expansion"]
    assert [row["owner"] for row in rows] == [cast.alice.email, cast.bob.email]


def test_export_of_a_rep_leaves_out_what_they_cannot_see(client, cast, listed):
    response = _signed_in(client, cast.carol).get("/deals/export/")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["title"] for row in rows] == ["Delta west"]


def test_list_query_count_does_not_grow_with_rows(client, cast, listed, django_assert_num_queries):
    client = _signed_in(client, cast.manager)
    # session, user, settings, managed teams, count, page, contacts, tags, five filter selects,
    # saved views
    with django_assert_num_queries(15):
        client.get("/deals/")
    for _ in range(12):
        deal = DealFactory(owner=cast.bob, company=CompanyFactory(), stage=listed["a1"].stage)
        deal.tags.add(TagFactory())
        deal.contacts.add(ContactFactory())
    with django_assert_num_queries(15):
        response = client.get("/deals/")
    assert len(response.context["page"].object_list) == 16


# --- Create, edit, delete ---------------------------------------------------------------------


def test_rep_creates_a_deal_for_a_company_and_contact(client, cast, pipeline, stages):
    company = CompanyFactory(name="Initech", owner=cast.alice)
    contact = ContactFactory(first_name="Peter", last_name="Gibbons", company=company)
    source, tag = LeadSourceFactory(name="Web"), TagFactory(name="hot")
    response = _signed_in(client, cast.alice).post(
        "/deals/new/",
        {
            "title": "Initech TPS",
            "company": company.pk,
            "contacts": [contact.pk],
            "owner": cast.alice.pk,
            "pipeline": pipeline.pk,
            "stage": stages["Qualified"].pk,
            "amount": "12500.50",
            "currency": "eur",
            "expected_close": "2030-03-31",
            "lead_source": source.pk,
            "next_step": "Send proposal",
            "next_step_due": "2030-01-15",
            "tags": [tag.pk],
        },
    )
    deal = Deal.objects.get(title="Initech TPS")
    assert response.status_code == 302
    assert response["Location"] == f"/deals/{deal.pk}/"
    assert (deal.company, deal.owner, deal.stage) == (company, cast.alice, stages["Qualified"])
    assert (deal.amount, deal.currency, deal.amount_base) == (
        Decimal("12500.50"),
        "EUR",
        Decimal("12500.50"),
    )
    assert list(deal.contacts.all()) == [contact]
    assert list(deal.tags.all()) == [tag]
    assert deal.lead_source == source
    assert deal.expected_close == datetime.date(2030, 3, 31)
    assert StageChange.objects.filter(deal=deal, to_stage=stages["Qualified"]).count() == 1
    page = client.get(response["Location"])
    assert "Deal “Initech TPS” created." in page.content.decode()


def test_create_form_offers_only_visible_companies_and_assignable_owners(client, cast, pipeline):
    mine, theirs = CompanyFactory(owner=cast.alice), CompanyFactory(owner=cast.carol)
    response = _signed_in(client, cast.alice).get("/deals/new/")
    form = response.context["form"]
    assert list(form.fields["company"].queryset) == [mine]
    assert list(form.fields["owner"].queryset) == [cast.alice]
    manager_form = _signed_in(client, cast.manager).get("/deals/new/").context["form"]
    assert set(manager_form.fields["owner"].queryset) == {cast.manager, cast.alice, cast.bob}
    assert theirs not in form.fields["company"].queryset


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"title": ""}, "title", "This field is required."),
        ({"amount": "-5"}, "amount", "Ensure this value is greater than or equal to 0."),
        ({"amount": "1.234"}, "amount", "Ensure that there are no more than 2 decimal places."),
        ({"currency": "EU1"}, "currency", "Use a three-letter code such as EUR."),
        ({"currency": "USD"}, "currency", "No exchange rate for USD to EUR."),
        ({"owner": "carol"}, "owner", "Select a valid choice."),
        ({"company": "theirs"}, "company", "Choose a company from the list"),
        ({"expected_close": "31/31/2030"}, "expected_close", "Enter a valid date."),
    ],
)
def test_bad_input_shows_errors_and_creates_nothing(
    client, cast, pipeline, stages, change, field, message
):
    theirs = CompanyFactory(owner=cast.carol)
    data = {
        "title": "New one",
        "owner": cast.alice.pk,
        "pipeline": pipeline.pk,
        "amount": "10",
        "currency": "EUR",
    }
    data |= {
        key: {"carol": cast.carol.pk, "theirs": theirs.pk}.get(v, v) for key, v in change.items()
    }
    response = _signed_in(client, cast.alice).post("/deals/new/", data)
    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert any(error.startswith(message.split(" That")[0]) for error in errors), errors
    assert f'id="id_{field}_error"' in response.content.decode()
    assert Deal.objects.count() == 0


def test_stage_of_another_pipeline_is_refused(client, cast, pipeline, stages):
    from tests.factories import PipelineFactory, StageFactory

    other = StageFactory(pipeline=PipelineFactory(name="Renewals"), name="Upcoming")
    response = _signed_in(client, cast.alice).post(
        "/deals/new/",
        {
            "title": "X",
            "pipeline": pipeline.pk,
            "stage": other.pk,
            "amount": "1",
            "currency": "EUR",
        },
    )
    assert response.context["form"].errors["stage"] == ["Pick a stage of the pipeline Sales."]
    assert Deal.objects.count() == 0


def test_create_form_query_count(client, cast, pipeline, django_assert_num_queries):
    CompanyFactory.create_batch(5, owner=cast.alice)
    ContactFactory.create_batch(5, owner=cast.alice, company=CompanyFactory(owner=cast.alice))
    client = _signed_in(client, cast.alice)
    # session, user, settings (twice: visibility, base currency), owners (two), stages,
    # pipelines (twice: Select checks its first option), sources, tags; company and contacts
    # are pickers, which list nothing
    with django_assert_num_queries(11):
        client.get("/deals/new/")


def test_edit_changes_fields_and_keeps_the_stage(client, cast, deal, stages):
    company = CompanyFactory(owner=cast.alice)
    response = _signed_in(client, cast.manager).post(
        f"/deals/{deal.pk}/edit/",
        {
            "title": "Renamed",
            "company": company.pk,
            "owner": cast.bob.pk,
            "pipeline": deal.pipeline_id,
            "amount": "7000",
            "currency": "EUR",
            "next_step": "Call back",
        },
    )
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.title, deal.company, deal.owner, deal.amount) == (
        "Renamed",
        company,
        cast.bob,
        Decimal("7000.00"),
    )
    assert deal.stage == stages["Lead"]
    assert "Deal “Renamed” saved." in client.get(f"/deals/{deal.pk}/").content.decode()


def test_rep_cannot_give_a_deal_away(client, cast, deal):
    response = _signed_in(client, cast.alice).post(
        f"/deals/{deal.pk}/edit/",
        {
            "title": "Mine",
            "owner": cast.bob.pk,
            "pipeline": deal.pipeline_id,
            "amount": "1",
            "currency": "EUR",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["owner"]
    deal.refresh_from_db()
    assert (deal.title, deal.owner) == ("Alice's big deal", cast.alice)


def test_delete_asks_then_deletes(client, cast, deal):
    client = _signed_in(client, cast.alice)
    confirm = client.get(f"/deals/{deal.pk}/delete/")
    assert b"Delete deal" in confirm.content
    assert Deal.objects.filter(pk=deal.pk).exists()
    response = client.post(f"/deals/{deal.pk}/delete/")
    assert response.status_code == 302
    assert response["Location"] == "/deals/"
    assert not Deal.objects.filter(pk=deal.pk).exists()
    assert "Deal “Alice&#x27;s big deal” deleted." in client.get("/deals/").content.decode()


# --- The deal page and its quick actions ---------------------------------------------------


def test_detail_shows_days_in_stage_stale_badge_and_history(client, cast, deal, stages):
    Deal.objects.filter(pk=deal.pk).update(
        stage_entered_at=timezone.now() - datetime.timedelta(days=20)
    )
    StageChange.objects.create(
        deal=deal,
        to_stage=stages["Lead"],
        at=timezone.now() - datetime.timedelta(days=20),
        by=cast.alice,
    )
    content = _signed_in(client, cast.alice).get(f"/deals/{deal.pk}/").content.decode()
    assert "Lead for 20 days" in content
    assert ">Stale</span>" in content
    assert '20 days <span class="text-body-secondary">(so far)</span>' in content
    assert 'id="timeline"' in content


def test_detail_query_count(client, cast, deal, stages, django_assert_num_queries):
    for _ in range(5):
        ActivityFactory(deal=deal, owner=cast.alice).contacts.add(ContactFactory())
        deal.contacts.add(ContactFactory())
        deal.tags.add(TagFactory())
    client = _signed_in(client, cast.alice)
    # session, user, settings, deal + contacts + tags, stages (list and select), history,
    # can-change, timeline (activities, their contacts, stage changes), base currency, reasons,
    # the next meeting
    with django_assert_num_queries(16):
        response = client.get(f"/deals/{deal.pk}/")
    assert response.status_code == 200


def test_move_from_the_deal_page_over_htmx(client, cast, deal, stages):
    response = _signed_in(client, cast.alice).post(
        f"/deals/{deal.pk}/move/", {"stage": stages["Proposal"].pk}, **HTMX
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="deal-state"' in content
    assert "“Alice&#x27;s big deal” moved to Proposal." in content
    assert 'id="deal-timeline" hx-swap-oob="true"' in content
    deal.refresh_from_db()
    assert deal.stage == stages["Proposal"]
    change = StageChange.objects.get(deal=deal)
    assert (change.from_stage, change.to_stage, change.by) == (
        stages["Lead"],
        stages["Proposal"],
        cast.alice,
    )


def test_plain_move_redirects_with_a_message(client, cast, deal, stages):
    client = _signed_in(client, cast.alice)
    response = client.post(f"/deals/{deal.pk}/move/", {"stage": stages["Qualified"].pk})
    assert response.status_code == 302
    assert response["Location"] == f"/deals/{deal.pk}/"
    assert "moved to Qualified." in client.get(response["Location"]).content.decode()


def test_move_to_a_stage_of_another_pipeline_is_refused(client, cast, deal):
    from tests.factories import StageFactory

    other = StageFactory(name="Elsewhere")
    response = _signed_in(client, cast.alice).post(
        f"/deals/{deal.pk}/move/", {"stage": other.pk}, **HTMX
    )
    assert response.status_code == 422
    assert "Pick a stage of this deal&#x27;s pipeline." in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage.name == "Lead"


def test_win_then_reopen(client, cast, deal):
    client = _signed_in(client, cast.alice)
    won = client.post(f"/deals/{deal.pk}/win/", **HTMX)
    assert won.status_code == 200
    assert "won. Congratulations!" in won.content.decode()
    assert "Reopen deal" in won.content.decode()
    deal.refresh_from_db()
    assert deal.status == "won"
    assert deal.closed_at is not None

    reopened = client.post(f"/deals/{deal.pk}/reopen/", **HTMX)
    assert "“Alice&#x27;s big deal” reopened." in reopened.content.decode()
    deal.refresh_from_db()
    assert (deal.status, deal.closed_at) == ("open", None)


def test_lose_needs_a_reason(client, cast, deal):
    LostReasonFactory(name="Price")
    response = _signed_in(client, cast.alice).post(
        f"/deals/{deal.pk}/lose/", {"lost_reason": "", "note": "too pricey"}, **HTMX
    )
    assert response.status_code == 422
    content = response.content.decode()
    assert 'id="id_lost_reason_error"' in content
    assert "Say why the deal was lost." in content
    assert 'class="collapse show" id="lose-panel"' in content
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason, deal.lost_note) == ("open", None, "")


def test_lose_with_a_reason(client, cast, deal):
    price = LostReasonFactory(name="Price")
    LostReasonFactory(name="Retired", is_active=False)
    client = _signed_in(client, cast.alice)
    page = client.get(f"/deals/{deal.pk}/").content.decode()
    assert ">Price</option>" in page
    assert ">Retired</option>" not in page
    response = client.post(
        f"/deals/{deal.pk}/lose/", {"lost_reason": price.pk, "note": "too pricey"}, **HTMX
    )
    assert response.status_code == 200
    assert "lost (Price)." in response.content.decode()
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason, deal.lost_note) == ("lost", price, "too pricey")


def test_inactive_lost_reason_is_refused(client, cast, deal):
    retired = LostReasonFactory(name="Retired", is_active=False)
    response = _signed_in(client, cast.alice).post(
        f"/deals/{deal.pk}/lose/", {"lost_reason": retired.pk}, **HTMX
    )
    assert response.status_code == 422
    deal.refresh_from_db()
    assert deal.status == "open"


def test_next_step_inline(client, cast, deal):
    client = _signed_in(client, cast.alice)
    response = client.post(
        f"/deals/{deal.pk}/next-step/",
        {"next_step": "Demo for the CFO", "next_step_due": "2030-02-01"},
        **HTMX,
    )
    assert response.status_code == 200
    assert "Demo for the CFO" in response.content.decode()
    assert "Next step saved." in response.content.decode()
    deal.refresh_from_db()
    assert (deal.next_step, deal.next_step_due) == ("Demo for the CFO", datetime.date(2030, 2, 1))

    bad = client.post(
        f"/deals/{deal.pk}/next-step/", {"next_step": "x", "next_step_due": "1800-01-01"}, **HTMX
    )
    assert bad.status_code == 422
    assert "1970 to 2200." in bad.content.decode()
    deal.refresh_from_db()
    assert deal.next_step == "Demo for the CFO"


def test_edit_sets_the_forecast_category_and_keeps_it_when_left_out(client, cast, deal):
    form = {
        "title": deal.title,
        "owner": cast.alice.pk,
        "pipeline": deal.pipeline_id,
        "amount": "1000",
        "currency": "EUR",
    }
    client = _signed_in(client, cast.alice)
    assert (
        client.post(f"/deals/{deal.pk}/edit/", {**form, "forecast_category": "commit"}).status_code
        == 302
    )
    deal.refresh_from_db()
    assert deal.forecast_category == "commit"
    assert client.post(f"/deals/{deal.pk}/edit/", form).status_code == 302
    deal.refresh_from_db()
    assert deal.forecast_category == "commit"
    response = client.post(f"/deals/{deal.pk}/edit/", {**form, "forecast_category": "closed"})
    assert response.status_code == 200  # the form again, with the error
    assert "Select a valid choice" in response.content.decode()
    deal.refresh_from_db()
    assert deal.forecast_category == "commit"


def test_the_list_shows_and_sorts_by_the_last_interaction(client, cast, listed):
    now = timezone.now()
    for days, title in ((5, "Acme renewal"), (1, "Beta pilot"), (3, "Delta west")):
        Deal.objects.filter(title=title).update(
            last_interaction_at=now - datetime.timedelta(days=days)
        )
    Deal.objects.exclude(title__in=["Acme renewal", "Beta pilot", "Delta west"]).update(
        last_interaction_at=now - datetime.timedelta(days=30)
    )

    response = _signed_in(client, cast.admin).get("/deals/?sort=-interaction")

    assert _titles(response)[:3] == ["Beta pilot", "Delta west", "Acme renewal"]
    assert "Last interaction" in response.content.decode()
