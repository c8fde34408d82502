import codecs
import datetime
import json
import os
import subprocess
import sys
import zoneinfo
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from salesdesk.core.errors import NotFound, ValidationFailed
from salesdesk.core.models import AuditEntry, CurrencyRate
from salesdesk.crm.models import Company, Contact, ContactEmail, ContactPhone, Tag
from salesdesk.crm.transfer import import_preview, import_run
from salesdesk.crm.transfer import importing as importing_module
from salesdesk.crm.transfer.mapping import guess_mapping
from salesdesk.crm.transfer.values import (
    parse_date,
    parse_datetime,
    parse_localized_amount,
    slash_date_order,
    split_name,
)
from salesdesk.pipeline.models import Deal, LeadSource, LostReason, StageChange
from tests.factories import (
    CompanyFactory,
    ContactEmailFactory,
    ContactFactory,
    DealFactory,
    PipelineFactory,
    StageFactory,
)

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures"
UTC = datetime.UTC


def run(actor, entity, text, *, dry_run=False, mapping=None):
    data = text.encode() if isinstance(text, str) else text
    return import_run(actor=actor, entity=entity, data=data, mapping=mapping, dry_run=dry_run)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def report(result):
    return [(row.line, row.action, row.errors, row.warnings) for row in result.rows]


def counts(result):
    data = result.as_dict()
    return {key: data[key] for key in ("created", "updated", "skipped", "failed")}


def table_sizes():
    return {
        model.__name__: model.objects.count()
        for model in (
            Company,
            Contact,
            ContactEmail,
            ContactPhone,
            Tag,
            Deal,
            StageChange,
            LostReason,
            LeadSource,
            AuditEntry,
        )
    }


@pytest.fixture
def base(cast, pipeline):
    return cast


# --- Vendor files ----------------------------------------------------------------------------


def test_pipedrive_organizations_persons_and_deals(base):
    organizations = run(base.admin, "companies", fixture("pipedrive_organizations.csv"))
    persons = run(base.admin, "contacts", fixture("pipedrive_persons.csv"))
    deals = run(base.admin, "deals", fixture("pipedrive_deals.csv"))

    assert organizations.mapping == {
        "Organization - Name": "name",
        "Organization - Owner": "owner",
        "Organization - Label": "tags",
    }
    assert organizations.columns_unmapped == [
        "Organization - ID",
        "Organization - Address",
        "Organization - People",
    ]
    assert counts(organizations) == {"created": 2, "updated": 0, "skipped": 0, "failed": 0}
    acme = Company.objects.get(name="Acme GmbH")
    assert acme.owner == base.alice
    assert [t.name for t in acme.tags.all()] == ["Customer"]

    assert persons.mapping == {
        "Person - Name": "full_name",
        "Person - Email": "email",
        "Person - Phone": "phone",
        "Person - Organization": "company",
        "Person - Owner": "owner",
        "Person - Label": "tags",
    }
    assert counts(persons) == {"created": 2, "updated": 0, "skipped": 0, "failed": 0}
    ada = Contact.objects.get(last_name="Lovelace")
    assert (ada.first_name, ada.company, ada.owner) == ("Ada", acme, base.alice)
    assert [(e.email, e.is_primary) for e in ada.emails.all()] == [("ada@acme.example", True)]
    assert [(p.number, p.kind) for p in ada.phones.all()] == [("+49 30 1234567", "work")]
    grace = Contact.objects.get(last_name="Hopper")
    assert grace.first_name == "Grace"
    assert [e.email for e in grace.emails.all()] == [
        "grace@globex.example",
        "g.hopper@globex.example",
    ]
    assert grace.company.name == "Globex"

    assert deals.mapping == {
        "Deal - Title": "title",
        "Deal - Value": "amount",
        "Deal - Currency": "currency",
        "Deal - Organization": "company",
        "Deal - Contact person": "contacts",
        "Deal - Stage": "stage",
        "Deal - Pipeline": "pipeline",
        "Deal - Status": "status",
        "Deal - Expected close date": "expected_close",
        "Deal - Owner": "owner",
        "Deal - Lost reason": "lost_reason",
        "Deal - Won time": "closed_at",
        "Deal - Lost time": "closed_at",
        "Deal - Lead source": "lead_source",
    }
    assert deals.columns_unmapped == ["Deal - ID"]
    assert [(row.line, row.action) for row in deals.rows] == [
        (2, "created"),
        (3, "created"),
        (4, "created"),
        (5, "skipped"),
    ]
    assert deals.rows[3].warnings == [
        "Deal - Status: The deal was deleted in the other system; skipped."
    ]
    rollout = Deal.objects.get(title="Acme rollout")
    assert (rollout.amount, rollout.currency, rollout.amount_base) == (
        Decimal("12500.00"),
        "EUR",
        Decimal("12500.00"),
    )
    assert (rollout.company, rollout.stage.name, rollout.status) == (acme, "Proposal", "open")
    assert rollout.expected_close == datetime.date(2024, 9, 30)
    assert list(rollout.contacts.all()) == [ada]
    assert rollout.owner == base.alice
    renewal = Deal.objects.get(title="Globex renewal")
    assert (renewal.status, renewal.stage.name) == ("won", "Negotiation")
    assert renewal.closed_at == datetime.datetime(2024, 6, 14, 15, 30, tzinfo=UTC)
    assert renewal.lead_source.name == "Referral"
    assert list(renewal.contacts.all()) == [grace]
    pilot = Deal.objects.get(title="Initech pilot")
    assert (pilot.status, pilot.lost_reason.name) == ("lost", "Price too high")
    assert pilot.closed_at == datetime.datetime(2024, 4, 20, 9, 0, tzinfo=UTC)
    assert pilot.amount == Decimal("3200.50")
    assert (pilot.company.name, pilot.company.owner) == ("Initech", base.alice)
    peter = pilot.contacts.get()
    assert (peter.first_name, peter.last_name, peter.company) == ("Peter", "Gibbons", pilot.company)
    assert not Deal.objects.filter(title="Umbrella audit").exists()
    assert [
        (c.from_stage, c.to_stage.name, c.by) for c in StageChange.objects.filter(deal=rollout)
    ] == [(None, "Proposal", base.admin)]


