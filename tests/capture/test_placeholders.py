"""Placeholders: an allow-list replaced as plain text, never a template language."""

import pytest

from salesdesk.capture import placeholders
from tests.factories import CompanyFactory, ContactEmailFactory, ContactFactory, UserFactory

KNOWN = (
    "The placeholders are {{ contact.first_name }}, {{ contact.last_name }}, "
    "{{ contact.full_name }}, {{ contact.title }}, {{ contact.email }}, {{ company.name }}, "
    "{{ company.website }}, {{ deal.title }}, {{ deal.stage }}, {{ me.first_name }}, "
    "{{ me.full_name }}, {{ me.email }}."
)


def test_known_placeholders_are_replaced_with_or_without_spaces():
    text = "Hi {{contact.first_name}}, {{ company.name }} and {{  me.full_name  }}."

    rendered = placeholders.render(
        text, {"contact.first_name": "Ada", "company.name": "Globex", "me.full_name": "Alice"}
    )

    assert rendered == "Hi Ada, Globex and Alice."
    assert placeholders.problems(text) == []
    assert placeholders.used(text) == ["contact.first_name", "company.name", "me.full_name"]


def test_a_missing_value_leaves_the_placeholder_empty():
    assert placeholders.render("Dear {{ contact.title }} Ada", {}) == "Dear  Ada"


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("Hi {{ contact.nickname }}", [f"Unknown placeholder {{{{ contact.nickname }}}}. {KNOWN}"]),
        (
            "{{ a }} {{ contact.secret|upper }} {{ a }}",
            [f"Unknown placeholders {{{{ a }}}} and {{{{ contact.secret|upper }}}}. {KNOWN}"],
        ),
        ("Hi {{ contact.first_name", ["A placeholder opened with {{ is not closed with }}."]),
        (
            "{% load static %}{{ settings.SECRET_KEY }}",
            [f"Unknown placeholder {{{{ settings.SECRET_KEY }}}}. {KNOWN}"],
        ),
    ],
)
def test_anything_else_is_a_problem_that_names_it(text, problems):
    assert placeholders.problems(text) == problems


def test_template_syntax_is_never_run():
    text = "{% for x in y %}{{ x }}{% endfor %} {{ contact.first_name.upper }}"

    assert placeholders.render(text, {"contact.first_name": "Ada"}) == text


def test_values_come_from_the_records_and_only_what_is_there(db):
    me = UserFactory(full_name="Alice East", email="alice@salesdesk.test")
    company = CompanyFactory(name="Globex", website="https://globex.com/")
    contact = ContactFactory(first_name="Ada", last_name="Lovelace", title="", company=company)
    ContactEmailFactory(contact=contact, email="ada@globex.com")

    values = placeholders.values_for(me=me, contact=contact, company=company)

    assert values == {
        "me.first_name": "Alice",
        "me.full_name": "Alice East",
        "me.email": "alice@salesdesk.test",
        "contact.first_name": "Ada",
        "contact.last_name": "Lovelace",
        "contact.full_name": "Ada Lovelace",
        "contact.email": "ada@globex.com",
        "company.name": "Globex",
        "company.website": "https://globex.com/",
    }
