import pytest
from django.template import Context, Template


def badge(status) -> str:
    template = Template("{% load salesdesk %}{% goal_status_badge status %}")
    return template.render(Context({"status": status}))


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("reached", '<span class="badge text-bg-success">Reached</span>'),
        ("on_track", '<span class="badge text-bg-success">On track</span>'),
        ("behind", '<span class="badge text-bg-warning">Behind</span>'),
        ("missed", '<span class="badge text-bg-danger">Missed</span>'),
        ("not_started", '<span class="badge text-bg-light border">Not started</span>'),
        ("no_target", '<span class="badge text-bg-secondary">No target</span>'),
        ("<b>unknown</b>", '<span class="badge text-bg-secondary">No target</span>'),
        (None, '<span class="badge text-bg-secondary">No target</span>'),
    ],
)
def test_goal_status_badge_names_each_standing(status, expected):
    assert badge(status) == expected
