"""The Python-built <select> is the HTML Django's templates write."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.test.html import parse_html

from salesdesk.core.renderers import FormRenderer


class Sample(forms.Form):
    plain = forms.ChoiceField(choices=[("", "Any"), ("1", "Ann & <Bob>"), ("2", 'Say "hi"')])
    grouped = forms.ChoiceField(
        choices=[("Years", [("fy2026", "FY 2026")]), ("Months", [("2026-11", "Nov 2026")])],
        required=False,
    )
    many = forms.MultipleChoiceField(choices=[(1, "One"), (2, "Two"), (3, "Three")])
    typed = forms.TypedChoiceField(choices=[(None, "—"), (7, "Seven")], coerce=int)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"plain": "1", "grouped": "2026-11", "many": ["1", "3"], "typed": "7"},
        {"plain": "<script>", "many": ["9"]},
    ],
)
@pytest.mark.parametrize("field", ["plain", "grouped", "many", "typed"])
def test_select_is_the_html_of_djangos_templates(data, field):
    def html(renderer):
        form = Sample(data or None, renderer=renderer)
        widget = form.fields[field].widget
        widget.attrs.update({"class": "form-select", "data-x": 'a"b', "disabled": False})
        return str(form[field])

    fast, django = html(FormRenderer()), html(DjangoTemplates())

    assert parse_html(fast) == parse_html(django)
    assert fast.count("<option") == django.count("<option") > 0


def test_the_project_uses_it(settings):
    assert settings.FORM_RENDERER == "salesdesk.core.renderers.FormRenderer"
    assert 'value="1" selected' in str(Sample({"plain": "1"})["plain"])
