"""Forms of the deal screens and the board. They parse input; services decide what is allowed."""

from django import forms

from salesdesk.accounts import visibility
from salesdesk.accounts.models import Team, User
from salesdesk.core.money import MAX_AMOUNT
from salesdesk.core.widgets import PickerField, PickerMultipleField, keeping
from salesdesk.crm.models import Company, Contact, Tag
from salesdesk.crm.selectors import tag_choices
from salesdesk.pipeline.models import Deal, LeadSource, LostReason, Pipeline, Stage


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class StyledForm(forms.Form):
    """Bootstrap classes on the widgets; crm/_field.html renders label, widget, help and errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.HiddenInput):
                continue
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs.setdefault("class", css)


def _stage_choices(stages) -> list:
    """Stages grouped by pipeline (optgroups), so the stage list reads well with many pipelines."""
    groups: dict[str, list] = {}
    for stage in stages:
        groups.setdefault(stage.pipeline.name, []).append((stage.pk, stage.name))
    return [("", "First stage"), *groups.items()]


def contact_label(contact: Contact) -> str:
    """A contact's name with its company, so that two people of one name can be told apart."""
    name = contact.full_name or "(no name)"
    return f"{name} ({contact.company.name})" if contact.company else name


class DealForm(StyledForm):
    title = forms.CharField(max_length=200)
    company = PickerField(
        Company.objects.none(),
        source="/pick/companies/",
        noun="company",
        required=False,
        placeholder="Type a company name",
    )
    contacts = PickerMultipleField(
        Contact.objects.none(),
        source="/pick/contacts/",
        noun="contact",
        required=False,
        placeholder="Type a name to add a contact",
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Nobody (shared pool)"
    )
    pipeline = forms.ModelChoiceField(queryset=Pipeline.objects.all(), empty_label=None)
    stage = forms.TypedChoiceField(choices=(), coerce=int, required=False, empty_value=None)
    amount = forms.DecimalField(
        min_value=0, max_value=MAX_AMOUNT, max_digits=14, decimal_places=2, initial=0
    )
    currency = forms.CharField(
        min_length=3,
        max_length=3,
        help_text="Three-letter code such as EUR.",
        widget=forms.TextInput(attrs={"autocapitalize": "characters", "size": 4}),
    )
    expected_close = forms.DateField(required=False, widget=DateInput())
    lead_source = forms.ModelChoiceField(
        queryset=LeadSource.objects.filter(is_active=True), required=False, empty_label="—"
    )
    forecast_category = forms.ChoiceField(
        label="Forecast category",
        choices=[
            (value, label)
            for value, label in Deal.ForecastCategory.choices
            if value != Deal.ForecastCategory.CLOSED
        ],
        initial=Deal.ForecastCategory.PIPELINE,
        required=False,
        help_text="Commit: you are sure it closes as expected. Best case: it could.",
    )
    next_step = forms.CharField(max_length=255, required=False)
    next_step_due = forms.DateField(required=False, widget=DateInput())
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.all(), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, actor: User, deal: Deal | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.deal = deal
        self.fields["tags"].queryset = tag_choices(keep=self.initial.get("tags", ()))
        # A deal keeps its company and contacts even where the actor cannot see them.
        self.fields["company"].queryset = keeping(
            visibility.scope(actor, Company.objects.order_by("name")),
            [deal.company_id] if deal is not None else [],
        )
        contacts = visibility.scope(
            actor, Contact.objects.select_related("company").order_by("last_name", "first_name")
        )
        self.fields["contacts"].queryset = keeping(
            contacts, [contact.pk for contact in deal.contacts.all()] if deal is not None else []
        )
        self.fields["contacts"].label_from_instance = contact_label
        assignable = [
            user.pk
            for user in User.objects.filter(is_active=True)
            if visibility.can_assign_to(actor, user)
        ]
        if deal is not None and deal.owner_id:
            assignable.append(deal.owner_id)  # keep the current owner choosable
        self.fields["owner"].queryset = User.objects.filter(pk__in=assignable)
        self.fields["owner"].label_from_instance = lambda user: user.get_full_name()
        if deal is None:
            self.stages = list(
                Stage.objects.select_related("pipeline").order_by(
                    "pipeline__name", "position", "id"
                )
            )
            self.fields["stage"].choices = _stage_choices(self.stages)
            self.fields["stage"].help_text = "Leave as is to start in the pipeline's first stage."
        else:
            del self.fields["stage"]
            if deal.status != Deal.Status.OPEN:
                del self.fields["forecast_category"]  # "closed" follows from winning or losing
            self.fields[
                "pipeline"
            ].help_text = "Changing the pipeline puts the deal in that pipeline's first stage."

    def clean_forecast_category(self) -> str:
        """Left out of the post (an older form, a script): the deal keeps its category."""
        if self.cleaned_data.get("forecast_category"):
            return self.cleaned_data["forecast_category"]
        return self.deal.forecast_category if self.deal else Deal.ForecastCategory.PIPELINE

    def clean_currency(self) -> str:
        code = self.cleaned_data["currency"].strip().upper()
        if not (code.isascii() and code.isalpha()):
            raise forms.ValidationError("Use a three-letter code such as EUR.")
        return code

    def clean_stage(self) -> Stage | None:
        stage_id = self.cleaned_data.get("stage")
        if stage_id is None:
            return None
        return next(stage for stage in self.stages if stage.pk == stage_id)

    def clean(self):
        data = super().clean()
        stage, pipeline = data.get("stage"), data.get("pipeline")
        if stage is not None and pipeline is not None and stage.pipeline_id != pipeline.pk:
            self.add_error("stage", f"Pick a stage of the pipeline {pipeline}.")
        return data


