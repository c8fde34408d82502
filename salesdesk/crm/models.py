from django.conf import settings
from django.db import models
from django.db.models import Case, F, Value, When
from django.db.models.functions import Concat, Left, Lower, Replace, StrIndex, Substr
from django.db.models.lookups import GreaterThan, In


class Tag(models.Model):
    name = models.CharField(max_length=50, unique=True)
    color = models.CharField(max_length=7, default="#6c757d")
    # A deactivated tag stays on the records that have it but is no longer offered in forms.
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Company(models.Model):
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, blank=True, help_text="e.g. example.com")
    industry = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 alpha-2 code")
    region = models.CharField(max_length=100, blank=True)
    size = models.PositiveIntegerField(null=True, blank=True, help_text="number of employees")
    website = models.URLField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="companies",
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="companies")
    last_interaction_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"
        constraints = [
            models.UniqueConstraint(
                Lower("domain"), condition=~models.Q(domain=""), name="company_domain_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "name"], name="company_owner_idx"),
            models.Index(Lower("name"), name="company_name_ci_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=150, blank=True)
    linkedin_url = models.URLField(blank=True, verbose_name="LinkedIn")
    twitter_url = models.URLField(blank=True, verbose_name="X / Twitter")
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contacts",
    )
    source = models.CharField(max_length=50, blank=True)
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")
    last_interaction_at = models.DateTimeField(null=True, blank=True)
    next_meeting_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(fields=["owner", "last_name"], name="contact_owner_idx"),
            models.Index(fields=["company"], name="contact_company_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(first_name="", last_name=""), name="contact_has_name"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


def _address_key():
    """The address as mail capture matches it (`capture.addresses.normalize`), computed by the
    database on every insert, whatever wrote the row: the local part without a `+tag` (after at
    least one character), and for Gmail without dots and with googlemail.com read as gmail.com.
    `email` is stored lower-case."""
    email = F("email")
    at = StrIndex(email, Value("@"))
    local = Left(email, at - 1)
    domain = Substr(email, at + 1)
    plus = StrIndex(local, Value("+"))
    bare = Case(When(GreaterThan(plus, 1), then=Left(local, plus - 1)), default=local)
    return Case(
        When(
            In(domain, ["gmail.com", "googlemail.com"]),
            then=Concat(Replace(bare, Value("."), Value("")), Value("@gmail.com")),
        ),
        default=Concat(bare, Value("@"), domain),
        output_field=models.CharField(max_length=254),
    )


class ContactEmail(models.Model):
    """An e-mail address belongs to exactly one contact; stored lower-case."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails")
    email = models.EmailField(max_length=254, unique=True)
    is_primary = models.BooleanField(default=False)
    # What mail capture matches on (bob+crm@acme.com and bob@acme.com are one person).
    match_key = models.GeneratedField(
        expression=_address_key(),
        output_field=models.CharField(max_length=254),
        db_persist=True,
    )

    class Meta:
        ordering = ["-is_primary", "id"]
        indexes = [models.Index(fields=["match_key"], name="contactemail_match_idx")]

    def __str__(self) -> str:
        return self.email


class ContactPhone(models.Model):
    class Kind(models.TextChoices):
        WORK = "work"
        MOBILE = "mobile"
        HOME = "home"
        OTHER = "other"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(max_length=40)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.WORK)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["number"], name="contact_phone_idx")]

    def __str__(self) -> str:
        return self.number


class SavedView(models.Model):
    """A user's named set of list filters (the list page's query string), shown as a quick link."""

    class Entity(models.TextChoices):
        COMPANIES = "companies"
        CONTACTS = "contacts"
        DEALS = "deals"
        ACTIVITIES = "activities"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    entity = models.CharField(max_length=20, choices=Entity.choices)
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "entity", "name"], name="saved_view_name_unique"
            ),
        ]

    def __str__(self) -> str:
        return self.name
