"""Which column feeds which field: guessed from the header, overridable by the caller.

A mapping is a dict `{column: field}` (column names as in the header). Header names are compared
without case, spaces or punctuation ("Deal - Expected close date" → `dealexpectedclosedate`),
first as they are and then without the vendor's entity prefix ("Deal - ", "Person - ",
"Opportunity ", "Account "…), against each field's synonyms below.
"""

import re
from dataclasses import dataclass

from salesdesk.core.errors import ValidationFailed

ENTITIES = ("companies", "contacts", "deals")


@dataclass(frozen=True)
class Field:
    name: str
    help: str
    synonyms: tuple[str, ...] = ()
    multiple: bool = False  # several columns may feed it (all e-mail columns, won and lost time)


_ID = Field("id", "Salesdesk id (from our export); updates that record", ("id",))
_OWNER = ("owner", "owneremail", "ownername", "assignedto", "salesrep", "user")
_TAGS = ("tags", "tag", "labels", "label")

FIELDS: dict[str, tuple[Field, ...]] = {
    "companies": (
        _ID,
        Field(
            "name",
            "company name (required)",
            (
                "name",
                "companyname",
                "company",
                "organization",
                "organizationname",
                "organisation",
                "organisationname",
                "orgname",
                "account",
                "accountname",
            ),
        ),
        Field(
            "domain",
            "web domain; matches existing companies",
            ("domain", "domainname", "companydomain", "companydomainname", "emaildomain"),
        ),
        Field(
            "website",
            "website; gives the domain when there is no domain column",
            ("website", "websiteurl", "url", "web", "homepage", "webaddress", "companywebsite"),
        ),
        Field("industry", "industry", ("industry", "sector", "vertical")),
        Field(
            "country",
            "country: ISO code or English name",
            (
                "country",
                "countryregion",
                "countrycode",
                "billingcountry",
                "shippingcountry",
                "addresscountry",
                "countryofaddress",
            ),
        ),
        Field(
            "region",
            "region or state",
            (
                "region",
                "state",
                "stateregion",
                "province",
                "stateprovince",
                "billingstate",
                "billingstateprovince",
                "addressstate",
            ),
        ),
        Field(
            "size",
            "number of employees",
            (
                "size",
                "employees",
                "numberofemployees",
                "noofemployees",
                "employeecount",
                "headcount",
                "companysize",
            ),
        ),
        Field(
            "phone",
            "phone number, stored as given",
            ("phone", "phonenumber", "telephone", "tel", "mainphone", "companyphone"),
        ),
        Field(
            "owner",
            "owner: user e-mail or full name",
            (*_OWNER, "companyowner", "accountowner", "organizationowner"),
        ),
        Field("tags", "tags separated by ; or ,", _TAGS),
    ),
    "contacts": (
        _ID,
        Field("first_name", "first name", ("firstname", "first", "givenname", "forename")),
        Field("last_name", "last name", ("lastname", "last", "surname", "familyname")),
        Field(
            "full_name",
            'whole name, split into first and last ("Ada Lovelace", "Lovelace, Ada")',
            ("name", "fullname", "contactname", "personname", "contact", "person"),
        ),
        Field(
            "email",
            "e-mail addresses (several columns, or several per cell); match existing contacts",
            (
                "email",
                "emails",
                "emailaddress",
                "emailaddresses",
                "mail",
                "workemail",
                "primaryemail",
                "personemail",
                "contactemail",
                "emailwork",
                "emailhome",
                "emailother",
                "secondaryemail",
            ),
            multiple=True,
        ),
        Field(
            "phone",
            "phone numbers, stored as given",
            (
                "phone",
                "phones",
                "phonenumber",
                "telephone",
                "tel",
                "workphone",
                "businessphone",
                "officephone",
                "directphone",
                "phonework",
                "phonehome",
                "phoneother",
            ),
            multiple=True,
        ),
        Field(
            "mobile",
            "mobile numbers",
            (
                "mobile",
                "mobiles",
                "mobilephone",
                "mobilephonenumber",
                "mobilenumber",
                "cell",
                "cellphone",
                "phonemobile",
            ),
            multiple=True,
        ),
        Field("title", "job title", ("title", "jobtitle", "position", "role", "jobposition")),
        Field(
            "company",
            "company name; found or created",
            (
                "company",
                "companyname",
                "organization",
                "organizationname",
                "organisation",
                "account",
                "accountname",
                "associatedcompany",
                "personorganization",
                "employer",
            ),
        ),
        Field(
            "owner",
            "owner: user e-mail or full name",
            (*_OWNER, "contactowner", "personowner"),
        ),
        Field(
            "source",
            "where the contact came from (free text)",
            ("source", "leadsource", "originalsource", "contactsource"),
        ),
        Field("tags", "tags separated by ; or ,", _TAGS),
    ),
    "deals": (
        _ID,
        Field(
            "title",
            "deal title (required)",
            (
                "title",
                "name",
                "dealname",
                "dealtitle",
                "opportunity",
                "opportunityname",
                "subject",
            ),
        ),
        Field(
            "company",
            "company name; found or created",
            (
                "company",
                "companyname",
                "organization",
                "organizationname",
                "organisation",
                "account",
                "accountname",
                "associatedcompany",
            ),
        ),
        Field(
            "contacts",
            'contacts separated by ";": "Name <email>", an e-mail or a name',
            (
                "contacts",
                "contact",
                "contactperson",
                "contactname",
                "person",
                "personname",
                "associatedcontact",
                "primarycontact",
            ),
        ),
        Field("pipeline", "pipeline name (default pipeline when empty)", ("pipeline",)),
        Field(
            "stage",
            "stage name in the pipeline; Closed Won / Closed Lost set the status",
            ("stage", "dealstage", "stagename", "salesstage", "phase"),
        ),
        Field("status", "open, won or lost", ("status", "dealstatus")),
        Field(
            "amount",
            'amount such as 1,234.56 or "EUR 1200" or "1.234,56 €"',
            ("amount", "value", "dealvalue", "dealamount", "opportunityamount", "revenue"),
        ),
        Field(
            "currency",
            "three-letter currency code",
            (
                "currency",
                "currencycode",
                "currencyisocode",
                "dealcurrency",
                "dealcurrencycode",
                "opportunitycurrency",
                "amountcurrency",
            ),
        ),
        Field(
            "expected_close",
            "expected close date (closed deals: also the close date)",
            (
                "expectedclose",
                "expectedclosedate",
                "expectedclosingdate",
                "closedate",
                "closingdate",
            ),
        ),
        Field(
            "closed_at",
            "when a won or lost deal closed (won time, lost time)",
            (
                "closedat",
                "closedon",
                "dealclosedon",
                "closeddate",
                "dateclosed",
                "closetime",
                "wontime",
                "losttime",
            ),
            multiple=True,
        ),
        Field(
            "owner",
            "owner: user e-mail or full name",
            (*_OWNER, "dealowner", "opportunityowner"),
        ),
        Field(
            "lost_reason",
            "why a lost deal was lost",
            ("lostreason", "lossreason", "closedlostreason", "reasonlost"),
        ),
        Field("lead_source", "lead source", ("leadsource", "source", "dealsource")),
        Field("next_step", "next step", ("nextstep",)),
        Field("next_step_due", "when the next step is due", ("nextstepdue", "nextstepdate")),
        Field("tags", "tags separated by ; or ,", _TAGS),
    ),
}

