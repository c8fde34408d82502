import pytest

from tests.factories import rollups_follow_direct_writes


@pytest.fixture(autouse=True)
def rollups_follow_writes():
    """Goal and forecast tests write deals directly (factories, `deal.save()`), and the
    forecast reads the open amounts from the rollups: keep them in step, as the services do."""
    with rollups_follow_direct_writes():
        yield
