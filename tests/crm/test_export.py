import csv
import datetime
import io
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from salesdesk.core.audit import snapshot
from salesdesk.crm.models import Company, Contact, ContactPhone
from salesdesk.crm.transfer import COLUMNS, export_csv, import_run
from salesdesk.pipeline.models import Deal, StageChange
from tests.factories import (
    CompanyFactory,
    ContactEmailFactory,
    ContactFactory,
    DealFactory,
    LeadSourceFactory,
    LostReasonFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


def export_text(actor, entity: str) -> str:
    return "".join(export_csv(actor=actor, entity=entity))


def export_rows(actor, entity: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(export_text(actor, entity))))


@pytest.fixture
def book(cast, pipeline):
    """A small, varied book of business: companies, contacts and deals of several owners."""
    vip, partner = TagFactory(name="vip"), TagFactory(name="partner")
    acme = CompanyFactory(
        name="Acme GmbH",
        domain="acme.example",
        website="https://www.acme.example",
        industry="Software",
        country="DE",
        region="Berlin",
        size=250,
        phone="+49 30 1234567",
        owner=cast.alice,
    )
    acme.tags.set([vip, partner])
    globex = CompanyFactory(name="Globex", domain="", owner=cast.bob)
    pool = CompanyFactory(name="Pool Inc", domain="pool.example", owner=None)
    ada = ContactFactory(
        first_name="Ada",
        last_name="Lovelace",
        title="CTO",
        company=acme,
        owner=cast.alice,
        source="Conference",
    )
    ContactEmailFactory(contact=ada, email="ada@acme.example", is_primary=True)
    ContactEmailFactory(contact=ada, email="countess@acme.example", is_primary=False)
    ContactPhone.objects.create(contact=ada, number="+49 30 111", kind="work")
    ContactPhone.objects.create(contact=ada, number="+49 170 222", kind="mobile")
    ada.tags.set([vip])
    grace = ContactFactory(first_name="Grace", last_name="Hopper", company=globex, owner=cast.bob)
    open_deal = DealFactory(
        title="Acme rollout",
        company=acme,
        stage=pipeline.stages.get(name="Proposal"),
        owner=cast.alice,
        amount=Decimal("12500.00"),
        expected_close=datetime.date(2024, 9, 30),
        lead_source=LeadSourceFactory(name="Web"),
        next_step="Send the contract",
        next_step_due=datetime.date(2024, 9, 1),
    )
    open_deal.contacts.set([ada])
    open_deal.tags.set([vip])
    won = DealFactory(
        title="Globex renewal",
        company=globex,
        stage=pipeline.stages.get(name="Negotiation"),
        owner=cast.bob,
        status="won",
        closed_at=datetime.datetime(2024, 6, 14, 15, 30, tzinfo=datetime.UTC),
    )
    won.contacts.set([grace])
    DealFactory(
        title="Lost cause",
        stage=pipeline.stages.get(name="Lead"),
        owner=cast.alice,
        status="lost",
        closed_at=datetime.datetime(2024, 4, 20, 9, 0, tzinfo=datetime.UTC),
        lost_reason=LostReasonFactory(name="Price"),
        amount=Decimal("0"),
        amount_base=Decimal("0"),
    )
    return {"acme": acme, "globex": globex, "pool": pool, "ada": ada, "grace": grace}


def test_company_export_columns_and_values(cast, book):
    rows = export_rows(cast.admin, "companies")

    acme = book["acme"]
    assert list(rows[0]) == COLUMNS["companies"]
    assert [row["name"] for row in rows] == ["Acme GmbH", "Globex", "Pool Inc"]
    assert rows[0] == {
        "id": str(acme.pk),
        "name": "Acme GmbH",
        "domain": "acme.example",
        "website": "https://www.acme.example",
        "industry": "Software",
        "country": "DE",
        "region": "Berlin",
        "size": "250",
        "phone": "'+49 30 1234567",
        "owner": "alice@salesdesk.test",
        "tags": "partner; vip",
        "created_at": acme.created_at.isoformat(),
    }
    assert rows[2]["owner"] == ""


