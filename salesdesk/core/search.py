"""The global search box: a few visible companies, contacts and deals matching what was typed."""

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, Subquery

from salesdesk.accounts import visibility
from salesdesk.crm.models import Company, Contact, ContactEmail, ContactPhone
from salesdesk.pipeline.models import Deal

MIN_LENGTH = 2
LIMIT = 5


@dataclass
class SearchResults:
    companies: list = field(default_factory=list)
    contacts: list = field(default_factory=list)
    deals: list = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.companies or self.contacts or self.deals)


def search(*, actor, q: str, limit: int = LIMIT) -> SearchResults:
    """Companies by name or domain, contacts by name, e-mail or phone, deals by title.

    Three queries whatever the data; every word of a contact search must match somewhere.
    """
    q = (q or "").strip()
    if len(q) < MIN_LENGTH:
        return SearchResults()
    companies = (
        visibility.scope(actor, Company.objects.all())
        .filter(Q(name__icontains=q) | Q(domain__icontains=q))
        .only("pk", "name", "domain", "owner_id")
        .order_by("name", "pk")[:limit]
    )
    contacts = visibility.scope(actor, Contact.objects.all())
    for word in q.split()[:5]:
        contacts = contacts.filter(
            Q(first_name__icontains=word)
            | Q(last_name__icontains=word)
            | Exists(ContactEmail.objects.filter(contact=OuterRef("pk"), email__icontains=word))
            | Exists(ContactPhone.objects.filter(contact=OuterRef("pk"), number__icontains=word))
        )
    primary_email = ContactEmail.objects.filter(contact=OuterRef("pk")).order_by(
        "-is_primary", "id"
    )
    contacts = contacts.annotate(email=Subquery(primary_email.values("email")[:1])).order_by(
        "last_name", "first_name", "pk"
    )[:limit]
    deals = (
        visibility.scope(actor, Deal.objects.all())
        .filter(title__icontains=q)
        .select_related("stage")
        .order_by("-pk")[:limit]
    )
    return SearchResults(companies=list(companies), contacts=list(contacts), deals=list(deals))
