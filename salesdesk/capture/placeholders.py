"""Placeholders in e-mail templates and messages: `{{ contact.first_name }}` and a few more.

They are replaced by plain text with one regular expression, never by Django's template engine:
text a user wrote must not reach tags, filters or attribute lookups. Only the names of
PLACEHOLDERS exist; anything else between `{{` and `}}`, or a `{{` never closed, is an error that
names it. Values are plain text too: the HTML part of a message escapes everything after the
substitution.
"""

import re

# name → what it stands for (shown next to the template form)
PLACEHOLDERS = {
    "contact.first_name": "the contact's first name",
    "contact.last_name": "the contact's last name",
    "contact.full_name": "the contact's full name",
    "contact.title": "the contact's job title",
    "contact.email": "the contact's e-mail address",
    "company.name": "the company's name",
    "company.website": "the company's website",
    "deal.title": "the deal's title",
    "deal.stage": "the deal's stage",
    "me.first_name": "your first name",
    "me.full_name": "your full name",
    "me.email": "your e-mail address",
}

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


def _tag(name: str) -> str:
    return "{{ " + name + " }}"


def problems(text: str) -> list[str]:
    """What is wrong with the placeholders of `text`, as sentences; [] when nothing is."""
    unknown = []
    for match in _PLACEHOLDER.finditer(text):
        name = match.group(1)
        if name not in PLACEHOLDERS and _tag(name) not in unknown:
            unknown.append(_tag(name))
    found = []
    if unknown:
        known = ", ".join(_tag(name) for name in PLACEHOLDERS)
        listed = " and ".join(
            [", ".join(unknown[:-1]), unknown[-1]] if len(unknown) > 1 else unknown
        )
        word = "placeholders" if len(unknown) > 1 else "placeholder"
        found.append(f"Unknown {word} {listed}. The placeholders are {known}.")
    if "{{" in _PLACEHOLDER.sub("", text):
        found.append("A placeholder opened with {{ is not closed with }}.")
    return found


def used(text: str) -> list[str]:
    """The known placeholders of `text`, each once, in order."""
    names = []
    for match in _PLACEHOLDER.finditer(text):
        name = match.group(1)
        if name in PLACEHOLDERS and name not in names:
            names.append(name)
    return names


def render(text: str, values: dict[str, str]) -> str:
    """`text` with every known placeholder replaced by its value ("" when there is none).
    Unknown ones stay as written: `problems` reports them before anything is sent."""

    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in PLACEHOLDERS:
            return match.group(0)
        return values.get(name, "")

    return _PLACEHOLDER.sub(value, text)


def values_for(*, me, contact=None, company=None, deal=None) -> dict[str, str]:
    """The value of each placeholder for one message; a record that is not there (a contact
    without a company, a contact page without a deal) gives no values."""
    values = {
        "me.first_name": me.get_short_name() if me.full_name else "",
        "me.full_name": me.full_name,
        "me.email": me.email,
    }
    if contact is not None:
        emails = list(contact.emails.all())
        values |= {
            "contact.first_name": contact.first_name,
            "contact.last_name": contact.last_name,
            "contact.full_name": contact.full_name,
            "contact.title": contact.title,
            "contact.email": emails[0].email if emails else "",
        }
    if company is not None:
        values |= {"company.name": company.name, "company.website": company.website}
    if deal is not None:
        values |= {"deal.title": deal.title, "deal.stage": deal.stage.name}
    return {name: value for name, value in values.items() if value}
