from django.contrib import admin

from salesdesk.core.models import AuditEntry, CurrencyRate


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that change only through services (audit, events, recomputation) are read here."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "entity", "entity_id", "entity_repr"]
    list_filter = ["action", "entity"]
    list_select_related = ["actor"]
    search_fields = ["entity_repr"]


@admin.register(CurrencyRate)
class CurrencyRateAdmin(ReadOnlyAdmin):
    list_display = ["currency", "rate", "updated_at"]
