import datetime
import re

from django import forms

from salesdesk.activities.models import Activity
from salesdesk.crm.forms import StyledForm
from salesdesk.goals.fields import PeriodField
from salesdesk.goals.models import Goal
from salesdesk.goals.periods import Period, period_parse
from salesdesk.goals.selectors import goal_owner_choices

RAMP_HELP = (
    "For a new hire: the percent of the full target that counts in each month from the ramp "
    "start, e.g. 25, 50, 75. Later months count in full."
)
RAMP_ERROR = "Write whole percents from 0 to 100 separated by commas, e.g. 25, 50, 75."
MONTH = re.compile(r"^(\d{4})-(\d{1,2})(?:-01)?$")


class MonthInput(forms.TextInput):
    input_type = "month"


def parse_ramp(text: str) -> list[int]:
    """ "25, 50, 75" (or "25 50 75%") → [25, 50, 75]; ValidationError on anything else."""
    words = [word for word in re.split(r"[\s,;/]+", (text or "").replace("%", " ")) if word]
    if not all(word.isdigit() and int(word) <= 100 for word in words):
        raise forms.ValidationError(RAMP_ERROR)
    if len(words) > 24:
        raise forms.ValidationError("A ramp lasts at most 24 months.")
    return [int(word) for word in words]


def parse_month(text: str) -> datetime.date | None:
    text = (text or "").strip()
    if not text:
        return None
    match = MONTH.match(text)
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        raise forms.ValidationError("Pick a month (YYYY-MM).")
    return datetime.date(int(match[1]), int(match[2]), 1)


class GoalForm(StyledForm):
    """A goal; the owner is chosen when it is set and stays afterwards."""

    owner = forms.ChoiceField(label="For")
    period = PeriodField(label="Period")
    metric = forms.ChoiceField(label="Measure", choices=Goal.Metric.choices)
    activity_kind = forms.ChoiceField(
        label="Activity kind",
        required=False,
        choices=[("", "All kinds"), *Activity.Kind.choices],
        help_text="Only for an activities goal.",
    )
    target = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text="Won revenue in the base currency, or a number of deals or activities. "
        "Leave a team's target empty to add up its members' goals.",
    )
    ramp = forms.CharField(
        required=False, max_length=200, label="Ramp (% per month)", help_text=RAMP_HELP
    )
    ramp_start = forms.CharField(
        required=False,
        max_length=10,
        label="Ramp starts in",
        widget=MonthInput(attrs={"placeholder": "YYYY-MM"}),
        help_text="The first month of the ramp (YYYY-MM).",
    )

    def __init__(self, *args, actor, current: Period, goal: Goal | None = None, **kwargs):
        self.goal = goal
        self.fiscal_start_month = current.fiscal_start_month
        initial = kwargs.setdefault("initial", {})
        keep = None
        if goal is not None:
            keep = Period(goal.period_kind, goal.period_start, self.fiscal_start_month)
            initial.update(
                period=keep.key,
                metric=goal.metric,
                activity_kind=goal.activity_kind,
                target=goal.target,
                ramp=", ".join(str(p) for p in goal.ramp),
                ramp_start=f"{goal.ramp_start:%Y-%m}" if goal.ramp_start else "",
            )
        else:
            initial.setdefault("period", current.key)
            try:
                keep = period_parse(initial["period"], self.fiscal_start_month)
            except ValueError:
                initial["period"] = current.key
        super().__init__(*args, **kwargs)
        self.fields["period"].around(current, selected=keep)
        if goal is not None:
            del self.fields["owner"]
        else:
            teams, users = goal_owner_choices(actor)
            self.teams = {team.pk: team for team in teams}
            self.users = {user.pk: user for user in users}
            self.fields["owner"].choices = [
                ("", "Pick a rep or a team"),
                ("Teams", [(f"team:{pk}", str(team)) for pk, team in self.teams.items()]),
                ("Reps", [(f"user:{pk}", str(user)) for pk, user in self.users.items()]),
            ]

    def clean_owner(self):
        kind, _, pk = self.cleaned_data["owner"].partition(":")
        found = {"team": self.teams, "user": self.users}.get(kind, {}).get(int(pk or 0))
        if found is None:
            raise forms.ValidationError("Pick a rep or a team.")
        return {kind: found}

    def clean_ramp(self):
        return parse_ramp(self.cleaned_data["ramp"])

    def clean_ramp_start(self):
        return parse_month(self.cleaned_data["ramp_start"])

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        period = data["period"]
        arguments = {
            "period_kind": period.kind,
            "period_start": period.start,
            "metric": data["metric"],
            "activity_kind": data["activity_kind"] or "",
            "target": data["target"],
            "ramp": data["ramp"],
            "ramp_start": data["ramp_start"],
        }
        if self.goal is None:
            arguments.update(data["owner"])
        return arguments


# Field names of the services' errors, as this form calls them.
SERVICE_FIELDS = {
    "period_start": "period",
    "period_kind": "period",
    "user": "owner",
    "team": "owner",
}
