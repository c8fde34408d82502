"""From e-mails to contacts, companies and one activity each: the capture pipeline.

Every source (an IMAP mailbox, an mbox or .eml file, a message sent from Salesdesk) hands
`capture_messages` a batch of raw messages with the user they belong to. For each message:

1. Parse it (`parsing.parse_message`, which never raises). A message seen before, from any
   mailbox or file, is a duplicate: its key is the Message-ID, or a hash of its content when it
   has none (`CapturedMessage.key`).
2. Unreadable → recorded as skipped with the reason and the raw bytes (nothing is lost).
   Bulk, auto-replies, no-reply senders → recorded as automated, nothing created. Only
   colleagues on it (the organization's internal domains, the users' own addresses) → internal.
3. Every outside participant (From, Reply-To, To, Cc) is matched to a contact by address
   (`ContactEmail.match_key`: case, +tags and Gmail's dots do not matter). Unknown addresses
   become contacts, or suggestions when the organization reviews new contacts first
   (capture mode "suggest"; ignored addresses stay ignored). Role addresses (info@, sales@)
   never become contacts. A new contact's company is found or created from the registered
   domain of its address, never for free-mail domains.
4. One e-mail activity: direction (out when a colleague sent it), subject, the clean body,
   the time sent, on the contacts, their company and that company's open deal (the most
   recently active one when there are several).
5. The last interaction of the contacts, companies and deals moves forward; the newest message
   a contact sent fills the empty fields of the contact from its signature (each value
   remembers its message and can be undone: `FilledField`).

A batch is one transaction, written with bulk inserts: the work per message is a few
dictionary lookups, not queries. Two workers capturing the same message at once collide on the
unique key; the batch is then retried and the message is a duplicate.
"""

import datetime
import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from salesdesk.accounts.models import OrganizationSettings, User
from salesdesk.activities.models import Activity
from salesdesk.analytics import rollups
from salesdesk.capture import addresses
from salesdesk.capture.message import Address, ParsedMessage
from salesdesk.capture.models import (
    CapturedAddress,
    CapturedMessage,
    FilledField,
    Mailbox,
    SuggestedContact,
)
from salesdesk.capture.parsing import parse_message
from salesdesk.capture.signatures import country_from_domain, extract_signature
from salesdesk.core.audit import audit_entry
from salesdesk.core.bulk import insert_rows, insert_values, update_by_pk
from salesdesk.core.models import AuditEntry
from salesdesk.crm.models import Company, Contact, ContactEmail, ContactPhone
from salesdesk.pipeline.models import Deal

logger = logging.getLogger(__name__)

MAX_RAW_KEPT = 10_000_000  # bytes of a skipped message kept for a later retry
RETRIES = 3
SOURCE_LABEL = "e-mail"  # Contact.source of the contacts capture creates
# Contact fields a signature fills when they are empty (phones and the company website aside).
_FILLED = ("title", "linkedin_url", "twitter_url")


@dataclass
class Incoming:
    """One raw message and where it came from (a mailbox folder and UID, a file and offset)."""

    raw: bytes
    source_ref: str = ""


@dataclass
class Outcome:
    """What a batch did, for the sync status, the CLI and the tests."""

    logged: int = 0
    duplicates: int = 0
    automated: int = 0
    internal: int = 0
    skipped: int = 0
    contacts_created: int = 0
    companies_created: int = 0
    suggested: int = 0
    fields_filled: int = 0
    skip_reasons: dict[str, int] = field(default_factory=dict)

    def add(self, other: "Outcome") -> None:
        for name in (
            "logged", "duplicates", "automated", "internal", "skipped", "contacts_created",
            "companies_created", "suggested", "fields_filled",
        ):  # fmt: skip
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for reason, count in other.skip_reasons.items():
            self.skip_reasons[reason] = self.skip_reasons.get(reason, 0) + count

    @property
    def seen(self) -> int:
        return self.logged + self.duplicates + self.automated + self.internal + self.skipped


def message_key(parsed: ParsedMessage) -> str:
    """The idempotency key: the Message-ID, else the content hash (always ≤ 255 characters)."""
    if parsed.message_id:
        key = f"mid:{parsed.message_id}"
        if len(key) <= 255:
            return key
        return "mid-sha256:" + hashlib.sha256(parsed.message_id.encode()).hexdigest()
    return f"sha256:{parsed.content_hash}"


