import pytest

from tests.factories import rollups_follow_direct_writes


@pytest.fixture(autouse=True)
def rollups_follow_writes():
    """Dashboard tests write deals and activities directly (factories, `deal.save()`): keep the
    rollups in step with them, as the services do (tests/analytics/test_rollups.py turns this
    off to prove the services alone keep them current)."""
    with rollups_follow_direct_writes():
        yield