def test_contact_export_joins_emails_and_phones(cast, book):
    rows = export_rows(cast.admin, "contacts")

    ada = book["ada"]
    assert list(rows[0]) == COLUMNS["contacts"]
    assert [row["last_name"] for row in rows] == ["Lovelace", "Hopper"]
    assert rows[0] == {
        "id": str(ada.pk),
        "first_name": "Ada",
        "last_name": "Lovelace",
        "title": "CTO",
        "emails": "ada@acme.example; countess@acme.example",
        "phones": "'+49 30 111",
        "mobiles": "'+49 170 222",
        "company": "Acme GmbH",
        "owner": "alice@salesdesk.test",
        "source": "Conference",
        "tags": "vip",
        "created_at": ada.created_at.isoformat(),
    }


def test_deal_export(cast, book):
    rows = export_rows(cast.admin, "deals")

    assert list(rows[0]) == COLUMNS["deals"]
    by_title = {row["title"]: row for row in rows}
    rollout = Deal.objects.get(title="Acme rollout")
    assert by_title["Acme rollout"] == {
        "id": str(rollout.pk),
        "title": "Acme rollout",
        "company": "Acme GmbH",
        "contacts": "Ada Lovelace <ada@acme.example>",
        "pipeline": "Sales",
        "stage": "Proposal",
        "status": "open",
        "amount": "12500.00",
        "currency": "EUR",
        "amount_base": "12500.00",
        "expected_close": "2024-09-30",
        "closed_at": "",
        "lost_reason": "",
        "lead_source": "Web",
        "next_step": "Send the contract",
        "next_step_due": "2024-09-01",
        "owner": "alice@salesdesk.test",
        "tags": "vip",
        "created_at": rollout.created_at.isoformat(),
    }
    assert by_title["Globex renewal"]["contacts"] == "Grace Hopper"
    assert by_title["Globex renewal"]["closed_at"] == "2024-06-14T15:30:00+00:00"
    assert (by_title["Lost cause"]["status"], by_title["Lost cause"]["lost_reason"]) == (
        "lost",
        "Price",
    )


def test_cells_a_spreadsheet_would_run_are_quoted(cast):
    for name in ['=HYPERLINK("http://evil.example")', "+1+1", "-2+3", "@SUM(A1)", "Plain"]:
        CompanyFactory(name=name, domain="")

    names = [row["name"] for row in export_rows(cast.admin, "companies")]

    assert sorted(names) == sorted(
        ['\'=HYPERLINK("http://evil.example")', "'+1+1", "'-2+3", "'@SUM(A1)", "Plain"]
    )


def test_quoted_formula_cells_read_back_as_they_were(cast):
    CompanyFactory(name="=1+1", domain="", phone="+49 30 1")
    data = export_text(cast.admin, "companies").encode()

    result = import_run(actor=cast.admin, entity="companies", data=data, dry_run=False)

    assert [row.action for row in result.rows] == ["skipped"]
    assert list(Company.objects.values_list("name", "phone")) == [("=1+1", "+49 30 1")]


@pytest.mark.parametrize(
    ("who", "companies", "contacts", "deals"),
    [
        ("admin", {"Acme GmbH", "Globex", "Pool Inc"}, {"Ada", "Grace"}, 3),
        ("manager", {"Acme GmbH", "Globex", "Pool Inc"}, {"Ada", "Grace"}, 3),
        ("alice", {"Acme GmbH", "Pool Inc"}, {"Ada"}, 2),
        ("bob", {"Globex", "Pool Inc"}, {"Grace"}, 1),
        ("carol", {"Pool Inc"}, set(), 0),
    ],
)
def test_export_holds_only_what_the_user_can_see(cast, book, who, companies, contacts, deals):
    user = getattr(cast, who)

    assert {row["name"] for row in export_rows(user, "companies")} == companies
    assert {row["first_name"] for row in export_rows(user, "contacts")} == contacts
    assert len(export_rows(user, "deals")) == deals


