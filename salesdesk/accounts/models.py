import zoneinfo
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone as django_timezone

from salesdesk.core.models import currency_code


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            f"Unknown time zone {value!r}; use an IANA name such as Europe/Berlin."
        )


LOCALES = [
    ("en-gb", "English (UK)"),
    ("en-us", "English (US)"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("es", "Español"),
    ("nl", "Nederlands"),
]


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    REP = "rep", "Account executive"
    SDR = "sdr", "Sales development rep"


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    manager = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_teams",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields):
        if not email:
            raise ValueError("A user needs an e-mail address.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username: str):
        # E-mail addresses are stored lower-case; sign-in accepts any spelling of them.
        return self.get(email__iexact=(username or "").strip())

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.setdefault("role", Role.ADMIN)
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.REP)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    locale = models.CharField(
        max_length=10,
        choices=LOCALES,
        default="en-gb",
        db_default="en-gb",
        help_text="How dates and numbers are written for this user.",
    )
    # Captured e-mails: whether others who see the record read their text, or only that an
    # e-mail was exchanged (date, participants, subject). accounts.visibility applies it.
    email_text_shared = models.BooleanField(
        default=True,
        db_default=True,
        verbose_name="Teammates read my captured e-mails",
    )
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=django_timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name", "email"]
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.email.strip().lower()

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return (self.full_name or self.email).split(" ")[0]

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER


class OrganizationSettings(models.Model):
    """The one row of organization-wide settings (primary key 1)."""

    class CaptureMode(models.TextChoices):
        AUTO = "auto", "Create contacts automatically"
        SUGGEST = "suggest", "Suggest contacts for review"

    name = models.CharField(max_length=150, default="My company")
    base_currency = models.CharField(max_length=3, default="EUR", validators=[currency_code])
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    internal_domains = models.JSONField(default=list, blank=True)
    reps_see_all = models.BooleanField(
        default=False, help_text="Reps and SDRs see every record, not only their own."
    )
    capture_mode = models.CharField(
        max_length=10, choices=CaptureMode.choices, default=CaptureMode.AUTO
    )
    follow_up_days = models.PositiveSmallIntegerField(default=7)
    timezone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text="Months, quarters and fiscal years start at midnight in this time zone.",
    )
    pipeline_coverage_target = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        default=Decimal("3.0"),
        validators=[MinValueValidator(Decimal("0.1")), MaxValueValidator(Decimal("99"))],
        help_text="Warn when open pipeline expected in a period is less than this many times "
        "the goal still to reach.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "organization settings"
        verbose_name_plural = "organization settings"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(id=1), name="organization_settings_singleton"
            ),
            models.CheckConstraint(
                condition=models.Q(fiscal_year_start_month__gte=1, fiscal_year_start_month__lte=12),
                name="fiscal_year_start_month_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def get(cls) -> "OrganizationSettings":
        settings, _ = cls.objects.get_or_create(pk=1)
        return settings


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the token is shown once at creation."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)  # shown in lists to tell tokens apart
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
