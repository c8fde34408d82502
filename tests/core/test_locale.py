import datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import timezone, translation

from salesdesk.core.middleware import language_for

pytestmark = pytest.mark.django_db

MOMENT = datetime.datetime(2026, 11, 25, 14, 30, tzinfo=datetime.UTC)


def render(locale: str, text: str, **context) -> str:
    with translation.override(language_for(locale)), timezone.override(datetime.UTC):
        return Template("{% load salesdesk humanize %}" + text).render(Context(context)).strip()


@pytest.mark.parametrize(
    ("locale", "date", "money"),
    [
        ("en-gb", "25/11/2026", "EUR 12,500.00"),
        ("en-us", "11/25/2026", "EUR 12,500.00"),
        ("de", "25.11.2026", "EUR 12.500,00"),
        ("fr", "25/11/2026", "EUR 12\xa0500,00"),
        ("nl", "25-11-2026", "EUR 12.500,00"),
    ],
)
def test_locale_sets_date_and_number_formats(locale, date, money):
    assert render(locale, '{{ moment|date:"SHORT_DATE_FORMAT" }}', moment=MOMENT) == date
    assert render(locale, "{{ amount|money:'EUR' }}", amount=Decimal("12500")) == money


@pytest.mark.parametrize("locale", ["de", "fr", "es", "nl"])
def test_words_stay_english_whatever_the_locale(locale):
    assert render(locale, '{{ moment|date:"l, F" }}', moment=MOMENT) == "Wednesday, November"