class DealFilterForm(StyledForm):
    """The filters of the deal list; every field is optional and bad input is simply ignored."""

    q = forms.CharField(required=False, label="Search", max_length=200)
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="All")
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, empty_label="All")
    pipeline = forms.ModelChoiceField(
        queryset=Pipeline.objects.all(), required=False, empty_label="All"
    )
    stage = forms.ModelChoiceField(
        queryset=Stage.objects.select_related("pipeline").order_by(
            "pipeline__name", "position", "id"
        ),
        required=False,
        empty_label="All",
    )
    status = forms.ChoiceField(choices=[("", "All"), *Deal.Status.choices], required=False)
    lead_source = forms.ModelChoiceField(
        queryset=LeadSource.objects.all(), required=False, empty_label="All"
    )
    tag = forms.ModelChoiceField(queryset=Tag.objects.all(), required=False, empty_label="All")
    close_from = forms.DateField(required=False, label="Expected close from", widget=DateInput())
    close_to = forms.DateField(required=False, label="Expected close to", widget=DateInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True)
        self.fields["owner"].label_from_instance = lambda user: user.get_full_name()
        self.fields["tag"].queryset = tag_choices(keep=[self.data.get("tag", "")])
        self.fields["stage"].label_from_instance = lambda stage: f"{stage.pipeline} · {stage}"

    def selector_filters(self) -> dict:
        """Keyword arguments for selectors.deal_list (and the CSV export) from the valid fields."""
        data = self.cleaned_data if self.is_valid() else {}
        records = {
            "owner_id": data.get("owner"),
            "team_id": data.get("team"),
            "pipeline_id": data.get("pipeline"),
            "stage_id": data.get("stage"),
            "lead_source_id": data.get("lead_source"),
            "tag_id": data.get("tag"),
        }
        filters = {key: record.pk for key, record in records.items() if record is not None}
        if data.get("q"):
            filters["q"] = data["q"].strip()
        if data.get("status"):
            filters["status"] = data["status"]
        if data.get("close_from"):
            filters["expected_close_after"] = data["close_from"]
        if data.get("close_to"):
            filters["expected_close_before"] = data["close_to"]
        return filters


class MoveForm(StyledForm):
    stage = forms.ModelChoiceField(
        queryset=Stage.objects.none(),
        error_messages={"invalid_choice": "Pick a stage of this deal's pipeline."},
    )

    def __init__(self, *args, deal: Deal, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["stage"].queryset = Stage.objects.filter(pipeline_id=deal.pipeline_id)


class LoseForm(StyledForm):
    lost_reason = forms.ModelChoiceField(
        queryset=LostReason.objects.filter(is_active=True),
        label="Reason",
        empty_label="Pick a reason…",
        error_messages={"required": "Say why the deal was lost."},
    )
    note = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class NextStepForm(StyledForm):
    next_step = forms.CharField(max_length=255, required=False)
    next_step_due = forms.DateField(required=False, label="Due", widget=DateInput())


class BoardFilterForm(StyledForm):
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="All")
    team = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, empty_label="All")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True)
        self.fields["owner"].label_from_instance = lambda user: user.get_full_name()
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-select form-select-sm"

    def selector_filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "owner_id": data["owner"].pk if data.get("owner") else None,
            "team_id": data["team"].pk if data.get("team") else None,
        }