@dataclass
class _Context:
    """What a batch looks up once: the organization's rules and the colleagues' addresses."""

    user: User
    internal_domains: tuple[str, ...]
    colleague_keys: frozenset[str]
    suggest: bool
    source_label: str = SOURCE_LABEL  # Contact.source of new contacts, and the audit's "via"

    @classmethod
    def load(cls, user: User) -> "_Context":
        organization = OrganizationSettings.get()
        emails = list(User.objects.values_list("email", flat=True))
        domains = {domain.lower().strip().lstrip("@") for domain in organization.internal_domains}
        # The users' own domains are internal too, unless they are free mail.
        domains |= {
            addresses.domain_of(email)
            for email in emails
            if email and not addresses.is_free_mail(email)
        }
        # The addresses of the users' mailboxes are theirs too, though not their domains: a
        # mailbox at a provider shares its domain with strangers.
        emails += Mailbox.objects.filter(username__contains="@").values_list("username", flat=True)
        return cls(
            user=user,
            internal_domains=tuple(sorted(d for d in domains if d)),
            colleague_keys=frozenset(addresses.normalize(email) for email in emails),
            suggest=organization.capture_mode == OrganizationSettings.CaptureMode.SUGGEST,
        )

    def is_internal(self, email: str) -> bool:
        return addresses.normalize(email) in self.colleague_keys or addresses.is_internal(
            email, self.internal_domains
        )


@dataclass
class _Message:
    incoming: Incoming
    parsed: ParsedMessage
    key: str
    status: str = CapturedMessage.Status.LOGGED
    reason: str = ""
    outbound: bool = False
    # outside participants: (address, match key, role) — role addresses excluded from contacts
    outside: list[tuple[Address, str, str]] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)  # registered domains, in order


def capture_messages(items: Iterable[Incoming], *, user: User, source: str) -> Outcome:
    """Capture a batch of raw messages for `user` (see the module docstring)."""
    items = list(items)
    parsed = [(item, parse_message(item.raw)) for item in items]
    for attempt in range(RETRIES):
        try:
            with transaction.atomic():
                return _capture(parsed, user=user, source=source)
        except IntegrityError:
            # Another worker captured some of these messages meanwhile: they are duplicates now.
            if attempt == RETRIES - 1:
                raise
            logger.info("capture batch collided with another worker; retrying")
    raise AssertionError("unreachable")


def _classify(item: Incoming, parsed: ParsedMessage, context: _Context) -> _Message:
    message = _Message(incoming=item, parsed=parsed, key=message_key(parsed))
    if parsed.skip_reason:
        message.status, message.reason = CapturedMessage.Status.SKIPPED, parsed.skip_reason
        return message
    if parsed.automated:
        message.status, message.reason = CapturedMessage.Status.AUTOMATED, parsed.automated
        return message
    message.outbound = parsed.sender is not None and context.is_internal(parsed.sender.email)
    roles = [("from", parsed.sender), *(("from", a) for a in parsed.reply_to)]
    roles += [("to", a) for a in parsed.to] + [("cc", a) for a in parsed.cc]
    message.outside, message.domains = outside_participants(roles, context)
    if not message.outside and not message.domains:
        message.status = CapturedMessage.Status.INTERNAL
        message.reason = "no participant outside the organization"
    return message


def outside_participants(
    roles: Iterable[tuple[str, Address | None]], context: _Context
) -> tuple[list[tuple[Address, str, str]], list[str]]:
    """The participants outside the organization, each once: (address, match key, role) of the
    people, and the registered domains of all of them (free mail excluded), in order. Role and
    automated addresses (info@, no-reply@) give their company but are no people."""
    outside: list[tuple[Address, str, str]] = []
    domains: list[str] = []
    seen = set()
    for role, address in roles:
        if address is None or not addresses.is_valid(address.email):
            continue
        key = addresses.normalize(address.email)
        if not key or key in seen or context.is_internal(address.email):
            continue
        seen.add(key)
        domain = addresses.registered_domain(address.email)
        if domain and not addresses.is_free_mail(domain) and domain not in domains:
            domains.append(domain)
        if addresses.is_role_or_automated(address.email):
            continue  # its company still counts; no contact for info@ or no-reply@
        outside.append((address, key, role))
    return outside, domains


