"""The import engine: rows in file order, in one transaction, with a report line for each row.

Each row runs in a savepoint: a row that fails leaves nothing behind and the next row goes on.
A dry run is the real run rolled back, so the two can never disagree.
"""

import contextlib
import copy
import datetime
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NoReturn

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import DataError, IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from salesdesk.accounts.visibility import can_administer
from salesdesk.analytics import rollups
from salesdesk.core import events
from salesdesk.core.audit import audit_entry, snapshot
from salesdesk.core.errors import ApplicationError, ValidationFailed
from salesdesk.core.models import AuditEntry
from salesdesk.core.money import base_currency, normalize_currency, to_base
from salesdesk.core.services import require_assignable
from salesdesk.crm.models import Company, Contact, ContactEmail, ContactPhone, Tag
from salesdesk.crm.normalize import normalize_domain, normalize_email
from salesdesk.crm.transfer.countries import country_code
from salesdesk.crm.transfer.lookups import Companies, Contacts, Deals, Named, name_key
from salesdesk.crm.transfer.mapping import (
    FIELDS,
    header_key,
)
from salesdesk.crm.transfer.reading import DELIMITER_NAMES, Table
from salesdesk.crm.transfer.values import (
    parse_date,
    parse_datetime,
    parse_localized_amount,
    slash_date_order,
    split_list,
    split_name,
    split_named_address,
)
from salesdesk.pipeline.models import Deal, LeadSource, LostReason, StageChange

CREATED, UPDATED, SKIPPED, FAILED = "created", "updated", "skipped", "failed"
UNKNOWN_LOST_REASON = "Unknown (imported)"
PREVIEW_ROWS = 5
BATCH = 500
_url_validator = URLValidator(schemes=["http", "https"])
COMPANY_NAME_MAX = Company._meta.get_field("name").max_length


@dataclass
class RowResult:
    line: int  # 1-based line of the file where the row starts
    action: str = FAILED
    id: int | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "line": self.line,
            "action": self.action,
            "id": self.id,
            "errors": self.errors,
            "warnings": self.warnings,
        }


@dataclass
class ImportResult:
    entity: str
    dry_run: bool
    mapping: dict[str, str]
    columns_unmapped: list[str]
    encoding: str
    delimiter: str
    warnings: list[str]
    rows: list[RowResult]

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def has_failures(self) -> bool:
        return any(row.action == FAILED for row in self.rows)

    def as_dict(self) -> dict:
        return {
            "entity": self.entity,
            "dry_run": self.dry_run,
            "created": self.count(CREATED),
            "updated": self.count(UPDATED),
            "skipped": self.count(SKIPPED),
            "failed": self.count(FAILED),
            "rows": [row.as_dict() for row in self.rows],
            "mapping": self.mapping,
            "columns_unmapped": self.columns_unmapped,
            "encoding": self.encoding,
            "delimiter": DELIMITER_NAMES[self.delimiter],
            "warnings": self.warnings,
        }


class _RowFailed(Exception):
    """The row's errors are in its report; its savepoint rolls back."""


class _Row:
    """One line of the file: its mapped values and the report written about it."""

    def __init__(self, line: int, values: dict, labels: dict[str, str]):
        self.result = RowResult(line=line)
        self.values = values  # field → text, or a list of texts for multi-column fields
        self.labels = labels  # field → column name(s), for messages
        self.owner_note = ""  # why the owner cell names nobody
        self.pk: int | None = None  # the id cell

    def get(self, name: str) -> str:
        value = self.values.get(name, "")
        return value if isinstance(value, str) else next(iter(value), "")

    def all(self, name: str) -> list[str]:
        value = self.values.get(name, [])
        return [value] if isinstance(value, str) else value

    def _label(self, name: str, message: str) -> str:
        return f"{self.labels[name]}: {message}" if name in self.labels else message

    def error(self, name: str, message: str) -> None:
        self.result.errors.append(self._label(name, message))

    def warn(self, name: str, message: str) -> None:
        self.result.warnings.append(self._label(name, message))

    def fail(self, message: str, name: str = "") -> NoReturn:
        self.error(name, message)
        raise _RowFailed

    def check(self) -> None:
        if self.result.errors:
            raise _RowFailed

    def parse(self, name: str, parser, value: str | None = None, **options):
        """`parser(value)`, or None when the cell is empty or unreadable (noted as an error)."""
        value = self.get(name) if value is None else value
        if not value:
            return None
        try:
            return parser(value, **options)
        except ValidationFailed as exc:
            self.error(name, exc.message)
            return None


def _ids(rows: list[_Row]) -> list[int]:
    return [row.pk for row in rows if row.pk is not None]


