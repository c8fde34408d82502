"""CSV exports of the records a user can see: streamed, with a fixed number of queries a chunk.

Re-importing an export of companies, contacts or deals updates the same records (the `id`
column), so it is also a backup format. Activities are exported, not imported.
"""

import csv
import datetime
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

from salesdesk.activities.selectors import activity_list
from salesdesk.crm.selectors import company_list, contact_list
from salesdesk.crm.transfer.reading import FORMULA_STARTS
from salesdesk.pipeline.selectors import deal_list

CHUNK = 2000  # records a query (and its prefetches) load at a time
ROWS_A_WRITE = 200

COLUMNS = {
    "companies": [
        "id",
        "name",
        "domain",
        "website",
        "industry",
        "country",
        "region",
        "size",
        "phone",
        "owner",
        "tags",
        "created_at",
    ],
    "contacts": [
        "id",
        "first_name",
        "last_name",
        "title",
        "emails",
        "phones",
        "mobiles",
        "company",
        "owner",
        "source",
        "tags",
        "created_at",
    ],
    "deals": [
        "id",
        "title",
        "company",
        "contacts",
        "pipeline",
        "stage",
        "status",
        "amount",
        "currency",
        "amount_base",
        "expected_close",
        "closed_at",
        "lost_reason",
        "lead_source",
        "next_step",
        "next_step_due",
        "owner",
        "tags",
        "created_at",
    ],
    "activities": [
        "id",
        "kind",
        "direction",
        "subject",
        "occurred_at",
        "due_at",
        "done_at",
        "duration_minutes",
        "owner",
        "company",
        "contacts",
        "deal",
        "source",
    ],
}


def cell(value) -> str:
    """Text for a CSV cell; one a spreadsheet would run as a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.UTC).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def _joined(values: Iterable[str]) -> str:
    return "; ".join(values)


def _email(user) -> str:
    return user.email if user is not None else ""


def _tags(record) -> str:
    return _joined(sorted(tag.name for tag in record.tags.all()))


def _company(company) -> list:
    return [
        company.pk,
        company.name,
        company.domain,
        company.website,
        company.industry,
        company.country,
        company.region,
        company.size,
        company.phone,
        _email(company.owner),
        _tags(company),
        company.created_at,
    ]


def _contact(contact) -> list:
    phones = contact.phones.all()
    return [
        contact.pk,
        contact.first_name,
        contact.last_name,
        contact.title,
        _joined(e.email for e in contact.emails.all()),
        _joined(p.number for p in phones if p.kind != p.Kind.MOBILE),
        _joined(p.number for p in phones if p.kind == p.Kind.MOBILE),
        contact.company.name if contact.company else "",
        _email(contact.owner),
        contact.source,
        _tags(contact),
        contact.created_at,
    ]


def _named_address(contact) -> str:
    emails = contact.emails.all()
    return f"{contact.full_name} <{emails[0].email}>" if emails else contact.full_name


def _deal(deal) -> list:
    return [
        deal.pk,
        deal.title,
        deal.company.name if deal.company else "",
        _joined(_named_address(contact) for contact in deal.contacts.all()),
        deal.pipeline.name,
        deal.stage.name,
        deal.status,
        deal.amount,
        deal.currency,
        deal.amount_base,
        deal.expected_close,
        deal.closed_at,
        deal.lost_reason.name if deal.lost_reason else "",
        deal.lead_source.name if deal.lead_source else "",
        deal.next_step,
        deal.next_step_due,
        _email(deal.owner),
        _tags(deal),
        deal.created_at,
    ]


def _activity(activity) -> list:
    duration = activity.duration
    return [
        activity.pk,
        activity.kind,
        activity.direction,
        activity.subject,
        activity.occurred_at,
        activity.due_at,
        activity.done_at,
        duration // datetime.timedelta(minutes=1) if duration is not None else None,
        _email(activity.owner),
        activity.company.name if activity.company else "",
        _joined(_named_address(contact) for contact in activity.contacts.all()),
        activity.deal.title if activity.deal else "",
        activity.source,
    ]


def export_queryset(*, actor, entity: str, filters: dict | None = None) -> QuerySet:
    """What `actor` may see (narrowed by the list selector's `filters`), prefetched for the rows."""
    filters = filters or {}
    if entity == "companies":
        records = company_list(actor=actor, **filters)
    elif entity == "contacts":
        records = contact_list(actor=actor, **filters)
    elif entity == "activities":
        records = activity_list(actor=actor, **filters).prefetch_related("contacts__emails")
    else:
        records = deal_list(actor=actor, **filters).prefetch_related("contacts__emails")
    return records.order_by("pk")


_ROWS = {"companies": _company, "contacts": _contact, "deals": _deal, "activities": _activity}


class _Echo:
    """A file-like object whose write() hands back what it is given, for csv.writer."""

    def write(self, value: str) -> str:
        return value


def export_csv(*, actor, entity: str, filters: dict | None = None) -> Iterator[str]:
    """The CSV text in pieces: a header line, then records in id order.

    `filters` are keyword arguments of the entity's list selector, so a list page exports
    exactly the rows its filters show.
    """
    writer = csv.writer(_Echo())
    to_row = _ROWS[entity]
    yield writer.writerow(COLUMNS[entity])
    lines = []
    for record in export_queryset(actor=actor, entity=entity, filters=filters).iterator(
        chunk_size=CHUNK
    ):
        lines.append(writer.writerow([cell(value) for value in to_row(record)]))
        if len(lines) == ROWS_A_WRITE:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)