def _capture(parsed: list[tuple[Incoming, ParsedMessage]], *, user: User, source: str) -> Outcome:
    outcome = Outcome()
    context = _Context.load(user)
    messages: list[_Message] = []
    keys_in_batch = set()
    for item, message in parsed:
        classified = _classify(item, message, context)
        if classified.key in keys_in_batch:
            outcome.duplicates += 1
            continue
        keys_in_batch.add(classified.key)
        messages.append(classified)
    known = set(CapturedMessage.objects.filter(key__in=keys_in_batch).values_list("key", flat=True))
    outcome.duplicates += sum(message.key in known for message in messages)
    messages = [message for message in messages if message.key not in known]
    if not messages:
        return outcome

    logged = [m for m in messages if m.status == CapturedMessage.Status.LOGGED]
    people = _People(context, logged, outcome)
    people.resolve()

    activities = [people.activity(message, source=source) for message in logged]
    # The rows of a batch go in through `insert_rows`: bulk_create's per-field preparation
    # was a fifth of the time it takes to capture an e-mail.
    insert_rows(Activity, activities)
    insert_values(
        Activity.contacts.through,
        ["activity", "contact"],
        [
            (activity.pk, contact_id)
            for message, activity in zip(logged, activities, strict=True)
            for contact_id in people.contacts_of(message)
        ],
        ignore_conflicts=True,
    )

    activity_of = {
        message.key: activity for message, activity in zip(logged, activities, strict=True)
    }
    records = [
        _record(message, user=user, source=source, activity=activity_of.get(message.key))
        for message in messages
    ]
    by_key = {record.key: record for record in records}
    insert_rows(CapturedMessage, records)
    insert_values(
        CapturedAddress,
        ["message", "match_key", "role", "contact"],
        [
            (by_key[message.key].pk, key, role, people.contact_ids.get(key))
            for message in logged
            for _address, key, role in message.outside
        ],
    )
    for message in messages:
        if message.status == CapturedMessage.Status.SKIPPED:
            outcome.skipped += 1
            outcome.skip_reasons[message.reason] = outcome.skip_reasons.get(message.reason, 0) + 1
        elif message.status == CapturedMessage.Status.AUTOMATED:
            outcome.automated += 1
        elif message.status == CapturedMessage.Status.INTERNAL:
            outcome.internal += 1
        else:
            outcome.logged += 1

    people.touch(logged)
    people.fill_from_signatures(logged, by_key)
    rollups.add_activities(activities)
    return outcome


def _record(message: _Message, *, user: User, source: str, activity) -> CapturedMessage:
    parsed = message.parsed
    keep_raw = message.status == CapturedMessage.Status.SKIPPED
    return CapturedMessage(
        key=message.key,
        message_id=parsed.message_id[:255],
        thread_key=(parsed.thread_key or "")[:255],
        status=message.status,
        reason=message.reason[:255],
        subject=parsed.subject[:255],
        sent_at=parsed.date,
        activity=activity,
        captured_by=user,
        source=source,
        source_ref=message.incoming.source_ref[:500],
        raw=message.incoming.raw[:MAX_RAW_KEPT] if keep_raw else None,
    )


