"""What import rows refer to, loaded once per import so 10,000 rows do not mean 10,000 queries.

Existing companies, contacts and deals are loaded for the values that occur in the file only,
in chunks, and always through `accounts.visibility`: a row may update a record the importing
user can change, link to one they can see, and learns nothing about the others.

Secondary maps hold primary keys; `instances` holds the record. A row works on a copy and
`keep()`s it only once its savepoint has committed, so a failed row leaves no trace here.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Model, QuerySet, Value
from django.db.models.functions import Concat, Lower, Trim

from salesdesk.accounts import visibility
from salesdesk.accounts.models import User
from salesdesk.crm.models import Company, Contact, ContactEmail, ContactPhone, Tag
from salesdesk.pipeline.models import Deal, LeadSource, LostReason, Pipeline, Stage

CHUNK = 500  # values per IN (…) query, well below every database's parameter limit


def chunks(values: Iterable, size: int = CHUNK):
    items = list(values)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def name_key(text: str) -> str:
    return " ".join(text.split()).lower()


class _Index:
    """Records of one model loaded for this import, and which of them the actor may change."""

    model: type[Model]

    def __init__(self, actor):
        self.actor = actor
        self.instances: dict[int, Model] = {}
        self.tag_ids: dict[int, set[int]] = {}
        self.visible: set[int] = set()
        self.changeable: set[int] = set()

    def _queryset(self) -> QuerySet:
        return self.model.objects.all()

    def _load(self, queryset: QuerySet, *, scoped: bool = True) -> None:
        """Load records (only visible ones when `scoped`) and note which the actor may change."""
        if scoped:
            queryset = visibility.scope(self.actor, queryset)
        new = [record for record in queryset if record.pk not in self.instances]
        for record in new:
            self.instances[record.pk] = record
            self.tag_ids[record.pk] = set()
        for ids in chunks(record.pk for record in new):
            base = self.model.objects.filter(pk__in=ids)
            self.visible.update(
                ids if scoped else visibility.scope(self.actor, base).values_list("pk", flat=True)
            )
            self.changeable.update(
                visibility.scope(self.actor, base, for_change=True).values_list("pk", flat=True)
            )
            for pk, tag_id in self._related(self.model.tags.through, "tag_id", ids):
                self.tag_ids[pk].add(tag_id)
            self._load_related(ids)
        for record in new:
            self._file(record)

    def _related(self, model: type[Model], value: str, ids: list[int]):
        """(record id, value) pairs of a table pointing at this model, e.g. tag links."""
        column = f"{self.model._meta.model_name}_id"
        return model.objects.filter(**{f"{column}__in": ids}).values_list(column, value)

    def _load_related(self, ids: list[int]) -> None:
        """Load what else rows compare against, for these records."""

    def _file(self, record: Model) -> None:
        """Enter the record in the secondary maps."""

    def load_ids(self, ids: Iterable[int]) -> None:
        for chunk in chunks(set(ids) - set(self.instances)):
            self._load(self._queryset().filter(pk__in=chunk))

    def by_id(self, pk: int) -> Model | None:
        return self.instances.get(pk) if pk in self.visible else None

    def keep(self, record: Model, *, tag_ids: Iterable[int] = ()) -> None:
        """Remember a record created or changed by a row that has committed."""
        if record.pk not in self.instances:
            self.visible.add(record.pk)
            self.changeable.add(record.pk)
        self.instances[record.pk] = record
        self.tag_ids.setdefault(record.pk, set()).update(tag_ids)
        self._file(record)


class Companies(_Index):
    model = Company

    def __init__(self, actor):
        super().__init__(actor)
        self.by_domain: dict[str, int] = {}  # every company: domains are unique for all
        self.by_name: dict[str, list[int]] = defaultdict(list)  # visible ones, oldest first
        self._keys: dict[int, tuple[str, str]] = {}

    def load(self, *, ids=(), domains=(), names=()) -> None:
        self.load_ids(ids)
        for chunk in chunks(set(domains)):
            self._load(
                self._queryset().annotate(key=Lower("domain")).filter(key__in=chunk), scoped=False
            )
        for chunk in chunks({name_key(name) for name in names if name}):
            self._load(self._queryset().annotate(key=Lower("name")).filter(key__in=chunk))

    def _file(self, company: Company) -> None:
        old_name, old_domain = self._keys.get(company.pk, ("", ""))
        name, domain = name_key(company.name), company.domain.lower()
        if old_name != name and company.pk in self.by_name.get(old_name, ()):
            self.by_name[old_name].remove(company.pk)
        if old_domain != domain and self.by_domain.get(old_domain) == company.pk:
            del self.by_domain[old_domain]
        if domain:
            self.by_domain[domain] = company.pk
        if company.pk not in self.by_name[name]:
            self.by_name[name].append(company.pk)
            self.by_name[name].sort()
        self._keys[company.pk] = (name, domain)

    def named(self, name: str) -> list[int]:
        """Visible companies of that name, oldest first (invisible ones are only loaded to
        know their domains)."""
        return [pk for pk in self.by_name.get(name_key(name), ()) if pk in self.visible]


class Contacts(_Index):
    model = Contact

    def __init__(self, actor):
        super().__init__(actor)
        self.email_owner: dict[str, int] = {}  # address → contact id, for every contact
        self.emails: dict[int, list[str]] = {}  # contact id → its addresses
        self.phones: dict[int, set[str]] = {}
        self.by_name: dict[str, list[int]] = defaultdict(list)
        self._keys: dict[int, str] = {}

    def _load_related(self, ids: list[int]) -> None:
        for pk in ids:
            self.emails[pk], self.phones[pk] = [], set()
        emails = self._related(ContactEmail, "email", ids).order_by("-is_primary", "id")
        for pk, email in emails:
            self.emails[pk].append(email)
            self.email_owner[email] = pk
        for pk, number in self._related(ContactPhone, "number", ids):
            self.phones[pk].add(number)

    def _file(self, contact: Contact) -> None:
        old, name = self._keys.get(contact.pk, ""), name_key(contact.full_name)
        if old != name and contact.pk in self.by_name.get(old, ()):
            self.by_name[old].remove(contact.pk)
        if contact.pk not in self.by_name[name]:
            self.by_name[name].append(contact.pk)
            self.by_name[name].sort()
        self._keys[contact.pk] = name

    def load(self, *, ids=(), emails=(), names=()) -> None:
        self.load_ids(ids)
        owners: set[int] = set()
        for chunk in chunks(set(emails)):
            found = ContactEmail.objects.filter(email__in=chunk).values_list("email", "contact_id")
            for email, contact_id in found:
                self.email_owner[email] = contact_id
                owners.add(contact_id)
        for chunk in chunks(owners - set(self.instances)):
            self._load(self._queryset().filter(pk__in=chunk), scoped=False)
        full_name = Lower(Trim(Concat("first_name", Value(" "), "last_name")))
        for chunk in chunks({name_key(name) for name in names if name}):
            self._load(self._queryset().annotate(key=full_name).filter(key__in=chunk))

    def named(self, name: str) -> list[int]:
        return [pk for pk in self.by_name.get(name_key(name), ()) if pk in self.visible]

    def keep(self, record, *, tag_ids=(), emails=(), phones=()) -> None:
        super().keep(record, tag_ids=tag_ids)
        known = self.emails.setdefault(record.pk, [])
        known += [email for email in emails if email not in known]
        self.phones.setdefault(record.pk, set()).update(phones)
        for email in emails:
            self.email_owner[email] = record.pk


class Deals(_Index):
    model = Deal

    def __init__(self, actor):
        super().__init__(actor)
        self.by_key: dict[tuple[str, int | None], list[int]] = defaultdict(list)
        self.contact_ids: dict[int, set[int]] = {}
        self._keys: dict[int, tuple[str, int | None]] = {}

    def _load_related(self, ids: list[int]) -> None:
        for pk in ids:
            self.contact_ids[pk] = set()
        for pk, contact_id in self._related(Deal.contacts.through, "contact_id", ids):
            self.contact_ids[pk].add(contact_id)

    def _file(self, deal: Deal) -> None:
        old, key = self._keys.get(deal.pk), (name_key(deal.title), deal.company_id)
        if old is not None and old != key and deal.pk in self.by_key.get(old, ()):
            self.by_key[old].remove(deal.pk)
        if deal.pk not in self.by_key[key]:
            self.by_key[key].append(deal.pk)
            self.by_key[key].sort()
        self._keys[deal.pk] = key

    def load(self, *, ids=(), titles=()) -> None:
        self.load_ids(ids)
        for chunk in chunks({name_key(title) for title in titles if title}):
            self._load(self._queryset().annotate(key=Lower("title")).filter(key__in=chunk))

    def keep(self, record, *, tag_ids=(), contact_ids=()) -> None:
        super().keep(record, tag_ids=tag_ids)
        self.contact_ids.setdefault(record.pk, set()).update(contact_ids)


class Named:
    """Users, tags, lead sources, lost reasons, pipelines and stages: small tables, all loaded."""

    def __init__(self):
        self.users_by_email: dict[str, User] = {}
        self.users_by_name: dict[str, list[User]] = defaultdict(list)
        for user in User.objects.all():
            self.users_by_email[user.email.lower()] = user
            self.users_by_name[name_key(user.full_name)].append(user)
        self.tags = {name_key(t.name): t for t in Tag.objects.all()}
        self.lead_sources = {name_key(s.name): s for s in LeadSource.objects.all()}
        self.lost_reasons = {name_key(r.name): r for r in LostReason.objects.all()}
        self.pipelines = {name_key(p.name): p for p in Pipeline.objects.all()}
        self.default_pipeline = next(
            (p for p in self.pipelines.values() if p.is_default), None
        ) or min(self.pipelines.values(), key=lambda p: p.name, default=None)
        self.stages: dict[int, list[Stage]] = defaultdict(list)
        for stage in Stage.objects.order_by("position", "id"):
            self.stages[stage.pipeline_id].append(stage)
