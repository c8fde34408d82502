import datetime

from django import forms
from django.db.models import Q
from django.utils import timezone

from salesdesk.accounts import visibility
from salesdesk.accounts.models import Team, User
from salesdesk.core.errors import ApplicationError
from salesdesk.core.web import add_application_error
from salesdesk.core.widgets import PickerField, keeping
from salesdesk.crm.models import Company, Contact, ContactPhone, SavedView, Tag
from salesdesk.crm.selectors import tag_choices


def _start_of(day: datetime.date) -> datetime.datetime:
    """Midnight of `day` in the user's time zone (activated by the middleware)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def assignable_owners(user, current: User | None = None):
    """Users `user` may give a record to, plus the record's current owner (kept as is)."""
    if user.is_admin:
        condition = Q(is_active=True)
    else:
        candidates = User.objects.filter(is_active=True).only("pk", "team_id", "is_active")
        condition = Q(pk__in=[u.pk for u in candidates if visibility.can_assign_to(user, u)])
    if current is not None:
        condition |= Q(pk=current.pk)
    return User.objects.filter(condition).order_by("full_name", "email")


class DateInput(forms.DateInput):
    input_type = "date"


class StyledForm(forms.Form):
    """Gives widgets Bootstrap's classes; crm/_field.html renders label, widget and errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style_widgets()

    def style_widgets(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.HiddenInput | forms.CheckboxSelectMultiple):
                continue
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs.setdefault("class", css)


class ListFilterForm(StyledForm):
    """Filters shared by the company and contact lists; `selector_filters` feeds the selector."""

    q = forms.CharField(required=False, max_length=200, label="Search")
    owner = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True), required=False, empty_label="Any owner"
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(), required=False, empty_label="Any team"
    )
    tag = forms.ModelChoiceField(queryset=Tag.objects.all(), required=False, empty_label="Any tag")
    created_after = forms.DateField(required=False, label="Created from", widget=DateInput)
    created_before = forms.DateField(required=False, label="Created until", widget=DateInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].queryset = tag_choices(keep=[self.data.get("tag", "")])

    def clean(self):
        data = super().clean()
        start, end = data.get("created_after"), data.get("created_before")
        if start and end and end < start:
            self.add_error("created_before", "Pick a day on or after the start.")
        return data

    def selector_filters(self) -> dict:
        """Selector keyword arguments of the valid fields; invalid ones are shown, not applied."""
        self.is_valid()
        data = self.cleaned_data
        filters = {
            "q": (data.get("q") or "").strip() or None,
            "owner_id": data["owner"].pk if data.get("owner") else None,
            "team_id": data["team"].pk if data.get("team") else None,
            "tag_id": data["tag"].pk if data.get("tag") else None,
        }
        if data.get("created_after"):
            filters["created_after"] = _start_of(data["created_after"])
        if data.get("created_before"):
            day_after = data["created_before"] + datetime.timedelta(days=1)
            filters["created_before"] = _start_of(day_after)
        return {key: value for key, value in filters.items() if value is not None}


class CompanyFilterForm(ListFilterForm):
    industry = forms.CharField(required=False, max_length=100)
    country = forms.CharField(
        required=False,
        max_length=2,
        label="Country code",
        widget=forms.TextInput(attrs={"placeholder": "e.g. DE"}),
    )

    field_order = ["q", "owner", "team", "tag", "industry", "country"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].label = "Name or domain"

    def selector_filters(self) -> dict:
        filters = super().selector_filters()
        for field in ("industry", "country"):
            value = (self.cleaned_data.get(field) or "").strip()
            if value:
                filters[field] = value
        return filters


def company_picker(**kwargs) -> PickerField:
    """A company chosen by typing its name; the form sets the visible queryset."""
    return PickerField(
        Company.objects.none(),
        source="/pick/companies/",
        noun="company",
        required=False,
        **kwargs,
    )


class ContactFilterForm(ListFilterForm):
    company = company_picker(placeholder="Any company")

    field_order = ["q", "owner", "team", "tag", "company"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].label = "Name, e-mail or phone"
        self.fields["company"].queryset = visibility.scope(user, Company.objects.all()).only(
            "pk", "name"
        )

    def selector_filters(self) -> dict:
        filters = super().selector_filters()
        if self.cleaned_data.get("company"):
            filters["company_id"] = self.cleaned_data["company"].pk
        return filters


class SavedViewForm(StyledForm):
    entity = forms.ChoiceField(choices=SavedView.Entity.choices, widget=forms.HiddenInput)
    name = forms.CharField(max_length=60, label="Name of this view")
    query = forms.CharField(max_length=2000, required=False, widget=forms.HiddenInput)


class CompanyForm(StyledForm):
    name = forms.CharField(max_length=200)
    domain = forms.CharField(max_length=253, required=False, help_text="e.g. example.com")
    website = forms.CharField(max_length=200, required=False)
    industry = forms.CharField(max_length=100, required=False)
    country = forms.CharField(max_length=2, required=False, help_text="Two-letter code, e.g. DE")
    region = forms.CharField(max_length=100, required=False)
    size = forms.IntegerField(min_value=0, max_value=10_000_000, required=False, label="Employees")
    phone = forms.CharField(max_length=40, required=False)
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Nobody (shared)"
    )
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )

    TEXT_FIELDS = ("name", "domain", "website", "industry", "country", "region", "phone")

    def __init__(self, *args, user, company: Company | None = None, **kwargs):
        self.company = company
        if company is not None:
            kwargs.setdefault("initial", {})
            kwargs["initial"].update(
                {field: getattr(company, field) for field in (*self.TEXT_FIELDS, "size")}
            )
            kwargs["initial"]["owner"] = company.owner_id
            kwargs["initial"]["tags"] = [tag.pk for tag in company.tags.all()]
        else:
            kwargs.setdefault("initial", {}).setdefault("owner", user.pk)
        super().__init__(*args, **kwargs)
        self.fields["tags"].queryset = tag_choices(keep=self.initial.get("tags", ()))
        self.fields["owner"].queryset = assignable_owners(
            user, company.owner if company is not None else None
        )

    def service_arguments(self) -> dict:
        """What to hand company_create/company_update; the owner only when it changes."""
        arguments = {field: self.cleaned_data[field] for field in self.TEXT_FIELDS}
        arguments["size"] = self.cleaned_data["size"]
        arguments["tags"] = list(self.cleaned_data["tags"])
        if self.company is None or "owner" in self.changed_data:
            arguments["owner"] = self.cleaned_data["owner"]
        return arguments


class ContactForm(StyledForm):
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    title = forms.CharField(max_length=150, required=False, label="Job title")
    company = company_picker(placeholder="Type a company name")
    email = forms.EmailField(required=False, label="E-mail")
    email_2 = forms.EmailField(required=False, label="Second e-mail")
    phone = forms.CharField(max_length=40, required=False)
    phone_kind = forms.ChoiceField(
        choices=ContactPhone.Kind.choices, required=False, label="Phone type"
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Nobody (shared)"
    )
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )
    source = forms.CharField(max_length=50, required=False)

    field_order = [
        "first_name", "last_name", "title", "company", "email", "email_2", "phone",
        "phone_kind", "owner", "source", "tags",
    ]  # fmt: skip

    def __init__(self, *args, user, contact: Contact | None = None, **kwargs):
        self.contact = contact
        initial = kwargs.setdefault("initial", {})
        if contact is not None:
            emails = [email.email for email in contact.emails.all()]
            phones = list(contact.phones.all())
            initial.update(
                first_name=contact.first_name,
                last_name=contact.last_name,
                title=contact.title,
                company=contact.company_id,
                email=emails[0] if emails else "",
                email_2=emails[1] if len(emails) > 1 else "",
                phone=phones[0].number if phones else "",
                phone_kind=phones[0].kind if phones else ContactPhone.Kind.WORK,
                owner=contact.owner_id,
                tags=[tag.pk for tag in contact.tags.all()],
                source=contact.source,
            )
            self._emails, self._phones = emails, phones
        else:
            initial.setdefault("owner", user.pk)
            self._emails, self._phones = [], []
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = keeping(
            visibility.scope(user, Company.objects.all()).only("pk", "name"),
            [contact.company_id] if contact is not None else [],
        )
        self.fields["tags"].queryset = tag_choices(keep=self.initial.get("tags", ()))
        self.fields["owner"].queryset = assignable_owners(
            user, contact.owner if contact is not None else None
        )

    def clean(self):
        data = super().clean()
        if not (data.get("first_name") or "").strip() and not (data.get("last_name") or "").strip():
            self.add_error("last_name", "Give a first or last name.")
        if data.get("email_2") and not data.get("email"):
            self.add_error("email", "Give the main e-mail first.")
        elif (
            data.get("email")
            and data.get("email", "").lower() == (data.get("email_2") or "").lower()
        ):
            self.add_error("email_2", "This is the same as the main e-mail.")
        return data

    def service_arguments(self) -> dict:
        """What to hand contact_create/contact_update: e-mails and phones only when they change.

        Addresses and phones beyond the ones this form shows are kept.
        """
        data = self.cleaned_data
        arguments = {field: data[field] for field in ("first_name", "last_name", "title", "source")}
        arguments["company"] = data["company"]
        arguments["tags"] = list(data["tags"])
        if self.contact is None or "owner" in self.changed_data:
            arguments["owner"] = data["owner"]
        if self.contact is None or {"email", "email_2"} & set(self.changed_data):
            shown = [data["email"], data["email_2"]]
            arguments["emails"] = [email for email in shown if email] + self._emails[2:]
        if self.contact is None or {"phone", "phone_kind"} & set(self.changed_data):
            rest = [{"number": p.number, "kind": p.kind} for p in self._phones[1:]]
            first = (
                [{"number": data["phone"], "kind": data["phone_kind"] or "work"}]
                if data["phone"].strip()
                else []
            )
            arguments["phones"] = first + rest
        return arguments

    def place_error(self, error: ApplicationError) -> None:
        """Put an e-mail clash next to the address that clashes; other errors as usual."""
        if "emails" in error.fields:
            for field in ("email", "email_2"):
                value = (self.cleaned_data.get(field) or "").lower()
                if value and value in error.message.lower():
                    self.add_error(field, error.fields["emails"])
                    return
            self.add_error("email", error.fields["emails"])
            return
        if "phones" in error.fields:
            self.add_error("phone", error.fields["phones"])
            return
        add_application_error(self, error)
