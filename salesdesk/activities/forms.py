import datetime

from django import forms
from django.utils import timezone

from salesdesk.accounts import visibility
from salesdesk.accounts.models import User
from salesdesk.activities.models import Activity
from salesdesk.core.widgets import PickerField, keeping
from salesdesk.crm.forms import StyledForm, company_picker
from salesdesk.crm.models import Company, Contact
from salesdesk.pipeline.forms import contact_label
from salesdesk.pipeline.models import Deal

MAX_MINUTES = 7 * 24 * 60
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"

# Which fields each quick action on a record page shows; the full form shows them all.
QUICK_FIELDS = {
    Activity.Kind.CALL: ("direction", "subject", "body", "duration_minutes", "occurred_at"),
    Activity.Kind.NOTE: ("body",),
    Activity.Kind.TASK: ("subject", "due_at"),
}
QUICK_TITLES = {
    Activity.Kind.CALL: "Log a call",
    Activity.Kind.NOTE: "Add a note",
    Activity.Kind.TASK: "Schedule a task",
}
LINKS = ("company", "contact", "deal")


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=LOCAL_FORMAT)


class ActivityForm(StyledForm):
    """An activity; with `quick=<kind>` only that kind's few fields show (record pages).

    The linked company, contact and deal must be visible to the user.
    """

    kind = forms.ChoiceField(choices=Activity.Kind.choices)
    subject = forms.CharField(max_length=255, required=False)
    body = forms.CharField(
        required=False, max_length=100_000, widget=forms.Textarea(attrs={"rows": 3})
    )
    direction = forms.ChoiceField(choices=Activity.Direction.choices, required=False)
    occurred_at = forms.DateTimeField(required=False, label="When", widget=LocalDateTimeInput)
    due_at = forms.DateTimeField(required=False, label="Due", widget=LocalDateTimeInput)
    duration_minutes = forms.IntegerField(
        required=False, min_value=0, max_value=MAX_MINUTES, label="Duration (minutes)"
    )
    company = company_picker(placeholder="Type a company name")
    contact = PickerField(
        Contact.objects.none(),
        source="/pick/contacts/",
        noun="contact",
        required=False,
        placeholder="Type a name",
    )
    deal = PickerField(
        Deal.objects.none(),
        source="/pick/deals/",
        noun="deal",
        required=False,
        placeholder="Type a deal title",
    )

    def __init__(self, *args, user, quick: str | None = None, activity=None, **kwargs):
        self.quick = quick
        self.activity = activity
        initial = kwargs.setdefault("initial", {})
        if activity is not None:
            contacts = list(activity.contacts.all())
            initial.update(
                kind=activity.kind,
                subject=activity.subject,
                body=activity.body,
                direction=activity.direction,
                occurred_at=timezone.localtime(activity.occurred_at),
                due_at=timezone.localtime(activity.due_at) if activity.due_at else None,
                duration_minutes=(
                    int(activity.duration.total_seconds() // 60) if activity.duration else None
                ),
                company=activity.company_id,
                contact=contacts[0].pk if contacts else None,
                deal=activity.deal_id,
            )
            linked = {name: initial[name] for name in LINKS}
        else:
            initial.setdefault("occurred_at", timezone.localtime().replace(second=0, microsecond=0))
            if quick:
                initial["kind"] = quick
            linked = {}
        super().__init__(*args, **kwargs)
        # The links an activity has stay, even to records the user cannot see.
        self.fields["company"].queryset = keeping(
            visibility.scope(user, Company.objects.all()), [linked.get("company")]
        )
        self.fields["contact"].queryset = keeping(
            visibility.scope(user, Contact.objects.select_related("company")),
            [linked.get("contact")],
        )
        self.fields["contact"].label_from_instance = contact_label
        self.fields["deal"].queryset = keeping(
            visibility.scope(user, Deal.objects.all()), [linked.get("deal")]
        )
        if activity is not None and visibility.is_email_text_hidden(user, activity):
            # Its owner keeps the text private: it is neither shown nor changed here, and the
            # e-mail stays an e-mail (another kind would show the text to everyone).
            del self.fields["body"]
            self.fields["kind"].choices = [(activity.kind, activity.get_kind_display())]
        if quick:
            self.fields["kind"].widget = forms.HiddenInput()
            for name in LINKS:
                self.fields[name].widget = forms.HiddenInput()
            for name in list(self.fields):
                if name not in ("kind", *LINKS, *QUICK_FIELDS[quick]):
                    del self.fields[name]
            self.fields["kind"].choices = [(quick, quick)]
            if quick == Activity.Kind.CALL:
                self.fields["body"].label = "Notes"
            if quick == Activity.Kind.NOTE:
                self.fields["body"].label = "Note"
        self.style_widgets()

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == Activity.Kind.NOTE and not (data.get("body") or "").strip():
            self.add_error("body", "Write the note.")
        if kind == Activity.Kind.TASK:
            if not (data.get("subject") or "").strip():
                self.add_error("subject", "Say what is to be done.")
            if "due_at" in self.fields and not data.get("due_at"):
                self.add_error("due_at", "Pick when it is due.")
        return data

    def service_arguments(self) -> dict:
        """Fields for activity_create/activity_update (contacts only when the contact changes)."""
        data = self.cleaned_data
        arguments = {"kind": data["kind"]}
        for name in ("subject", "body", "direction"):
            if name in self.fields:
                arguments[name] = data[name] or ""
        if "occurred_at" in self.fields and data.get("occurred_at"):
            arguments["occurred_at"] = data["occurred_at"]
        elif self.activity is None:
            arguments["occurred_at"] = timezone.now()
        if "due_at" in self.fields:
            arguments["due_at"] = data["due_at"]
        if "duration_minutes" in self.fields:
            minutes = data["duration_minutes"]
            arguments["duration"] = (
                datetime.timedelta(minutes=minutes) if minutes is not None else None
            )
        arguments["company"] = data["company"]
        arguments["deal"] = data["deal"]
        if self.activity is None or "contact" in self.changed_data:
            arguments["contacts"] = [data["contact"]] if data["contact"] else []
        return arguments


class ActivityFilterForm(StyledForm):
    STATUS_CHOICES = [("", "Open and done"), ("open", "Open"), ("done", "Done")]

    q = forms.CharField(required=False, max_length=200, label="Subject or text")
    kind = forms.ChoiceField(choices=[("", "Any kind"), *Activity.Kind.choices], required=False)
    owner = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True), required=False, empty_label="Anyone"
    )
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)
    occurred_after = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    occurred_before = forms.DateField(
        required=False, label="Until", widget=forms.DateInput(attrs={"type": "date"})
    )

    def selector_filters(self) -> dict:
        self.is_valid()
        data = self.cleaned_data
        filters = {
            "q": (data.get("q") or "").strip() or None,
            "kind": data.get("kind") or None,
            "owner_id": data["owner"].pk if data.get("owner") else None,
            "is_done": {"open": False, "done": True}.get(data.get("status") or ""),
        }
        if data.get("occurred_after"):
            filters["occurred_after"] = _start_of(data["occurred_after"])
        if data.get("occurred_before"):
            filters["occurred_before"] = _start_of(
                data["occurred_before"] + datetime.timedelta(days=1)
            )
        return {key: value for key, value in filters.items() if value is not None}


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