class _Importer:
    entity: str
    model: type[Model]
    date_fields: tuple[str, ...] = ()

    def __init__(self, *, actor, table: Table, mapping: dict[str, str]):
        self.actor = actor
        self.table = table
        self.mapping = mapping
        self.now = timezone.now()
        try:
            self.tz = zoneinfo.ZoneInfo(actor.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.tz = zoneinfo.ZoneInfo("UTC")
        self.is_admin = can_administer(actor)
        self.named = Named()
        self.companies = Companies(actor)
        self.warnings: list[str] = []
        self.date_orders: dict[str, str] = {}
        self._after_commit: list = []  # applied once the row's savepoint commits
        # Rows that only depend on the row's main record (e-mails, phones, links, stage history,
        # audit entries) are inserted in bulk at the end; events go out when everything is in.
        self._queued: list[Model] = []
        self._events: list[tuple[str, dict]] = []
        self.labels: dict[str, str] = {}
        for column, name in mapping.items():
            self.labels[name] = f"{self.labels[name]} / {column}" if name in self.labels else column

    # --- running ---------------------------------------------------------------------------

    def run(self) -> list[RowResult]:
        positions = {column: self.table.columns.index(column) for column in self.mapping}
        multiple = {f.name for f in FIELDS[self.entity] if f.multiple}
        rows = []
        for line, cells in self.table.rows:
            values: dict = {}
            for column, name in self.mapping.items():
                cell = cells[positions[column]]
                if name in multiple:
                    values.setdefault(name, [])
                    if cell:
                        values[name].append(cell)
                else:
                    values[name] = cell
            row = _Row(line, values, self.labels)
            row.pk = self._id(row)
            rows.append(row)
        for name in self.date_fields:
            cells = [value for row in rows for value in row.all(name)]
            self.date_orders[name] = slash_date_order(cells)
            if self.date_orders[name] == "dmy":
                self.warnings.append(
                    f"{self.labels[name]}: dates such as 03/04/2024 are read day first "
                    "(DD/MM/YYYY), because some dates in this column have a day above 12 first."
                )
        self.preload(rows)
        results = [self._run_row(row) for row in rows]
        by_model: dict[type[Model], list[Model]] = {}
        for record in self._queued:
            by_model.setdefault(type(record), []).append(record)
        for model, records in by_model.items():
            model.objects.bulk_create(records, batch_size=BATCH)
        for name, payload in self._events:
            events.emit(name, **payload)
        return results

    def _run_row(self, row: _Row) -> RowResult:
        result = row.result
        if result.line in self.table.row_errors:
            result.errors.append(self.table.row_errors[result.line])
            return result
        if not any(row.values.values()):
            result.action = SKIPPED
            result.warnings.append("Nothing to import: the mapped columns are empty.")
            return result
        try:
            with transaction.atomic():
                self.import_row(row)
        except _RowFailed:
            result.action = FAILED
        except ApplicationError as exc:
            result.action = FAILED
            result.errors.append(exc.message)
        except (IntegrityError, DataError) as exc:
            result.action = FAILED
            result.errors.append(f"The database refused this row: {exc}")
        else:
            for update in self._after_commit:
                update()
        finally:
            self._after_commit.clear()
        if result.action == FAILED:
            result.id = None
        return result

    def later(self, update, *args, **kwargs) -> None:
        self._after_commit.append(lambda: update(*args, **kwargs))

    def queue(self, *records: Model) -> None:
        """Insert these with the others of their kind at the end, if the row commits."""
        self.later(self._queued.extend, records)

    def emit(self, name: str, **payload) -> None:
        self.later(self._events.append, (name, payload))

    def audit(self, record: Model, action: str, *, before=None, extra=None) -> None:
        """Queue the AuditEntry core.audit.audit_record would write."""
        entry = audit_entry(
            actor=self.actor, instance=record, action=action, before=before or {}, extra=extra
        )
        if entry is not None and entry.changes:
            self.queue(entry)

    def link_tags(self, record: Model, tags) -> None:
        through = type(record).tags.through
        column = f"{record._meta.model_name}_id"
        self.queue(*(through(**{column: record.pk, "tag_id": tag.pk}) for tag in tags))

    def preload(self, rows: list[_Row]) -> None:
        raise NotImplementedError

    def import_row(self, row: _Row) -> None:
        raise NotImplementedError

    # --- reading cells ---------------------------------------------------------------------

    def _id(self, row: _Row) -> int | None:
        value = row.get("id")
        if not value:
            return None
        if not value.isdigit() or not 0 < int(value) < 2**63:
            row.error("id", f"{value!r} is not a Salesdesk id.")
            return None
        return int(value)

    def _text(self, row: _Row, name: str, limit: int | None = None) -> str:
        """The cell with runs of white space made one; longer than the field holds is an error."""
        value = " ".join(row.get(name).split())
        limit = limit or self.model._meta.get_field(name).max_length
        if len(value) > limit:
            row.error(name, f"At most {limit} characters ({len(value)} given).")
        return value

    def _owner(self, row: _Row):
        """The user the owner cell names (e-mail or full name), or None; checks assignment."""
        value = row.get("owner")
        if not value:
            return None
        user = self.named.users_by_email.get(value.lower())
        if user is None:
            users = self.named.users_by_name.get(name_key(value), [])
            if len(users) == 1:
                user = users[0]
            elif users:
                row.owner_note = f"{len(users)} users are named {value!r}; use an e-mail address"
        if user is None:
            row.owner_note = row.owner_note or f"{value!r} is not a Salesdesk user"
            return None
        try:
            require_assignable(self.actor, user)
        except ApplicationError as exc:
            row.error("owner", f"{exc.message} ({value})")
        return user

    def _new_owner(self, row: _Row, owner):
        if owner is None and row.owner_note:
            row.warn("owner", f"{row.owner_note}; the new record is yours.")
        return owner or self.actor

    def _change_owner(self, row: _Row, record: Model, owner) -> None:
        if owner is not None:
            record.owner = owner
        elif row.owner_note:
            row.warn("owner", f"{row.owner_note}; the owner stays as it was.")

    def _tags(self, row: _Row) -> list[Tag]:
        tags: dict[str, Tag] = {}
        for name in split_list(row.get("tags")):
            key = name_key(name)
            if key in tags:
                continue
            tag = self.named.tags.get(key)
            if tag is None:
                if not self.is_admin:
                    row.warn(
                        "tags",
                        f"There is no tag {name!r}; only admins add tags, so it was left out.",
                    )
                    continue
                if len(name) > Tag._meta.get_field("name").max_length:
                    row.error("tags", f"The tag {name!r} is too long.")
                    continue
                tag = Tag(name=name)
            tags[key] = tag
        return list(tags.values())

    def _choice(self, row: _Row, name: str, table: dict, model: type[Model]):
        """A lead source or lost reason by name; admins' imports add missing ones."""
        value = " ".join(row.get(name).split())
        if not value:
            return None
        record = table.get(name_key(value))
        if record is not None:
            return record
        noun = model._meta.verbose_name
        if not self.is_admin:
            row.warn(
                name, f"There is no {noun} {value!r}; only admins add them, so it was left out."
            )
            return None
        if len(value) > model._meta.get_field("name").max_length:
            row.error(name, f"The {noun} {value!r} is too long.")
            return None
        return model(name=value)

    def _save_named(self, record, table: dict):
        """Save a tag, lead source or lost reason this row introduced."""
        if record is not None and record.pk is None:
            record.save()
            self.later(table.__setitem__, name_key(record.name), record)
        return record

    def _save_tags(self, tags: list[Tag]) -> list[Tag]:
        return [self._save_named(tag, self.named.tags) for tag in tags]

    def _linked_company(self, name: str, owner) -> Company | None:
        """The oldest visible company of that name, or a new (unsaved) one."""
        if not name:
            return None
        found = self.companies.named(name)
        if found:
            return self.companies.instances[found[0]]
        return Company(name=name, owner=owner)

    def _save_company(self, company: Company | None) -> Company | None:
        if company is not None and company.pk is None:
            company.save()
            self.audit(company, AuditEntry.Action.CREATE)
            self.emit(events.COMPANY_CREATED, company_id=company.pk, actor_id=self.actor.pk)
            self.later(self.companies.keep, company)
        return company

    def _record_id(self, row: _Row, index) -> tuple[int | None, Model | None]:
        pk = row.pk
        if pk is None:
            return None, None
        record = index.by_id(pk)
        noun = self.model._meta.verbose_name
        if record is None:
            row.fail(f"There is no {noun} with id {pk}.", "id")
        if pk not in index.changeable:
            row.fail(f"The {noun} with id {pk} belongs to a record you cannot change.", "id")
        return pk, record

    def _finish(self, row: _Row, record: Model, action: str, **audit) -> None:
        if action == SKIPPED:
            row.result.warnings.append(
                f"Nothing to change: the {self.model._meta.verbose_name} {record.pk} "
                "already holds these values."
            )
        else:
            self.audit(
                record,
                AuditEntry.Action.CREATE if action == CREATED else AuditEntry.Action.UPDATE,
                **audit,
            )
        row.result.action = action
        row.result.id = record.pk


class _CompanyImporter(_Importer):
    entity = "companies"
    model = Company

    def preload(self, rows: list[_Row]) -> None:
        domains = []
        for row in rows:
            for name in ("domain", "website"):
                with contextlib.suppress(ValidationFailed):
                    domains.append(normalize_domain(row.get(name)))
        self.companies.load(
            ids=_ids(rows), domains=domains, names=[row.get("name") for row in rows]
        )

    def import_row(self, row: _Row) -> None:
        values = {
            "name": self._text(row, "name"),
            "industry": self._text(row, "industry"),
            "region": self._text(row, "region"),
            "phone": self._text(row, "phone"),
            "website": self._website(row),
            "country": self._country(row),
            "size": self._size(row),
        }
        domain = row.parse("domain", normalize_domain) or ""
        derived = ""
        if values["website"] and not domain:
            try:
                derived = normalize_domain(values["website"])
            except ValidationFailed:
                derived = ""  # an address such as http://localhost names no domain
        owner = self._owner(row)
        tags = self._tags(row)
        row.check()
        company = self._match(row, domain=domain or derived, name=values["name"])
        if company is None:
            if not values["name"]:
                row.fail("A company needs a name.", "name")
            company = Company(
                domain=domain or derived,
                owner=self._new_owner(row, owner),
                **{key: value for key, value in values.items() if value not in (None, "")},
            )
            company.save()
            self.link_tags(company, self._save_tags(tags))
            self.emit(events.COMPANY_CREATED, company_id=company.pk, actor_id=self.actor.pk)
            self._finish(row, company, CREATED)
            self.later(self.companies.keep, company, tag_ids=[t.pk for t in tags])
            return
        company = copy.copy(company)
        before = snapshot(company)
        for key, value in values.items():
            if value not in (None, ""):
                setattr(company, key, value)
        if domain or (derived and not company.domain):
            company.domain = domain or derived
        self._change_owner(row, company, owner)
        new_tags = [t for t in tags if t.pk not in self.companies.tag_ids[company.pk]]
        is_changed = snapshot(company) != before
        if not is_changed and not new_tags:
            self._finish(row, company, SKIPPED)
            return
        if is_changed:
            company.save()
        self.link_tags(company, self._save_tags(new_tags))
        extra = {"tags": [None, [t.name for t in new_tags]]} if new_tags else None
        self._finish(row, company, UPDATED, before=before, extra=extra)
        self.later(self.companies.keep, company, tag_ids=[t.pk for t in new_tags])

    def _match(self, row: _Row, *, domain: str, name: str) -> Company | None:
        pk, company = self._record_id(row, self.companies)
        holder = self.companies.by_domain.get(domain) if domain else None
        if pk is not None:
            if holder is not None and holder != pk:
                row.fail(f"The domain {domain} belongs to another company.", "domain")
            return company
        if holder is not None:
            if holder not in self.companies.changeable:
                row.fail(f"The domain {domain} belongs to a record you cannot change.", "domain")
            return self.companies.instances[holder]
        candidates = self.companies.named(name) if name else []
        if domain:
            # A company known by name only gets the domain the file gives it.
            candidates = [pk for pk in candidates if not self.companies.instances[pk].domain]
        changeable = [pk for pk in candidates if pk in self.companies.changeable]
        if candidates and not changeable:
            row.fail(f"The name {name!r} belongs to a record you cannot change.", "name")
        if len(changeable) > 1:
            row.warn("name", f"{len(changeable)} companies have this name; updated the oldest.")
        return self.companies.instances[changeable[0]] if changeable else None

    def _website(self, row: _Row) -> str:
        value = row.get("website")
        if not value:
            return ""
        url = value if "://" in value else f"https://{value}"
        try:
            _url_validator(url)
        except DjangoValidationError:
            row.error("website", f"{value!r} is not a web address.")
            return ""
        if len(url) > Company._meta.get_field("website").max_length:
            row.error("website", "The web address is too long.")
            return ""
        return url

    def _country(self, row: _Row) -> str:
        value = row.get("country")
        if not value:
            return ""
        code = country_code(value)
        if code is None:
            row.error(
                "country",
                f"{value!r} is not a country; use a two-letter code such as DE or a name "
                "such as Germany.",
            )
        return code or ""

    def _size(self, row: _Row) -> int | None:
        value = row.get("size")
        if not value:
            return None
        digits = value.replace(",", "").replace(".", "").replace(" ", "").replace("'", "")
        if not digits.isdigit() or int(digits) > 2_147_483_647:
            row.error("size", f"{value!r} is not a number of employees.")
            return None
        return int(digits)


class _ContactImporter(_Importer):
    entity = "contacts"
    model = Contact

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.contacts = Contacts(self.actor)

    def preload(self, rows: list[_Row]) -> None:
        emails = []
        for row in rows:
            for cell in row.all("email"):
                emails += [
                    e.strip().lower().removeprefix("mailto:") for e in split_list(cell, ";, ")
                ]
        self.contacts.load(ids=_ids(rows), emails=emails)
        self.companies.load(names=[row.get("company") for row in rows])

    def import_row(self, row: _Row) -> None:
        first, last = self._text(row, "first_name"), self._text(row, "last_name")
        if not first and not last and row.get("full_name"):
            first, last = split_name(row.get("full_name"))
            for name, value in (("first_name", first), ("last_name", last)):
                limit = Contact._meta.get_field(name).max_length
                if len(value) > limit:
                    row.error("full_name", f"At most {limit} characters ({len(value)} given).")
        values = {
            "first_name": first,
            "last_name": last,
            "title": self._text(row, "title"),
            "source": self._text(row, "source"),
        }
        emails = self._emails(row)
        phones = self._phones(row)
        company_name = self._text(row, "company", COMPANY_NAME_MAX)
        owner = self._owner(row)
        tags = self._tags(row)
        row.check()
        contact = self._match(row, emails)
        if contact is None:
            if not first and not last:
                row.fail("A contact needs a first or last name.")
            owner = self._new_owner(row, owner)
            company = self._save_company(self._linked_company(company_name, owner))
            contact = Contact.objects.create(owner=owner, company=company, **values)
            self.queue(
                *(
                    ContactEmail(contact=contact, email=email, is_primary=position == 0)
                    for position, email in enumerate(emails)
                ),
                *(
                    ContactPhone(contact=contact, number=number, kind=kind)
                    for number, kind in phones
                ),
            )
            self.link_tags(contact, self._save_tags(tags))
            self.emit(events.CONTACT_CREATED, contact_id=contact.pk, actor_id=self.actor.pk)
            self._finish(row, contact, CREATED, extra={"emails": [None, emails]})
            self.later(
                self.contacts.keep,
                contact,
                tag_ids=[t.pk for t in tags],
                emails=emails,
                phones={number for number, _ in phones},
            )
            return
        contact = copy.copy(contact)
        before = snapshot(contact)
        for key, value in values.items():
            if value:
                setattr(contact, key, value)
        self._change_owner(row, contact, owner)
        if company_name:
            company = self._linked_company(company_name, None)
            if company.pk is None:
                company.owner_id = contact.owner_id
            contact.company = self._save_company(company)
        known_emails = self.contacts.emails[contact.pk]
        new_emails = [email for email in emails if email not in known_emails]
        known_phones = self.contacts.phones[contact.pk]
        new_phones = [(number, kind) for number, kind in phones if number not in known_phones]
        new_tags = [t for t in tags if t.pk not in self.contacts.tag_ids[contact.pk]]
        is_changed = snapshot(contact) != before
        if not (is_changed or new_emails or new_phones or new_tags):
            self._finish(row, contact, SKIPPED)
            return
        if is_changed:
            contact.save()
        self.queue(
            *(
                ContactEmail(contact=contact, email=email, is_primary=not known_emails and i == 0)
                for i, email in enumerate(new_emails)
            ),
            *(
                ContactPhone(contact=contact, number=number, kind=kind)
                for number, kind in new_phones
            ),
        )
        self.link_tags(contact, self._save_tags(new_tags))
        extra = {}
        if new_emails:
            extra["emails"] = [list(known_emails), known_emails + new_emails]
        if new_phones:
            extra["phones"] = [sorted(known_phones), sorted(known_phones | dict(new_phones).keys())]
        if new_tags:
            extra["tags"] = [None, [t.name for t in new_tags]]
        self._finish(row, contact, UPDATED, before=before, extra=extra)
        self.later(
            self.contacts.keep,
            contact,
            tag_ids=[t.pk for t in new_tags],
            emails=new_emails,
            phones={number for number, _ in new_phones},
        )

    def _emails(self, row: _Row) -> list[str]:
        emails: list[str] = []
        for cell in row.all("email"):
            for item in split_list(cell, ";, "):
                email = row.parse("email", normalize_email, item)
                if email and email not in emails:
                    emails.append(email)
        return emails

    def _phones(self, row: _Row) -> list[tuple[str, str]]:
        phones: dict[str, str] = {}
        limit = ContactPhone._meta.get_field("number").max_length
        for name, kind in (("phone", ContactPhone.Kind.WORK), ("mobile", ContactPhone.Kind.MOBILE)):
            for cell in row.all(name):
                for number in split_list(cell, ";,"):
                    if len(number) > limit:
                        row.error(name, f"{number!r} is longer than {limit} characters.")
                    phones.setdefault(number, kind)
        return list(phones.items())

    def _match(self, row: _Row, emails: list[str]) -> Contact | None:
        holders: list[int] = []
        for email in emails:
            holder = self.contacts.email_owner.get(email)
            if holder is not None and holder not in self.contacts.changeable:
                row.fail(f"The e-mail {email} belongs to a record you cannot change.", "email")
            if holder is not None and holder not in holders:
                holders.append(holder)
        pk, contact = self._record_id(row, self.contacts)
        if pk is not None:
            for email in emails:
                if self.contacts.email_owner.get(email, pk) != pk:
                    row.fail(f"The e-mail {email} belongs to another contact.", "email")
            return contact
        if len(holders) > 1:
            row.fail(
                f"These e-mails belong to different contacts ({', '.join(emails)}); "
                "merge the contacts first or split the row.",
                "email",
            )
        return self.contacts.instances[holders[0]] if holders else None


class _DealImporter(_Importer):
    entity = "deals"
    model = Deal
    date_fields = ("expected_close", "closed_at", "next_step_due")
    closing_stages = {"closedwon": Deal.Status.WON, "closedlost": Deal.Status.LOST}

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.contacts = Contacts(self.actor)
        self.deals = Deals(self.actor)
        self.base = base_currency()
        self.pipelines_by_id = {p.pk: p for p in self.named.pipelines.values()}
        self.stages_by_id = {s.pk: s for stages in self.named.stages.values() for s in stages}
        self.zone = rollups.calendar()
        self.rollup_keys: set = set()  # the buckets the imported deals counted in before
        self.touched_ids: set[int] = set()

    def run(self) -> list[RowResult]:
        results = super().run()
        # After the queued stage changes are written: they decide the funnel's buckets.
        touched = Deal.objects.filter(pk__in=self.touched_ids)
        rollups.refresh_deals(
            self.rollup_keys | rollups.deal_keys_of(touched, self.zone), self.zone
        )
        return results

    def preload(self, rows: list[_Row]) -> None:
        emails, names = [], []
        for row in rows:
            for entry in split_list(row.get("contacts"), ";"):
                name, email = split_named_address(entry)
                names.append(name)
                emails.append(email.strip().lower())
        self.contacts.load(emails=[e for e in emails if e], names=names)
        self.companies.load(names=[row.get("company") for row in rows])
        self.deals.load(ids=_ids(rows), titles=[row.get("title") for row in rows])

    def import_row(self, row: _Row) -> None:
        company_name = self._text(row, "company", COMPANY_NAME_MAX)
        amount, symbol_currency = row.parse("amount", parse_localized_amount) or (None, None)
        currency = row.parse("currency", normalize_currency)
        if symbol_currency and currency and symbol_currency != currency:
            row.error(
                "amount", f"The amount is in {symbol_currency} but the currency is {currency}."
            )
        v = {
            "title": self._text(row, "title"),
            "contacts": self._contact_entries(row),
            "status": self._status(row),
            "closed_at": row.parse(
                "closed_at", parse_datetime, tz=self.tz, order=self.date_orders["closed_at"]
            ),
            "dates": {
                name: row.parse(name, parse_date, order=self.date_orders[name], field=name)
                for name in ("expected_close", "next_step_due")
            },
            "next_step": self._text(row, "next_step"),
            "owner": self._owner(row),
            "lost_reason": self._choice(row, "lost_reason", self.named.lost_reasons, LostReason),
            "lead_source": self._choice(row, "lead_source", self.named.lead_sources, LeadSource),
            "tags": self._tags(row),
        }
        row.check()
        if v["status"] == "deleted":
            row.result.action = SKIPPED
            row.warn("status", "The deal was deleted in the other system; skipped.")
            return
        v["company"] = self._linked_company(company_name, None)
        deal = self._match(row, title=v["title"], company_name=company_name, company=v["company"])
        v["pipeline"], v["stage"], v["status"] = self._placement(row, deal, v["status"])
        if deal is None or amount is not None or currency or symbol_currency:
            v["currency"] = currency or symbol_currency or (deal.currency if deal else self.base)
            v["amount"] = amount if amount is not None else (deal.amount if deal else Decimal(0))
            try:
                v["amount_base"] = to_base(v["amount"], v["currency"], base=self.base)
            except ValidationFailed as exc:
                row.fail(exc.message, "currency" if "currency" in self.labels else "amount")
        if deal is None:
            self._create(row, v)
        else:
            self._update(row, deal, v)

    def _create(self, row: _Row, v: dict) -> None:
        if not v["title"]:
            row.fail("A deal needs a title.", "title")
        owner = self._new_owner(row, v["owner"])
        status = v["status"] or Deal.Status.OPEN
        company = v["company"]
        if company is not None and company.pk is None:
            company.owner = owner
        company = self._save_company(company)
        deal = Deal.objects.create(
            title=v["title"],
            company=company,
            owner=owner,
            pipeline=v["pipeline"],
            stage=v["stage"],
            amount=v["amount"],
            currency=v["currency"],
            amount_base=v["amount_base"],
            expected_close=v["dates"]["expected_close"],
            status=status,
            closed_at=self._closed_at(row, status, v, None),
            lost_reason=self._lost_reason(row, status, v["lost_reason"], None),
            lead_source=self._save_named(v["lead_source"], self.named.lead_sources),
            forecast_category=Deal.ForecastCategory.PIPELINE
            if status == Deal.Status.OPEN
            else Deal.ForecastCategory.CLOSED,
            next_step=v["next_step"],
            next_step_due=v["dates"]["next_step_due"],
            stage_entered_at=self.now,
            created_at=self.now,
        )
        self.queue(
            StageChange(deal=deal, from_stage=None, to_stage=v["stage"], at=self.now, by=self.actor)
        )
        contact_ids = [
            c.pk for c in self._save_contacts(row, v["contacts"], owner.pk, deal.company_id)
        ]
        self.link_contacts(deal, contact_ids)
        tags = self._save_tags(v["tags"])
        self.link_tags(deal, tags)
        self.emit(events.DEAL_CREATED, deal_id=deal.pk, actor_id=self.actor.pk)
        self.touched_ids.add(deal.pk)
        self._finish(row, deal, CREATED)
        self.later(self.deals.keep, deal, tag_ids=[t.pk for t in tags], contact_ids=contact_ids)

    def _update(self, row: _Row, deal: Deal, v: dict) -> None:
        self.rollup_keys |= rollups.deal_keys(deal, self.zone)
        self.touched_ids.add(deal.pk)
        deal = copy.copy(deal)
        before = snapshot(deal)
        if v["title"]:
            deal.title = v["title"]
        self._change_owner(row, deal, v["owner"])
        for name in ("expected_close", "next_step_due"):
            if v["dates"][name]:
                setattr(deal, name, v["dates"][name])
        if v["next_step"]:
            deal.next_step = v["next_step"]
        if v["lead_source"] is not None:
            deal.lead_source = self._save_named(v["lead_source"], self.named.lead_sources)
        if "amount_base" in v:
            deal.amount, deal.currency, deal.amount_base = (
                v["amount"],
                v["currency"],
                v["amount_base"],
            )
        stage_change = None
        if v["stage"].pk != deal.stage_id:
            stage_change = StageChange(
                deal=deal, from_stage_id=deal.stage_id, to_stage=v["stage"], by=self.actor
            )
            deal.pipeline, deal.stage, deal.stage_entered_at = v["pipeline"], v["stage"], self.now
        status = v["status"] or deal.status
        closed_at = self._closed_at(row, status, v, deal)
        lost_reason = self._lost_reason(row, status, v["lost_reason"], deal)
        if status != deal.status:
            deal.forecast_category = (
                Deal.ForecastCategory.PIPELINE
                if status == Deal.Status.OPEN
                else Deal.ForecastCategory.CLOSED
            )
        deal.status, deal.closed_at = status, closed_at
        if status == Deal.Status.OPEN:
            deal.lost_reason = None
        elif lost_reason is not None:
            deal.lost_reason = lost_reason
        company = v["company"]
        if company is not None:
            if company.pk is None:
                company.owner_id = deal.owner_id
            deal.company = self._save_company(company)
        contacts = self._save_contacts(row, v["contacts"], deal.owner_id, deal.company_id)
        known_contacts = self.deals.contact_ids[deal.pk]
        new_contacts = [c.pk for c in contacts if c.pk not in known_contacts]
        new_tags = [t for t in v["tags"] if t.pk not in self.deals.tag_ids[deal.pk]]
        is_changed = snapshot(deal) != before
        if not (is_changed or new_contacts or new_tags):
            self._finish(row, deal, SKIPPED)
            return
        if stage_change is not None:
            stage_change.at = self.now
            self.queue(stage_change)
        if is_changed:
            deal.save()
        self.link_contacts(deal, new_contacts)
        self.link_tags(deal, self._save_tags(new_tags))
        extra = {}
        if new_contacts:
            extra["contacts"] = [sorted(known_contacts), sorted(known_contacts | set(new_contacts))]
        if new_tags:
            extra["tags"] = [None, [t.name for t in new_tags]]
        self._finish(row, deal, UPDATED, before=before, extra=extra)
        self.emit(events.DEAL_UPDATED, deal_id=deal.pk, actor_id=self.actor.pk)
        self.later(
            self.deals.keep, deal, tag_ids=[t.pk for t in new_tags], contact_ids=new_contacts
        )

    def link_contacts(self, deal: Deal, contact_ids) -> None:
        through = Deal.contacts.through
        self.queue(*(through(deal_id=deal.pk, contact_id=pk) for pk in contact_ids))

    def _status(self, row: _Row) -> str | None:
        value = row.get("status").lower()
        if not value:
            return None
        if value in Deal.Status.values or value == "deleted":
            return value
        row.error("status", f"{row.get('status')!r} is not a status; use open, won or lost.")
        return None

    def _match(self, row: _Row, *, title: str, company_name: str, company) -> Deal | None:
        pk, deal = self._record_id(row, self.deals)
        if pk is not None:
            return deal
        if not title or (company_name and company.pk is None):
            return None  # a new company has no deals yet
        found = self.deals.by_key.get((name_key(title), company.pk if company else None), [])
        changeable = [pk for pk in found if pk in self.deals.changeable]
        if found and not changeable:
            row.fail(f"The deal {title!r} belongs to a record you cannot change.", "title")
        if len(changeable) > 1:
            row.warn("title", f"{len(changeable)} deals match; updated the oldest.")
        return self.deals.instances[changeable[0]] if changeable else None

    def _placement(self, row: _Row, deal: Deal | None, status: str | None):
        """The pipeline, stage and status the row puts the deal in."""
        name = row.get("pipeline")
        if name:
            pipeline = self.named.pipelines.get(name_key(name))
            if pipeline is None:
                names = ", ".join(p.name for p in self.named.pipelines.values())
                row.fail(f"There is no pipeline {name!r}; the pipelines are: {names}.", "pipeline")
        elif deal is not None:
            pipeline = self.pipelines_by_id[deal.pipeline_id]
        else:
            pipeline = self.named.default_pipeline
            if pipeline is None:
                row.fail("There is no pipeline yet; an admin must create one first.")
        stages = self.named.stages[pipeline.pk]
        if not stages:
            row.fail(f"The pipeline {pipeline.name} has no stages.", "pipeline")
        stage = None
        stage_name = row.get("stage")
        if stage_name:
            stage = next((s for s in stages if name_key(s.name) == name_key(stage_name)), None)
            closing = self.closing_stages.get(header_key(stage_name))
            if stage is None and closing is None:
                row.fail(
                    f"{stage_name!r} is not a stage of the pipeline {pipeline.name}; its stages "
                    f"are: {', '.join(s.name for s in stages)}.",
                    "stage",
                )
            if closing is not None:
                # Salesforce's "Closed Won", HubSpot's "closedwon": a status, not a stage here
                # (unless the pipeline has a stage of that name).
                if status and status != closing:
                    row.fail(f"The status {status} contradicts the stage {stage_name!r}.", "status")
                status, stage = closing, stage or stages[-1]
        if stage is None:
            if deal is not None and deal.pipeline_id == pipeline.pk:
                stage = self.stages_by_id[deal.stage_id]
            elif status in (Deal.Status.WON, Deal.Status.LOST):
                stage = stages[-1]
            else:
                stage = stages[0]
        return pipeline, stage, status

    def _closed_at(self, row: _Row, status: str, v: dict, deal: Deal | None):
        if status == Deal.Status.OPEN:
            if v["closed_at"]:
                row.warn("closed_at", "Left out: the deal is open.")
            return None
        if v["closed_at"]:
            return v["closed_at"]
        if deal is not None and deal.status == status and deal.closed_at:
            return deal.closed_at
        if v["dates"]["expected_close"]:
            midnight = datetime.datetime.combine(v["dates"]["expected_close"], datetime.time())
            return midnight.replace(tzinfo=self.tz).astimezone(datetime.UTC)
        return self.now

    def _lost_reason(self, row: _Row, status: str, reason, deal: Deal | None):
        if status != Deal.Status.LOST:
            return None
        if reason is not None:
            return self._save_named(reason, self.named.lost_reasons)
        if deal is not None and deal.lost_reason_id:
            return None  # keeps its reason
        row.result.warnings.append(f"No lost reason given; it is {UNKNOWN_LOST_REASON!r}.")
        unknown = self.named.lost_reasons.get(name_key(UNKNOWN_LOST_REASON))
        return self._save_named(
            unknown or LostReason(name=UNKNOWN_LOST_REASON), self.named.lost_reasons
        )

    def _contact_entries(self, row: _Row) -> list[tuple[str, str]]:
        entries = []
        for entry in split_list(row.get("contacts"), ";"):
            name, email = split_named_address(entry)
            if email:
                email = row.parse("contacts", normalize_email, email) or ""
                if not email:
                    continue
            entries.append((" ".join(name.split()), email))
        return entries

    def _save_contacts(self, row: _Row, entries, owner_id, company_id) -> list[Contact]:
        """The contacts a deal row names: by e-mail, then by name; new names are created."""
        contacts: list[Contact] = []
        for name, email in entries:
            holder = self.contacts.email_owner.get(email) if email else None
            if holder is not None:
                if holder not in self.contacts.visible:
                    row.warn("contacts", f"{email} belongs to a record you cannot see; not linked.")
                    continue
                contacts.append(self.contacts.instances[holder])
                continue
            found = self.contacts.named(name) if name else []
            if found:
                contacts.append(self.contacts.instances[found[0]])
                continue
            if not name:
                row.warn("contacts", f"There is no contact {email}; not linked.")
                continue
            first, last = split_name(name)
            contact = Contact.objects.create(
                first_name=first[:100],
                last_name=last[:100],
                owner_id=owner_id,
                company_id=company_id,
            )
            if email:
                self.queue(ContactEmail(contact=contact, email=email, is_primary=True))
            self.audit(
                contact,
                AuditEntry.Action.CREATE,
                extra={"emails": [None, [email] if email else []]},
            )
            self.emit(events.CONTACT_CREATED, contact_id=contact.pk, actor_id=self.actor.pk)
            self.later(self.contacts.keep, contact, emails=[email] if email else [])
            contacts.append(contact)
        return contacts


IMPORTERS: dict[str, type[_Importer]] = {
    "companies": _CompanyImporter,
    "contacts": _ContactImporter,
    "deals": _DealImporter,
}