def test_hubspot_files(base):
    companies = run(base.admin, "companies", fixture("hubspot_companies.csv"))
    contacts = run(base.admin, "contacts", fixture("hubspot_contacts.csv"))
    deals = run(base.admin, "deals", fixture("hubspot_deals.csv"), mapping={"Pipeline": ""})

    assert companies.mapping == {
        "Company name": "name",
        "Company Domain Name": "domain",
        "Industry": "industry",
        "Country/Region": "country",
        "Phone Number": "phone",
        "Company owner": "owner",
        "Number of Employees": "size",
    }
    assert companies.columns_unmapped == ["Record ID", "City", "Create Date"]
    assert counts(companies) == {"created": 2, "updated": 0, "skipped": 0, "failed": 0}
    acme = Company.objects.get(domain="acme.example")
    assert (acme.name, acme.country, acme.size, acme.owner) == ("Acme GmbH", "DE", 250, base.alice)
    globex = Company.objects.get(domain="globex.example")
    assert (globex.country, globex.size, globex.owner) == ("US", 1200, base.bob)

    assert contacts.mapping == {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Phone Number": "phone",
        "Job Title": "title",
        "Company Name": "company",
        "Contact owner": "owner",
        "Original Source": "source",
    }
    assert contacts.columns_unmapped == ["Record ID", "Associated Company", "Create Date"]
    ada = Contact.objects.get(emails__email="ada@acme.example")
    assert (ada.title, ada.company, ada.source) == ("CTO", acme, "Offline Sources")

    assert deals.mapping == {
        "Deal Name": "title",
        "Amount": "amount",
        "Close Date": "expected_close",
        "Deal Stage": "stage",
        "Deal owner": "owner",
        "Currency": "currency",
        "Associated Company": "company",
    }
    assert counts(deals) == {"created": 3, "updated": 0, "skipped": 0, "failed": 0}
    expansion = Deal.objects.get(title="Acme expansion")
    assert (expansion.stage.name, expansion.status, expansion.company) == ("Proposal", "open", acme)
    assert expansion.expected_close == datetime.date(2024, 10, 31)
    support = Deal.objects.get(title="Globex support")
    assert (support.status, support.stage.name) == ("won", "Negotiation")
    assert support.closed_at == datetime.datetime(2024, 5, 31, tzinfo=UTC)
    trial = Deal.objects.get(title="Initech trial")
    assert (trial.status, trial.lost_reason.name) == ("lost", "Unknown (imported)")
    assert deals.rows[2].warnings == ["No lost reason given; it is 'Unknown (imported)'."]


def test_hubspot_pipeline_names_must_exist_here(base):
    result = run(base.admin, "deals", fixture("hubspot_deals.csv"))

    assert report(result) == [
        (
            line,
            "failed",
            ["Pipeline: There is no pipeline 'Sales Pipeline'; the pipelines are: Sales."],
            [],
        )
        for line in (2, 3, 4)
    ]
    assert Deal.objects.count() == 0


def test_salesforce_files(base):
    CurrencyRate.objects.create(currency="USD", rate=Decimal("0.9"))
    accounts = run(base.admin, "companies", fixture("salesforce_accounts.csv"))
    contacts = run(base.admin, "contacts", fixture("salesforce_contacts.csv"))
    opportunities = run(base.admin, "deals", fixture("salesforce_opportunities.csv"))

    assert accounts.mapping == {
        "Account Name": "name",
        "Website": "website",
        "Industry": "industry",
        "Billing Country": "country",
        "Phone": "phone",
        "Employees": "size",
        "Account Owner": "owner",
        "Billing State/Province": "region",
    }
    acme = Company.objects.get(name="Acme GmbH")
    assert (acme.domain, acme.website, acme.country) == (
        "acme.example",
        "https://www.acme.example",
        "DE",
    )
    initech = Company.objects.get(name="Initech")
    assert (initech.domain, initech.size, initech.region, initech.country) == (
        "initech.example",
        1500,
        "TX",
        "US",
    )

    assert contacts.mapping == {
        "First Name": "first_name",
        "Last Name": "last_name",
        "Title": "title",
        "Email": "email",
        "Phone": "phone",
        "Mobile": "mobile",
        "Account Name": "company",
        "Contact Owner": "owner",
        "Lead Source": "source",
    }
    assert contacts.columns_unmapped == ["Mailing Country"]
    peter = Contact.objects.get(emails__email="peter@initech.example")
    assert [(p.number, p.kind) for p in peter.phones.all()] == [
        ("(555) 010-0100", "work"),
        ("(555) 010-0101", "mobile"),
    ]
    assert (peter.company, peter.owner, peter.source) == (initech, base.bob, "Partner Referral")

    assert opportunities.mapping == {
        "Opportunity Name": "title",
        "Account Name": "company",
        "Amount": "amount",
        "Close Date": "expected_close",
        "Stage": "stage",
        "Opportunity Owner": "owner",
        "Lead Source": "lead_source",
        "Opportunity Currency": "currency",
        "Next Step": "next_step",
    }
    assert opportunities.columns_unmapped == ["Probability (%)", "Type"]
    assert counts(opportunities) == {"created": 3, "updated": 0, "skipped": 0, "failed": 0}
    platform = Deal.objects.get(title="Acme - Platform")
    assert (platform.amount, platform.currency, platform.expected_close) == (
        Decimal("24000.00"),
        "EUR",
        datetime.date(2024, 9, 30),
    )
    assert (platform.next_step, platform.lead_source.name) == ("Send the proposal", "Web")
    pilot = Deal.objects.get(title="Initech - Pilot")
    assert (pilot.amount, pilot.currency, pilot.amount_base) == (
        Decimal("5000.00"),
        "USD",
        Decimal("4500.00"),
    )
    assert (pilot.status, pilot.company) == ("won", initech)
    support = Deal.objects.get(title="Initech - Support")
    assert (support.status, support.lost_reason.name) == ("lost", "Unknown (imported)")


def test_salesforce_api_name_export(base):
    result = run(base.admin, "deals", fixture("salesforce_opportunities_api.csv"))

    assert result.mapping == {
        "Name": "title",
        "Account.Name": "company",
        "Amount": "amount",
        "CloseDate": "expected_close",
        "StageName": "stage",
        "CurrencyIsoCode": "currency",
        "LeadSource": "lead_source",
        "NextStep": "next_step",
    }
    # Salesforce's own ids are not ours: "Id" stays unmapped.
    assert result.columns_unmapped == ["Id", "AccountId", "Probability"]
    assert counts(result) == {"created": 2, "updated": 0, "skipped": 0, "failed": 0}
    renewal = Deal.objects.get(title="Globex - Renewal")
    assert (renewal.stage.name, renewal.amount) == ("Negotiation", Decimal("9000.00"))


# --- Reading files ---------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(base, delimiter):
    text = delimiter.join(["Name", "Domain", "Industry"]) + "\n"
    text += delimiter.join(
        ["Acme, Inc" if delimiter != "," else '"Acme, Inc"', "acme.example", "IT"]
    )

    result = run(base.admin, "companies", text)

    assert counts(result)["created"] == 1
    assert Company.objects.get().name == "Acme, Inc"


def test_excel_separator_line_names_the_delimiter(base):
    result = run(base.admin, "companies", "sep=;\r\nName;Industry\r\nAcme, Inc;IT\r\n")

    assert [(row.line, row.action) for row in result.rows] == [(3, "created")]
    assert Company.objects.get().name == "Acme, Inc"


