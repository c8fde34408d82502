"""Forms of the capture pages. The services decide what is valid; these turn text into values."""

from django import forms

from salesdesk.accounts.forms import Styled
from salesdesk.capture.models import Mailbox
from salesdesk.capture.services import FIRST_SYNC_DAYS, INTERVALS, MailboxFields


def _interval_label(minutes: int) -> str:
    if minutes < 60:
        return f"Every {minutes} minutes"
    if minutes == 60:
        return "Every hour"
    if minutes < 1440:
        return f"Every {minutes // 60} hours"
    return "Once a day"


def _days_label(days: int) -> str:
    return {30: "The last 30 days", 90: "The last 90 days", 365: "The last year"}.get(
        days, f"The last {days // 365} years"
    )


class MailboxForm(Styled, forms.Form):
    host = forms.CharField(
        label="IMAP server",
        max_length=253,
        help_text="For example imap.gmail.com, outlook.office365.com or imap.example.com.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    security = forms.ChoiceField(label="Security", choices=Mailbox.Security.choices)
    port = forms.IntegerField(
        label="Port",
        min_value=1,
        max_value=65535,
        initial=993,
        help_text="993 with SSL/TLS, 143 with STARTTLS.",
    )
    username = forms.CharField(
        label="Username",
        max_length=254,
        help_text="Usually your e-mail address.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label="Password",
        max_length=500,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Saved encrypted and never shown again. Providers with two-step sign-in "
        "(Google, Microsoft, Apple) need an app password.",
    )
    interval_minutes = forms.TypedChoiceField(
        label="Sync",
        coerce=int,
        initial=5,
        choices=[(minutes, _interval_label(minutes)) for minutes in INTERVALS],
    )
    first_sync_days = forms.TypedChoiceField(
        label="Capture mail from",
        coerce=int,
        empty_value=None,
        required=False,
        initial=365,
        choices=[*((days, _days_label(days)) for days in FIRST_SYNC_DAYS), ("", "All of it")],
        help_text="How far back the first sync reads; later syncs read only new mail.",
    )

    def __init__(self, *args, mailbox: Mailbox | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.mailbox = mailbox
        if mailbox is not None:
            # The password stays as saved unless a new one is typed; the window of the first
            # sync is history once the mailbox exists.
            del self.fields["first_sync_days"]
            self.fields["password"].required = False
            self.fields["password"].help_text = "Leave empty to keep the saved password."

    def mailbox_fields(self) -> MailboxFields:
        data = self.cleaned_data
        return MailboxFields(
            host=data["host"],
            port=data["port"],
            security=data["security"],
            username=data["username"],
            interval_minutes=data["interval_minutes"],
            first_sync_days=data.get("first_sync_days"),
        )


class EmailTextForm(forms.Form):
    email_text_shared = forms.TypedChoiceField(
        label="Who reads the text of the e-mails captured from your mailboxes",
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        choices=[
            ("1", "Everyone who sees the contact, company or deal reads the whole e-mail"),
            ("0", "Only I do: others see that an e-mail was exchanged (date, people, subject)"),
        ],
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if not data and self.required:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)]


class CaptureUploadForm(Styled, forms.Form):
    files = MultipleFileField(
        label="Mail or calendar files",
        help_text="An mbox archive (Thunderbird, Apple Mail, Google Takeout), .eml messages or "
        ".ics calendars, up to 200 MB each. They are captured as your mail: the same message "
        "twice is captured once.",
        widget=MultipleFileInput(attrs={"accept": ".mbox,.mbx,.eml,.ics,.ical,.txt"}),
    )
