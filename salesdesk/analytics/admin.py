from django.contrib import admin

from salesdesk.analytics.models import CoachingNote, DigestSent, Review
from salesdesk.core.admin import ReadOnlyAdmin


@admin.register(CoachingNote)
class CoachingNoteAdmin(ReadOnlyAdmin):
    list_display = ["rep", "author", "created_at"]
    list_select_related = ["rep", "author"]
    search_fields = ["rep__full_name", "rep__email", "body"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ["rep", "manager", "held_at"]
    list_select_related = ["rep", "manager"]


@admin.register(DigestSent)
class DigestSentAdmin(admin.ModelAdmin):
    """Deleting a row lets that week's digest go out again (the job and `send-digest`)."""

    list_display = ["user", "kind", "week_start", "sent_at"]
    list_filter = ["kind", "week_start"]
    list_select_related = ["user"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