def test_blank_lines_are_skipped_and_rows_report_their_file_line(base):
    text = 'Name,Industry\n\nAcme,"Software\nand services"\n   \nGlobex,\n,,\nInitech,"x"\n'

    result = run(base.admin, "companies", text)

    assert [(row.line, row.action) for row in result.rows] == [
        (3, "created"),
        (6, "created"),
        (8, "created"),
    ]
    assert Company.objects.get(name="Acme").industry == "Software and services"


def test_cp1252_file_with_umlauts_is_read_with_a_warning(base):
    data = "Name;Industry\nMüller Straßenbau GmbH;Bäckerei\n".encode("cp1252")

    result = run(base.admin, "companies", data)

    assert result.encoding == "cp1252"
    assert result.warnings == [
        "The file is not UTF-8; it was read as Windows-1252 (Western European). "
        "Check accented letters, or save the file as UTF-8 and import it again."
    ]
    company = Company.objects.get()
    assert (company.name, company.industry) == ("Müller Straßenbau GmbH", "Bäckerei")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-8-sig"])
def test_utf16_and_utf8_with_bom(base, encoding):
    text = "Name,Country\nÅngström AB,Sweden\n"
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data

    result = run(base.admin, "companies", data)

    assert result.warnings == []
    company = Company.objects.get()
    assert (company.name, company.country) == ("Ångström AB", "SE")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"\n\n  \r\n", "The file is empty."),
        (codecs.BOM_UTF8, "The file is empty."),
        (b"Name,Domain\n", "The file has a header but no rows."),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "This is not a CSV text file (it contains binary data). "
            "Export the data as CSV (comma- or semicolon-separated values) and try again.",
        ),
        (
            b"Acme,acme@acme.example,42\nGlobex,info@globex.example,7\n",
            "The first line must be a header naming the columns (such as Name, Email), "
            "but it looks like data: acme@acme.example, 42. Add a header line and import again.",
        ),
        (
            b"Name,Email,Phone,email\nAcme,a@b.example,1,\n",
            "The header names the column 'email' twice (columns 2 and 4); rename one of them.",
        ),
    ],
)
def test_unreadable_files_are_refused_with_a_clear_message(base, data, message):
    with pytest.raises(ValidationFailed) as error:
        run(base.admin, "companies", data)

    assert error.value.message == message
    assert Company.objects.count() == 0


def test_file_over_50_mb_is_refused(base, monkeypatch):
    monkeypatch.setattr("salesdesk.crm.transfer.reading.MAX_BYTES", 1024 * 1024)

    with pytest.raises(ValidationFailed) as error:
        run(base.admin, "companies", b"Name\n" + b"Acme\n" * 300_000)

    assert error.value.message == "The file is larger than 1 MB; split it into smaller files."


def test_row_with_more_values_than_columns_fails_alone(base):
    result = run(base.admin, "companies", "Name,Industry\nAcme,IT,extra\nGlobex,IT,\n")

    assert report(result) == [
        (
            2,
            "failed",
            [
                "The line has 3 values but the header has 2 columns; a value probably contains "
                "an unquoted comma."
            ],
            [],
        ),
        (3, "created", [], []),
    ]


def test_unknown_entity_is_not_found(base):
    with pytest.raises(NotFound) as error:
        run(base.admin, "people", "Name\nAda\n")

    assert error.value.message == "Unknown kind of record 'people'; use companies, contacts, deals."


# --- Mapping ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "header", "field"),
    [
        ("contacts", "E-Mail", "email"),
        ("contacts", "  EMAIL address ", "email"),
        ("contacts", "Person - Email - Work", "email"),
        ("contacts", "Mobile Phone Number", "mobile"),
        ("contacts", "Full name", "full_name"),
        ("contacts", "Job Title", "title"),
        ("companies", "Company Domain Name", "domain"),
        ("companies", "Website URL", "website"),
        ("companies", "Number of Employees", "size"),
        ("companies", "Billing State/Province", "region"),
        ("deals", "Deal - Expected close date", "expected_close"),
        ("deals", "Probability (%)", None),
        ("deals", "Deal - ID", None),
        ("deals", "Record ID", None),
        ("deals", "Closed Lost Reason", "lost_reason"),
        ("deals", "Opportunity Currency", "currency"),
        ("deals", "CurrencyIsoCode", "currency"),
        ("deals", "Deal - Lost time", "closed_at"),
    ],
)
def test_guessed_mapping(entity, header, field):
    assert guess_mapping(entity, [header], [["x"]]).get(header) == field


def test_id_column_is_ours_only_when_it_holds_numbers():
    assert guess_mapping("deals", ["id", "title"], [["12", "A"], ["", "B"]]) == {
        "id": "id",
        "title": "title",
    }
    assert guess_mapping("deals", ["Id", "Name"], [["0065g00000AbCdE", "A"]]) == {"Name": "title"}


def test_mapping_override_by_column(base):
    text = "Organisation,Mail,Kommentar\nAcme,ada@acme.example,Ada Lovelace\n"

    result = run(
        base.admin,
        "contacts",
        text,
        mapping={"Mail": "email", "kommentar": "full_name", "Organisation": ""},
    )

    assert result.mapping == {"Mail": "email", "Kommentar": "full_name"}
    assert result.columns_unmapped == ["Organisation"]
    contact = Contact.objects.get()
    assert (contact.first_name, contact.last_name, contact.company) == ("Ada", "Lovelace", None)


def test_override_replaces_the_guessed_column_for_that_field(base):
    text = "Name,Nickname\nAda Lovelace,Countess\n"

    result = run(base.admin, "contacts", text, mapping={"Nickname": "full_name"})

    assert result.mapping == {"Nickname": "full_name"}
    assert Contact.objects.get().first_name == "Countess"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (
            {"Name": "nickname"},
            "'nickname' is not a field of contacts. The fields are: id, first_name, last_name, "
            "full_name, email, phone, mobile, title, company, owner, source, tags.",
        ),
        (
            {"Fax": "phone"},
            "The mapping names the column 'Fax', which is not in the file. The columns are: "
            "Name, Email.",
        ),
        (
            {"Name": "title", "Email": "title"},
            "The mapping gives the field 'title' two columns: 'Name' and 'Email'.",
        ),
        (["Name"], 'The mapping is an object of column → field, such as {"E-Mail": "email"}.'),
    ],
)
def test_bad_mapping_is_refused(base, mapping, message):
    with pytest.raises(ValidationFailed) as error:
        run(base.admin, "contacts", "Name,Email\nAda,ada@x.example\n", mapping=mapping)

    assert error.value.message == message


