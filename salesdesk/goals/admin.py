from django.contrib import admin

from salesdesk.core.admin import ReadOnlyAdmin
from salesdesk.goals.models import Goal


@admin.register(Goal)
class GoalAdmin(ReadOnlyAdmin):
    """Goals change through the goals pages and API (permissions, audit); read them here."""

    list_display = ["__str__", "user", "team", "period_kind", "period_start", "metric", "target"]
    list_filter = ["period_kind", "metric", "team"]
    list_select_related = ["user", "team"]
    search_fields = ["user__full_name", "user__email", "team__name"]
    date_hierarchy = "period_start"