class _People:
    """The contacts, companies and deals of a batch: looked up in a few queries, created in
    bulk."""

    def __init__(self, context: _Context, messages: list[_Message], outcome: Outcome):
        self.context = context
        self.messages = messages
        self.outcome = outcome
        self.contact_ids: dict[str, int] = {}  # match key → contact
        self.contact_company: dict[int, int | None] = {}
        self.company_ids: dict[str, int] = {}  # registered domain → company
        self.deal_of_company: dict[int, int] = {}
        self.last_interaction: dict[int, datetime.datetime | None] = {}

    # --- Looking up and creating ------------------------------------------------------------

    def resolve(self) -> None:
        keys = {key for m in self.messages for _a, key, _r in m.outside}
        for match_key, contact_id, company_id, last in (
            ContactEmail.objects.filter(match_key__in=keys)
            .order_by("contact_id")
            .values_list(
                "match_key", "contact_id", "contact__company_id", "contact__last_interaction_at"
            )
        ):
            self.contact_ids.setdefault(match_key, contact_id)
            self.contact_company[contact_id] = company_id
            self.last_interaction[contact_id] = last
        domains = {d for m in self.messages for d in m.domains}
        for domain, company_id in (
            Company.objects.filter(domain__in=domains).order_by("pk").values_list("domain", "pk")
        ):
            self.company_ids.setdefault(domain, company_id)
        unknown: dict[str, Address] = {}
        for message in self.messages:
            for address, key, _role in message.outside:
                if key not in self.contact_ids:
                    unknown.setdefault(key, address)
        if unknown and self.context.suggest:
            self._suggest(unknown)
        elif unknown:
            self._create_companies(
                {addresses.registered_domain(a.email) for a in unknown.values()}
                | {d for m in self.messages for d in m.domains}
            )
            self._create_contacts(unknown)
        else:
            self._create_companies({d for m in self.messages for d in m.domains})
        companies = set(self.company_ids.values()) | {c for c in self.contact_company.values() if c}
        for deal_id, company_id in (
            Deal.objects.filter(company_id__in=companies, status=Deal.Status.OPEN)
            .order_by(
                "company_id",
                F("last_interaction_at").desc(nulls_last=True),
                "-updated_at",
                "-pk",
            )
            .values_list("pk", "company_id")
        ):
            self.deal_of_company.setdefault(company_id, deal_id)

    def _create_companies(self, domains: set[str]) -> None:
        missing = sorted(
            d for d in domains if d and d not in self.company_ids and not addresses.is_free_mail(d)
        )
        if not missing:
            return
        user = self.context.user
        companies = Company.objects.bulk_create(
            Company(
                name=company_name(domain),
                domain=domain,
                website=f"https://{domain}/",
                owner=user,
            )
            for domain in missing
        )
        for company in companies:
            self.company_ids[company.domain] = company.pk
        AuditEntry.objects.bulk_create(
            _created_entries(user, companies, via=self.context.source_label)
        )
        self.outcome.companies_created += len(companies)

    def _create_contacts(self, unknown: dict[str, Address]) -> None:
        user = self.context.user
        contacts = []
        for key, address in sorted(unknown.items()):
            first, last = person_name(address)
            company_id = self.company_ids.get(addresses.registered_domain(address.email))
            contacts.append(
                (
                    key,
                    address,
                    Contact(
                        first_name=first[:100],
                        last_name=last[:100],
                        company_id=company_id,
                        owner=user,
                        source=self.context.source_label,
                    ),
                )
            )
        Contact.objects.bulk_create([contact for _k, _a, contact in contacts])
        ContactEmail.objects.bulk_create(
            ContactEmail(contact=contact, email=address.email.lower()[:254], is_primary=True)
            for _key, address, contact in contacts
        )
        for key, _address, contact in contacts:
            self.contact_ids[key] = contact.pk
            self.contact_company[contact.pk] = contact.company_id
            self.last_interaction[contact.pk] = None
        AuditEntry.objects.bulk_create(
            _created_entries(
                user, [contact for _k, _a, contact in contacts], via=self.context.source_label
            )
        )
        self.outcome.contacts_created += len(contacts)

    def _suggest(self, unknown: dict[str, Address]) -> None:
        now = timezone.now()
        stored = {
            suggestion.match_key: suggestion
            for suggestion in SuggestedContact.objects.select_for_update().filter(
                match_key__in=unknown
            )
        }
        counts = defaultdict(int)
        for message in self.messages:
            for _address, key, _role in message.outside:
                if key in unknown:
                    counts[key] += 1
        new = []
        for key, address in unknown.items():
            if key in stored:
                continue
            new.append(
                SuggestedContact(
                    match_key=key,
                    email=address.email.lower()[:254],
                    name=address.name[:200],
                    domain=addresses.registered_domain(address.email),
                    messages=counts[key],
                    first_seen_at=now,
                    last_seen_at=now,
                    suggested_to=self.context.user,
                )
            )
        SuggestedContact.objects.bulk_create(new)
        for key, suggestion in stored.items():
            SuggestedContact.objects.filter(pk=suggestion.pk).update(
                messages=F("messages") + counts[key], last_seen_at=now
            )
        self.outcome.suggested += len(new)
        # Companies still come from the messages' domains: a company is not a person.
        self._create_companies({d for m in self.messages for d in m.domains})

    # --- The activity -------------------------------------------------------------------------

    def contacts_of(self, message: _Message) -> list[int]:
        ids = []
        for _address, key, _role in message.outside:
            contact_id = self.contact_ids.get(key)
            if contact_id is not None and contact_id not in ids:
                ids.append(contact_id)
        return ids

    def company_of(self, message: _Message) -> int | None:
        for contact_id in self.contacts_of(message):
            company_id = self.contact_company.get(contact_id)
            if company_id:
                return company_id
        for domain in message.domains:
            if domain in self.company_ids:
                return self.company_ids[domain]
        return None

    def activity(self, message: _Message, *, source: str) -> Activity:
        parsed = message.parsed
        company_id = self.company_of(message)
        return Activity(
            kind=Activity.Kind.EMAIL,
            direction=Activity.Direction.OUTBOUND
            if message.outbound
            else Activity.Direction.INBOUND,
            subject=parsed.subject[:255],
            body=parsed.body,
            occurred_at=parsed.date or timezone.now(),
            owner=self.context.user,
            company_id=company_id,
            deal_id=self.deal_of_company.get(company_id) if company_id else None,
            source=Activity.Source.IMAP,
            external_id=message.key,
        )

    # --- Interaction facts and signatures -----------------------------------------------------

    def touch(self, messages: list, moment_of=None) -> None:
        """Move the last interaction of the contacts, companies and deals forward (never back:
        the UPDATE compares with the stored time itself, so concurrent batches cannot lose the
        newer time). `moment_of(item)` is when an item happened (None: not an interaction); by
        default the date sent. Each row gets its own moment through a CASE: a batch costs one
        statement per model for every 150 rows, not one per distinct moment (in real
        mail nearly every message has a moment of its own)."""
        latest = {"contact": {}, "company": {}, "deal": {}}
        for message in messages:
            moment = moment_of(message) if moment_of else message.parsed.date
            if moment is None or moment > timezone.now() + datetime.timedelta(days=1):
                continue  # no date, or a clock far ahead: not an interaction time
            company_id = self.company_of(message)
            targets = [("contact", c) for c in self.contacts_of(message)]
            if company_id:
                targets.append(("company", company_id))
                deal_id = self.deal_of_company.get(company_id)
                if deal_id:
                    targets.append(("deal", deal_id))
            for kind, pk in targets:
                if pk not in latest[kind] or moment > latest[kind][pk]:
                    latest[kind][pk] = moment
        for model, kind in ((Contact, "contact"), (Company, "company"), (Deal, "deal")):
            update_by_pk(model, "last_interaction_at", sorted(latest[kind].items()), forward=True)

    def fill_from_signatures(self, messages: list[_Message], records: dict) -> None:
        """Fill the empty fields of each contact from the newest message it sent: its text
        without quoted history, where the sender's own signature is (`extract_signature` would
        cut the history off again)."""
        newest: dict[int, _Message] = {}
        for message in messages:
            parsed = message.parsed
            if message.outbound or parsed.sender is None or not parsed.body:
                continue
            key = addresses.normalize(parsed.sender.email)
            contact_id = self.contact_ids.get(key)
            if contact_id is None or parsed.date is None:
                continue
            previous = self.last_interaction.get(contact_id)
            if previous is not None and parsed.date < previous:
                continue  # an older message than one already seen: its signature may be stale
            if contact_id not in newest or parsed.date > newest[contact_id].parsed.date:
                newest[contact_id] = message
        if not newest:
            return
        contacts = Contact.objects.in_bulk(list(newest))
        with_phones = set(
            ContactPhone.objects.filter(contact_id__in=list(newest)).values_list(
                "contact_id", flat=True
            )
        )
        companies = Company.objects.in_bulk(
            [c.company_id for c in contacts.values() if c.company_id]
        )
        filled, phones, changed_contacts = [], [], set()
        for contact_id, message in newest.items():
            contact = contacts.get(contact_id)
            if contact is None:
                continue
            company = companies.get(contact.company_id)
            placeholder = company is not None and (
                not company.website or company.website == f"https://{company.domain}/"
            )
            needs_phones = contact_id not in with_phones
            if not (needs_phones or placeholder or any(not getattr(contact, n) for n in _FILLED)):
                continue  # nothing left to fill: reading the signature would change nothing
            sender = message.parsed.sender
            signature = extract_signature(
                message.parsed.body,
                sender=sender,
                country_hint=country_from_domain(addresses.domain_of(sender.email)),
                with_phones=needs_phones,
            )
            record = records[message.key]
            for name, value in zip(
                _FILLED, (signature.title, signature.linkedin, signature.twitter), strict=True
            ):
                limit = Contact._meta.get_field(name).max_length
                if value and not getattr(contact, name) and len(value) <= limit:
                    setattr(contact, name, value)
                    filled.append(
                        FilledField(contact=contact, field=name, value=value, message=record)
                    )
                    changed_contacts.add(contact_id)
            if signature.phones and needs_phones:
                for number in signature.phones:
                    kind = (
                        ContactPhone.Kind.MOBILE
                        if number == signature.mobile
                        else ContactPhone.Kind.WORK
                    )
                    phones.append(ContactPhone(contact=contact, number=number, kind=kind))
                    filled.append(
                        FilledField(contact=contact, field="phone", value=number, message=record)
                    )
            if (
                placeholder
                and signature.website
                and signature.website != company.website
                and _same_site(company, signature)
            ):
                filled.append(
                    FilledField(
                        company=company,
                        field="website",
                        value=signature.website,
                        previous=company.website,
                        message=record,
                    )
                )
                company.website = signature.website
        now = timezone.now()
        for name in _FILLED:
            update_by_pk(
                Contact, name, [(f.contact_id, f.value) for f in filled if f.field == name]
            )
        update_by_pk(Contact, "updated_at", [(pk, now) for pk in sorted(changed_contacts)])
        websites = [(f.company_id, f.value) for f in filled if f.field == "website"]
        update_by_pk(Company, "website", websites)
        update_by_pk(Company, "updated_at", [(company_id, now) for company_id, _ in websites])
        ContactPhone.objects.bulk_create(phones)
        FilledField.objects.bulk_create(filled)
        self.outcome.fields_filled += len(filled)