@pytest.mark.parametrize(
    ("entity", "text", "message"),
    [
        (
            "companies",
            "Domain,Industry\nacme.example,IT\n",
            "No column holds a company's name: map a column to 'name'. "
            "The columns are: Domain, Industry.",
        ),
        (
            "contacts",
            "Email,Phone\nada@x.example,1\n",
            "No column holds a contact's name: map a column to 'first_name' or 'last_name' or "
            "'full_name'. The columns are: Email, Phone.",
        ),
        (
            "deals",
            "Amount,Stage\n100,Lead\n",
            "No column holds a deal's title: map a column to 'title'. "
            "The columns are: Amount, Stage.",
        ),
    ],
)
def test_missing_required_column_names_what_is_required(base, entity, text, message):
    with pytest.raises(ValidationFailed) as error:
        run(base.admin, entity, text)

    assert error.value.message == message


def test_preview_shows_mapping_and_first_rows(base):
    text = "Name,E-Mail,Fax\n" + "".join(f"P{i},p{i}@x.example,{i}\n" for i in range(7))

    preview = import_preview(entity="contacts", data=text.encode())

    assert preview["mapping"] == {"Name": "full_name", "E-Mail": "email"}
    assert preview["columns_unmapped"] == ["Fax"]
    assert preview["rows_total"] == 7
    assert preview["rows"][0] == {
        "line": 2,
        "values": {"Name": "P0", "E-Mail": "p0@x.example", "Fax": "0"},
    }
    assert len(preview["rows"]) == 5
    assert preview["problems"] == []
    assert Contact.objects.count() == 0


# --- Values ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("1,234.56", "1234.56", None),
        ("1.234,56", "1234.56", None),
        ("1 234,56", "1234.56", None),
        ("1\u00a0234,56", "1234.56", None),
        ("$1,234", "1234.00", "USD"),
        ("EUR 1200", "1200.00", "EUR"),
        ("1200 €", "1200.00", "EUR"),
        ("1.000,00 EUR", "1000.00", "EUR"),
        ("1,234", "1234.00", None),
        ("1.234", "1234.00", None),
        ("0,5", "0.50", None),
        ("1'234.50", "1234.50", None),
        ("1,234,567", "1234567.00", None),
        ("£ 99.9", "99.90", "GBP"),
        ("usd 5", "5.00", "USD"),
    ],
)
def test_parse_localized_amount(text, amount, currency):
    assert parse_localized_amount(text) == (Decimal(amount), currency)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("12x", "'12x' is not an amount; write it like 1234.56, 1,234.56, 1.234,56 or EUR 1200."),
        (
            "1,23,456",
            "'1,23,456' is not an amount; write it like 1234.56, 1,234.56, 1.234,56 or EUR 1200.",
        ),
        (
            "1.2.3,4,5",
            "'1.2.3,4,5' is not an amount; write it like 1234.56, 1,234.56, 1.234,56 or EUR 1200.",
        ),
        ("-5", "The amount cannot be negative."),
        ("0.125", "Amounts have at most two decimals."),
    ],
)
def test_parse_localized_amount_refuses(text, message):
    with pytest.raises(ValidationFailed) as error:
        parse_localized_amount(text)

    assert error.value.message == message


@pytest.mark.parametrize(
    ("text", "order", "date"),
    [
        ("2024-03-31", "mdy", datetime.date(2024, 3, 31)),
        ("2024-03-31 00:00", "mdy", datetime.date(2024, 3, 31)),
        ("31.03.2024", "mdy", datetime.date(2024, 3, 31)),
        ("03/04/2024", "mdy", datetime.date(2024, 3, 4)),
        ("03/04/2024", "dmy", datetime.date(2024, 4, 3)),
        ("31/03/2024", "mdy", datetime.date(2024, 3, 31)),
        ("2024/03/31", "mdy", datetime.date(2024, 3, 31)),
        ("3/5/2024", "mdy", datetime.date(2024, 3, 5)),
    ],
)
def test_parse_date(text, order, date):
    assert parse_date(text, order=order) == date


@pytest.mark.parametrize("text", ["2024-02-30", "31-03-2024", "soon", "13/13/2024", "1850-01-01"])
def test_parse_date_refuses(text):
    with pytest.raises(ValidationFailed):
        parse_date(text)


def test_parse_datetime_reads_naive_times_in_the_users_zone():
    berlin = datetime.timezone(datetime.timedelta(hours=2))
    zone = zoneinfo.ZoneInfo("Europe/Berlin")

    assert parse_datetime("2024-06-14 15:30:00", tz=zone) == datetime.datetime(
        2024, 6, 14, 15, 30, tzinfo=berlin
    )
    assert parse_datetime("06/14/2024 3:30 PM", tz=zone) == datetime.datetime(
        2024, 6, 14, 15, 30, tzinfo=berlin
    )
    assert parse_datetime("2024-06-14T13:30:00Z", tz=zone) == datetime.datetime(
        2024, 6, 14, 13, 30, tzinfo=UTC
    )


def test_slash_date_order_is_decided_per_column():
    assert slash_date_order(["03/04/2024", "12/31/2024"]) == "mdy"
    assert slash_date_order(["03/04/2024", "31/12/2024"]) == "dmy"
    assert slash_date_order(["31/12/2024", "12/31/2024"]) == "mdy"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("Ada Lovelace", ("Ada", "Lovelace")),
        ("Lovelace, Ada", ("Ada", "Lovelace")),
        ("Ludwig  van Beethoven", ("Ludwig", "van Beethoven")),
        ("Cher", ("Cher", "")),
    ],
)
def test_split_name(text, names):
    assert split_name(text) == names


def test_day_first_column_is_detected_and_announced(base):
    text = "Deal Name,Close Date\nA,03/04/2024\nB,25/12/2024\n"

    result = run(base.admin, "deals", text)

    assert result.warnings == [
        "Close Date: dates such as 03/04/2024 are read day first (DD/MM/YYYY), because some "
        "dates in this column have a day above 12 first."
    ]
    assert Deal.objects.get(title="A").expected_close == datetime.date(2024, 4, 3)


# --- Duplicates and updates ------------------------------------------------------------------


def test_duplicate_email_within_the_file_updates_the_first_row(base):
    text = (
        "First Name,Last Name,Email,Phone,Title\n"
        "Ada,Lovelace,ada@x.example,111,\n"
        "Ada,Lovelace,ADA@X.example,222,Countess\n"
        "Ada,Lovelace,ada@x.example,111,Countess\n"
    )

    result = run(base.admin, "contacts", text)

    ada = Contact.objects.get()
    assert [(row.line, row.action, row.id) for row in result.rows] == [
        (2, "created", ada.pk),
        (3, "updated", ada.pk),
        (4, "skipped", ada.pk),
    ]
    assert result.rows[2].warnings == [
        f"Nothing to change: the contact {ada.pk} already holds these values."
    ]
    assert ada.title == "Countess"
    assert sorted(ada.phones.values_list("number", flat=True)) == ["111", "222"]
    assert list(ada.emails.values_list("email", flat=True)) == ["ada@x.example"]


