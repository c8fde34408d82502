"""Pickers: a type-ahead in place of a <select> of every company, contact or deal.

A select lists every record the user may see, which is thousands of options in a real
organization. A picker renders only the chosen records; typing asks a /pick/… endpoint for a
few matches (salesdesk/core/pickers.py, static/salesdesk/picker.js). The fields are Django's
model choice fields, so a posted id is still checked against the visible queryset: an unknown
or invisible id is a field error, like a choice that is not in a select.
"""

from collections.abc import Iterable

from django import forms
from django.db.models import Model, QuerySet
from django.template.loader import get_template
from django.utils.safestring import mark_safe

MAX_CHOSEN = 100  # ids looked up to show the chosen records; more is not a real form


def _ids(value) -> list[str]:
    """The chosen ids as strings: from a posted value, an initial id, a record or lists of them."""
    if value is None or value == "":
        return []
    values = value if isinstance(value, list | tuple) else [value]
    ids = []
    for item in values:
        text = str(item.pk if isinstance(item, Model) else item).strip()
        if text and text not in ids:
            ids.append(text)
    return ids


class PickerInput(forms.Widget):
    """A text box with a list of matches under it; hidden inputs carry the chosen ids.

    `source` is the URL that answers `?q=` with options (includes/picker.html#options).
    The field sets `choices` (a ModelChoiceIterator): only its queryset and labels are used,
    never iterated.
    """

    template_name = "includes/picker.html"

    def __init__(self, attrs=None, *, source: str, multiple: bool = False, placeholder: str = ""):
        super().__init__(attrs)
        self.source = source
        self.allow_multiple_selected = multiple
        self.placeholder = placeholder
        self.choices = None

    def value_from_datadict(self, data, files, name):
        if self.allow_multiple_selected:
            return data.getlist(name) if hasattr(data, "getlist") else data.get(name)
        return data.get(name)

    def value_omitted_from_data(self, data, files, name) -> bool:
        # An empty multiple choice posts nothing at all, like a <select multiple>.
        return False if self.allow_multiple_selected else name not in data

    def format_value(self, value) -> list[str]:
        return _ids(value)

    def chosen(self, ids: list[str]) -> list[dict]:
        """The visible records among `ids`, in that order, with their labels (one query)."""
        numbers = [int(pk) for pk in ids[:MAX_CHOSEN] if pk.isdigit() and len(pk) < 19]
        if not numbers or self.choices is None:
            return []
        field = self.choices.field
        records = field.queryset.filter(pk__in=numbers).in_bulk()
        return [
            {"value": str(pk), "label": field.label_from_instance(records[pk])}
            for pk in numbers
            if pk in records
        ]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        chosen = self.chosen(widget["value"])
        widget.update(
            source=self.source,
            multiple=self.allow_multiple_selected,
            placeholder=self.placeholder,
            chosen=chosen,
            text="" if self.allow_multiple_selected or not chosen else chosen[0]["label"],
        )
        return context

    def _render(self, template_name, context, renderer=None):
        # The project's template engine (with salesdesk/templates and partials), not the
        # form renderer's, which only knows Django's own widget templates.
        return mark_safe(get_template(template_name).render(context))  # noqa: S308


def keeping(queryset: QuerySet, current: Iterable[int | None]) -> QuerySet:
    """`queryset` (what the user may choose) plus the records `current` already links to.

    Editing a record must not drop a link the user cannot see, such as another rep's company on
    their own deal: that one stays valid and shows in the picker, while no other invisible
    record becomes choosable.
    """
    ids = [pk for pk in current if pk is not None]
    if not ids:
        return queryset
    return queryset | queryset.model._default_manager.filter(pk__in=ids)


def _messages(noun: str) -> dict:
    wrong = f"Choose a {noun} from the list; that one cannot be found."
    return {"invalid_choice": wrong, "invalid_pk_value": wrong, "invalid_list": wrong}


class PickerField(forms.ModelChoiceField):
    """One record, picked by typing. `noun` names it in errors ("company")."""

    def __init__(self, queryset, *, source: str, noun: str, placeholder: str = "", **kwargs):
        kwargs.setdefault("widget", PickerInput(source=source, placeholder=placeholder))
        kwargs["error_messages"] = {**_messages(noun), **kwargs.get("error_messages", {})}
        super().__init__(queryset, empty_label=None, **kwargs)

    def to_python(self, value):
        # Ids too long for a bigint would make PostgreSQL fail rather than find nothing.
        if isinstance(value, str) and len(value.strip()) > 18:
            raise forms.ValidationError(self.error_messages["invalid_choice"], "invalid_choice")
        return super().to_python(value)


class PickerMultipleField(forms.ModelMultipleChoiceField):
    """Several records, picked one after the other; each shows as a chip with a remove button."""

    def __init__(self, queryset, *, source: str, noun: str, placeholder: str = "", **kwargs):
        kwargs.setdefault(
            "widget", PickerInput(source=source, multiple=True, placeholder=placeholder)
        )
        kwargs["error_messages"] = {**_messages(noun), **kwargs.get("error_messages", {})}
        super().__init__(queryset, **kwargs)

    def _check_values(self, value):
        if any(len(str(pk).strip()) > 18 for pk in value):
            raise forms.ValidationError(self.error_messages["invalid_choice"], "invalid_choice")
        return super()._check_values(value)
