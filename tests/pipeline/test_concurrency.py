"""Concurrent moves of one deal serialize on the row lock: the stage history stays a chain."""

import itertools
import threading

import pytest
from django.db import connection, connections

from salesdesk.pipeline import services
from salesdesk.pipeline.models import Deal, StageChange
from tests.factories import DealFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs separate connections per thread; SQLite's in-memory test database shares one",
)
def test_parallel_moves_keep_history_consistent(cast, pipeline):
    stages = list(pipeline.stages.order_by("position"))
    deal = DealFactory(owner=cast.alice, stage=stages[0])
    StageChange.objects.create(deal=deal, from_stage=None, to_stage=stages[0])
    start = threading.Barrier(4)
    errors = []

    def mover(stage_index: int) -> None:
        try:
            start.wait()
            for _ in range(5):
                services.deal_move(
                    actor=cast.alice, deal=Deal.objects.get(pk=deal.pk), stage=stages[stage_index]
                )
        except Exception as error:  # collected and asserted below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=mover, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    chain = list(StageChange.objects.filter(deal=deal).order_by("at", "id"))
    for previous, current in itertools.pairwise(chain):
        assert current.from_stage_id == previous.to_stage_id
    deal.refresh_from_db()
    assert deal.stage_id == chain[-1].to_stage_id
