"""Template filters every app shares: `{% load salesdesk %}`."""

import datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html

register = template.Library()


@register.filter
def money(amount, currency: str = "") -> str:
    """`{{ deal.amount|money:deal.currency }}` → "EUR 12,500.00" (in the active locale's format)."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return ""
    text = number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)
    return f"{currency} {text}" if currency else text


@register.filter
def days_since(moment: datetime.datetime | datetime.date | None) -> int | None:
    """Whole days from `moment` until now (0 for the future); None stays None."""
    if moment is None:
        return None
    if isinstance(moment, datetime.datetime):
        return max(0, (timezone.now() - moment).days)
    return max(0, (timezone.localdate() - moment).days)


@register.filter
def initials(user) -> str:
    """ "Alice East" → "AE"; a user without a name gives the first letter of the e-mail."""
    if user is None:
        return ""
    words = (getattr(user, "full_name", "") or "").split()
    if words:
        return "".join(word[0] for word in words[:2]).upper()
    return (getattr(user, "email", "") or "?")[0].upper()


@register.filter
def duration(seconds) -> str:
    """A span of seconds as "3 days", "5 hours" or "12 minutes" (the largest whole unit)."""
    if seconds is None or seconds == "":
        return ""
    seconds = int(seconds)
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return "less than a minute"


# A goal's standing (`GoalProgress.status`) as a badge: (Bootstrap classes, words).
GOAL_STATUS_BADGES = {
    "reached": ("text-bg-success", "Reached"),
    "on_track": ("text-bg-success", "On track"),
    "behind": ("text-bg-warning", "Behind"),
    "missed": ("text-bg-danger", "Missed"),
    "not_started": ("text-bg-light border", "Not started"),
    "no_target": ("text-bg-secondary", "No target"),
}


@register.simple_tag
def goal_status_badge(status: str) -> str:
    """`{% goal_status_badge progress.status %}`: a tag, not an included template, as lists
    show hundreds of them (an include costs about 0.1 ms each)."""
    classes, words = GOAL_STATUS_BADGES.get(status, GOAL_STATUS_BADGES["no_target"])
    return format_html('<span class="badge {}">{}</span>', classes, words)
