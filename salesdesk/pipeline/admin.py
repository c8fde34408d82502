from django.contrib import admin

from salesdesk.core.admin import ReadOnlyAdmin
from salesdesk.pipeline.models import Deal, LeadSource, LostReason, Pipeline, Stage


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    ordering = ["position"]


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    list_display = ["name", "is_default"]
    inlines = [StageInline]


@admin.register(LeadSource, LostReason)
class NamedAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active"]


@admin.register(Deal)
class DealAdmin(ReadOnlyAdmin):
    list_display = ["title", "company", "owner", "stage", "status", "amount", "currency"]
    list_filter = ["status", "pipeline"]
    list_select_related = ["company", "owner", "stage"]
    search_fields = ["title", "company__name"]
