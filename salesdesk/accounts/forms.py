"""Forms of the account pages and the admin settings. Services stay the authority on rules;
these forms turn text into values and catch mistakes early, next to the field."""

import calendar
import zoneinfo
from decimal import Decimal
from functools import cache

from django import forms
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm, SetPasswordForm

from salesdesk.accounts.models import LOCALES, OrganizationSettings, Role, Team, User
from salesdesk.core.errors import ValidationFailed
from salesdesk.crm.normalize import normalize_domain

COMMON_TIMEZONES = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Madrid",
    "Europe/Amsterdam",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
]


@cache
def timezone_choices() -> list:
    """Common zones first, then every IANA zone alphabetically (one list, read once)."""
    everything = sorted(zoneinfo.available_timezones())
    common = [(name, name) for name in COMMON_TIMEZONES if name in everything]
    return [
        ("Common", common),
        ("All time zones", [(name, name) for name in everything]),
    ]


class Styled:
    """Bootstrap classes on every widget, and `is-invalid` on fields with errors.

    Django itself adds aria-invalid and aria-describedby="<id>_error" to fields with errors;
    the field template renders the matching ids.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def add_error(self, field, error):
        super().add_error(field, error)
        for name in self._errors:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()


class StyledForm(Styled, forms.Form):
    pass


def model_choice(queryset, *, required=False, empty_label="—", label=""):
    return forms.ModelChoiceField(
        queryset=queryset, required=required, empty_label=empty_label, label=label
    )


# --- Account -------------------------------------------------------------------------------


class ProfileForm(StyledForm):
    full_name = forms.CharField(label="Full name", max_length=150, required=False)
    timezone = forms.ChoiceField(
        label="Time zone", help_text="Dates and times are shown in this time zone."
    )
    locale = forms.ChoiceField(
        label="Date and number format",
        choices=LOCALES,
        help_text="How dates and numbers are written, e.g. 31/12/2025 or 12/31/2025.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = timezone_choices()


class TokenForm(StyledForm):
    name = forms.CharField(
        label="Token name",
        max_length=100,
        help_text="Say where it is used, e.g. “Zapier” or “Reporting script”.",
    )


class PasswordChange(Styled, PasswordChangeForm):
    pass


class SetPassword(Styled, SetPasswordForm):
    pass


class PasswordReset(Styled, PasswordResetForm):
    """Invited users who never chose a password may also ask for a link."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].label = "E-mail"
        self.fields["email"].widget.attrs["autofocus"] = True

    def get_users(self, email):
        return User._default_manager.filter(email__iexact=email.strip(), is_active=True)


# --- Users and teams -----------------------------------------------------------------------


class UserInviteForm(StyledForm):
    email = forms.EmailField(label="E-mail", max_length=254)
    full_name = forms.CharField(label="Full name", max_length=150, required=False)
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.REP)
    team = model_choice(Team.objects.order_by("name"), label="Team", empty_label="No team")


class UserEditForm(StyledForm):
    full_name = forms.CharField(label="Full name", max_length=150, required=False)
    role = forms.ChoiceField(label="Role", choices=Role.choices)
    team = model_choice(Team.objects.order_by("name"), label="Team", empty_label="No team")


class DeactivateForm(StyledForm):
    reassign_to = model_choice(
        User.objects.none(),
        label="Give their records to",
        empty_label="Nobody: keep them with this user",
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["reassign_to"]
        field.queryset = User.objects.filter(is_active=True).exclude(pk=user.pk)
        field.help_text = "Their companies, contacts, open deals and open tasks move to this user."


class ReassignForm(DeactivateForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["reassign_to"]
        field.required = True
        field.empty_label = "Pick a user"


class TeamForm(StyledForm):
    name = forms.CharField(label="Name", max_length=100)
    manager = model_choice(
        User.objects.filter(is_active=True).order_by("full_name", "email"),
        label="Manager",
        empty_label="No manager",
    )


# --- Organization --------------------------------------------------------------------------


class OrganizationForm(StyledForm):
    name = forms.CharField(label="Organization name", max_length=150)
    fiscal_year_start_month = forms.TypedChoiceField(
        label="Fiscal year starts in",
        coerce=int,
        choices=[(n, calendar.month_name[n]) for n in range(1, 13)],
        help_text="Quarters and yearly goals follow the fiscal year.",
    )
    internal_domains = forms.CharField(
        label="Internal e-mail domains",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line. Mail from these domains is from colleagues, not customers.",
    )
    reps_see_all = forms.BooleanField(
        label="Reps and SDRs see every record, not only their own", required=False
    )
    capture_mode = forms.ChoiceField(
        label="New people found in e-mail", choices=OrganizationSettings.CaptureMode.choices
    )
    follow_up_days = forms.IntegerField(
        label="Follow-up reminder after (days)",
        min_value=1,
        max_value=365,
        help_text="An e-mail sent to a customer with no answer for this many days (no e-mail, "
        "call or meeting since) becomes a follow-up task for its sender.",
    )
    timezone = forms.ChoiceField(
        label="Reporting time zone",
        help_text="Months, quarters and fiscal years start at midnight in this time zone.",
    )
    pipeline_coverage_target = forms.DecimalField(
        label="Pipeline coverage target (times the goal left)",
        min_value=Decimal("0.1"),
        max_value=Decimal("99"),
        decimal_places=1,
        help_text="Goals warn when the open pipeline expected in the period is less than this "
        "many times the amount still to reach.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = timezone_choices()

    def clean_internal_domains(self) -> list[str]:
        domains, wrong = [], []
        for line in self.cleaned_data["internal_domains"].splitlines():
            if not line.strip():
                continue
            try:
                domains.append(normalize_domain(line))
            except ValidationFailed:
                wrong.append(line.strip())
        if wrong:
            raise forms.ValidationError(
                "Not a domain: %(wrong)s. Enter domains such as example.com, one per line.",
                params={"wrong": ", ".join(wrong)},
            )
        return domains


# --- Pipelines, stages, lists, rates -------------------------------------------------------


class PipelineForm(StyledForm):
    name = forms.CharField(label="Name", max_length=100)
    is_default = forms.BooleanField(label="Default pipeline for new deals", required=False)


class StageForm(StyledForm):
    name = forms.CharField(label="Name", max_length=100)
    probability = forms.IntegerField(
        label="Probability (%)",
        min_value=0,
        max_value=100,
        initial=0,
        help_text="Chance that a deal in this stage is won, 0 to 100.",
    )
    stale_after_days = forms.IntegerField(
        label="Stale after (days)",
        min_value=1,
        max_value=3650,
        required=False,
        help_text="Leave empty if deals never go stale in this stage.",
    )


class NameForm(StyledForm):
    name = forms.CharField(label="Name", max_length=100)


class CurrencyRateForm(StyledForm):
    currency = forms.CharField(
        label="Currency",
        min_length=3,
        max_length=3,
        help_text="Three-letter ISO code, e.g. USD.",
    )
    rate = forms.DecimalField(
        label="Rate",
        min_value=0,
        max_digits=18,
        decimal_places=8,
        help_text="What one unit of this currency is worth in the base currency.",
    )

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()
