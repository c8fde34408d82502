"""The form renderer: Django's, with the <select> built in Python.

Django renders a select through a template per option (`select_option.html` and
`attrs.html`), about 70 µs an option: the dashboards' filters (200 reps, 25 teams, 40 periods)
spent 15 to 20 ms of each page there. `FormRenderer` writes the same HTML directly, for
selects that use Django's own templates; any other template, or a select with a template of
its own, goes through the template engine as before.
"""

from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe

SELECT = "django/forms/widgets/select.html"
OPTION = "django/forms/widgets/select_option.html"


def _attrs(attrs: dict) -> str:
    """As django/forms/widgets/attrs.html: False drops an attribute, True writes its name."""
    return "".join(
        f" {name}" if value is True else f' {name}="{conditional_escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def render_select(widget: dict) -> str:
    parts = [format_html('<select name="{}"', widget["name"]), _attrs(widget["attrs"]), ">"]
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(format_html('\n  <optgroup label="{}">', group_name))
        for option in options:
            if option["template_name"] != OPTION:
                return None  # a custom option template: let the engine render it all
            parts.append(
                format_html(
                    '\n  <option value="{}"{}>{}</option>',
                    option["value"],
                    mark_safe(_attrs(option["attrs"])),  # noqa: S308 (escaped in _attrs)
                    option["label"],
                )
            )
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return mark_safe("".join(parts))  # noqa: S308 (every part escaped above)


class FormRenderer(DjangoTemplates):
    def render(self, template_name, context, request=None):
        if template_name == SELECT and "widget" in context:
            html = render_select(context["widget"])
            if html is not None:
                return html
        return super().render(template_name, context, request=request)
