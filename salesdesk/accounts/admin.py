from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from salesdesk.accounts.models import ApiToken, OrganizationSettings, Team, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "role", "team", "is_active"]
    list_filter = ["role", "team", "is_active"]
    list_select_related = ["team"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["full_name", "role", "team", "timezone"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "full_name", "role", "team", "password1", "password2"],
            },
        ),
    ]
    filter_horizontal = []


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "manager"]
    list_select_related = ["manager"]


@admin.register(OrganizationSettings)
class OrganizationSettingsAdmin(admin.ModelAdmin):
    list_display = ["name", "base_currency", "fiscal_year_start_month", "reps_see_all"]
    readonly_fields = ["base_currency"]

    def has_add_permission(self, request) -> bool:
        return not OrganizationSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["user"]
    readonly_fields = ["user", "name", "prefix", "key_hash", "created_at", "last_used_at"]

    def has_add_permission(self, request) -> bool:
        return False