def test_any_of_the_rows_emails_matches_an_existing_contact(base):
    ada = ContactFactory(first_name="Ada", last_name="Lovelace", owner=base.alice)
    ContactEmailFactory(contact=ada, email="ada@x.example")
    text = "Name,Email,Email 2\nAda King,new@x.example,Ada@X.Example\n"

    result = run(base.admin, "contacts", text)

    assert [(row.action, row.id) for row in result.rows] == [("updated", ada.pk)]
    ada.refresh_from_db()
    assert (ada.first_name, ada.last_name) == ("Ada", "King")
    assert list(ada.emails.values_list("email", "is_primary")) == [
        ("ada@x.example", True),
        ("new@x.example", False),
    ]
    assert Contact.objects.count() == 1
    assert AuditEntry.objects.get(entity="crm.contact", entity_id=ada.pk).changes == {
        "last_name": ["Lovelace", "King"],
        "emails": [["ada@x.example"], ["ada@x.example", "new@x.example"]],
    }


def test_emails_of_two_different_contacts_in_one_row_fail(base):
    for email in ("a@x.example", "b@x.example"):
        ContactEmailFactory(email=email, contact__owner=base.alice)

    result = run(base.admin, "contacts", "Name,Email\nAda,a@x.example; b@x.example\n")

    assert report(result) == [
        (
            2,
            "failed",
            [
                "Email: These e-mails belong to different contacts (a@x.example, b@x.example); "
                "merge the contacts first or split the row."
            ],
            [],
        )
    ]


def test_empty_cells_never_erase(base):
    acme = CompanyFactory(
        name="Acme", domain="acme.example", industry="Software", phone="123", owner=base.alice
    )
    text = "Name,Domain,Industry,Phone,Owner\nAcme,acme.example,,,\n"

    result = run(base.admin, "companies", text)

    assert [row.action for row in result.rows] == ["skipped"]
    acme.refresh_from_db()
    assert (acme.industry, acme.phone, acme.owner) == ("Software", "123", base.alice)


def test_company_matched_by_domain_from_website(base):
    acme = CompanyFactory(name="ACME Corporation", domain="acme.example")

    result = run(base.admin, "companies", "Name,Website\nAcme,https://www.Acme.example/about\n")

    assert [(row.action, row.id) for row in result.rows] == [("updated", acme.pk)]
    acme.refresh_from_db()
    assert (acme.name, acme.website) == ("Acme", "https://www.Acme.example/about")
    assert Company.objects.count() == 1


def test_company_without_domain_matched_by_name_case_insensitively(base):
    acme = CompanyFactory(name="Acme GmbH", domain="")

    result = run(base.admin, "companies", "Company,Industry\nACME gmbh,Retail\nACME gmbh,Retail\n")

    assert [(row.action, row.id) for row in result.rows] == [
        ("updated", acme.pk),
        ("skipped", acme.pk),
    ]
    acme.refresh_from_db()
    assert (acme.name, acme.industry) == ("ACME gmbh", "Retail")


def test_company_known_by_name_gets_the_files_domain(base):
    acme = CompanyFactory(name="Acme", domain="")

    result = run(base.admin, "companies", "Name,Domain\nAcme,acme.example\nAcme,acme.example\n")

    assert [(row.action, row.id) for row in result.rows] == [
        ("updated", acme.pk),
        ("skipped", acme.pk),
    ]
    acme.refresh_from_db()
    assert acme.domain == "acme.example"


def test_same_domain_twice_in_a_file_creates_one_company(base):
    text = "Name,Website\nAcme,acme.example\nAcme Inc,http://www.acme.example\n"

    result = run(base.admin, "companies", text)

    acme = Company.objects.get()
    assert [(row.action, row.id) for row in result.rows] == [
        ("created", acme.pk),
        ("updated", acme.pk),
    ]
    assert (acme.name, acme.domain) == ("Acme Inc", "acme.example")


def test_contacts_company_column_finds_or_creates_the_company(base):
    acme = CompanyFactory(name="Acme", domain="acme.example")
    text = (
        "Name,Company,Owner\nAda Lovelace,acme,bob@salesdesk.test\nGrace Hopper,Globex,Bob East\n"
    )

    result = run(base.admin, "contacts", text)

    assert counts(result) == {"created": 2, "updated": 0, "skipped": 0, "failed": 0}
    assert Contact.objects.get(first_name="Ada").company == acme
    globex = Company.objects.get(name="Globex")
    assert (globex.owner, Contact.objects.get(first_name="Grace").company) == (base.bob, globex)


def test_deal_matched_by_id_and_by_title_and_company(base, pipeline):
    acme = CompanyFactory(name="Acme")
    stage = pipeline.stages.get(name="Lead")
    by_id = DealFactory(title="Old title", stage=stage, owner=base.alice)
    by_title = DealFactory(title="Renewal", company=acme, stage=stage, owner=base.alice)
    text = f"id,title,company,stage\n{by_id.pk},New title,,Qualified\n,RENEWAL,ACME,Proposal\n"

    result = run(base.admin, "deals", text)

    assert [(row.action, row.id) for row in result.rows] == [
        ("updated", by_id.pk),
        ("updated", by_title.pk),
    ]
    by_id.refresh_from_db()
    assert (by_id.title, by_id.stage.name, by_id.stage_entered_at > by_id.created_at) == (
        "New title",
        "Qualified",
        True,
    )
    assert [
        (c.from_stage.name, c.to_stage.name, c.by) for c in StageChange.objects.filter(deal=by_id)
    ] == [("Lead", "Qualified", base.admin)]
    assert Deal.objects.get(pk=by_title.pk).stage.name == "Proposal"
    assert Deal.objects.count() == 2


def test_unknown_id_fails_the_row(base):
    result = run(
        base.admin,
        "deals",
        "id,title\n999999,Ghost\nabc,Ghost\n99999999999999999999,Ghost\n",
        mapping={"id": "id"},
    )

    assert report(result) == [
        (2, "failed", ["id: There is no deal with id 999999."], []),
        (3, "failed", ["id: 'abc' is not a Salesdesk id."], []),
        (4, "failed", ["id: '99999999999999999999' is not a Salesdesk id."], []),
    ]


# --- Owners and visibility -------------------------------------------------------------------


def test_owner_by_email_or_full_name_and_unknown_owner_warns(base):
    text = "Name,Owner\nAcme,BOB@salesdesk.test\nGlobex,alice east\nInitech,Somebody Else\n"

    result = run(base.admin, "companies", text)

    owners = {c.name: c.owner for c in Company.objects.all()}
    assert owners == {"Acme": base.bob, "Globex": base.alice, "Initech": base.admin}
    assert result.rows[2].warnings == [
        "Owner: 'Somebody Else' is not a Salesdesk user; the new record is yours."
    ]


def test_rep_cannot_assign_records_to_another_rep(base):
    result = run(base.alice, "companies", "Name,Owner\nAcme,Bob East\nGlobex,Alice East\n")

    assert report(result) == [
        (2, "failed", ["Owner: You cannot give records to this user. (Bob East)"], []),
        (3, "created", [], []),
    ]
    assert list(Company.objects.values_list("name", "owner")) == [("Globex", base.alice.pk)]