def _same_site(company: Company, signature) -> bool:
    """A signature's website fills the company's only when it is on the company's domain."""
    host = signature.website.split("//", 1)[-1].split("/", 1)[0]
    return bool(company.domain) and addresses.registered_domain(host) == company.domain


def _created_entries(user: User, records: list, *, via: str) -> list[AuditEntry]:
    entries = [
        audit_entry(
            actor=user,
            instance=record,
            action=AuditEntry.Action.CREATE,
            extra={"via": f"{via} capture"},
        )
        for record in records
    ]
    return [entry for entry in entries if entry is not None]


def company_name(domain: str) -> str:
    """`acme-tools.co.uk` → "Acme Tools": a readable name until someone types the real one."""
    label = domain.split(".", 1)[0]
    words = label.replace("_", "-").split("-")
    return " ".join(word.capitalize() for word in words if word) or domain


def person_name(address: Address) -> tuple[str, str]:
    """First and last name from the display name ("Doe, Jane", "Jane Doe"), else from the
    address (jane.doe@ → Jane Doe)."""
    name = " ".join(address.name.replace('"', " ").split())
    if name and "@" not in name:
        if "," in name:
            last, first = (part.strip() for part in name.split(",", 1))
            return first, last
        parts = name.split(" ")
        return (" ".join(parts[:-1]), parts[-1]) if len(parts) > 1 else (parts[0], "")
    local = address.email.split("@", 1)[0].split("+", 1)[0]
    pieces = [p for p in local.replace("_", ".").replace("-", ".").split(".") if p]
    if len(pieces) >= 2 and all(p.isalpha() for p in pieces):
        return " ".join(p.capitalize() for p in pieces[:-1]), pieces[-1].capitalize()
    return "", address.email.lower()
