"""The 1:1 review list's rows, drawn by a tag: an admin's list has a row for each of hundreds of
reps, and the same markup from template variables cost about 60 ms at 200 rows
(docs/benchmarks.md)."""

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from salesdesk.core.templatetags.salesdesk import goal_status_badge

register = template.Library()

ATTENTION = (
    ("stale", "stale"),
    ("no_next_step", "without next step"),
    ("overdue_close", "past close date"),
)


@register.simple_tag
def review_row(row) -> SafeString:
    """`{% review_row row %}`: one `RepStatus` of `analytics.review.review_list` as a list
    item."""
    rep = row.rep
    if row.last_review_at:
        last = (
            f"last 1:1 {date_format(timezone.localtime(row.last_review_at), 'SHORT_DATE_FORMAT')}"
        )
    else:
        last = "no 1:1 yet"
    team = format_html("{} · ", rep.team.name) if rep.team else ""
    goals = format_html_join(
        "\n      ",
        '<span class="badge text-bg-light border">{} {}%</span>{}',
        (
            (
                progress.goal.get_metric_display(),
                localize(progress.attainment_percent),
                goal_status_badge(progress.status),
            )
            for progress in row.goals
        ),
    ) or mark_safe('<span class="badge text-bg-light border">No goal</span>')
    attention = format_html_join(
        "\n      ",
        '<span class="badge text-bg-danger">{} {}</span>',
        ((localize(count), words) for name, words in ATTENTION if (count := getattr(row, name))),
    )
    return format_html(
        '<li class="list-group-item" id="rep-{}">\n'
        '    <div class="d-flex flex-wrap align-items-baseline gap-2">\n'
        '      <a class="fw-medium me-auto text-break" href="{}">{}</a>\n'
        "      {}\n"
        '      <span class="small text-body-secondary">{}</span>\n'
        "    </div>\n"
        '    <div class="small text-body-secondary">{}{}</div>\n'
        '    <div class="d-flex flex-wrap gap-1 mt-1 small">\n'
        "      {}\n"
        '      <span class="badge text-bg-light border">{} open deal{}</span>\n'
        "      {}\n"
        "    </div>\n"
        "  </li>",
        rep.pk,
        reverse("review_scorecard", args=[rep.pk]),
        rep.get_full_name(),
        mark_safe('<span class="badge text-bg-warning">1:1 due</span>')
        if row.is_review_due
        else "",
        last,
        team,
        rep.get_role_display(),
        goals,
        localize(row.open_deals),
        "" if row.open_deals == 1 else "s",
        attention,
    )