def test_manager_assigns_within_the_team(base):
    result = run(base.manager, "companies", "Name,Owner\nAcme,Bob East\nGlobex,Carol West\n")

    assert [row.action for row in result.rows] == ["created", "failed"]
    assert Company.objects.get().owner == base.bob


def test_rep_cannot_update_another_reps_contact_through_import(base):
    bobs = ContactFactory(first_name="Robert", last_name="Secret", title="CFO", owner=base.bob)
    ContactEmailFactory(contact=bobs, email="rob@globex.example")
    before = table_sizes()

    result = run(base.alice, "contacts", "Name,Email,Title\nRob Public,ROB@globex.example,Intern\n")

    assert report(result) == [
        (
            2,
            "failed",
            ["Email: The e-mail rob@globex.example belongs to a record you cannot change."],
            [],
        )
    ]
    assert "Secret" not in json.dumps(result.as_dict())
    bobs.refresh_from_db()
    assert (bobs.first_name, bobs.last_name, bobs.title) == ("Robert", "Secret", "CFO")
    assert table_sizes() == before


def test_rep_cannot_update_another_reps_company_by_domain_or_id(base):
    carols = CompanyFactory(name="Carol's", domain="carol.example", owner=base.carol)
    text = f"id,Name,Domain\n,Mine now,carol.example\n{carols.pk},Mine now,\n"

    result = run(base.alice, "companies", text)

    assert report(result) == [
        (
            2,
            "failed",
            ["Domain: The domain carol.example belongs to a record you cannot change."],
            [],
        ),
        (3, "failed", [f"id: There is no company with id {carols.pk}."], []),
    ]
    carols.refresh_from_db()
    assert carols.name == "Carol's"


def test_visible_but_unchangeable_company_name_is_refused(base, org):
    org.reps_see_all = True
    org.save()
    carols = CompanyFactory(name="Shared Name", domain="", owner=base.carol)

    result = run(base.alice, "companies", "Name,Industry\nShared Name,Mining\n")

    assert report(result) == [
        (2, "failed", ["Name: The name 'Shared Name' belongs to a record you cannot change."], [])
    ]
    carols.refresh_from_db()
    assert carols.industry == ""


def test_contact_links_only_to_companies_the_rep_can_see(base):
    carols = CompanyFactory(name="Hidden Corp", domain="hidden.example", owner=base.carol)

    run(base.alice, "contacts", "Name,Company\nAda Lovelace,Hidden Corp\n")

    ada = Contact.objects.get()
    assert ada.company != carols
    assert (ada.company.name, ada.company.owner) == ("Hidden Corp", base.alice)


def test_non_admin_cannot_create_tags_or_lead_sources(base):
    Tag.objects.create(name="VIP")
    text = "Deal Name,Tags,Lead Source\nA,vip; brand-new,Conference\n"

    result = run(base.alice, "deals", text)

    deal = Deal.objects.get()
    assert [t.name for t in deal.tags.all()] == ["VIP"]
    assert deal.lead_source is None
    assert result.rows[0].warnings == [
        "Lead Source: There is no lead source 'Conference'; only admins add them, so it was "
        "left out.",
        "Tags: There is no tag 'brand-new'; only admins add tags, so it was left out.",
    ]
    assert list(Tag.objects.values_list("name", flat=True)) == ["VIP"]


# --- Deals -----------------------------------------------------------------------------------


def test_unknown_stage_lists_the_valid_ones(base):
    result = run(base.admin, "deals", "Title,Stage\nA,Discovery\n")

    assert report(result) == [
        (
            2,
            "failed",
            [
                "Stage: 'Discovery' is not a stage of the pipeline Sales; its stages are: Lead, "
                "Qualified, Proposal, Negotiation."
            ],
            [],
        )
    ]


def test_pipeline_column_picks_the_stage_from_that_pipeline(base):
    partners = PipelineFactory(name="Partners")
    StageFactory(pipeline=partners, name="Intro", position=0)
    StageFactory(pipeline=partners, name="Signed", position=1)

    run(base.admin, "deals", "Title,Pipeline,Stage\nA,partners,signed\nB,Partners,\n")

    assert {d.title: (d.pipeline.name, d.stage.name) for d in Deal.objects.all()} == {
        "A": ("Partners", "Signed"),
        "B": ("Partners", "Intro"),
    }


@pytest.mark.parametrize(
    ("stage", "status", "expected"),
    [
        ("Closed Won", "", ("won", "Negotiation")),
        ("closedwon", "", ("won", "Negotiation")),
        ("Closed Lost", "", ("lost", "Negotiation")),
        ("closedlost", "lost", ("lost", "Negotiation")),
        ("Qualified", "WON", ("won", "Qualified")),
        ("", "lost", ("lost", "Negotiation")),
        ("", "", ("open", "Lead")),
    ],
)
def test_vendor_closed_stages_and_statuses(base, stage, status, expected):
    result = run(base.admin, "deals", f"Title,Stage,Status\nA,{stage},{status}\n")

    assert result.rows[0].action == "created"
    deal = Deal.objects.get()
    assert (deal.status, deal.stage.name) == expected
    if deal.status == "open":
        assert (deal.closed_at, deal.forecast_category) == (None, "pipeline")
    else:
        assert deal.closed_at is not None
        assert deal.forecast_category == "closed"


def test_a_real_closed_won_stage_is_used_and_sets_the_status(base, pipeline):
    StageFactory(pipeline=pipeline, name="Closed Won", position=9)

    run(base.admin, "deals", "Title,Stage\nA,closed won\n")

    deal = Deal.objects.get()
    assert (deal.stage.name, deal.status) == ("Closed Won", "won")


def test_status_contradicting_the_stage_fails(base):
    result = run(base.admin, "deals", "Title,Stage,Status\nA,Closed Won,lost\nB,Lead,maybe\n")

    assert report(result) == [
        (2, "failed", ["Status: The status lost contradicts the stage 'Closed Won'."], []),
        (3, "failed", ["Status: 'maybe' is not a status; use open, won or lost."], []),
    ]


def test_lost_without_reason_gets_unknown_imported(base):
    result = run(base.alice, "deals", "Title,Status\nA,lost\nB,lost\n")

    assert [row.warnings for row in result.rows] == [
        ["No lost reason given; it is 'Unknown (imported)'."],
        ["No lost reason given; it is 'Unknown (imported)'."],
    ]
    assert list(LostReason.objects.values_list("name", flat=True)) == ["Unknown (imported)"]
    assert {d.lost_reason.name for d in Deal.objects.all()} == {"Unknown (imported)"}