REQUIRED: dict[str, tuple[str, ...]] = {
    "companies": ("name",),
    "contacts": ("first_name", "last_name", "full_name"),  # any one of them
    "deals": ("title",),
}

# Vendors prefix columns with the record type: Pipedrive "Deal - Value", "Person - Email";
# HubSpot "Deal owner"; Salesforce "Opportunity Name", "Account Owner".
PREFIXES = {
    "companies": ("organization", "organisation", "company", "account", "org"),
    "contacts": ("person", "contact"),
    "deals": ("deal", "opportunity"),
}

_INTEGER = re.compile(r"^\d{1,18}$")


def header_key(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def field_names(entity: str) -> list[str]:
    return [f.name for f in FIELDS[entity]]


def _field(entity: str, name: str) -> Field:
    return next(f for f in FIELDS[entity] if f.name == name)


def _candidates(entity: str, column: str) -> list[str]:
    key = header_key(column)
    keys = [key]
    if key.rstrip("0123456789") not in ("", key):
        keys.append(key.rstrip("0123456789"))  # "Email 2", "Phone 3"
    for prefix in PREFIXES[entity]:
        stripped = key.removeprefix(prefix)
        # Vendors' own ids ("Deal - ID", "Record ID") are never our ids.
        if stripped != key and stripped and stripped != "id":
            keys.append(stripped)
    found = []
    for candidate in keys:
        found += [f.name for f in FIELDS[entity] if candidate in f.synonyms]
    return found


def guess_mapping(entity: str, columns: list[str], rows: list[list[str]]) -> dict[str, str]:
    """The first column that matches a field gets it; later ones stay unmapped."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for position, column in enumerate(columns):
        for name in _candidates(entity, column):
            if name == "id" and not _all_integers(rows, position):
                continue  # another system's ids ("0065g00000XyZ") under a bare "Id" header
            if name in taken and not _field(entity, name).multiple:
                continue
            mapping[column] = name
            taken.add(name)
            break
    return mapping


def _all_integers(rows: list[list[str]], position: int) -> bool:
    return all(_INTEGER.match(row[position]) for row in rows if row[position])


def resolve_mapping(
    entity: str, columns: list[str], rows: list[list[str]], overrides: dict | None
) -> dict[str, str]:
    """The guess with the caller's `{column: field}` on top; `{column: ""}` ignores a column."""
    mapping = guess_mapping(entity, columns, rows)
    if not overrides:
        return mapping
    if not isinstance(overrides, dict):
        raise ValidationFailed(
            'The mapping is an object of column → field, such as {"E-Mail": "email"}.'
        )
    by_key = {column.casefold(): column for column in columns if column}
    names = field_names(entity)
    chosen: dict[str, str] = {}
    for raw_column, raw_field in overrides.items():
        column = by_key.get(str(raw_column).strip().casefold())
        if column is None:
            raise ValidationFailed(
                f"The mapping names the column {raw_column!r}, which is not in the file. "
                f"The columns are: {', '.join(c for c in columns if c)}."
            )
        name = str(raw_field or "").strip().lower()
        if name and name not in names:
            raise ValidationFailed(
                f"{raw_field!r} is not a field of {entity}. The fields are: {', '.join(names)}."
            )
        if name and not _field(entity, name).multiple and name in chosen.values():
            other = next(c for c, f in chosen.items() if f == name)
            raise ValidationFailed(
                f"The mapping gives the field {name!r} two columns: {other!r} and {column!r}."
            )
        chosen[column] = name
    for column, name in chosen.items():
        if name and not _field(entity, name).multiple:
            # The caller's column replaces a guessed one for the same field.
            for guessed in [c for c, f in mapping.items() if f == name and c not in chosen]:
                del mapping[guessed]
        if name:
            mapping[column] = name
        else:
            mapping.pop(column, None)
    return {column: mapping[column] for column in columns if column in mapping}


def check_required(entity: str, mapping: dict[str, str], columns: list[str]) -> None:
    required = REQUIRED[entity]
    if any(name in mapping.values() for name in required):
        return
    noun = {"companies": "a company's name", "contacts": "a contact's name"}.get(
        entity, "a deal's title"
    )
    fields = " or ".join(repr(name) for name in required)
    raise ValidationFailed(
        f"No column holds {noun}: map a column to {fields}. "
        f"The columns are: {', '.join(c for c in columns if c)}.",
        fields={"mapping": f"Map a column to {fields}."},
    )


def unmapped_columns(columns: list[str], mapping: dict[str, str]) -> list[str]:
    return [column for column in columns if column and column not in mapping]