@pytest.mark.parametrize(("entity", "queries"), [("companies", 3), ("contacts", 5), ("deals", 5)])
def test_export_query_count_does_not_grow_with_rows(
    cast, pipeline, django_assert_num_queries, entity, queries
):
    def add(count):
        for _ in range(count):
            company = CompanyFactory(owner=cast.alice)
            company.tags.add(TagFactory())
            contact = ContactFactory(owner=cast.alice, company=company)
            ContactEmailFactory(contact=contact)
            ContactPhone.objects.create(contact=contact, number="1")
            deal = DealFactory(owner=cast.alice, company=company, stage=pipeline.stages.first())
            deal.contacts.add(contact)
            deal.tags.add(TagFactory())

    add(3)
    cast.alice._visibility_reps_see_all = None
    with django_assert_num_queries(queries):
        assert len(export_rows(cast.alice, entity)) == 3
    add(27)
    cast.alice._visibility_reps_see_all = None
    with django_assert_num_queries(queries):
        assert len(export_rows(cast.alice, entity)) == 30


def _state():
    return {
        model.__name__: sorted(
            (obj.pk, tuple(sorted((k, str(v)) for k, v in snapshot(obj).items())))
            for obj in model.objects.all()
        )
        for model in (Company, Contact, Deal, StageChange)
    } | {
        "emails": sorted(Contact.objects.values_list("pk", "emails__email")),
        "phones": sorted(Contact.objects.values_list("pk", "phones__number", "phones__kind")),
        "tags": sorted(Deal.objects.values_list("pk", "tags__name")),
        "deal contacts": sorted(Deal.objects.values_list("pk", "contacts__pk")),
    }


@pytest.mark.parametrize("who", ["admin", "alice"])
def test_reimporting_an_export_changes_nothing(cast, book, who):
    user = getattr(cast, who)
    before = _state()

    for entity in ("companies", "contacts", "deals"):
        data = export_text(user, entity).encode()
        result = import_run(actor=user, entity=entity, data=data, dry_run=False)

        assert result.count("created") == 0, result.as_dict()
        assert result.count("updated") == 0, result.as_dict()
        assert result.count("failed") == 0, result.as_dict()
        assert {row.id for row in result.rows} == {
            int(line["id"]) for line in csv.DictReader(io.StringIO(data.decode()))
        }
    assert _state() == before


def test_edited_export_updates_the_same_records(cast, book):
    rows = export_rows(cast.admin, "deals")
    for row in rows:
        if row["title"] == "Acme rollout":
            row["stage"], row["amount"] = "Negotiation", "13000"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS["deals"])
    writer.writeheader()
    writer.writerows(rows)

    result = import_run(
        actor=cast.admin, entity="deals", data=out.getvalue().encode(), dry_run=False
    )

    assert sorted(row.action for row in result.rows) == ["skipped", "skipped", "updated"]
    rollout = Deal.objects.get(title="Acme rollout")
    assert (rollout.stage.name, rollout.amount) == ("Negotiation", Decimal("13000.00"))
    assert Deal.objects.count() == 3


def test_cli_export_to_stdout_and_to_a_file(cast, book, tmp_path):
    stdout = StringIO()
    call_command("export", "companies", "--user", "alice@salesdesk.test", stdout=stdout)

    assert stdout.getvalue() == export_text(cast.alice, "companies")

    path = tmp_path / "deals.csv"
    stdout = StringIO()
    call_command("export", "deals", "--user=admin@salesdesk.test", "-o", str(path), stdout=stdout)

    assert stdout.getvalue() == f"Exported deals to {path}.\n"
    assert path.read_bytes().decode() == export_text(cast.admin, "deals")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["people", "--user", "admin@salesdesk.test"],
            "Unknown kind of record 'people'; use companies, contacts, deals.",
        ),
        (
            ["deals", "--user", "ghost@salesdesk.test"],
            "No user has the e-mail address ghost@salesdesk.test.",
        ),
    ],
)
def test_cli_export_bad_usage(cast, args, message):
    with pytest.raises(CommandError) as error:
        call_command("export", *args, stdout=StringIO())

    assert (error.value.returncode, str(error.value)) == (2, message)


def test_export_of_dates_is_iso_and_utc(cast, pipeline):
    summer_time = datetime.timezone(datetime.timedelta(hours=2))
    berlin_evening = datetime.datetime(2024, 6, 14, 23, 30, tzinfo=summer_time)
    DealFactory(
        stage=pipeline.stages.first(), status="won", closed_at=berlin_evening, owner=cast.admin
    )

    (row,) = export_rows(cast.admin, "deals")

    assert row["closed_at"] == "2024-06-14T21:30:00+00:00"
