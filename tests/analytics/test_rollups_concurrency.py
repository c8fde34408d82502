"""Wins of one company's deals by different reps, at the same time as a bulk refresh, leave the
company buckets equal to a recount: writers serialize on the company, refreshes on all of them."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from salesdesk.analytics import rollups
from salesdesk.analytics.models import CompanyWonRollup
from salesdesk.core.models import CurrencyRate
from salesdesk.pipeline import services as deal_services
from salesdesk.pipeline.models import Deal
from tests.factories import CompanyFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs separate connections per thread; SQLite's in-memory test database shares one",
    ),
]


@pytest.fixture(name="rollups_follow_writes")
def no_direct_write_hook():
    """Overrides the autouse hook of tests/analytics/conftest.py: services only."""
    return


def test_parallel_wins_of_one_company_and_a_refresh_stay_in_step(cast, pipeline):
    CurrencyRate.objects.create(currency="USD", rate=Decimal("0.90"))
    acme = CompanyFactory(name="Acme")
    reps = [cast.alice, cast.bob, cast.carol, cast.manager]
    deals = [
        deal_services.deal_create(
            actor=cast.admin,
            title=f"Deal {index}",
            owner=reps[index % len(reps)],
            amount=Decimal(1000 + index),
            currency="USD" if index % 2 else "EUR",
            company=acme,
        )
        for index in range(12)
    ]
    start = threading.Barrier(5)
    errors = []

    def run(work) -> None:
        try:
            start.wait()
            work()
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connections.close_all()

    def win(batch: list[Deal]):
        def work():
            for deal in batch:
                deal_services.deal_win(actor=cast.admin, deal=Deal.objects.get(pk=deal.pk))

        return work

    def refresh():
        for rate in ("1.10", "0.95"):
            deal_services.currency_rate_set(actor=cast.admin, currency="USD", rate=Decimal(rate))

    # Four reps' threads each win three of Acme's deals (the first wins all insert the same
    # buckets) while a fifth sets dollar rates twice (each recounts those months' buckets)
    threads = [threading.Thread(target=run, args=(win(deals[i::4]),)) for i in range(4)]
    threads.append(threading.Thread(target=run, args=(refresh,)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Deal.objects.filter(status=Deal.Status.WON).count() == 12
    # Then Acme's buckets hold all twelve wins, at the last rate, and equal a recount
    year = CompanyWonRollup.objects.get(kind="year", company=acme)
    assert year.count == 12
    euros = sum(Decimal(1000 + i) for i in range(0, 12, 2))
    dollars = sum(Decimal(1000 + i) for i in range(1, 12, 2))
    assert year.amount == euros + dollars * Decimal("0.95")
    assert rollups.differences() == {"deals": set(), "activities": set()}