def test_closed_at_comes_from_won_time_then_close_date_then_now(base):
    text = (
        "Title,Status,Won time,Close Date\n"
        "A,won,2024-06-14 15:30:00,2024-06-01\n"
        "B,won,,2024-06-01\n"
        "C,won,,\n"
        "D,open,2024-06-14 15:30:00,\n"
    )

    result = run(base.admin, "deals", text)

    closed = {d.title: d.closed_at for d in Deal.objects.all()}
    assert closed["A"] == datetime.datetime(2024, 6, 14, 15, 30, tzinfo=UTC)
    assert closed["B"] == datetime.datetime(2024, 6, 1, tzinfo=UTC)
    assert closed["C"] == Deal.objects.get(title="C").created_at
    assert closed["D"] is None
    assert result.rows[3].warnings == ["Won time: Left out: the deal is open."]


def test_amounts_and_currencies(base):
    CurrencyRate.objects.create(currency="USD", rate=Decimal("0.90"))
    text = (
        "Title,Amount,Currency\n"
        'A,"1.234,56 €",\n'
        'B,"$1,000",\n'
        "C,1000,usd\n"
        "D,500,\n"
        "E,$5,EUR\n"
        "F,100,GBP\n"
        "G,ten,\n"
    )

    result = run(base.admin, "deals", text)

    assert {d.title: (d.amount, d.currency, d.amount_base) for d in Deal.objects.all()} == {
        "A": (Decimal("1234.56"), "EUR", Decimal("1234.56")),
        "B": (Decimal("1000.00"), "USD", Decimal("900.00")),
        "C": (Decimal("1000.00"), "USD", Decimal("900.00")),
        "D": (Decimal("500.00"), "EUR", Decimal("500.00")),
    }
    assert report(result)[4:] == [
        (6, "failed", ["Amount: The amount is in USD but the currency is EUR."], []),
        (
            7,
            "failed",
            ["Currency: There is no exchange rate for GBP; an admin can add one."],
            [],
        ),
        (
            8,
            "failed",
            [
                "Amount: 'ten' is not an amount; write it like 1234.56, 1,234.56, 1.234,56 "
                "or EUR 1200."
            ],
            [],
        ),
    ]


def test_malformed_values_fail_their_row_only(base):
    text = (
        "First Name,Email,Title\nAda,ada@x.example,CTO\nBad,not-an-email,\nGrace,grace@x.example,\n"
    )
    deals = "Title,Amount,Close Date\nA,100,2024-01-01\nB,12x,2024-02-30\nC,5,\n"

    contacts = run(base.admin, "contacts", text)
    deal_result = run(base.admin, "deals", deals)

    assert report(contacts)[1] == (
        3,
        "failed",
        ["Email: 'not-an-email' is not an e-mail address."],
        [],
    )
    assert [row.action for row in contacts.rows] == ["created", "failed", "created"]
    assert report(deal_result)[1] == (
        3,
        "failed",
        [
            "Amount: '12x' is not an amount; write it like 1234.56, 1,234.56, 1.234,56 or "
            "EUR 1200.",
            "Close Date: '2024-02-30' is not a date; write it as YYYY-MM-DD, DD.MM.YYYY, "
            "MM/DD/YYYY or YYYY/MM/DD.",
        ],
        [],
    )
    assert sorted(Deal.objects.values_list("title", flat=True)) == ["A", "C"]


def test_deal_contacts_are_linked_by_email_or_name_and_created_by_name(base):
    ada = ContactFactory(first_name="Ada", last_name="Lovelace")
    ContactEmailFactory(contact=ada, email="ada@x.example")
    grace = ContactFactory(first_name="Grace", last_name="Hopper")
    text = (
        "Title,Contacts\n"
        '"A","Countess <ADA@x.example>; grace hopper; Alan Turing <alan@x.example>; '
        'nobody@x.example"\n'
    )

    result = run(base.admin, "deals", text)

    deal = Deal.objects.get()
    alan = Contact.objects.get(first_name="Alan")
    assert set(deal.contacts.all()) == {ada, grace, alan}
    assert list(alan.emails.values_list("email", flat=True)) == ["alan@x.example"]
    assert result.rows[0].warnings == [
        "Contacts: There is no contact nobody@x.example; not linked."
    ]


# --- Audit, dry run, transactions ------------------------------------------------------------


def test_each_created_or_updated_record_gets_an_audit_entry(base):
    acme = CompanyFactory(name="Acme", domain="acme.example", industry="Software")

    run(base.admin, "companies", "Name,Domain,Industry\nAcme,acme.example,Retail\nGlobex,,\n")

    entries = {
        (e.action, e.entity, e.entity_id): e for e in AuditEntry.objects.filter(actor=base.admin)
    }
    globex = Company.objects.get(name="Globex")
    assert set(entries) == {
        ("update", "crm.company", acme.pk),
        ("create", "crm.company", globex.pk),
    }
    assert entries[("update", "crm.company", acme.pk)].changes == {
        "industry": ["Software", "Retail"]
    }
    assert entries[("create", "crm.company", globex.pk)].changes == {
        "name": [None, "Globex"],
        "owner_id": [None, base.admin.pk],
    }


DRY_RUN_DEALS = (
    "Title,Company,Amount,Stage,Status,Contacts,Tags\n"
    "Existing,Acme,100,Qualified,,Ada Lovelace,\n"
    "New,NewCo,2.000,Lead,,Grace Hopper <grace@x.example>,vip\n"
    "New,NewCo,2.500,Proposal,,,\n"
    "Broken,,abc,,,,\n"
    "Lost one,,1,,lost,,\n"
)


def test_dry_run_changes_nothing_and_reports_like_the_real_run(base, pipeline):
    acme = CompanyFactory(name="Acme")
    DealFactory(title="Existing", company=acme, stage=pipeline.stages.get(name="Lead"))
    before = table_sizes()

    dry = run(base.admin, "deals", DRY_RUN_DEALS, dry_run=True)

    assert table_sizes() == before
    real = run(base.admin, "deals", DRY_RUN_DEALS)

    assert dry.dry_run is True
    assert real.dry_run is False
    assert counts(dry) == counts(real) == {"created": 2, "updated": 2, "skipped": 0, "failed": 1}
    created_ids = {row.id for row in real.rows if row.action == "created"}
    assert None not in created_ids
    # Records the dry run created have no id, nor do later rows that changed them.
    assert [row.id for row in dry.rows] == [real.rows[0].id, None, None, None, None]
    for dry_row, real_row in zip(dry.rows, real.rows, strict=True):
        assert (dry_row.line, dry_row.action, dry_row.errors, dry_row.warnings) == (
            real_row.line,
            real_row.action,
            real_row.errors,
            real_row.warnings,
        )
        if real_row.id not in created_ids:
            assert dry_row.id == real_row.id
    assert table_sizes() != before


