from django.urls import path

from salesdesk.analytics import review_views

urlpatterns = [
    path("reviews/", review_views.review_list, name="review_list"),
    path("reviews/<int:user_id>/", review_views.scorecard, name="review_scorecard"),
    path(
        "reviews/<int:user_id>/deals/<int:deal_id>/next-step/",
        review_views.next_step_save,
        name="review_next_step",
    ),
    path("reviews/<int:user_id>/notes/", review_views.note_add, name="review_note_add"),
    path("reviews/<int:user_id>/held/", review_views.mark_held, name="review_mark_held"),
]
