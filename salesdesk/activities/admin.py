from django.contrib import admin

from salesdesk.activities.models import Activity
from salesdesk.core.admin import ReadOnlyAdmin


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "kind", "subject", "owner", "company", "source"]
    list_filter = ["kind", "source"]
    list_select_related = ["owner", "company"]
    search_fields = ["subject"]
