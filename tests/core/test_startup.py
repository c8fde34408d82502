"""A web worker freezes what it loaded at startup, so full collections skip it."""

import gc
import os
import subprocess
import sys

import pytest

from salesdesk.core.startup import freeze_loaded_objects


@pytest.fixture(name="unfrozen")
def unfrozen_fixture():
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the suite runs with an ordinary collector


def test_freezing_leaves_the_collector_only_what_requests_create(unfrozen):
    tracked_before = len(gc.get_objects())
    frozen = freeze_loaded_objects()
    # Everything loaded so far is out of the collector's generations
    # (the count can only shrink afterwards: a frozen object freed leaves it)
    assert 0 < gc.get_freeze_count() <= frozen
    assert frozen >= tracked_before // 2
    assert len(gc.get_objects()) < tracked_before // 100
    # while new objects are still tracked and collected
    cycle = []
    cycle.append(cycle)
    assert gc.is_tracked(cycle)
    assert any(item is cycle for item in gc.get_objects())
    del cycle
    gc.collect()
    assert len(gc.get_objects()) < tracked_before // 100


def test_a_worker_loading_the_wsgi_module_has_its_views_loaded_and_frozen(tmp_path):
    # A fresh interpreter, as a gunicorn worker starts
    probe = (
        "import gc, sys; import salesdesk.wsgi as w;"
        " print(callable(w.application), 'salesdesk.goals.views' in sys.modules,"
        " gc.get_freeze_count() > 10000)"
    )
    environment = {**os.environ, "SALESDESK_VAR_DIR": str(tmp_path)}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=environment, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True"]