def test_real_run_is_all_or_nothing_on_an_unexpected_error(base, monkeypatch):
    calls = []
    original = importing_module._ContactImporter.import_row

    def crash_on_third_row(self, row):
        calls.append(row.result.line)
        if len(calls) == 3:
            raise RuntimeError("disk on fire")
        return original(self, row)

    monkeypatch.setattr(importing_module._ContactImporter, "import_row", crash_on_third_row)
    text = "Name,Email,Company\n" + "".join(
        f"Person {i},p{i}@x.example,Company {i}\n" for i in range(5)
    )
    before = table_sizes()

    with pytest.raises(RuntimeError, match="disk on fire"):
        run(base.admin, "contacts", text)

    assert calls == [2, 3, 4]
    assert table_sizes() == before


def test_database_error_in_one_row_fails_that_row_only(base, monkeypatch):
    from django.db import IntegrityError

    original = importing_module._CompanyImporter.import_row

    def refuse_globex(self, row):
        original(self, row)
        if row.get("name") == "Globex":
            raise IntegrityError("UNIQUE constraint failed")

    monkeypatch.setattr(importing_module._CompanyImporter, "import_row", refuse_globex)

    result = run(base.admin, "companies", "Name\nAcme\nGlobex\nInitech\nGlobex\n")

    assert [(row.action, row.errors) for row in result.rows] == [
        ("created", []),
        ("failed", ["The database refused this row: UNIQUE constraint failed"]),
        ("created", []),
        ("failed", ["The database refused this row: UNIQUE constraint failed"]),
    ]
    assert sorted(Company.objects.values_list("name", flat=True)) == ["Acme", "Initech"]
    assert AuditEntry.objects.filter(entity="crm.company").count() == 2


@pytest.mark.slow
def test_ten_thousand_rows_import_completely(base):
    """10,000 rows of each kind, every one written once (the speed is a benchmark's matter,
    not a test's: docs/benchmarks.md)."""
    contacts = "First Name,Last Name,Email,Phone,Company,Owner,Tags\n" + "".join(
        f"First{i},Last{i},person{i}@example{i % 700}.com,+49 30 {i:07d},Company {i % 500},"
        "alice@salesdesk.test,vip\n"
        for i in range(10_000)
    )
    stages = ["Lead", "Qualified", "Proposal", "Closed Won", "Closed Lost"]
    deals = "Deal Name,Amount,Stage,Company,Owner,Close Date,Contacts\n" + "".join(
        f'Deal {i},"{i:,}.50",{stages[i % 5]},Company {i % 500},alice@salesdesk.test,'
        f"2024-05-{i % 28 + 1:02d},First{i} Last{i}\n"
        for i in range(10_000)
    )

    contact_result = run(base.admin, "contacts", contacts)
    deal_result = run(base.admin, "deals", deals)

    assert counts(contact_result) == {"created": 10_000, "updated": 0, "skipped": 0, "failed": 0}
    assert counts(deal_result) == {"created": 10_000, "updated": 0, "skipped": 0, "failed": 0}
    assert Contact.objects.count() == 10_000
    assert Company.objects.count() == 500
    assert Deal.objects.filter(status="won").count() == 2_000
    assert StageChange.objects.count() == 10_000
    assert AuditEntry.objects.count() == 10_000 + 500 + 10_000


# --- The command line ------------------------------------------------------------------------


def call(*args):
    stdout, stderr = StringIO(), StringIO()
    call_command("import", *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue()


def test_cli_imports_and_prints_a_summary(base, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("Name,E-Mail\nAda Lovelace,ada@x.example\n")

    output = call("contacts", str(path), "--user", "admin@salesdesk.test")

    assert output == f"{path}: 1 row: 1 created, 0 updated, 0 skipped, 0 failed.\n"
    assert Contact.objects.get().first_name == "Ada"


def test_cli_dry_run_with_failures_exits_1_and_lists_failed_rows(base, tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("Name,Mail,Fax\nAda,ada@x.example,1\nBad,nope,2\n")
    stdout = StringIO()

    with pytest.raises(CommandError) as error:
        call_command(
            "import",
            "contacts",
            str(path),
            "--user=admin@salesdesk.test",
            "--dry-run",
            "--map",
            "Mail=email",
            stdout=stdout,
        )

    assert error.value.returncode == 1
    assert str(error.value) == "1 row would fail; nothing was saved (dry run)."
    assert stdout.getvalue() == (
        "Dry run: nothing was saved.\n"
        f"{path}: 2 rows: 1 created, 0 updated, 0 skipped, 1 failed.\n"
        "Columns not imported: Fax.\n"
        "Line 3: failed: Mail: 'nope' is not an e-mail address.\n"
    )
    assert Contact.objects.count() == 0


def test_cli_json_format(base, tmp_path):
    path = tmp_path / "companies.csv"
    path.write_text("Name\nAcme\n")

    output = call("companies", str(path), "--user", "admin@salesdesk.test", "--format", "json")

    data = json.loads(output)
    assert (data["created"], data["dry_run"], data["rows"][0]["action"]) == (1, False, "created")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["people", "{file}"], "Unknown kind of record 'people'; use companies, contacts, deals."),
        (["contacts", "{missing}"], "No such file: {missing}"),
        (["contacts", "{dir}"], "{dir} is a directory, not a file."),
        (
            ["contacts", "{file}", "--user", "nobody@x.example"],
            "No user has the e-mail address nobody@x.example.",
        ),
        (["contacts", "{empty}"], "The file is empty."),
        (
            ["contacts", "{file}", "--map", "Name=nickname"],
            "'nickname' is not a field of contacts. The fields are: id, first_name, last_name, "
            "full_name, email, phone, mobile, title, company, owner, source, tags.",
        ),
        (
            ["contacts", "{file}", "--map", "just-a-column"],
            "--map 'just-a-column': write it as COLUMN=FIELD, e.g. --map 'E-Mail=email'.",
        ),
    ],
)
def test_cli_bad_usage_exits_2_with_one_line(base, tmp_path, args, message):
    paths = {
        "file": tmp_path / "ok.csv",
        "missing": tmp_path / "missing.csv",
        "dir": tmp_path,
        "empty": tmp_path / "empty.csv",
    }
    paths["file"].write_text("Name\nAda\n")
    paths["empty"].write_bytes(b"")
    args = [arg.format(**paths) for arg in args]
    if "--user" not in args:
        args += ["--user", "admin@salesdesk.test"]

    with pytest.raises(CommandError) as error:
        call_command("import", *args, stdout=StringIO())

    assert error.value.returncode == 2
    assert str(error.value) == message.format(**paths)
    assert Contact.objects.count() == 0


def test_cli_process_exit_status_and_no_traceback(tmp_path):
    environment = {**os.environ, "SALESDESK_VAR_DIR": str(tmp_path)}
    completed = subprocess.run(
        [sys.executable, "-m", "salesdesk.cli", "import", "people", "x.csv", "--user", "a@b.c"],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=60,
    )

    assert completed.returncode == 2
    assert completed.stderr == (
        "CommandError: Unknown kind of record 'people'; use companies, contacts, deals.\n"
    )
    assert "Traceback" not in completed.stderr
