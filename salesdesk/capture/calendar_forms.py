"""The form of connected calendars. The services decide what is valid."""

from django import forms

from salesdesk.accounts.forms import Styled
from salesdesk.capture.calendar_services import CalendarFields
from salesdesk.capture.forms import _interval_label
from salesdesk.capture.models import CalendarConnection
from salesdesk.capture.services import INTERVALS


class CalendarForm(Styled, forms.Form):
    """Connect a calendar, or (with `connection`) change one: then the kind is fixed, and an
    empty address or password keeps the saved one."""

    kind = forms.ChoiceField(
        label="Kind",
        choices=[
            ("ics", "ICS feed (Google, Outlook, iCloud: a calendar's iCal address)"),
            ("caldav", "CalDAV account (iCloud, Fastmail, Nextcloud, …)"),
        ],
        initial="ics",
    )
    url = forms.CharField(
        label="Address",
        max_length=2000,
        help_text="Google: Settings → your calendar → Secret address in iCal format. Outlook: "
        "Settings → Calendar → Shared calendars → Publish a calendar → ICS. For CalDAV: the "
        "server's address, such as https://caldav.fastmail.com/.",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "inputmode": "url"}
        ),
    )
    username = forms.CharField(
        label="Username",
        max_length=254,
        required=False,
        help_text="For CalDAV, and for feeds behind a password; empty for Google and Outlook "
        "feeds.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label="Password",
        max_length=500,
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Saved encrypted and never shown again (iCloud and Fastmail: an app password).",
    )
    name = forms.CharField(
        label="Name",
        max_length=100,
        required=False,
        help_text="Optional, to tell your calendars apart.",
    )
    interval_minutes = forms.TypedChoiceField(
        label="Sync",
        coerce=int,
        initial=15,
        choices=[(minutes, _interval_label(minutes)) for minutes in INTERVALS],
    )
    calendars = forms.MultipleChoiceField(
        label="Calendars to sync",
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        help_text="None ticked: all of them.",
    )

    def __init__(self, *args, connection: CalendarConnection | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.connection = connection
        if connection is None:
            del self.fields["calendars"]
            return
        del self.fields["kind"]
        self.fields["url"].required = False
        if connection.kind == CalendarConnection.Kind.ICS:
            self.fields["url"].help_text = (
                "Leave empty to keep the saved address (it is not shown again: it is the key "
                "to your calendar)."
            )
            del self.fields["calendars"]
        else:
            self.fields["url"].help_text = "The CalDAV server's address."
            self.fields["calendars"].choices = [
                (item["url"], item["name"]) for item in connection.available_calendars
            ]
        self.fields["password"].help_text = "Leave empty to keep the saved password."

    def calendar_fields(self) -> CalendarFields:
        data = self.cleaned_data
        kind = self.connection.kind if self.connection else data["kind"]
        return CalendarFields(
            kind=kind,
            url=data["url"],
            username=data["username"],
            name=data["name"],
            interval_minutes=data["interval_minutes"],
            calendars=data.get("calendars") if "calendars" in self.fields else None,
        )
